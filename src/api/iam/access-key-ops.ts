import { IdentityError, type AccessKey, type AccessKeys } from '../../identity/index.js';
import type { Principal } from '../../objects/index.js';
import { QueryApiError, required, type QueryOperation } from './iam-ops.js';
import { queryTime, type QueryParams } from './query-protocol.js';

/**
 * IAM's access key operations over Apiary's console users' keys: `UserName` is the Apiary user
 * (without it, the caller's own keys, as IAM). Root's key is configuration (credentials.json,
 * APIARY_ROOT_*), not managed here.
 */
export function accessKeyOperations(deps: {
  readonly accessKeys: AccessKeys;
}): (principal: Principal) => Readonly<Record<string, QueryOperation>> {
  const { accessKeys } = deps;
  const userOf = (p: QueryParams, principal: Principal): string => {
    const name = p.get('UserName');
    if (name) return name;
    if (principal.kind === 'user') return principal.username;
    throw new QueryApiError(
      'ValidationError',
      'UserName is required: the root access key is Apiary configuration (credentials.json or APIARY_ROOT_*), not an IAM user key.',
    );
  };
  const mapped = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      if (err instanceof IdentityError) {
        if (err.code === 'UserNotFound' || err.code === 'KeyNotFound') {
          throw new QueryApiError('NoSuchEntity', err.message);
        }
        if (err.code === 'LimitExceeded') throw new QueryApiError('LimitExceeded', err.message);
        throw new QueryApiError('ValidationError', err.message);
      }
      throw err;
    }
  };
  const metadata = (k: AccessKey) => ({
    UserName: k.username,
    AccessKeyId: k.accessKeyId,
    Status: k.status,
    CreateDate: queryTime(k.createdAtMs),
  });
  return (principal) => ({
    async CreateAccessKey(p) {
      const k = await mapped(() => accessKeys.create(userOf(p, principal)));
      return { AccessKey: { ...metadata(k), SecretAccessKey: k.secretAccessKey } };
    },
    async ListAccessKeys(p) {
      const keys = await mapped(() => accessKeys.list(userOf(p, principal)));
      return { AccessKeyMetadata: { member: keys.map(metadata) }, IsTruncated: false };
    },
    async UpdateAccessKey(p) {
      const status = required(p, 'Status');
      await mapped(() =>
        accessKeys.setStatus(userOf(p, principal), required(p, 'AccessKeyId'), status as 'Active'),
      );
      return undefined;
    },
    async DeleteAccessKey(p) {
      await mapped(() => accessKeys.remove(userOf(p, principal), required(p, 'AccessKeyId')));
      return undefined;
    },
  });
}
