import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  headerMap,
  MAX_PRESIGN_EXPIRES_SECONDS,
  SigV4Error,
  UNSIGNED_PAYLOAD,
  type SignedRequest,
  type VerifiedSigV4,
} from './sigv4.js';

/**
 * S3's Signature Version 2 in its presigned-URL form (query `AWSAccessKeyId`, `Signature`,
 * `Expires`), which boto3's `generate_presigned_url` still produces by default for S3 in
 * us-east-1 and which S3 and MinIO still accept. Only the query form: an `Authorization: AWS …`
 * header stays refused (see `parseSigV4`). The checks match V4's presigned URLs: expiry (at most
 * 7 days ahead), the method, the path and the signed sub-resources are all in the signature.
 */

/** The query parameters of a V2 presigned URL. */
export interface SigV2PresignedAuth {
  readonly accessKeyId: string;
  /** Base64 HMAC-SHA1, as decoded from the query. */
  readonly signature: string;
  /** Epoch seconds after which the URL is refused. */
  readonly expiresRaw: string;
}

/**
 * Sub-resources that are part of V2's canonical resource (S3's list, as botocore's HmacV1Auth
 * signs them); every other query parameter is left out of the signature.
 */
const SIGNED_SUBRESOURCES: ReadonlySet<string> = new Set([
  'accelerate',
  'acl',
  'cors',
  'defaultObjectAcl',
  'location',
  'logging',
  'partNumber',
  'policy',
  'requestPayment',
  'torrent',
  'versioning',
  'versionId',
  'versions',
  'website',
  'uploads',
  'uploadId',
  'response-content-type',
  'response-content-language',
  'response-expires',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'delete',
  'lifecycle',
  'tagging',
  'restore',
  'storageClass',
  'notification',
  'replication',
  'analytics',
  'metrics',
  'inventory',
  'select',
  'select-type',
  'object-lock',
]);

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'));
  } catch {
    return s;
  }
}

/** Splits a raw query into decoded `[name, value | undefined]` pairs, in order. */
function queryPairs(rawQuery: string): [string, string | undefined][] {
  const out: [string, string | undefined][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    out.push(
      eq < 0
        ? [safeDecode(part), undefined]
        : [safeDecode(part.slice(0, eq)), safeDecode(part.slice(eq + 1))],
    );
  }
  return out;
}

/**
 * The V2 presigned parameters of a request.
 * @returns undefined when the query carries no `AWSAccessKeyId`/`Signature`.
 * @throws SigV4Error Malformed when it carries only part of them.
 */
export function parseSigV2Presigned(req: SignedRequest): SigV2PresignedAuth | undefined {
  const q = req.rawUrl.indexOf('?');
  if (q < 0) return undefined;
  const query = new URLSearchParams(req.rawUrl.slice(q + 1));
  const accessKeyId = query.get('AWSAccessKeyId');
  const signature = query.get('Signature');
  const expiresRaw = query.get('Expires');
  if (accessKeyId === null && signature === null) return undefined;
  if (!accessKeyId || !signature || expiresRaw === null) {
    throw new SigV4Error(
      'Malformed',
      'Query-string authentication (Signature Version 2) requires the AWSAccessKeyId, Signature and Expires parameters.',
    );
  }
  return { accessKeyId, signature, expiresRaw };
}

/** V2's string to sign for a presigned request, with `resource` as the canonical resource's path. */
export function sigV2StringToSign(
  req: SignedRequest,
  expires: string,
  resourcePath: string,
): string {
  const headers = headerMap(req.rawHeaders);
  const q = req.rawUrl.indexOf('?');
  const pairs = queryPairs(q >= 0 ? req.rawUrl.slice(q + 1) : '');
  // Headers a presigned URL signed travel in its query (botocore moves them there).
  const fromQuery = new Map(
    pairs.filter(([k]) => k.toLowerCase() === k).map(([k, v]) => [k, v ?? '']),
  );
  const standard = (name: string): string =>
    (fromQuery.get(name) ?? headers.get(name)?.[0] ?? '').trim();
  const amz = new Map<string, string>();
  for (const [name, values] of headers) {
    if (name.startsWith('x-amz-')) amz.set(name, values.map((v) => v.trim()).join(','));
  }
  for (const [name, value] of fromQuery) {
    if (name.startsWith('x-amz-')) amz.set(name, value.trim());
  }
  const amzLines = [...amz.keys()].sort().map((k) => `${k}:${amz.get(k)!}\n`);
  const sub = pairs
    .filter(([k]) => SIGNED_SUBRESOURCES.has(k))
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]) => (v === undefined ? k : `${k}=${v}`));
  const resource = resourcePath + (sub.length > 0 ? `?${sub.join('&')}` : '');
  return [
    req.method.toUpperCase(),
    standard('content-md5'),
    standard('content-type'),
    `${expires}\n${amzLines.join('')}${resource}`,
  ].join('\n');
}

