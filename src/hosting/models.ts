import type { Kysely } from 'kysely';
import { AppError, ErrorCodes } from '../shared/errors.js';
import { sagemakerArn, type ArnContext } from '../shared/arn.js';
import type { Clock } from '../shared/clock.js';
import type { ListPage, ListQuery } from '../shared/list-query.js';
import { listPage, parseJsonColumn, jsonColumn } from '../store/index.js';

/** A container of a model, in domain terms (the wire's ContainerDefinition). */
export interface ModelContainer {
  readonly image: string | undefined;
  readonly modelDataUrl: string | undefined;
  readonly environment: Readonly<Record<string, string>>;
  readonly mode: 'SingleModel' | 'MultiModel';
  readonly hostname: string | undefined;
}

export interface ModelRecord {
  readonly name: string;
  readonly arn: string;
  readonly containers: readonly ModelContainer[];
  readonly executionRoleArn: string | undefined;
  readonly createdAtMs: number;
  /** The create request as received, echoed by Describe. */
  readonly request: Readonly<Record<string, unknown>>;
}

export type ModelsTable = {
  models: {
    name: string;
    name_lower: string;
    arn: string;
    containers: string;
    execution_role_arn: string | null;
    request: string;
    created_at_ms: number;
    last_modified_ms: number;
    status: string;
  };
};

type Row = ModelsTable['models'];

const toRecord = (row: Row): ModelRecord => ({
  name: row.name,
  arn: row.arn,
  containers: parseJsonColumn<ModelContainer[]>(row.containers) ?? [],
  executionRoleArn: row.execution_role_arn ?? undefined,
  createdAtMs: Number(row.created_at_ms),
  request: parseJsonColumn<Record<string, unknown>>(row.request) ?? {},
});

export class ModelRepository {
  constructor(
    private readonly db: Kysely<ModelsTable>,
    private readonly clock: Clock,
    private readonly arn: ArnContext,
  ) {}

  arnOf(name: string): string {
    return sagemakerArn(this.arn, 'model', name);
  }

  /** @throws ValidationException "Cannot create already existing model …" */
  async create(input: {
    name: string;
    containers: readonly ModelContainer[];
    executionRoleArn: string | undefined;
    request: Record<string, unknown>;
  }): Promise<ModelRecord> {
    const arn = this.arnOf(input.name);
    const now = this.clock.nowMs();
    const row: Row = {
      name: input.name,
      name_lower: input.name.toLowerCase(),
      arn,
      containers: jsonColumn(input.containers),
      execution_role_arn: input.executionRoleArn ?? null,
      request: jsonColumn(input.request),
      created_at_ms: now,
      last_modified_ms: now,
      status: 'Created',
    };
    const inserted = await this.db
      .insertInto('models')
      .values(row)
      .onConflict((oc) => oc.column('name_lower').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
      throw new AppError(ErrorCodes.Validation, `Cannot create already existing model "${arn}".`);
    }
    return toRecord(row);
  }

  async find(name: string): Promise<ModelRecord | undefined> {
    const row = await this.db
      .selectFrom('models')
      .selectAll()
      .where('name_lower', '=', name.toLowerCase())
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /** @throws ValidationException "Could not find model …" */
  async get(name: string): Promise<ModelRecord> {
    const found = await this.find(name);
    if (!found) {
      throw new AppError(ErrorCodes.Validation, `Could not find model "${this.arnOf(name)}".`);
    }
    return found;
  }

  async delete(name: string): Promise<void> {
    const res = await this.db
      .deleteFrom('models')
      .where('name_lower', '=', name.toLowerCase())
      .executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) {
      throw new AppError(ErrorCodes.Validation, `Could not find model "${this.arnOf(name)}".`);
    }
  }

  async list(q: ListQuery): Promise<ListPage<ModelRecord>> {
    const page = await listPage(this.db.selectFrom('models').selectAll(), q);
    return { items: page.items.map(toRecord), nextOffset: page.nextOffset };
  }
}
