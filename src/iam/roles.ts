import type { Kysely } from 'kysely';
import type { Clock } from '../shared/clock.js';
import type { ArnContext } from '../shared/arn.js';
import {
  createResourceTable,
  jsonColumn,
  NameKeyedRepository,
  parseJsonColumn,
  type MigrationSet,
} from '../store/index.js';

/**
 * IAM roles as Apiary records: what `CreateRole` stored, for `GetRole`/`ListRoles` and the role
 * checks the SageMaker Python SDK v3 makes. Apiary enforces no IAM policy: any request signed with
 * a key Apiary knows is allowed, and jobs never assume their role. The records answer truthfully
 * what exists; `SimulatePrincipalPolicy` answers truthfully what is allowed (everything).
 */

/** Why an IAM operation failed, in IAM's vocabulary (its catalog gives status and wire code). */
export const IamErrorCodes = {
  NoSuchEntity: 'NoSuchEntity',
  EntityAlreadyExists: 'EntityAlreadyExists',
  DeleteConflict: 'DeleteConflict',
  MalformedPolicyDocument: 'MalformedPolicyDocument',
  ValidationError: 'ValidationError',
  InvalidInput: 'InvalidInput',
} as const;
/** The IAM error codes the roles store throws (IAM's own wire names). */
export type IamErrorCode = (typeof IamErrorCodes)[keyof typeof IamErrorCodes];

/** A failure of an IAM operation. */
export class IamError extends Error {
  override readonly name = 'IamError';
  constructor(
    readonly code: IamErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** One key/value tag on an IAM role. */
export interface RoleTag {
  readonly key: string;
  readonly value: string;
}

/** A stored IAM role: name, ARN, trust policy, inline policies and tags. */
export interface RoleRecord {
  readonly name: string;
  /** `arn:aws:iam::{account}:role{path}{name}`. */
  readonly arn: string;
  /** `AROA` + 17 characters, as IAM's role ids. */
  readonly roleId: string;
  readonly path: string;
  /** The trust policy as given (JSON text). */
  readonly assumeRolePolicyDocument: string;
  readonly description: string | undefined;
  readonly maxSessionDurationSeconds: number;
  readonly attachedPolicyArns: readonly string[];
  readonly tags: readonly RoleTag[];
  readonly createdAtMs: number;
}

/** The database row shape of the IAM roles table (Kysely). */
export type RolesTable = {
  iam_roles: {
    name: string;
    name_lower: string;
    arn: string;
    role_id: string;
    path: string;
    assume_role_policy: string;
    description: string | null;
    max_session_seconds: number;
    attached_policies: string;
    tags: string;
    created_at_ms: number;
    last_modified_ms: number;
  };
};
type Row = RolesTable['iam_roles'];

/** Schema migrations of the IAM tables, keyed by their globally ordered names. */
export const iamMigrations: MigrationSet = {
  '0700_iam_roles': {
    async up(db: Kysely<any>) {
      await createResourceTable(db, 'iam_roles', {
        role_id: 'text',
        path: 'text',
        assume_role_policy: 'text',
        description: 'text?',
        max_session_seconds: 'integer',
        attached_policies: 'text',
        tags: 'text',
      });
    },
  },
};

const toRecord = (row: Row): RoleRecord => ({
  name: row.name,
  arn: row.arn,
  roleId: row.role_id,
  path: row.path,
  assumeRolePolicyDocument: row.assume_role_policy,
  description: row.description ?? undefined,
  maxSessionDurationSeconds: Number(row.max_session_seconds),
  attachedPolicyArns: parseJsonColumn<string[]>(row.attached_policies) ?? [],
  tags: parseJsonColumn<RoleTag[]>(row.tags) ?? [],
  createdAtMs: Number(row.created_at_ms),
});

const noSuchRole = (name: string): IamError =>
  new IamError('NoSuchEntity', `The role with name ${name} cannot be found.`);

/** IAM's role names: 1-64 of `[\w+=,.@-]`. */
export const ROLE_NAME_PATTERN = /^[\w+=,.@-]{1,64}$/;
/** IAM's paths: `/` or `/…/`, 1-512 printable ASCII characters. */
const PATH_PATTERN = /^\/(?:[\u0021-\u007E]*\/)?$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\u0021-\u007E]*\/)?([\w+=,.@-]{1,64})$/;

/** The role name an IAM role ARN names, when it is one of this account's; else undefined. */
export function roleNameOfArn(arn: string, accountId: string): string | undefined {
  const m = ROLE_ARN.exec(arn);
  return m && m[1] === accountId ? m[2] : undefined;
}

/** The validated parameters of IAM CreateRole. */
export interface CreateRoleInput {
  readonly name: string;
  readonly path?: string;
  readonly assumeRolePolicyDocument: string;
  readonly description?: string;
  readonly maxSessionDurationSeconds?: number;
  readonly tags?: readonly RoleTag[];
}

