import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import type { PageProps } from '../app/router.js';

/** Placeholder: the labeling engineer replaces this with the worker's task list. */
export default function PortalHome(_props: PageProps) {
  return (
    <Container header={<Header variant="h1">Labeling tasks</Header>}>
      No tasks are waiting for you.
    </Container>
  );
}
