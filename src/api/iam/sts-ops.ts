import type { QueryOperation } from './iam-ops.js';

/**
 * STS's `GetCallerIdentity`: Apiary's root key is the account's root user. (Notebook instances'
 * own keys, when they come, answer as their role's assumed-role session.)
 */
export function stsOperations(deps: {
  readonly accountId: string;
  /** The identity behind an access key, or undefined for the root key. */
  readonly callerOf?: (
    accessKeyId: string,
  ) => { readonly arn: string; readonly userId: string } | undefined;
}): (accessKeyId: string) => Readonly<Record<string, QueryOperation>> {
  return (accessKeyId) => ({
    async GetCallerIdentity() {
      const caller = deps.callerOf?.(accessKeyId);
      return {
        UserId: caller?.userId ?? deps.accountId,
        Account: deps.accountId,
        Arn: caller?.arn ?? `arn:aws:iam::${deps.accountId}:root`,
      };
    },
  });
}
