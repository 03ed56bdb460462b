import { CatalogError } from '../error-catalog.js';
import { IamError, roleNameOfArn, type RoleRecord, type RoleRepository } from '../../iam/index.js';
import { queryTime, type QueryParams, type QueryXmlNode } from './query-protocol.js';
import type { IamApiErrorCode } from './errors.js';

/** One query-protocol operation: parameters in, the `…Result` element's children out. */
export type QueryOperation = (params: QueryParams) => Promise<QueryXmlNode | undefined>;

/** A protocol-level failure of a query service (a missing parameter, an unknown action). */
export class QueryApiError extends CatalogError<IamApiErrorCode> {
  override readonly name: string = 'QueryApiError';
}

export const required = (params: QueryParams, name: string): string => {
  const v = params.get(name);
  if (v === undefined || v === '') {
    throw new QueryApiError('MissingParameter', `The request must contain the parameter ${name}.`);
  }
  return v;
};

const roleXml = (r: RoleRecord): QueryXmlNode => ({
  Path: r.path,
  RoleName: r.name,
  RoleId: r.roleId,
  Arn: r.arn,
  CreateDate: queryTime(r.createdAtMs),
  // IAM returns policy documents URL-encoded; botocore decodes them into dicts.
  AssumeRolePolicyDocument: encodeURIComponent(r.assumeRolePolicyDocument),
  Description: r.description,
  MaxSessionDuration: r.maxSessionDurationSeconds,
  Tags:
    r.tags.length > 0 ? { member: r.tags.map((t) => ({ Key: t.key, Value: t.value })) } : undefined,
});

/** The statement SimulatePrincipalPolicy reports as matching: Apiary's one rule, named for what it is. */
const APIARY_RULE = {
  SourcePolicyId: 'apiary-allows-every-signed-request',
  SourcePolicyType: 'none',
} as const;

/**
 * The IAM operations the SDKs call (SageMaker Python SDK v2 `get_execution_role`, v3's role
 * resolution and validation), over Apiary's role records.
 */
export function iamOperations(deps: {
  readonly roles: RoleRepository;
  readonly accountId: string;
}): Readonly<Record<string, QueryOperation>> {
  const { roles, accountId } = deps;
  return {
    async CreateRole(p) {
      const tags = p
        .structures('Tags', ['Key', 'Value'])
        .map((t) => ({ key: t.Key ?? '', value: t.Value ?? '' }));
      const maxSession = p.get('MaxSessionDuration');
      const role = await roles.create({
        name: required(p, 'RoleName'),
        path: p.get('Path'),
        assumeRolePolicyDocument: required(p, 'AssumeRolePolicyDocument'),
        description: p.get('Description'),
        maxSessionDurationSeconds: maxSession === undefined ? undefined : Number(maxSession),
        tags,
      });
      return { Role: roleXml(role) };
    },
    async GetRole(p) {
      return { Role: roleXml(await roles.get(required(p, 'RoleName'))) };
    },
    async ListRoles(p) {
      const all = await roles.listByPath(p.get('PathPrefix') ?? '/');
      const start = Number(p.get('Marker') ?? '0') || 0;
      const max = Math.min(Math.max(Number(p.get('MaxItems') ?? '100') || 100, 1), 1000);
      const page = all.slice(start, start + max);
      const more = start + max < all.length;
      return {
        Roles: { member: page.map(roleXml) },
        IsTruncated: more,
        Marker: more ? String(start + max) : undefined,
      };
    },
    async DeleteRole(p) {
      await roles.remove(required(p, 'RoleName'));
      return undefined;
    },
    async AttachRolePolicy(p) {
      await roles.attachPolicy(required(p, 'RoleName'), required(p, 'PolicyArn'));
      return undefined;
    },
    async DetachRolePolicy(p) {
      await roles.detachPolicy(required(p, 'RoleName'), required(p, 'PolicyArn'));
      return undefined;
    },
    async ListAttachedRolePolicies(p) {
      const role = await roles.get(required(p, 'RoleName'));
      return {
        AttachedPolicies: {
          member: role.attachedPolicyArns.map((arn) => ({
            PolicyName: arn.slice(arn.lastIndexOf('/') + 1),
            PolicyArn: arn,
          })),
        },
        IsTruncated: false,
      };
    },
    /**
     * Apiary enforces no IAM policy: every request signed with a key it knows is allowed, and jobs
     * never assume their role. So every action is `allowed` for a principal that exists — the root
     * user, or a role recorded here — and a role that does not exist is NoSuchEntity, as in IAM.
     */
    async SimulatePrincipalPolicy(p) {
      const source = required(p, 'PolicySourceArn');
      const roleName = roleNameOfArn(source, accountId);
      if (roleName !== undefined) {
        await roles.get(roleName);
      } else if (source !== `arn:aws:iam::${accountId}:root`) {
        throw new IamError(
          'NoSuchEntity',
          `PolicySourceArn ${source} names no role or user of account ${accountId}.`,
        );
      }
      const actions = p.list('ActionNames');
      if (actions.length === 0)
        throw new QueryApiError(
          'MissingParameter',
          'The request must contain the parameter ActionNames.',
        );
      const resources = p.list('ResourceArns');
      return {
        EvaluationResults: {
          member: actions.map((action) => ({
            EvalActionName: action,
            EvalResourceName: resources.length === 1 ? resources[0] : '*',
            EvalDecision: 'allowed',
            MatchedStatements: { member: [APIARY_RULE] },
            MissingContextValues: {},
          })),
        },
        IsTruncated: false,
      };
    },
  };
}
