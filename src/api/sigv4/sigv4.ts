import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Server-side AWS Signature Version 4 verification (header and presigned-query forms), exactly as
 * AWS defines the canonical request. Protocol-neutral: callers map {@link SigV4Error} kinds onto
 * their wire's error shape.
 */

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_PAYLOAD = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
export const STREAMING_PAYLOAD_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';

/** Maximum difference between the request's date and the server clock. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** Presigned URLs may live at most 7 days. */
export const MAX_PRESIGN_EXPIRES_SECONDS = 604_800;

export type SigV4ErrorKind =
  | 'Missing'
  | 'Malformed'
  | 'UnknownKey'
  | 'BadSignature'
  | 'Skewed'
  | 'Expired'
  | 'BadExpires'
  /** Too many failed signatures from this address lately (the caller's limiter said so). */
  | 'Throttled';

export class SigV4Error extends Error {
  override readonly name = 'SigV4Error';
  constructor(
    readonly kind: SigV4ErrorKind,
    message: string,
    readonly detail: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

export interface SignedRequest {
  readonly method: string;
  /** Path and query exactly as received (`req.url`). */
  readonly rawUrl: string;
  /** Node's `req.rawHeaders`: alternating names and values, duplicates kept. */
  readonly rawHeaders: readonly string[];
}

export interface SigV4Auth {
  readonly accessKeyId: string;
  readonly date: string; // yyyymmdd
  readonly amzDate: string; // yyyymmddThhmmssZ
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  readonly presigned: boolean;
  /** Declared payload hash (x-amz-content-sha256, or UNSIGNED-PAYLOAD for presigned). */
  readonly contentSha256: string | undefined;
}

export interface VerifiedSigV4 extends SigV4Auth {
  readonly signingKey: Buffer;
  readonly scope: string;
}

const hmac = (key: Buffer | string, data: string): Buffer =>
  createHmac('sha256', key).update(data, 'utf8').digest();
export const sha256Hex = (data: string | Buffer): string =>
  createHash('sha256').update(data).digest('hex');

const UNRESERVED = /^[A-Za-z0-9\-_.~]*$/;
const UNRESERVED_OR_SLASH = /^[A-Za-z0-9\-_.~/]*$/;

/** AWS URI encoding: every byte but A-Z a-z 0-9 - _ . ~ is %XX (upper-case). */
export function awsUriEncode(value: string, keepSlash: boolean): string {
  // Keys and query values are mostly unreserved characters already: nothing to encode.
  if ((keepSlash ? UNRESERVED_OR_SLASH : UNRESERVED).test(value)) return value;
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Lower-cased header name → values (duplicates kept in order). */
export function headerMap(rawHeaders: readonly string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const list = map.get(name);
    if (list) list.push(rawHeaders[i + 1]!);
    else map.set(name, [rawHeaders[i + 1]!]);
  }
  return map;
}

const AUTH_RE = /^AWS4-HMAC-SHA256\s+(.*)$/s;

function parseCredential(credential: string): {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
} {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1] ?? '')) {
    throw new SigV4Error(
      'Malformed',
      `the Credential '${credential}' is malformed; expected "<AccessKeyId>/<YYYYMMDD>/<region>/<service>/aws4_request"`,
    );
  }
  return { accessKeyId: parts[0]!, date: parts[1]!, region: parts[2]!, service: parts[3]! };
}

/**
 * Extracts the SigV4 parameters of a request without checking them.
 * @returns undefined when the request carries no SigV4 authentication at all.
 * @throws SigV4Error Malformed when it carries a broken one.
 */
/** S3's words for a request signed both in its header and in its query. */
export const ONE_AUTH_MECHANISM =
  'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified';

