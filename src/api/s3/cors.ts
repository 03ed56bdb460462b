import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BucketCorsStore, CorsRule } from '../../objects/index.js';
import { requireBucket } from './bucket-ops.js';
import type { S3Context } from './context.js';
import { S3Error } from './errors.js';
import { parseXml, readSmallBody } from './payload.js';
import { header } from './request.js';
import { send, sendXml } from './response.js';
import { textOf } from '../../shared/text.js';

/** Bucket CORS: Put/Get/DeleteBucketCors, preflight `OPTIONS`, CORS headers of actual requests. */

const MAX_RULES = 100;
const METHODS = new Set(['GET', 'PUT', 'POST', 'DELETE', 'HEAD']);
/** A preflight naming more request headers than this is refused without a database read. */
const MAX_REQUESTED_HEADERS = 64;
const NOT_ALLOWED =
  "This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.";

const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const texts = (v: unknown): string[] => list(v).map((x) => textOf(x).trim());

const malformed = (why: string): S3Error =>
  new S3Error(
    'MalformedXML',
    `The XML you provided was not well-formed or did not validate against our published schema: ${why}`,
  );

/**
 * The rules of a `CORSConfiguration` document, validated as S3 does.
 * @throws S3Error MalformedXML (no rule, over 100, a rule without origin or method), InvalidRequest
 * (an unsupported method, more than one `*` in an origin or header).
 */
export function parseCorsConfiguration(body: Buffer): CorsRule[] {
  const doc = parseXml(body, 'CORSConfiguration');
  const rules = list(doc.CORSRule);
  if (rules.length === 0) throw malformed('a CORSConfiguration has 1 to 100 CORSRule elements.');
  if (rules.length > MAX_RULES) {
    throw malformed(`the number of CORS rules should not exceed the limit of ${MAX_RULES} rules.`);
  }
  return rules.map((raw) => {
    if (typeof raw !== 'object' || raw === null) throw malformed('a CORSRule is an element.');
    const r = raw as Record<string, unknown>;
    const allowedMethods = texts(r.AllowedMethod);
    const allowedOrigins = texts(r.AllowedOrigin);
    const allowedHeaders = texts(r.AllowedHeader);
    const exposeHeaders = texts(r.ExposeHeader);
    if (allowedMethods.length === 0 || allowedOrigins.length === 0) {
      throw malformed('each CORSRule has at least one AllowedMethod and one AllowedOrigin.');
    }
    for (const m of allowedMethods) {
      if (!METHODS.has(m)) {
        throw new S3Error(
          'InvalidRequest',
          `Found unsupported HTTP method in CORS config. Unsupported method is ${m.slice(0, 40)}`,
        );
      }
    }
    for (const [what, values] of [
      ['AllowedOrigin', allowedOrigins],
      ['AllowedHeader', allowedHeaders],
    ] as const) {
      for (const v of values) {
        if (v.split('*').length > 2) {
          throw new S3Error(
            'InvalidRequest',
            `${what} "${v.slice(0, 200)}" can not have more than one wildcard.`,
          );
        }
      }
    }
    const id = r.ID === undefined ? undefined : textOf(r.ID);
    if (id !== undefined && id.length > 255)
      throw malformed('a CORSRule ID is at most 255 characters.');
    let maxAgeSeconds: number | undefined;
    if (r.MaxAgeSeconds !== undefined) {
      const m = textOf(r.MaxAgeSeconds).trim();
      if (!/^\d{1,10}$/.test(m))
        throw malformed(`MaxAgeSeconds '${m.slice(0, 20)}' is not an integer.`);
      maxAgeSeconds = Number(m);
    }
    return {
      ...(id !== undefined ? { id } : {}),
      allowedOrigins,
      allowedMethods,
      allowedHeaders,
      exposeHeaders,
      ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {}),
    };
  });
}

/** `value` against a pattern with at most one `*`; `fold` compares case-insensitively (headers). */
export function wildcardMatch(pattern: string, value: string, fold = false): boolean {
  const p = fold ? pattern.toLowerCase() : pattern;
  const v = fold ? value.toLowerCase() : value;
  const star = p.indexOf('*');
  if (star < 0) return p === v;
  const head = p.slice(0, star);
  const tail = p.slice(star + 1);
  return v.length >= head.length + tail.length && v.startsWith(head) && v.endsWith(tail);
}

/** The first rule allowing `origin`, `method` and every one of `requestHeaders` (S3's order). */
export function matchRule(
  rules: readonly CorsRule[],
  origin: string,
  method: string,
  requestHeaders: readonly string[] = [],
): CorsRule | undefined {
  return rules.find(
    (r) =>
      r.allowedOrigins.some((o) => wildcardMatch(o, origin)) &&
      r.allowedMethods.includes(method) &&
      requestHeaders.every((h) => r.allowedHeaders.some((a) => wildcardMatch(a, h, true))),
  );
}

