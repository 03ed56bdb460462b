/** JSON kept in a text column: portable across SQLite and PostgreSQL. */
export const jsonColumn = (value: unknown): string => JSON.stringify(value ?? null);

/** Parses a JSON text column; undefined for NULL or empty text (throws on malformed JSON). */
export function parseJsonColumn<T>(text: string | null | undefined): T | undefined {
  if (text === null || text === undefined || text === '') return undefined;
  return JSON.parse(text) as T;
}