export interface VerifyV2Options {
  readonly lookupSecret: (accessKeyId: string) => string | undefined;
  readonly nowMs: number;
  /** The region S3 answers in (V2 has no scope; the verified request is given this one). */
  readonly region: string;
}

/**
 * Verifies a V2 presigned S3 request.
 * @returns the request as the S3 protocol's verified auth: presigned, unsigned payload.
 * @throws SigV4Error BadExpires, Expired, UnknownKey or BadSignature, as V4's presigned URLs.
 */
export function verifySigV2Presigned(
  req: SignedRequest,
  auth: SigV2PresignedAuth,
  options: VerifyV2Options,
): VerifiedSigV4 {
  if (!/^\d{1,12}$/.test(auth.expiresRaw)) {
    throw new SigV4Error(
      'BadExpires',
      `Expires must be a time in seconds since the epoch; got '${auth.expiresRaw}'`,
    );
  }
  const expiresMs = Number(auth.expiresRaw) * 1000;
  if (options.nowMs > expiresMs) {
    throw new SigV4Error('Expired', 'Request has expired', {
      Expires: new Date(expiresMs).toISOString(),
      ServerTime: new Date(options.nowMs).toISOString(),
    });
  }
  if (expiresMs - options.nowMs > MAX_PRESIGN_EXPIRES_SECONDS * 1000) {
    throw new SigV4Error(
      'BadExpires',
      `Expires must be at most ${MAX_PRESIGN_EXPIRES_SECONDS} seconds from now; got '${auth.expiresRaw}'`,
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
  const q = req.rawUrl.indexOf('?');
  const rawPath = q >= 0 ? req.rawUrl.slice(0, q) : req.rawUrl;
  // Virtual-host style signs the path with the bucket in front (botocore's auth_path).
  const host = (headerMap(req.rawHeaders).get('host')?.[0] ?? '').replace(/:\d+$/, '');
  const label = host.split('.')[0] ?? '';
  const paths = [rawPath];
  if (
    host.includes('.') &&
    !/^\d+$/.test(label) &&
    label !== '' &&
    !rawPath.startsWith(`/${label}/`)
  ) {
    paths.push(`/${label}${rawPath}`);
  }
  const expected = Buffer.from(auth.signature, 'utf8');
  let stringToSign = '';
  for (const path of paths) {
    stringToSign = sigV2StringToSign(req, auth.expiresRaw, path);
    const actual = Buffer.from(
      createHmac('sha1', secret).update(stringToSign, 'utf8').digest('base64'),
      'utf8',
    );
    if (actual.length === expected.length && timingSafeEqual(actual, expected)) {
      const amzDate = new Date(options.nowMs)
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, '');
      return {
        accessKeyId: auth.accessKeyId,
        date: amzDate.slice(0, 8),
        amzDate,
        region: options.region,
        service: 's3',
        signedHeaders: [],
        signature: auth.signature,
        presigned: true,
        contentSha256: UNSIGNED_PAYLOAD,
        // No V4 signing key: V2 URLs cannot carry aws-chunked bodies (presigned ones never do).
        signingKey: Buffer.alloc(0),
        scope: '',
      };
    }
  }
  throw new SigV4Error(
    'BadSignature',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    { AWSAccessKeyId: auth.accessKeyId, StringToSign: stringToSign },
  );
}
