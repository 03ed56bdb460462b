import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestServer } from './server.js';

const run = promisify(execFile);

/** What every boto3 test script starts with: imports, the `out` dict and `err`. */
const BASE = `
import boto3, botocore, json, os
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
out = {}
def err(f, **kw):
    try:
        f(**kw)
    except ClientError as e:
        return [e.response['ResponseMetadata']['HTTPStatusCode'], e.response['Error']['Code']]
    return 'no error'
`;

/** `s3` (the root key) and `anon` (unsigned) clients on the server, boto3's defaults otherwise. */
export const DEFAULT_CLIENTS = `
s3 = boto3.client('s3', endpoint_url=os.environ['AWS_ENDPOINT_URL'])
anon = boto3.client('s3', endpoint_url=os.environ['AWS_ENDPOINT_URL'],
                    config=Config(signature_version=UNSIGNED))
`;

/**
 * Runs a boto3 script against a test server and returns what it put in `out` (JSON). `setup`
 * defines the clients and helpers the script uses (default: `s3` and `anon`); `err(f, **kw)` gives
 * `[status, code]` of a ClientError or `'no error'`.
 */
export async function runBoto3(
  server: TestServer,
  script: string,
  setup: string = DEFAULT_CLIENTS,
): Promise<Record<string, unknown>> {
  const { stdout } = await run(
    'python3',
    ['-c', `${BASE}\n${setup}\n${script}\nprint(json.dumps(out))`],
    { env: { ...server.env, AWS_ENDPOINT_URL: server.url } },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}
