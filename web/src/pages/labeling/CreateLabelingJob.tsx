import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import type { PageProps } from '../../app/router.js';

export default function CreateLabelingJob(_props: PageProps) {
  return <Container header={<Header variant="h1">CreateLabelingJob</Header>}>Coming soon.</Container>;
}
