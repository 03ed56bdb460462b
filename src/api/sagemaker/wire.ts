import { validationError } from '../../shared/errors.js';
import type { ListQuery } from '../../shared/list-query.js';
import { textOf } from '../../shared/text.js';

/** Helpers shared by every SageMaker operation module: timestamps, list params, tokens. */

/** Domain milliseconds → the wire's epoch seconds (fractional). */
export const toEpochSeconds = (ms: number | null | undefined): number | undefined =>
  ms === null || ms === undefined ? undefined : ms / 1000;

/** Wire timestamp (epoch seconds number, or ISO string) → milliseconds. */
export function fromWireTimestamp(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return value * 1000;
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return ms;
  }
  return undefined;
}

export function encodeNextToken(offset: number | undefined): string | undefined {
  return offset === undefined
    ? undefined
    : Buffer.from(JSON.stringify({ o: offset })).toString('base64');
}

export function decodeNextToken(token: unknown): number {
  if (token === undefined || token === null || token === '') return 0;
  try {
    const parsed = JSON.parse(Buffer.from(textOf(token), 'base64').toString('utf8')) as {
      o?: unknown;
    };
    if (typeof parsed.o === 'number' && Number.isInteger(parsed.o) && parsed.o >= 0)
      return parsed.o;
  } catch {
    /* fall through */
  }
  throw validationError(
    `NextToken '${textOf(token)}' is invalid; pass the NextToken of the previous response`,
  );
}

export interface ListInput {
  readonly NextToken?: string;
  readonly MaxResults?: number;
  readonly SortBy?: string;
  readonly SortOrder?: string;
  readonly NameContains?: string;
  readonly CreationTimeAfter?: number | string;
  readonly CreationTimeBefore?: number | string;
  readonly LastModifiedTimeAfter?: number | string;
  readonly LastModifiedTimeBefore?: number | string;
  readonly StatusEquals?: string;
}

/** Turns the shared List* members into a {@link ListQuery}. */
export function listQueryFrom(
  input: ListInput,
  defaults: {
    sortBy?: ListQuery['sortBy'];
    sortOrder?: ListQuery['sortOrder'];
    maxResults?: number;
  } = {},
): ListQuery {
  const sortBy: ListQuery['sortBy'] =
    input.SortBy === 'Name'
      ? 'name'
      : input.SortBy === 'Status'
        ? 'status'
        : input.SortBy === 'CreationTime'
          ? 'creationTime'
          : input.SortBy === 'LastModifiedTime'
            ? 'lastModifiedTime'
            : (defaults.sortBy ?? 'creationTime');
  const sortOrder: ListQuery['sortOrder'] =
    input.SortOrder === 'Ascending'
      ? 'asc'
      : input.SortOrder === 'Descending'
        ? 'desc'
        : (defaults.sortOrder ?? 'desc');
  return {
    maxResults: input.MaxResults ?? defaults.maxResults ?? 10,
    offset: decodeNextToken(input.NextToken),
    sortBy,
    sortOrder,
    nameContains: input.NameContains,
    createdAfterMs: fromWireTimestamp(input.CreationTimeAfter),
    createdBeforeMs: fromWireTimestamp(input.CreationTimeBefore),
    modifiedAfterMs: fromWireTimestamp(input.LastModifiedTimeAfter),
    modifiedBeforeMs: fromWireTimestamp(input.LastModifiedTimeBefore),
    statusEquals: input.StatusEquals,
  };
}

/** Removes undefined members so the JSON output carries only what is set. */
export function compact<T extends Record<string, unknown>>(obj: T): T {
  for (const k of Object.keys(obj)) if (obj[k] === undefined) delete obj[k];
  return obj;
}
