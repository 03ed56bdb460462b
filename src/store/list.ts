import { sql, type SelectQueryBuilder } from 'kysely';
import type { ListPage, ListQuery } from '../shared/list-query.js';

/**
 * Applies the shared List* filters, sorting and paging to a query over a table that has the
 * standard columns `name`, `created_at_ms`, `last_modified_ms` and `status`. Portable SQL.
 * Fetches one row more than asked to know whether another page follows.
 */
export async function listPage<DB, TB extends keyof DB, O>(
  base: SelectQueryBuilder<DB, TB, O>,
  q: ListQuery,
  columns: { status?: string } = {},
): Promise<ListPage<O>> {
  // Kysely's typing cannot follow dynamic column names; the columns are fixed by convention.
  let query = base as unknown as SelectQueryBuilder<any, any, O>;
  if (q.nameContains) {
    const pattern = `%${q.nameContains.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c)}%`;
    // An explicit ESCAPE: PostgreSQL escapes with a backslash by default, SQLite has no default.
    query = query.where(sql<boolean>`lower(name) like ${pattern} escape '\\'`);
  }
  if (q.createdAfterMs !== undefined) query = query.where('created_at_ms', '>', q.createdAfterMs);
  if (q.createdBeforeMs !== undefined) query = query.where('created_at_ms', '<', q.createdBeforeMs);
  if (q.modifiedAfterMs !== undefined) {
    query = query.where('last_modified_ms', '>', q.modifiedAfterMs);
  }
  if (q.modifiedBeforeMs !== undefined) {
    query = query.where('last_modified_ms', '<', q.modifiedBeforeMs);
  }
  const statusColumn = columns.status ?? 'status';
  if (q.statusEquals !== undefined) query = query.where(statusColumn, '=', q.statusEquals);
  const column =
    q.sortBy === 'name'
      ? 'name'
      : q.sortBy === 'status'
        ? statusColumn
        : q.sortBy === 'lastModifiedTime'
          ? 'last_modified_ms'
          : 'created_at_ms';
  query = query.orderBy(column, q.sortOrder).orderBy('name', q.sortOrder);
  const rows = await query
    .limit(q.maxResults + 1)
    .offset(q.offset)
    .execute();
  const more = rows.length > q.maxResults;
  return {
    items: more ? rows.slice(0, q.maxResults) : rows,
    nextOffset: more ? q.offset + q.maxResults : undefined,
  };
}
