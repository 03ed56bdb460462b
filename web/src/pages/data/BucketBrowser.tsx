import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import type { PageProps } from '../../app/router.js';

export default function BucketBrowser(_props: PageProps) {
  return <Container header={<Header variant="h1">BucketBrowser</Header>}>Coming soon.</Container>;
}
