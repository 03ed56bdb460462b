import type { CreateTableBuilder, Kysely } from 'kysely';

/**
 * A column's portable type; a trailing `?` makes it nullable (otherwise NOT NULL).
 * `bigint` for milliseconds and sizes (PostgreSQL hands BIGINT back as a string: read with
 * `Number()`), `text` for strings and JSON (`jsonColumn`), `integer` for counts, `real` for floats.
 */
export type ColumnType =
  'text' | 'text?' | 'bigint' | 'bigint?' | 'integer' | 'integer?' | 'real' | 'real?';

// Migrations work on a schema that has no compile-time table types.
type Table = CreateTableBuilder<any, any>;

/** Adds columns from a `{ column: type }` map, in its order. */
export function addColumns(table: Table, columns: Readonly<Record<string, ColumnType>>): Table {
  let t = table;
  for (const [name, spec] of Object.entries(columns)) {
    const nullable = spec.endsWith('?');
    const type = (nullable ? spec.slice(0, -1) : spec) as 'text' | 'bigint' | 'integer' | 'real';
    t = t.addColumn(name, type, (c) => (nullable ? c : c.notNull()));
  }
  return t;
}

/**
 * `name`, `name_lower` (the primary key: SageMaker names are unique in any case) and `arn`: the
 * key columns `NameKeyedRepository` expects.
 */
export const resourceKeyColumns = (table: Table): Table =>
  table
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_lower', 'text', (c) => c.primaryKey())
    .addColumn('arn', 'text', (c) => c.notNull());

/** `created_at_ms` and `last_modified_ms`, epoch milliseconds, as the List* filters expect. */
export const timestampColumns = (table: Table): Table =>
  addColumns(table, { created_at_ms: 'bigint', last_modified_ms: 'bigint' });

/**
 * Creates a name-keyed resource table: key columns, the given columns, then the timestamps,
 * and the `<table>_created` index List* sorts by.
 */
export async function createResourceTable(
  db: Kysely<any>,
  table: string,
  columns: Readonly<Record<string, ColumnType>>,
): Promise<void> {
  await db.schema
    .createTable(table)
    .$call(resourceKeyColumns)
    .$call((t) => addColumns(t, columns))
    .$call(timestampColumns)
    .execute();
  await createIndexes(db, table, { created: 'created_at_ms' });
}

/** Creates one single-column index per entry, named `<table>_<suffix>`. */
export async function createIndexes(
  db: Kysely<any>,
  table: string,
  indexes: Readonly<Record<string, string>>,
): Promise<void> {
  for (const [suffix, column] of Object.entries(indexes)) {
    await db.schema.createIndex(`${table}_${suffix}`).on(table).column(column).execute();
  }
}
