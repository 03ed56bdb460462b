import Link from '@cloudscape-design/components/link';
import { followHandler, href } from '../app/router.js';
import { consolePathForS3 } from '../lib/format.js';

/** An S3 URI that opens the data page of that prefix or object. */
export default function S3Link({ uri }: { uri: unknown }) {
  if (typeof uri !== 'string' || uri === '') return <>-</>;
  const path = consolePathForS3(uri);
  if (!path) return <>{uri}</>;
  return (
    <Link href={href(path)} onFollow={followHandler}>
      {uri}
    </Link>
  );
}
