/** Formatting shared by the console's pages (pure; unit-tested). */

/** SageMaker timestamps are epoch seconds on the wire. */
export function formatTime(epochSeconds: unknown): string {
  if (typeof epochSeconds !== 'number' || !Number.isFinite(epochSeconds)) return '-';
  const d = new Date(epochSeconds * 1000);
  return d.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function formatMs(ms: unknown): string {
  return typeof ms === 'number' ? formatTime(ms / 1000) : '-';
}

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '-';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h ${m}m ${r}s` : m > 0 ? `${m}m ${r}s` : `${r}s`;
}

/** An endpoint with no invocation for this long counts as idle in the console. */
export const IDLE_AFTER_MS = 15 * 60_000;

/** "never", "just now", "5 min ago", "3 h ago", "2 days ago" for an ISO time. */
export function formatAgo(iso: unknown, nowMs: number): string {
  if (typeof iso !== 'string') return 'never';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return 'never';
  const s = Math.max(0, (nowMs - t) / 1000);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  const d = Math.floor(s / 86_400);
  return `${d} day${d === 1 ? '' : 's'} ago`;
}

/** Whether an endpoint last invoked at `iso` (or never, counting from `sinceMs`) is idle at `nowMs`. */
export function isIdle(iso: unknown, sinceMs: number, nowMs: number): boolean {
  const t = typeof iso === 'string' ? Date.parse(iso) : NaN;
  return nowMs - (Number.isFinite(t) ? t : sinceMs) >= IDLE_AFTER_MS;
}

/** `s3://bucket/a/b/` → { bucket, key }; undefined when not an S3 URI. */
export function parseS3(uri: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri.trim());
  return m ? { bucket: m[1]!, key: m[2] ?? '' } : undefined;
}

/** The console path that shows an S3 URI: a prefix listing or an object preview. */
export function consolePathForS3(uri: string): string | undefined {
  const loc = parseS3(uri);
  if (!loc) return undefined;
  if (loc.key === '' || loc.key.endsWith('/'))
    return `/data/${encodeURIComponent(loc.bucket)}${loc.key ? `?prefix=${encodeURIComponent(loc.key)}` : ''}`;
  return `/data/${encodeURIComponent(loc.bucket)}/preview?key=${encodeURIComponent(loc.key)}`;
}

/** SageMaker's resource name pattern (jobs, endpoints, configs): `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`. */
export function nameProblem(name: string, max = 63): string | undefined {
  if (name === '') return 'Enter a name.';
  if (name.length > max) return `Use at most ${max} characters (this one has ${name.length}).`;
  if (!/^[a-zA-Z0-9](-*[a-zA-Z0-9])*$/.test(name))
    return 'Use letters, digits and hyphens; begin and end with a letter or digit.';
  return undefined;
}

/**
 * Text of a field of an API response for display: primitives as is, missing as `fallback`,
 * objects and arrays as JSON (never `[object Object]`).
 */
export function text(value: unknown, fallback = '-'): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  return JSON.stringify(value) ?? fallback;
}
