/** Who sent a request, as the S3 access decision and the other protocols see it. */
export type Principal =
  /** The root access key: everything but what a bucket policy's explicit Deny refuses (AWS). */
  | { readonly kind: 'root' }
  /** A console user's access key: admins may do what root may, workers only what a policy grants. */
  | {
      readonly kind: 'user';
      readonly username: string;
      readonly role: 'admin' | 'worker';
      readonly accessKeyId: string;
    }
  /** A notebook instance's own key: acts as the account, as before users had keys. */
  | { readonly kind: 'notebook'; readonly accessKeyId: string }
  /** An unsigned request: only a bucket policy or ACL that grants everyone admits it. */
  | { readonly kind: 'anonymous' };

/** The principal's ARN as GetCallerIdentity and policies name it (undefined for anonymous). */
export function principalArn(p: Principal, accountId: string): string | undefined {
  switch (p.kind) {
    case 'root':
    case 'notebook':
      return `arn:aws:iam::${accountId}:root`;
    case 'user':
      return `arn:aws:iam::${accountId}:user/${p.username}`;
    case 'anonymous':
      return undefined;
  }
}

/** True for principals whose own (identity) grants cover every action: root, admins, notebooks. */
export function hasFullIdentityGrant(p: Principal): boolean {
  return p.kind === 'root' || p.kind === 'notebook' || (p.kind === 'user' && p.role === 'admin');
}
