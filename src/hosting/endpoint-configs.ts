import type { Kysely } from 'kysely';
import { AppError, ErrorCodes } from '../shared/errors.js';
import { sagemakerArn, type ArnContext } from '../shared/arn.js';
import type { Clock } from '../shared/clock.js';
import type { ListPage, ListQuery } from '../shared/list-query.js';
import { listPage, parseJsonColumn, jsonColumn } from '../store/index.js';

export interface VariantSpec {
  readonly variantName: string;
  readonly modelName: string;
  readonly initialInstanceCount: number;
  /** Default 1.0, as SageMaker's. */
  readonly initialVariantWeight: number;
  readonly instanceType: string | undefined;
}

export interface EndpointConfigRecord {
  readonly name: string;
  readonly arn: string;
  readonly variants: readonly VariantSpec[];
  readonly createdAtMs: number;
  readonly request: Readonly<Record<string, unknown>>;
}

export type EndpointConfigsTable = {
  endpoint_configs: {
    name: string;
    name_lower: string;
    arn: string;
    variants: string;
    request: string;
    created_at_ms: number;
    last_modified_ms: number;
    status: string;
  };
};

type Row = EndpointConfigsTable['endpoint_configs'];

const toRecord = (row: Row): EndpointConfigRecord => ({
  name: row.name,
  arn: row.arn,
  variants: parseJsonColumn<VariantSpec[]>(row.variants) ?? [],
  createdAtMs: Number(row.created_at_ms),
  request: parseJsonColumn<Record<string, unknown>>(row.request) ?? {},
});

export class EndpointConfigRepository {
  constructor(
    private readonly db: Kysely<EndpointConfigsTable>,
    private readonly clock: Clock,
    private readonly arn: ArnContext,
  ) {}

  arnOf(name: string): string {
    return sagemakerArn(this.arn, 'endpoint-config', name);
  }

  async create(input: {
    name: string;
    variants: readonly VariantSpec[];
    request: Record<string, unknown>;
  }): Promise<EndpointConfigRecord> {
    const arn = this.arnOf(input.name);
    const now = this.clock.nowMs();
    const row: Row = {
      name: input.name,
      name_lower: input.name.toLowerCase(),
      arn,
      variants: jsonColumn(input.variants),
      request: jsonColumn(input.request),
      created_at_ms: now,
      last_modified_ms: now,
      status: 'Created',
    };
    const inserted = await this.db
      .insertInto('endpoint_configs')
      .values(row)
      .onConflict((oc) => oc.column('name_lower').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
      throw new AppError(
        ErrorCodes.Validation,
        `Cannot create already existing endpoint configuration "${arn}".`,
      );
    }
    return toRecord(row);
  }

  async find(name: string): Promise<EndpointConfigRecord | undefined> {
    const row = await this.db
      .selectFrom('endpoint_configs')
      .selectAll()
      .where('name_lower', '=', name.toLowerCase())
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async get(name: string): Promise<EndpointConfigRecord> {
    const found = await this.find(name);
    if (!found) {
      throw new AppError(
        ErrorCodes.Validation,
        `Could not find endpoint configuration "${this.arnOf(name)}".`,
      );
    }
    return found;
  }

  async delete(name: string): Promise<void> {
    const res = await this.db
      .deleteFrom('endpoint_configs')
      .where('name_lower', '=', name.toLowerCase())
      .executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) {
      throw new AppError(
        ErrorCodes.Validation,
        `Could not find endpoint configuration "${this.arnOf(name)}".`,
      );
    }
  }

  async list(q: ListQuery): Promise<ListPage<EndpointConfigRecord>> {
    const page = await listPage(this.db.selectFrom('endpoint_configs').selectAll(), q);
    return { items: page.items.map(toRecord), nextOffset: page.nextOffset };
  }
}
