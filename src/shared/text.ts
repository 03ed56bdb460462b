/**
 * Text of a value from untyped input (parsed JSON or XML, query strings) for messages and wire
 * fields: primitives as `String()` writes them, `null`/`undefined` as `fallback`, objects and
 * arrays as JSON, so that a message never says `[object Object]`.
 */
export function textOf(value: unknown, fallback = ''): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (typeof value === 'symbol' || typeof value === 'function') return value.toString();
  try {
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