/** The `Access-Control-*` headers S3 answers a request matched by `rule` with. */
export function corsHeaders(
  rule: CorsRule,
  origin: string,
  requestHeaders: readonly string[] | undefined,
): Record<string, string> {
  const any = rule.allowedOrigins.includes('*');
  const h: Record<string, string> = {
    'access-control-allow-origin': any ? '*' : origin,
    'access-control-allow-methods': rule.allowedMethods.join(', '),
    vary: 'Origin, Access-Control-Request-Headers, Access-Control-Request-Method',
  };
  if (!any) h['access-control-allow-credentials'] = 'true';
  if (requestHeaders && requestHeaders.length > 0) {
    h['access-control-allow-headers'] = requestHeaders.join(', ');
  }
  if (rule.exposeHeaders.length > 0) {
    h['access-control-expose-headers'] = rule.exposeHeaders.join(', ');
  }
  if (rule.maxAgeSeconds !== undefined) h['access-control-max-age'] = String(rule.maxAgeSeconds);
  return h;
}

const store = (ctx: S3Context): BucketCorsStore => {
  if (!ctx.env.cors) {
    throw new S3Error('NotImplemented', "'?cors' is not supported by this server.", {
      Header: 'cors',
    });
  }
  return ctx.env.cors;
};

/** PutBucketCors. */
export async function putBucketCors(ctx: S3Context): Promise<void> {
  const cors = store(ctx);
  await requireBucket(ctx);
  const rules = parseCorsConfiguration(await readSmallBody(ctx));
  if (!(await cors.put(ctx.bucket, rules))) {
    throw new S3Error('NoSuchBucket', undefined, { BucketName: ctx.bucket });
  }
  send(ctx, 200, {});
}

/** GetBucketCors: the rules as stored, or 404 NoSuchCORSConfiguration. */
export async function getBucketCors(ctx: S3Context): Promise<void> {
  const cors = store(ctx);
  await requireBucket(ctx);
  const rules = await cors.get(ctx.bucket);
  if (!rules) {
    throw new S3Error('NoSuchCORSConfiguration', undefined, { BucketName: ctx.bucket });
  }
  sendXml(ctx, 'CORSConfiguration', {
    CORSRule: rules.map((r) => ({
      ID: r.id,
      AllowedHeader: r.allowedHeaders,
      AllowedMethod: r.allowedMethods,
      AllowedOrigin: r.allowedOrigins,
      ExposeHeader: r.exposeHeaders,
      MaxAgeSeconds: r.maxAgeSeconds,
    })),
  });
}

/** DeleteBucketCors: 204 whether or not there was a configuration. */
export async function deleteBucketCors(ctx: S3Context): Promise<void> {
  const cors = store(ctx);
  await requireBucket(ctx);
  await cors.delete(ctx.bucket);
  send(ctx, 204, {});
}

/** Request headers a preflight names (`Access-Control-Request-Headers`), lower case. */
function requestedHeaders(req: IncomingMessage): string[] {
  const raw = header(req, 'access-control-request-headers') ?? '';
  return raw
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
}

/**
 * Preflight `OPTIONS /bucket[/key]`, unauthenticated as S3's: one bounded read of the bucket's
 * rules, no body read. 200 with the matching rule's headers, else 403 CORSResponse.
 */
export async function preflight(ctx: S3Context): Promise<void> {
  const origin = header(ctx.req, 'origin');
  if (origin === undefined || origin === '') {
    throw new S3Error('BadRequest', 'Insufficient information. Origin request header needed.');
  }
  const method = header(ctx.req, 'access-control-request-method');
  if (method === undefined || method === '') {
    throw new S3Error('BadRequest', 'Invalid Access-Control-Request-Method: null');
  }
  if (!METHODS.has(method)) {
    throw new S3Error(
      'BadRequest',
      `Invalid Access-Control-Request-Method: ${method.slice(0, 40)}`,
    );
  }
  const headers = requestedHeaders(ctx.req);
  if (headers.length > MAX_REQUESTED_HEADERS || origin.length > 1024) {
    throw new S3Error('CORSResponse', NOT_ALLOWED, { Method: method });
  }
  const rules = ctx.bucket === '' || !ctx.env.cors ? undefined : await ctx.env.cors.get(ctx.bucket);
  if (!rules) throw new S3Error('CORSResponse', 'CORS is not enabled for this bucket.');
  const rule = matchRule(rules, origin, method, headers);
  if (!rule) {
    throw new S3Error('CORSResponse', NOT_ALLOWED, {
      Method: method,
      ResourceType: ctx.key === '' ? 'BUCKET' : 'OBJECT',
    });
  }
  send(ctx, 200, corsHeaders(rule, origin, headers));
}

/**
 * Sets the CORS headers of an actual request that carries an `Origin` (on the response before any
 * operation writes it, so errors carry them too); nothing when no rule matches.
 */
export async function applyCors(
  cors: BucketCorsStore | undefined,
  bucket: string,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
): Promise<void> {
  const origin = header(req, 'origin');
  if (!cors || origin === undefined || origin === '' || bucket === '') return;
  const rules = await cors.get(bucket);
  if (!rules) return;
  // An actual request that names a method in Access-Control-Request-Method is matched on that
  // method (ceph's conformance suite expects it of S3; browsers send the header only on
  // preflights, so they never see the difference).
  const asked = header(req, 'access-control-request-method');
  const rule = matchRule(rules, origin, asked || method);
  if (!rule) return;
  for (const [k, v] of Object.entries(corsHeaders(rule, origin, undefined))) res.setHeader(k, v);
}
