import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import type { PageProps } from '../../app/router.js';

export default function CreateEndpoint(_props: PageProps) {
  return <Container header={<Header variant="h1">CreateEndpoint</Header>}>Coming soon.</Container>;
}
