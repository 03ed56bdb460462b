import type { Kysely } from 'kysely';
import type { ArnContext } from '../shared/arn.js';
import type { Clock } from '../shared/clock.js';
import { AppError, ErrorCodes } from '../shared/errors.js';
import type { ListPage, ListQuery } from '../shared/list-query.js';
import { jsonColumn, listPage, parseJsonColumn } from '../store/index.js';
import type { WorkteamRecord } from './model.js';

export type WorkteamsTable = {
  workteams: {
    name: string;
    name_lower: string;
    arn: string;
    description: string;
    member_groups: string;
    request: string;
    created_at_ms: number;
    last_modified_ms: number;
    status: string;
  };
};

type Row = WorkteamsTable['workteams'];

/** One MemberDefinition of the wire, reduced to what Apiary uses: group names. */
export interface MemberDefinitionInput {
  readonly CognitoMemberDefinition?: { UserPool?: string; UserGroup?: string; ClientId?: string };
  readonly OidcMemberDefinition?: { Groups?: string[] };
}

/**
 * MemberDefinitions → Apiary group names: `CognitoMemberDefinition.UserGroup` is one group
 * (UserPool and ClientId are kept for Describe but not used), `OidcMemberDefinition.Groups` are groups.
 */
export function groupsOfMembers(members: readonly MemberDefinitionInput[]): string[] {
  const groups = new Set<string>();
  for (const m of members) {
    if (m.CognitoMemberDefinition?.UserGroup) groups.add(m.CognitoMemberDefinition.UserGroup);
    for (const g of m.OidcMemberDefinition?.Groups ?? []) groups.add(g);
  }
  if (groups.size === 0) {
    throw new AppError(
      ErrorCodes.Validation,
      'MemberDefinitions must name at least one group: CognitoMemberDefinition.UserGroup or OidcMemberDefinition.Groups (Apiary group names, see apiary users add --group)',
    );
  }
  return [...groups].sort();
}

const toRecord = (row: Row): WorkteamRecord => ({
  name: row.name,
  arn: row.arn,
  description: row.description,
  memberGroups: parseJsonColumn<string[]>(row.member_groups) ?? [],
  request: parseJsonColumn<Record<string, unknown>>(row.request) ?? {},
  createdAtMs: Number(row.created_at_ms),
  lastModifiedMs: Number(row.last_modified_ms),
});

export class WorkteamRepository {
  constructor(
    private readonly db: Kysely<WorkteamsTable>,
    private readonly clock: Clock,
    private readonly arn: ArnContext,
  ) {}

  /** Private teams: `arn:aws:sagemaker:{region}:{account}:workteam/private-crowd/{name}`. */
  arnOf(name: string): string {
    return `arn:aws:sagemaker:${this.arn.region}:${this.arn.accountId}:workteam/private-crowd/${name.toLowerCase()}`;
  }

  workforceArn(): string {
    return `arn:aws:sagemaker:${this.arn.region}:${this.arn.accountId}:workforce/default`;
  }

  /** @throws ResourceInUse when the name is taken (case-insensitively). */
  async create(input: {
    name: string;
    description: string;
    memberGroups: readonly string[];
    request: Record<string, unknown>;
  }): Promise<WorkteamRecord> {
    const now = this.clock.nowMs();
    const row: Row = {
      name: input.name,
      name_lower: input.name.toLowerCase(),
      arn: this.arnOf(input.name),
      description: input.description,
      member_groups: jsonColumn(input.memberGroups),
      request: jsonColumn(input.request),
      created_at_ms: now,
      last_modified_ms: now,
      status: 'Active',
    };
    const res = await this.db
      .insertInto('workteams')
      .values(row)
      .onConflict((oc) => oc.column('name_lower').doNothing())
      .executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) {
      throw new AppError(ErrorCodes.InUse, `Workteam "${row.arn}" already exists.`);
    }
    return toRecord(row);
  }

  async find(name: string): Promise<WorkteamRecord | undefined> {
    const row = await this.db
      .selectFrom('workteams')
      .selectAll()
      .where('name_lower', '=', name.toLowerCase())
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async findByArn(arn: string): Promise<WorkteamRecord | undefined> {
    const m = /:workteam\/(?:private-crowd\/)?([^/]+)$/.exec(arn);
    if (!m || arn.toLowerCase() !== this.arnOf(m[1]!)) return undefined;
    return this.find(m[1]!);
  }

  /** @throws ValidationException "Could not find workteam …" */
  async get(name: string): Promise<WorkteamRecord> {
    const found = await this.find(name);
    if (!found)
      throw new AppError(ErrorCodes.Validation, `Could not find workteam "${this.arnOf(name)}".`);
    return found;
  }

  async update(
    name: string,
    patch: {
      description?: string;
      memberGroups?: readonly string[];
      request: Record<string, unknown>;
    },
  ): Promise<WorkteamRecord> {
    const current = await this.get(name);
    await this.db
      .updateTable('workteams')
      .set({
        description: patch.description ?? current.description,
        member_groups: jsonColumn(patch.memberGroups ?? current.memberGroups),
        request: jsonColumn({ ...current.request, ...patch.request }),
        last_modified_ms: this.clock.nowMs(),
      })
      .where('name_lower', '=', name.toLowerCase())
      .execute();
    return this.get(name);
  }

  async delete(name: string): Promise<void> {
    const res = await this.db
      .deleteFrom('workteams')
      .where('name_lower', '=', name.toLowerCase())
      .executeTakeFirst();
    if (Number(res.numDeletedRows) === 0)
      throw new AppError(ErrorCodes.Validation, `Could not find workteam "${this.arnOf(name)}".`);
  }

  async list(q: ListQuery): Promise<ListPage<WorkteamRecord>> {
    const page = await listPage(this.db.selectFrom('workteams').selectAll(), q);
    return { items: page.items.map(toRecord), nextOffset: page.nextOffset };
  }

  /** Teams any of whose member groups is in `groups`. */
  async teamsOfGroups(groups: readonly string[]): Promise<WorkteamRecord[]> {
    if (groups.length === 0) return [];
    const rows = await this.db.selectFrom('workteams').selectAll().execute();
    const set = new Set(groups);
    return rows.map(toRecord).filter((t) => t.memberGroups.some((g) => set.has(g)));
  }
}
