import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AccessKeys } from '../src/identity/index.js';
import { runBoto3 } from './helpers/boto3.js';
import { startTestServer, type TestServer } from './helpers/server.js';

// IAM's CreateAccessKey, UpdateAccessKey and DeleteAccessKey answer once the key cache of the
// replica that served them holds the change: the client that was answered may sign with (or is
// refused with) the key at once. The cache is also re-read periodically; a periodic read that
// saw the table before the change and ends after it must not put the old keys back (on
// PostgreSQL a read can take that long). Here such a read is started just before each change and
// held back after reading, which makes that window certain.
let server: TestServer;
const STALE_READ_DELAY_MS = 300;
const staleReads: Promise<void>[] = [];

beforeAll(async () => {
  server = await startTestServer();
  const ada = { username: 'ada', password: 'ada-password-1', role: 'admin' } as const;
  await server.apiary.identity.createUser(ada);
  // Only the refreshes below run: no timer refresh makes the cache right again meanwhile.
  server.apiary.accessKeys.close();
  // Called below with the instance they were called on (apply with `this`).
  // oxlint-disable-next-line typescript/unbound-method
  const readUsable = AccessKeys.prototype.readUsable;
  let slowNext = false;
  vi.spyOn(AccessKeys.prototype, 'readUsable').mockImplementation(async function (
    this: AccessKeys,
  ) {
    const slow = slowNext;
    slowNext = false;
    const read = await readUsable.apply(this);
    if (slow) await new Promise((resolve) => setTimeout(resolve, STALE_READ_DELAY_MS));
    return read;
  });
  for (const method of ['create', 'setStatus', 'remove'] as const) {
    // oxlint-disable-next-line typescript/unbound-method
    const change = AccessKeys.prototype[method] as (...args: unknown[]) => Promise<unknown>;
    vi.spyOn(AccessKeys.prototype, method).mockImplementation(async function (
      this: AccessKeys,
      ...args: unknown[]
    ) {
      slowNext = true;
      staleReads.push(this.refresh());
      return change.apply(this, args);
    } as never);
  }
});
afterAll(async () => {
  vi.restoreAllMocks();
  await Promise.all(staleReads);
  await server?.close();
});

describe('an access key change is in effect when IAM answers', () => {
  it('a created key signs, a deactivated or deleted one is refused, after a stale cache read', async () => {
    const out = await runBoto3(
      server,
      `
import time
wait = ${(STALE_READ_DELAY_MS * 2) / 1000}
def caller(key):
    sts = boto3.client('sts', aws_access_key_id=key['AccessKeyId'],
                       aws_secret_access_key=key['SecretAccessKey'])
    try:
        return sts.get_caller_identity()['Arn'].split(':')[-1]
    except ClientError as e:
        return e.response['Error']['Code']
key = iam.create_access_key(UserName='ada')['AccessKey']
time.sleep(wait)
out['created'] = caller(key)
iam.update_access_key(UserName='ada', AccessKeyId=key['AccessKeyId'], Status='Inactive')
time.sleep(wait)
out['inactive'] = caller(key)
iam.update_access_key(UserName='ada', AccessKeyId=key['AccessKeyId'], Status='Active')
time.sleep(wait)
out['active'] = caller(key)
iam.delete_access_key(UserName='ada', AccessKeyId=key['AccessKeyId'])
time.sleep(wait)
out['deleted'] = caller(key)
`,
      `iam = boto3.client('iam')`,
    );
    expect(out).toEqual({
      created: 'user/ada',
      inactive: 'InvalidClientTokenId',
      active: 'user/ada',
      deleted: 'InvalidClientTokenId',
    });
  });
});
