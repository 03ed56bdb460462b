import type { Kysely, SelectQueryBuilder } from 'kysely';
import type { AppError } from '../shared/errors.js';
import {
  parseSagemakerArn,
  sagemakerArn,
  type ArnContext,
  type SageMakerResourceType,
} from '../shared/arn.js';
import type { ListPage, ListQuery } from '../shared/list-query.js';
import { listPage } from './list.js';

/** The columns every name-keyed resource table has (see `resourceKeyColumns` in migrations). */
export interface NameKeyedRow {
  name: string;
  /** Primary key: SageMaker names are unique case-insensitively. */
  name_lower: string;
  arn: string;
  created_at_ms: number;
  last_modified_ms: number;
}

/** How one resource kind is stored and how SageMaker words its errors. */
export interface NameKeyedOptions<Row extends NameKeyedRow, Rec> {
  /** The table, created with `resourceKeyColumns` + `timestampColumns`. */
  readonly table: string;
  /** The ARN's resource type, e.g. `model` → `arn:aws:sagemaker:{region}:{account}:model/{name}`. */
  readonly resourceType: SageMakerResourceType;
  /** Turns a row as read (BIGINT columns may come back as strings from PostgreSQL) into a record. */
  readonly toRecord: (row: Row) => Rec;
  /** The error a create answers when the name is taken (any case). */
  readonly alreadyExists: (name: string, arn: string) => AppError;
  /** The error `get` answers when nothing has that name. */
  readonly notFound: (name: string, arn: string) => AppError;
  /** The column `ListQuery.statusEquals`/`sortBy: status` use (default `status`). */
  readonly statusColumn?: string;
}

/**
 * A SageMaker resource table keyed by its case-insensitive name: insert-if-absent, find/get by
 * name or ARN, patch, delete, and the shared List* filters. Contexts extend it with their own
 * `create` (building the row) and queries; the SQL is portable (SQLite and PostgreSQL).
 *
 * @example
 *   class ModelRepository extends NameKeyedRepository<ModelRow, ModelRecord> {
 *     constructor(db: Kysely<any>, arn: ArnContext) {
 *       super(db, arn, { table: 'models', resourceType: 'model', toRecord, alreadyExists, notFound });
 *     }
 *   }
 */
export class NameKeyedRepository<Row extends NameKeyedRow, Rec> {
  constructor(
    // Table names are dynamic here; each subclass types its own rows.
    protected readonly db: Kysely<any>,
    protected readonly arnContext: ArnContext,
    protected readonly options: NameKeyedOptions<Row, Rec>,
  ) {}

  /** The ARN a resource of this name has (names are lower-cased in ARNs, as SageMaker does). */
  arnOf(name: string): string {
    return sagemakerArn(this.arnContext, this.options.resourceType, name);
  }

  /** The error `get` throws for this name. */
  notFound(name: string): AppError {
    return this.options.notFound(name, this.arnOf(name));
  }

  /**
   * Inserts the row unless the name (case-insensitively) is taken; atomic on both dialects.
   * @throws the resource's `alreadyExists` error.
   */
  async insertRow(row: Row): Promise<Rec> {
    const inserted = await this.db
      .insertInto(this.options.table)
      .values(row)
      .onConflict((oc) => oc.column('name_lower').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
      throw this.options.alreadyExists(row.name, row.arn);
    }
    return this.options.toRecord(row);
  }

  /** The resource of this name in any case, or undefined. */
  async find(name: string): Promise<Rec | undefined> {
    const row = await this.selectRows()
      .where('name_lower', '=', name.toLowerCase())
      .executeTakeFirst();
    return row ? this.options.toRecord(row as Row) : undefined;
  }

  /** @throws the resource's `notFound` error. */
  async get(name: string): Promise<Rec> {
    const found = await this.find(name);
    if (found === undefined) throw this.notFound(name);
    return found;
  }

  /**
   * The ARN as stored for the resource an ARN names, or undefined when it names none of ours: another
   * resource type, region or account, or a name nobody has. Case-insensitive, as SageMaker's ARNs.
   */
  async resolveArn(arn: string): Promise<string | undefined> {
    const parsed = parseSagemakerArn(arn.toLowerCase());
    if (
      !parsed ||
      parsed.type !== this.options.resourceType ||
      parsed.region !== this.arnContext.region.toLowerCase() ||
      parsed.accountId !== this.arnContext.accountId
    ) {
      return undefined;
    }
    const row = await this.db
      .selectFrom(this.options.table)
      .select('arn')
      .where('name_lower', '=', parsed.name)
      .executeTakeFirst();
    return (row as { arn: string } | undefined)?.arn;
  }

  /**
   * Sets columns of the named row, optionally only while `status` still has an expected value
   * (a compare-and-set). Returns whether a row changed.
   */
  async updateRow(
    name: string,
    set: Partial<Row>,
    expect: { readonly status?: string } = {},
  ): Promise<boolean> {
    let query = this.db
      .updateTable(this.options.table)
      .set(set)
      .where('name_lower', '=', name.toLowerCase());
    if (expect.status !== undefined) {
      query = query.where(this.options.statusColumn ?? 'status', '=', expect.status);
    }
    const res = await query.executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /** Deletes the named row; returns whether one existed. */
  async deleteRow(name: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom(this.options.table)
      .where('name_lower', '=', name.toLowerCase())
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** One page of a List* operation (NameContains, time ranges, StatusEquals, sorting). */
  async list(q: ListQuery): Promise<ListPage<Rec>> {
    const page = await listPage(this.selectRows(), q, { status: this.options.statusColumn });
    return { items: page.items.map(this.options.toRecord), nextOffset: page.nextOffset };
  }

  /** Every row of the table, as records, in the order a query gives (for custom lookups). */
  protected async records(
    build: (q: SelectQueryBuilder<any, any, Row>) => SelectQueryBuilder<any, any, Row>,
  ): Promise<Rec[]> {
    const rows = await build(this.selectRows()).execute();
    return rows.map(this.options.toRecord);
  }

  /** `select * from <table>`, typed as the resource's rows. */
  protected selectRows(): SelectQueryBuilder<any, any, Row> {
    return this.db.selectFrom(this.options.table).selectAll() as SelectQueryBuilder<any, any, Row>;
  }
}
