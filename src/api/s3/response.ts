import type { ObjectInfo } from '../../objects/index.js';
import type { S3Context } from './context.js';
import { baseHeaders } from './errors.js';
import { xmlDocument, type XmlNode } from './xml.js';

export type Headers = Record<string, string | number>;

/** HTTP dates (`Last-Modified`, `Expires`): RFC 7231's IMF-fixdate. */
export const httpDate = (ms: number): string => new Date(ms).toUTCString();

/** Query parameters of GetObject that override a response header, and the header each sets. */
const RESPONSE_OVERRIDES: Readonly<Record<string, string>> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};

/** Writes a whole response: base headers, a content length, the body (none for HEAD). */
export function send(ctx: S3Context, status: number, headers: Headers, body?: string): void {
  const all = { ...baseHeaders(ctx.requestId), ...headers };
  if (body !== undefined) {
    all['content-type'] ??= 'application/xml';
    all['content-length'] = Buffer.byteLength(body);
  } else if (all['content-length'] === undefined) {
    all['content-length'] = 0;
  }
  ctx.res.writeHead(status, all);
  ctx.res.end(ctx.method === 'HEAD' ? undefined : body);
}

/** 200 with an S3 XML document `<root xmlns="…">children</root>`. */
export const sendXml = (
  ctx: S3Context,
  root: string,
  children: XmlNode,
  headers: Headers = {},
): void => send(ctx, 200, headers, xmlDocument(root, children));

/** Writes the status line and headers of a response whose body the caller streams. */
export const writeHead = (ctx: S3Context, status: number, headers: Headers): void => {
  ctx.res.writeHead(status, { ...baseHeaders(ctx.requestId), ...headers });
};

/** A metadata value as S3 answers it: non-ASCII text RFC 2047-encoded (`=?UTF-8?B?…?=`). */
export const rfc2047 = (value: string): string =>
  /[^\x20-\x7e]/.test(value)
    ? `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`
    : value;

/** GetObject/HeadObject headers of a stored object: ETag, dates, type, stored headers, metadata. */
export function objectHeaders(info: ObjectInfo): Headers {
  const h: Headers = {
    etag: info.etag,
    'last-modified': httpDate(info.lastModifiedMs),
    'content-type': info.contentType,
    'accept-ranges': 'bytes',
  };
  for (const [k, v] of Object.entries(info.headers ?? {})) h[k] = v;
  for (const [k, v] of Object.entries(info.metadata)) h[`x-amz-meta-${k}`] = rfc2047(v);
  if (info.partsCount !== undefined) h['x-amz-mp-parts-count'] = info.partsCount;
  return h;
}

/**
 * Applies `response-content-type` and its siblings from the query to `headers`, then the headers
 * that keep user content inert: objects are served on the console's origin, so an uploaded HTML
 * file must never run as a page of it (no sniffing, and a CSP sandbox: opaque origin, no scripts).
 */
export function applyResponseOverrides(headers: Headers, query: URLSearchParams): void {
  for (const [param, name] of Object.entries(RESPONSE_OVERRIDES)) {
    const v = query.get(param);
    if (v !== null) headers[name] = v;
  }
  Object.assign(headers, USER_CONTENT_HEADERS);
}

/** Headers on every object body Apiary serves (GetObject/HeadObject). */
export const USER_CONTENT_HEADERS: Readonly<Headers> = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; sandbox",
};

/** The `x-amz-checksum-<algorithm>` header of a verified upload, if it carried a checksum. */
export function checksumHeader(
  headers: Headers,
  checksum: { readonly algorithm: string; readonly value: string } | undefined,
): Headers {
  if (checksum) headers[`x-amz-checksum-${checksum.algorithm.toLowerCase()}`] = checksum.value;
  return headers;
}