export function parseSigV4(req: SignedRequest): SigV4Auth | undefined {
  const headers = headerMap(req.rawHeaders);
  const authorization = headers.get('authorization')?.[0];
  const q = req.rawUrl.indexOf('?');
  const query = new URLSearchParams(q >= 0 ? req.rawUrl.slice(q + 1) : '');
  if (authorization !== undefined) {
    // Two signatures on one request: which one is checked would be a choice an attacker could
    // steer (checklist C18); S3 refuses the request.
    if (['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature'].some((p) => query.has(p))) {
      throw new SigV4Error('Malformed', ONE_AUTH_MECHANISM);
    }
    const m = AUTH_RE.exec(authorization.trim());
    if (!m) {
      if (authorization.startsWith('AWS ')) {
        throw new SigV4Error(
          'Malformed',
          'Signature Version 2 is not supported; sign requests with AWS Signature Version 4 (AWS4-HMAC-SHA256)',
        );
      }
      throw new SigV4Error(
        'Malformed',
        "the Authorization header must start with 'AWS4-HMAC-SHA256'",
      );
    }
    const fields = new Map<string, string>();
    for (const part of m[1]!.split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    const credential = fields.get('Credential');
    const signedHeaders = fields.get('SignedHeaders');
    const signature = fields.get('Signature');
    if (!credential || !signedHeaders || !signature) {
      throw new SigV4Error(
        'Malformed',
        "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters",
      );
    }
    const amzDate = headers.get('x-amz-date')?.[0] ?? toAmzDate(headers.get('date')?.[0]);
    if (!amzDate) {
      throw new SigV4Error('Malformed', 'the request must carry an X-Amz-Date or Date header');
    }
    return {
      ...parseCredential(credential),
      amzDate,
      signedHeaders: signedHeaders.split(';'),
      signature: signature.toLowerCase(),
      presigned: false,
      contentSha256: headers.get('x-amz-content-sha256')?.[0],
    };
  }
  const algorithm = query.get('X-Amz-Algorithm');
  if (algorithm !== null) {
    if (algorithm !== 'AWS4-HMAC-SHA256') {
      throw new SigV4Error('Malformed', "X-Amz-Algorithm only supports 'AWS4-HMAC-SHA256'");
    }
    const credential = query.get('X-Amz-Credential');
    const amzDate = query.get('X-Amz-Date');
    const signedHeaders = query.get('X-Amz-SignedHeaders');
    const signature = query.get('X-Amz-Signature');
    if (!credential || !amzDate || !signedHeaders || !signature) {
      throw new SigV4Error(
        'Malformed',
        'Query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      );
    }
    return {
      ...parseCredential(credential),
      amzDate,
      signedHeaders: signedHeaders.split(';'),
      signature: signature.toLowerCase(),
      presigned: true,
      contentSha256: headers.get('x-amz-content-sha256')?.[0] ?? UNSIGNED_PAYLOAD,
    };
  }
  return undefined;
}

function toAmzDate(httpDate: string | undefined): string | undefined {
  if (!httpDate) return undefined;
  const ms = Date.parse(httpDate);
  if (Number.isNaN(ms)) return undefined;
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function amzDateToMs(amzDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) return Number.NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

function canonicalQuery(rawQuery: string, presigned: boolean): string {
  if (rawQuery === '') return '';
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = safeDecode((eq >= 0 ? part.slice(0, eq) : part).replace(/\+/g, '%20'));
    const v = eq >= 0 ? safeDecode(part.slice(eq + 1).replace(/\+/g, '%20')) : '';
    if (presigned && k === 'X-Amz-Signature') continue;
    pairs.push([awsUriEncode(k, false), awsUriEncode(v, false)]);
  }
  pairs.sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0,
  );
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Removes `.`/`..` segments and empty segments, as botocore does for non-S3 services. */
function normalizePath(path: string): string {
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  const joined = '/' + out.join('/');
  return path.endsWith('/') && joined !== '/' ? joined + '/' : joined;
}

/** Candidate canonical URIs: the strict form first, then the path as received. */
function canonicalUris(service: string, rawPath: string): string[] {
  if (service === 's3') {
    const strict = rawPath
      .split('/')
      .map((seg) => awsUriEncode(safeDecode(seg), false))
      .join('/');
    return strict === rawPath ? [rawPath] : [strict, rawPath];
  }
  const normalized = normalizePath(rawPath);
  return [awsUriEncode(normalized, true)];
}

/** A header value's bytes read as UTF-8 when they are valid UTF-8, else the value unchanged. */
export function latin1AsUtf8(value: string): string {
  // Pure ASCII is by far the common case: nothing to convert.
  if (!/[\u0080-\uffff]/.test(value)) return value;
  const bytes = Buffer.from(value, 'latin1');
  const decoded = bytes.toString('utf8');
  return decoded.includes('\ufffd') && !value.includes('\ufffd') ? value : decoded;
}

function canonicalHeaders(
  headers: Map<string, string[]>,
  signedHeaders: readonly string[],
): string {
  let out = '';
  for (const name of signedHeaders) {
    const values = headers.get(name) ?? [];
    // Node reads header bytes as latin1; SDKs sign non-ASCII values (x-amz-meta-*) as the UTF-8
    // bytes they send, so the canonical form uses those bytes whenever they are valid UTF-8.
    const canonical = values.map((v) => latin1AsUtf8(v).trim().replace(/\s+/g, ' '));
    out += `${name}:${canonical.join(',')}\n`;
  }
  return out;
}

export function deriveSigningKey(
  secret: string,
  date: string,
  region: string,
  service: string,
): Buffer {
  const kDate = hmac('AWS4' + secret, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

/** Signing keys are valid for a day/region/service; cache them (bounded). */
export class SigningKeyCache {
  private readonly cache = new Map<string, Buffer>();
  constructor(private readonly maxEntries = 256) {}
  get(secret: string, accessKeyId: string, date: string, region: string, service: string): Buffer {
    const id = `${accessKeyId}/${date}/${region}/${service}`;
    let key = this.cache.get(id);
    if (!key) {
      key = deriveSigningKey(secret, date, region, service);
      if (this.cache.size >= this.maxEntries) {
        const first = this.cache.keys().next().value;
        if (first !== undefined) this.cache.delete(first);
      }
      this.cache.set(id, key);
    }
    return key;
  }
}

export interface VerifyOptions {
  /** Returns the secret of an access key, or undefined when the key is unknown. */
  readonly lookupSecret: (accessKeyId: string) => string | undefined;
  /**
   * The payload hash to sign with. For S3 it is the declared `x-amz-content-sha256` (checked
   * against the body later, while streaming); other services hash the body they read.
   */
  readonly payloadHash: string;
  readonly nowMs: number;
  readonly keyCache?: SigningKeyCache;
}

/**
 * Verifies a parsed SigV4 request.
 * @throws SigV4Error with the kind that tells the edge which error to answer.
 */
export function verifySigV4(
  req: SignedRequest,
  auth: SigV4Auth,
  options: VerifyOptions,
): VerifiedSigV4 {
  const headers = headerMap(req.rawHeaders);
  const requestMs = amzDateToMs(auth.amzDate);
  if (Number.isNaN(requestMs)) {
    throw new SigV4Error(
      'Malformed',
      `X-Amz-Date '${auth.amzDate}' is not in the ISO 8601 basic format yyyyMMdd'T'HHmmss'Z'`,
    );
  }
  if (auth.amzDate.slice(0, 8) !== auth.date) {
    throw new SigV4Error(
      'Malformed',
      `the credential scope date ${auth.date} does not match the request date ${auth.amzDate.slice(0, 8)}`,
    );
  }
  if (!auth.signedHeaders.includes('host')) {
    throw new SigV4Error('Malformed', "'host' must be among the signed headers");
  }
  const sorted = [...auth.signedHeaders].sort();
  if (sorted.join(';') !== auth.signedHeaders.join(';')) {
    throw new SigV4Error('Malformed', 'SignedHeaders must be lower-case and sorted');
  }
  if (auth.presigned) {
    const q = new URLSearchParams(req.rawUrl.slice(req.rawUrl.indexOf('?') + 1));
    const expiresRaw = q.get('X-Amz-Expires');
    const expires = expiresRaw !== null && /^\d+$/.test(expiresRaw) ? Number(expiresRaw) : NaN;
    if (Number.isNaN(expires) || expires < 1 || expires > MAX_PRESIGN_EXPIRES_SECONDS) {
      throw new SigV4Error(
        'BadExpires',
        `X-Amz-Expires must be between 1 and ${MAX_PRESIGN_EXPIRES_SECONDS} seconds; got '${expiresRaw ?? ''}'`,
      );
    }
    if (options.nowMs > requestMs + expires * 1000) {
      throw new SigV4Error('Expired', 'Request has expired', {
        Expires: new Date(requestMs + expires * 1000).toISOString(),
        ServerTime: new Date(options.nowMs).toISOString(),
      });
    }
    if (requestMs - options.nowMs > MAX_CLOCK_SKEW_MS) {
      throw new SigV4Error('Skewed', 'the presigned URL is dated in the future', {
        RequestTime: auth.amzDate,
        ServerTime: new Date(options.nowMs).toISOString(),
      });
    }
  } else if (Math.abs(options.nowMs - requestMs) > MAX_CLOCK_SKEW_MS) {
    throw new SigV4Error(
      'Skewed',
      `Signature expired: ${auth.amzDate} is outside the ${MAX_CLOCK_SKEW_MS / 60000}-minute window around the server time ${new Date(options.nowMs).toISOString()}`,
      { RequestTime: auth.amzDate, ServerTime: new Date(options.nowMs).toISOString() },
    );
  }
  const secret = options.lookupSecret(auth.accessKeyId);
  if (secret === undefined) {
    throw new SigV4Error(
      'UnknownKey',
      'The AWS Access Key Id you provided does not exist in our records.',
      { AWSAccessKeyId: auth.accessKeyId },
    );
  }
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const signingKey = options.keyCache
    ? options.keyCache.get(secret, auth.accessKeyId, auth.date, auth.region, auth.service)
    : deriveSigningKey(secret, auth.date, auth.region, auth.service);
  const q = req.rawUrl.indexOf('?');
  const rawPath = q >= 0 ? req.rawUrl.slice(0, q) : req.rawUrl;
  const rawQuery = q >= 0 ? req.rawUrl.slice(q + 1) : '';
  const cq = canonicalQuery(rawQuery, auth.presigned);
  const ch = canonicalHeaders(headers, auth.signedHeaders);
  const expected = Buffer.from(auth.signature, 'utf8');
  let lastStringToSign = '';
  for (const uri of canonicalUris(auth.service, rawPath)) {
    const canonicalRequest = [
      req.method.toUpperCase(),
      uri,
      cq,
      ch,
      auth.signedHeaders.join(';'),
      options.payloadHash,
    ].join('\n');
    const stringToSign = [
      'AWS4-HMAC-SHA256',
      auth.amzDate,
      scope,
      sha256Hex(canonicalRequest),
    ].join('\n');
    lastStringToSign = stringToSign;
    const actual = Buffer.from(hmac(signingKey, stringToSign).toString('hex'), 'utf8');
    if (actual.length === expected.length && timingSafeEqual(actual, expected)) {
      return { ...auth, signingKey, scope };
    }
  }
  throw new SigV4Error(
    'BadSignature',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    { AWSAccessKeyId: auth.accessKeyId, StringToSign: lastStringToSign },
  );
}

/** Signature of one aws-chunked chunk (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`). */
export function chunkSignature(
  signingKey: Buffer,
  amzDate: string,
  scope: string,
  previousSignature: string,
  chunk: Buffer,
): string {
  const stringToSign = [
    'AWS4-HMAC-SHA256-PAYLOAD',
    amzDate,
    scope,
    previousSignature,
    EMPTY_SHA256,
    sha256Hex(chunk),
  ].join('\n');
  return hmac(signingKey, stringToSign).toString('hex');
}

/** Signature of the trailing headers of a signed aws-chunked upload. */
export function trailerSignature(
  signingKey: Buffer,
  amzDate: string,
  scope: string,
  previousSignature: string,
  trailer: string,
): string {
  const stringToSign = [
    'AWS4-HMAC-SHA256-TRAILER',
    amzDate,
    scope,
    previousSignature,
    sha256Hex(trailer),
  ].join('\n');
  return hmac(signingKey, stringToSign).toString('hex');
}
