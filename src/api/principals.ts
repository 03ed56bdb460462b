import type { AccessKeys } from '../identity/index.js';
import type { Principal } from '../objects/index.js';

/** Names the principal behind each access key, and what a worker's key may not do. */
export function principalResolver(deps: {
  readonly rootAccessKeyId: string;
  readonly isNotebookKey: (accessKeyId: string) => boolean;
  readonly accessKeys: AccessKeys;
}) {
  const of = (accessKeyId: string): Principal => {
    if (accessKeyId === deps.rootAccessKeyId) return { kind: 'root' };
    const owner = deps.accessKeys.lookup(accessKeyId);
    if (owner) return { kind: 'user', username: owner.username, role: owner.role, accessKeyId };
    if (deps.isNotebookKey(accessKeyId)) return { kind: 'notebook', accessKeyId };
    // Only verified keys reach here, so an unknown one is root's (a key rotated mid-request).
    return { kind: 'root' };
  };
  return {
    /** The principal of a verified access key. */
    of,
    /**
     * Why a key may not call `service` (SageMaker, its runtime, Logs, CloudWatch): a worker's keys
     * are for S3; undefined when it may.
     */
    deniedOutsideS3(accessKeyId: string, service: string): string | undefined {
      const owner = deps.accessKeys.lookup(accessKeyId);
      if (!owner || owner.role === 'admin') return undefined;
      return `User ${owner.username} (a worker) is not authorized to call ${service}: Apiary workers' access keys may use S3 only, where a bucket policy allows.`;
    },
  };
}