/** IAM roles, keyed by case-insensitive name (IAM role names are unique in any case). */
export class RoleRepository extends NameKeyedRepository<Row, RoleRecord> {
  constructor(
    db: Kysely<RolesTable>,
    private readonly clock: Clock,
    arn: ArnContext,
    private readonly randomId: () => string,
  ) {
    super(db, arn, {
      table: 'iam_roles',
      // Unused: IAM ARNs are built by `arnOf` below, not as SageMaker's.
      resourceType: 'model',
      toRecord,
      // IAM's own errors, not SageMaker's: the IAM protocol renders them (the base types say AppError).
      alreadyExists: (name) =>
        new IamError('EntityAlreadyExists', `Role with name ${name} already exists.`) as never,
      notFound: (name) => noSuchRole(name) as never,
    });
  }

  /** `arn:aws:iam::{account}:role/{name}` (path `/`); a created role's ARN carries its path. */
  override arnOf(name: string): string {
    return `arn:aws:iam::${this.arnContext.accountId}:role/${name}`;
  }

  /**
   * @throws IamError ValidationError (name, path, duration), MalformedPolicyDocument (not JSON),
   *   EntityAlreadyExists.
   */
  async create(input: CreateRoleInput): Promise<RoleRecord> {
    if (!ROLE_NAME_PATTERN.test(input.name)) {
      throw new IamError(
        'ValidationError',
        `1 validation error detected: Value '${input.name}' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+`,
      );
    }
    const path = input.path ?? '/';
    if (path.length > 512 || !PATH_PATTERN.test(path)) {
      throw new IamError(
        'ValidationError',
        `The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.`,
      );
    }
    try {
      const doc: unknown = JSON.parse(input.assumeRolePolicyDocument);
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
        throw new Error('not an object');
    } catch {
      throw new IamError('MalformedPolicyDocument', 'This policy contains invalid Json');
    }
    const maxSession = input.maxSessionDurationSeconds ?? 3600;
    if (!Number.isInteger(maxSession) || maxSession < 3600 || maxSession > 43200) {
      throw new IamError(
        'ValidationError',
        `1 validation error detected: Value '${maxSession}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200`,
      );
    }
    const now = this.clock.nowMs();
    return this.insertRow({
      name: input.name,
      name_lower: input.name.toLowerCase(),
      arn: `arn:aws:iam::${this.arnContext.accountId}:role${path}${input.name}`,
      role_id: `AROA${this.randomId()}`,
      path,
      assume_role_policy: input.assumeRolePolicyDocument,
      description: input.description ?? null,
      max_session_seconds: maxSession,
      attached_policies: jsonColumn([]),
      tags: jsonColumn(input.tags ?? []),
      created_at_ms: now,
      last_modified_ms: now,
    });
  }

  /** @throws IamError NoSuchEntity */
  override async get(name: string): Promise<RoleRecord> {
    const found = await this.find(name);
    if (!found) throw noSuchRole(name);
    return found;
  }

  /** Every role whose path starts with `pathPrefix`, by name. */
  async listByPath(pathPrefix: string): Promise<RoleRecord[]> {
    const all = await this.records((q) => q.orderBy('name_lower'));
    return all.filter((r) => r.path.startsWith(pathPrefix));
  }

  /** @throws IamError NoSuchEntity, DeleteConflict (policies still attached, as IAM). */
  async remove(name: string): Promise<void> {
    const role = await this.get(name);
    if (role.attachedPolicyArns.length > 0) {
      throw new IamError('DeleteConflict', 'Cannot delete entity, must detach all policies first.');
    }
    await this.deleteRow(name);
  }

  /** Records a managed policy as attached (Apiary does not evaluate it). @throws NoSuchEntity */
  async attachPolicy(name: string, policyArn: string): Promise<void> {
    const role = await this.get(name);
    if (role.attachedPolicyArns.includes(policyArn)) return;
    await this.updateRow(role.name, {
      attached_policies: jsonColumn([...role.attachedPolicyArns, policyArn]),
      last_modified_ms: this.clock.nowMs(),
    });
  }

  /** @throws IamError NoSuchEntity (role, or a policy not attached to it) */
  async detachPolicy(name: string, policyArn: string): Promise<void> {
    const role = await this.get(name);
    if (!role.attachedPolicyArns.includes(policyArn)) {
      throw new IamError('NoSuchEntity', `Policy ${policyArn} was not found.`);
    }
    await this.updateRow(role.name, {
      attached_policies: jsonColumn(role.attachedPolicyArns.filter((p) => p !== policyArn)),
      last_modified_ms: this.clock.nowMs(),
    });
  }
}

/** The role repository over the shared database (whose type knows only the core tables). */
export function createRoleRepository(deps: {
  readonly db: Kysely<any>;
  readonly clock: Clock;
  readonly arn: ArnContext;
  /** 17 characters after `AROA` in a role id. */
  readonly randomId: () => string;
}): RoleRepository {
  return new RoleRepository(deps.db as Kysely<RolesTable>, deps.clock, deps.arn, deps.randomId);
}
