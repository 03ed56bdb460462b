import type { IncomingMessage } from 'node:http';
import { latin1AsUtf8 } from '../sigv4/sigv4.js';
import { S3Error } from './errors.js';
import type { S3Context, S3Location } from './context.js';

const MAX_METADATA_BYTES = 2048;
/** Headers a PUT stores with the object and a GET answers with. */
const STORED_HEADERS = [
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'expires',
] as const;

/** The first value of a request header, or undefined. */
export const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** @throws S3Error InvalidURI (AWS's answer) when `segment` is not valid percent-encoded UTF-8. */
export function decodePath(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new S3Error('InvalidURI');
  }
}

/**
 * Bucket, key and query of a request: virtual-host style when the Host is `<bucket><suffix>`
 * for one of `hostSuffixes` (each starting with a dot), path style (`/bucket/key`) otherwise.
 */
export function locate(req: IncomingMessage, hostSuffixes: readonly string[]): S3Location {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q >= 0 ? url.slice(0, q) : url;
  const query = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');
  const host = (header(req, 'host') ?? '').toLowerCase().replace(/:\d+$/, '');
  const suffix = hostSuffixes.find((s) => host.endsWith(s) && host.length > s.length);
  if (suffix) {
    const bucket = host.slice(0, host.length - suffix.length);
    const key = decodePath(rawPath.slice(1));
    return { bucket, key, query, resource: `/${bucket}/${key}` };
  }
  const path = rawPath.startsWith('/') ? rawPath.slice(1) : rawPath;
  const slash = path.indexOf('/');
  const bucket = decodePath(slash < 0 ? path : path.slice(0, slash));
  const key = slash < 0 ? '' : decodePath(path.slice(slash + 1));
  return { bucket, key, query, resource: '/' + decodePath(path) };
}

/** S3's `encoding-type=url`: percent-encode everything but unreserved characters and `/`. */
export const urlEncodeKey = (s: string): string => encodeURIComponent(s).replace(/%2F/g, '/');

/** ListObjectsV2's opaque continuation token for the last key of a page. */
export const encodeToken = (marker: string): string =>
  'a' + Buffer.from(marker, 'utf8').toString('base64url');

/** @throws S3Error InvalidArgument for a token {@link encodeToken} did not make. */
export function decodeToken(token: string): string {
  if (!token.startsWith('a') || !/^[A-Za-z0-9_-]*$/.test(token.slice(1))) {
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect.', {
      ArgumentName: 'continuation-token',
    });
  }
  return Buffer.from(token.slice(1), 'base64url').toString('utf8');
}

/**
 * An integer query parameter: `fallback` when absent or empty, capped at `max`.
 * @throws S3Error InvalidArgument when not an integer or below `min`.
 */
export function intParam(
  q: URLSearchParams,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = q.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw) || Number(raw) < min) {
    throw new S3Error(
      'InvalidArgument',
      `Provided ${name} not an integer or within integer range: '${raw.slice(0, 40)}'.`,
      {
        ArgumentName: name,
        ArgumentValue: raw.slice(0, 40),
      },
    );
  }
  return Math.min(Number(raw), max);
}

/**
 * The `x-amz-meta-*` headers, names without the prefix.
 * @throws S3Error MetadataTooLarge beyond 2 KiB of names and values.
 */
export function userMetadata(req: IncomingMessage): Record<string, string> {
  const metadata: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(req.headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    // SDKs send non-ASCII values as UTF-8 bytes (Node reads them as latin1): store the text.
    const v = latin1AsUtf8(Array.isArray(value) ? value.join(',') : value);
    const k = name.slice('x-amz-meta-'.length);
    metadata[k] = v;
    bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (bytes > MAX_METADATA_BYTES) {
    throw new S3Error(
      'MetadataTooLarge',
      `Your metadata headers exceed the maximum allowed metadata size: ${bytes} bytes; the limit is ${MAX_METADATA_BYTES}.`,
      {
        Size: String(bytes),
        MaxSizeAllowed: String(MAX_METADATA_BYTES),
      },
    );
  }
  return metadata;
}

/** The standard headers stored with an object; `aws-chunked` is transport, not content, encoding. */
export function storedHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    let v = header(req, name);
    if (v === undefined) continue;
    if (name === 'content-encoding') {
      v = v
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '' && t.toLowerCase() !== 'aws-chunked')
        .join(', ');
      if (v === '') continue;
    }
    out[name] = v;
  }
  return out;
}

/** An inclusive byte range. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Parses `bytes=a-b`, `bytes=a-`, `bytes=-n` against an object of `size` bytes; undefined when
 * absent or not a single valid byte range (S3 then answers with the whole object).
 * @throws S3Error InvalidRange (416, with `Content-Range: bytes *\/size`) when it starts past the end.
 */
export function parseRange(value: string | undefined, size: number): ByteRange | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(value);
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // unparsable or multi-range: whole object
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw rangeError(size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined; // syntactically invalid: ignored
  }
  if (start >= size || size === 0) throw rangeError(size);
  return { start, end };
}

const rangeError = (size: number) =>
  new S3Error(
    'InvalidRange',
    'The requested range is not satisfiable',
    { ActualObjectSize: String(size) },
    { 'content-range': `bytes */${size}` },
  );

/**
 * `x-amz-copy-source-range: bytes=first-last` of UploadPartCopy, inside a `size`-byte source;
 * undefined when absent (the whole source).
 * @throws S3Error InvalidArgument for any other form, InvalidRange past the source's end.
 */
export function parseCopySourceRange(
  value: string | undefined,
  size: number,
): ByteRange | undefined {
  if (value === undefined) return undefined;
  const m = /^bytes=(\d+)-(\d+)$/.exec(value.trim());
  if (m && Number(m[2]) >= Number(m[1]) && Number(m[2]) >= size) {
    // A well-formed range past the source's end: S3's InvalidRange.
    throw new S3Error(
      'InvalidRange',
      `The requested range is not satisfiable: ${value.slice(0, 60)} of a ${size}-byte source.`,
      { ActualObjectSize: String(size) },
    );
  }
  if (!m || Number(m[2]) < Number(m[1])) {
    throw new S3Error(
      'InvalidArgument',
      `The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy, inside the ${size}-byte source.`,
      {
        ArgumentName: 'x-amz-copy-source-range',
        ArgumentValue: value.slice(0, 100),
      },
    );
  }
  return { start: Number(m[1]), end: Number(m[2]) };
}

/**
 * Bucket and key of `x-amz-copy-source` (`[/]bucket/key[?versionId=…]`, percent-encoded).
 * @throws S3Error InvalidArgument when it does not name both.
 */
export function copySource(ctx: S3Context): { bucket: string; key: string } {
  let raw = header(ctx.req, 'x-amz-copy-source') ?? '';
  const qm = raw.indexOf('?');
  if (qm >= 0) raw = raw.slice(0, qm);
  const decoded = decodePath(raw).replace(/^\//, '');
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    throw new S3Error(
      'InvalidArgument',
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey.',
      {
        ArgumentName: 'x-amz-copy-source',
        ArgumentValue: raw.slice(0, 200),
      },
    );
  }
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
}
