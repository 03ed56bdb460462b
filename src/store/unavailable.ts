import { textOf } from '../shared/text.js';

/**
 * Whether a failure means the metadata database cannot be reached right now (PostgreSQL restarting,
 * the connection dropped, SQLite busy past its timeout) — a retryable condition that the API edges
 * answer as ServiceUnavailable (503), not as an internal error. Walks the `cause` chain.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const code = textOf((e as { code?: unknown }).code);
    if (TRANSIENT_CODES.has(code) || code.startsWith('08')) return true;
    const message = e instanceof Error ? e.message : '';
    if (
      /Connection terminated|connection timeout|terminating connection due to administrator command|the database system is (starting up|shutting down)|timeout exceeded when trying to connect/i.test(
        message,
      )
    ) {
      return true;
    }
  }
  return false;
}

/** Node socket errors and PostgreSQL SQLSTATEs of class 57 (operator intervention); SQLite busy. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  '57P01',
  '57P02',
  '57P03',
  'SQLITE_BUSY',
]);

/** What a client is told when the database is unavailable. */
export const DATABASE_UNAVAILABLE_MESSAGE =
  'The metadata database is unavailable right now; retry in a few seconds.';
