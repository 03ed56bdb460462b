import Box from '@cloudscape-design/components/box';
import Container from '@cloudscape-design/components/container';
import Header from '@cloudscape-design/components/header';
import Link from '@cloudscape-design/components/link';
import { followHandler, href } from '../app/router.js';

export default function NotFound({ path }: { path: string }) {
  return (
    <Container header={<Header variant="h1">Page not found</Header>}>
      <Box>
        Nothing in the console lives at <code>{path}</code>.{' '}
        <Link href={href('/')} onFollow={followHandler}>
          Go to the dashboard
        </Link>
        .
      </Box>
    </Container>
  );
}
