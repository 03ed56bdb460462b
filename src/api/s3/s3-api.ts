import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { XMLParser } from 'fast-xml-parser';
import type { SigV4Error, VerifiedSigV4 } from '../sigv4/index.js';
import {
  bucketNameProblem,
  isObjectStoreError,
  type CompletedPart,
  type ObjectHandle,
  type ObjectInfo,
  type ObjectStore,
} from '../../objects/index.js';
import { planBody, requestBody, type BodyPlan } from './body.js';
import { S3Error, S3_ERROR_STATUS, isS3Error, type S3ErrorCode } from './errors.js';
import { escapeXml, isoTime, xmlDocument, type XmlNode, type XmlValue } from './xml.js';

export interface S3Api {
  handle(req: FastifyRequest, reply: FastifyReply, auth: VerifiedSigV4): Promise<void>;
  authError(req: FastifyRequest, reply: FastifyReply, err: SigV4Error): void;
}

export interface S3ApiDeps {
  readonly store: ObjectStore;
  readonly region: string;
  readonly accountId?: string;
  /** A request body that sends nothing for this long fails with RequestTimeout (default 60 s). */
  readonly bodyIdleTimeoutMs?: number;
  /** Host names under which `<bucket>.<suffix>` selects a bucket (virtual-host style). */
  readonly virtualHostSuffixes?: readonly string[];
  readonly onInternalError?: (err: unknown, requestId: string) => void;
}

/** The largest object a single PUT may carry (S3: 5 GiB); larger ones need multipart. */
const MAX_PUT_BYTES = 5 * 1024 * 1024 * 1024;
const MAX_XML_BODY_BYTES = 2 * 1024 * 1024;
/** Objects (or ranges) up to this size are read into memory in one go and sent with one write. */
const SMALL_OBJECT_BYTES = 256 * 1024;
const MAX_METADATA_BYTES = 2048;
const STORED_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'] as const;
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};
/** Sub-resources S3 has and Apiary does not implement: a clear 501 instead of a wrong answer. */
const UNSUPPORTED_SUBRESOURCES = [
  'accelerate', 'acl', 'analytics', 'attributes', 'cors', 'encryption', 'intelligent-tiering',
  'inventory', 'legal-hold', 'lifecycle', 'logging', 'metadataTable', 'metrics', 'notification',
  'object-lock', 'ownershipControls', 'policy', 'policyStatus', 'publicAccessBlock', 'replication',
  'requestPayment', 'restore', 'retention', 'select', 'session', 'tagging', 'torrent', 'versions',
  'website', 'renameObject',
];

const xmlParser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  htmlEntities: true,
  isArray: (name) => name === 'Part' || name === 'Object',
});

interface Ctx {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly auth: VerifiedSigV4;
  readonly requestId: string;
  readonly method: string;
  readonly bucket: string;
  readonly key: string;
  readonly query: URLSearchParams;
  readonly resource: string;
  /** Set once the request body has been handed to a reader that may stop part-way. */
  bodyStarted: boolean;
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

const unquote = (etag: string): string => etag.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');

function etagMatches(list: string, etag: string): boolean {
  const want = unquote(etag);
  return list.split(',').some((t) => t.trim() === '*' || unquote(t) === want);
}

const httpDate = (ms: number): string => new Date(ms).toUTCString();
const secondsFloor = (ms: number): number => Math.floor(ms / 1000) * 1000;

function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

function decodePath(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new S3Error('InvalidArgument', "Couldn't parse the specified URI: it is not valid percent-encoded UTF-8.");
  }
}

/** S3's `encoding-type=url`: percent-encode everything but unreserved characters and `/`. */
const urlEncodeKey = (s: string): string => encodeURIComponent(s).replace(/%2F/g, '/');

const encodeToken = (marker: string): string => 'a' + Buffer.from(marker, 'utf8').toString('base64url');

function decodeToken(token: string): string {
  if (!token.startsWith('a') || !/^[A-Za-z0-9_-]*$/.test(token.slice(1))) {
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect.', { ArgumentName: 'continuation-token' });
  }
  return Buffer.from(token.slice(1), 'base64url').toString('utf8');
}

function intParam(q: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = q.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw) || Number(raw) < min) {
    throw new S3Error('InvalidArgument', `Provided ${name} not an integer or within integer range: '${raw.slice(0, 40)}'.`, {
      ArgumentName: name,
      ArgumentValue: raw.slice(0, 40),
    });
  }
  return Math.min(Number(raw), max);
}

function userMetadata(req: IncomingMessage): Record<string, string> {
  const metadata: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(req.headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const v = Array.isArray(value) ? value.join(',') : value;
    const k = name.slice('x-amz-meta-'.length);
    metadata[k] = v;
    bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (bytes > MAX_METADATA_BYTES) {
    throw new S3Error('MetadataTooLarge', `Your metadata headers exceed the maximum allowed metadata size: ${bytes} bytes; the limit is ${MAX_METADATA_BYTES}.`, {
      Size: String(bytes),
      MaxSizeAllowed: String(MAX_METADATA_BYTES),
    });
  }
  return metadata;
}

function storedHeaders(req: IncomingMessage): Record<string, string> {
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

function objectHeaders(info: ObjectInfo): Record<string, string | number> {
  const h: Record<string, string | number> = {
    etag: info.etag,
    'last-modified': httpDate(info.lastModifiedMs),
    'content-type': info.contentType,
    'accept-ranges': 'bytes',
  };
  for (const [k, v] of Object.entries(info.headers ?? {})) h[k] = v;
  for (const [k, v] of Object.entries(info.metadata)) h[`x-amz-meta-${k}`] = v;
  if (info.partsCount !== undefined) h['x-amz-mp-parts-count'] = info.partsCount;
  return h;
}

/** Parses `bytes=a-b`, `bytes=a-`, `bytes=-n`; undefined when absent or not a single byte range. */
function parseRange(value: string | undefined, size: number): { start: number; end: number } | undefined {
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
  new S3Error('InvalidRange', 'The requested range is not satisfiable', { ActualObjectSize: String(size) }, { 'content-range': `bytes */${size}` });

/** S3's REST API over an {@link ObjectStore}: path style and `<bucket>.localhost` virtual hosts. */
export function createS3Api(deps: S3ApiDeps): S3Api {
  const store = deps.store;
  const idleTimeoutMs = deps.bodyIdleTimeoutMs ?? 60_000;
  const suffixes = (deps.virtualHostSuffixes ?? ['localhost']).map((s) => '.' + s.toLowerCase());
  const ownerId = createHash('sha256').update(`apiary:${deps.accountId ?? '000000000000'}`).digest('hex');
  const owner: XmlNode = { ID: ownerId, DisplayName: 'apiary' };

  // ---- responses ----

  const baseHeaders = (ctx: { requestId: string }): Record<string, string | number> => ({
    'x-amz-request-id': ctx.requestId,
    'x-amz-id-2': ctx.requestId,
    server: 'Apiary',
  });

  function send(ctx: Ctx, status: number, headers: Record<string, string | number>, body?: string): void {
    const all = { ...baseHeaders(ctx), ...headers };
    if (body !== undefined) {
      all['content-type'] ??= 'application/xml';
      all['content-length'] = Buffer.byteLength(body);
    } else if (all['content-length'] === undefined) {
      all['content-length'] = 0;
    }
    ctx.res.writeHead(status, all);
    ctx.res.end(ctx.method === 'HEAD' ? undefined : body);
  }

  const sendXml = (ctx: Ctx, root: string, children: XmlNode, headers: Record<string, string | number> = {}) =>
    send(ctx, 200, headers, xmlDocument(root, children));

  function sendError(
    target: { req: IncomingMessage; res: ServerResponse; requestId: string; method: string; resource: string },
    err: S3Error,
    closeConnection: boolean,
  ): void {
    const res = target.res;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const extra: string[] = [];
    for (const [k, v] of Object.entries(err.detail)) extra.push(`<${k}>${escapeXml(v)}</${k}>`);
    const body =
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${err.code}</Code><Message>${escapeXml(err.message)}</Message>` +
      extra.join('') +
      `<Resource>${escapeXml(target.resource)}</Resource><RequestId>${target.requestId}</RequestId><HostId>${target.requestId}</HostId></Error>`;
    const headers: Record<string, string | number> = {
      ...baseHeaders(target),
      ...err.headers,
      'content-type': 'application/xml',
      'content-length': target.method === 'HEAD' ? 0 : Buffer.byteLength(body),
    };
    if (closeConnection) headers.connection = 'close';
    res.writeHead(err.status, headers);
    res.end(target.method === 'HEAD' ? undefined : body);
    if (closeConnection) res.once('finish', () => target.req.socket?.destroySoon?.());
  }

  const toS3Error = (err: unknown, requestId: string): S3Error => {
    if (isS3Error(err)) return err;
    if (isObjectStoreError(err)) {
      const code = (err.code in S3_ERROR_STATUS ? err.code : 'InvalidRequest') as S3ErrorCode;
      return new S3Error(code, err.message, err.context);
    }
    deps.onInternalError?.(err, requestId);
    return new S3Error('InternalError', 'We encountered an internal error. Please try again.');
  };

  // ---- request parsing ----

  function locate(req: IncomingMessage): { bucket: string; key: string; query: URLSearchParams; resource: string } {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q >= 0 ? url.slice(0, q) : url;
    const query = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');
    const host = (header(req, 'host') ?? '').toLowerCase().replace(/:\d+$/, '');
    const suffix = suffixes.find((s) => host.endsWith(s) && host.length > s.length);
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

  /** Reads a small (XML) body through the same decoding and verification as objects. */
  async function readSmallBody(ctx: Ctx): Promise<Buffer> {
    const plan = planBody(ctx.req, ctx.auth);
    ctx.bodyStarted = true;
    const { body } = requestBody(ctx.req, plan, ctx.auth, { idleTimeoutMs });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of body) {
      size += (c as Buffer).length;
      if (size > MAX_XML_BODY_BYTES) {
        throw new S3Error('MalformedXML', `The XML you provided is larger than ${MAX_XML_BODY_BYTES} bytes.`);
      }
      chunks.push(c as Buffer);
    }
    const buf = Buffer.concat(chunks);
    const md5 = header(ctx.req, 'content-md5');
    if (md5 !== undefined) {
      const expected = Buffer.from(md5, 'base64');
      if (expected.length !== 16) throw new S3Error('InvalidDigest', 'The Content-MD5 you specified is not valid.');
      if (!expected.equals(createHash('md5').update(buf).digest())) {
        throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
      }
    }
    return buf;
  }

  function parseXml(buf: Buffer, root: string): Record<string, unknown> {
    const text = buf.toString('utf8');
    if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
      throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema: DTDs are not allowed.');
    }
    let doc: Record<string, unknown>;
    try {
      doc = xmlParser.parse(text) as Record<string, unknown>;
    } catch {
      throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
    }
    const node = doc[root];
    if (node === undefined || typeof node !== 'object' || node === null) {
      throw new S3Error('MalformedXML', `The XML you provided was not well-formed or did not validate against our published schema: expected a <${root}> element.`);
    }
    return node as Record<string, unknown>;
  }

  /** The body of an object upload, decoded and verified as it streams. */
  function objectBody(ctx: Ctx, plan: BodyPlan) {
    const te = header(ctx.req, 'transfer-encoding');
    const cl = header(ctx.req, 'content-length');
    if (cl === undefined && te === undefined) {
      throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.');
    }
    const size = plan.mode.kind === 'chunked' ? plan.mode.decodedLength : cl !== undefined ? Number(cl) : undefined;
    if (size !== undefined && size > MAX_PUT_BYTES) {
      throw new S3Error('EntityTooLarge', `Your proposed upload exceeds the maximum allowed object size of ${MAX_PUT_BYTES} bytes; use a multipart upload.`, {
        ProposedSize: String(size),
        MaxSizeAllowed: String(MAX_PUT_BYTES),
      });
    }
    ctx.bodyStarted = true;
    return requestBody(ctx.req, plan, ctx.auth, { idleTimeoutMs });
  }

  // ---- operations ----

  async function listBuckets(ctx: Ctx) {
    const buckets = await store.listBuckets();
    sendXml(ctx, 'ListAllMyBucketsResult', {
      Owner: owner,
      Buckets: { Bucket: buckets.map((b) => ({ Name: b.name, CreationDate: isoTime(b.createdAtMs) })) },
    });
  }

  async function createBucket(ctx: Ctx) {
    const problem = bucketNameProblem(ctx.bucket);
    if (problem) {
      throw new S3Error('InvalidBucketName', `The specified bucket is not valid: '${ctx.bucket.slice(0, 80)}' ${problem}.`, { BucketName: ctx.bucket.slice(0, 255) });
    }
    const body = await readSmallBody(ctx);
    if (body.length > 0) parseXml(body, 'CreateBucketConfiguration');
    await store.createBucket(ctx.bucket);
    send(ctx, 200, { location: `/${ctx.bucket}` });
  }

  async function requireBucket(ctx: Ctx) {
    if (!(await store.getBucket(ctx.bucket))) {
      throw new S3Error('NoSuchBucket', 'The specified bucket does not exist.', { BucketName: ctx.bucket });
    }
  }

  async function listObjects(ctx: Ctx, v2: boolean) {
    const q = ctx.query;
    const encode = q.get('encoding-type');
    if (encode !== null && encode !== 'url') {
      throw new S3Error('InvalidArgument', `Invalid Encoding Method specified in Request: '${encode.slice(0, 40)}'; the only one is 'url'.`, { ArgumentName: 'encoding-type' });
    }
    const enc = encode === 'url' ? urlEncodeKey : (s: string) => s;
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const maxKeys = intParam(q, 'max-keys', 1000, 0, 1000);
    const token = v2 ? q.get('continuation-token') : null;
    const startAfter = v2 ? q.get('start-after') : q.get('marker');
    const after = token !== null ? decodeToken(token) : startAfter || undefined;
    const page = await store.listObjects(ctx.bucket, {
      prefix,
      ...(delimiter ? { delimiter } : {}),
      ...(after !== undefined ? { startAfter: after } : {}),
      maxKeys,
    });
    const contents: XmlNode[] = page.objects.map((o) => ({
      Key: enc(o.key),
      LastModified: isoTime(o.lastModifiedMs),
      ETag: o.etag,
      Size: o.size,
      Owner: v2 ? undefined : owner,
      StorageClass: 'STANDARD',
    }));
    const next = page.isTruncated ? page.nextMarker : undefined;
    const children: Record<string, XmlValue> = { Name: ctx.bucket, Prefix: enc(prefix) };
    if (v2) {
      children.ContinuationToken = token ?? undefined;
      children.NextContinuationToken = next !== undefined ? encodeToken(next) : undefined;
      children.StartAfter = startAfter ? enc(startAfter) : undefined;
      children.KeyCount = page.objects.length + page.commonPrefixes.length;
    } else {
      children.Marker = enc(startAfter ?? '');
      children.NextMarker = next !== undefined ? enc(next) : undefined;
    }
    children.MaxKeys = maxKeys;
    children.Delimiter = delimiter ? enc(delimiter) : undefined;
    children.EncodingType = encode ? 'url' : undefined;
    children.IsTruncated = page.isTruncated;
    children.Contents = contents;
    children.CommonPrefixes = page.commonPrefixes.map((p) => ({ Prefix: enc(p) }));
    sendXml(ctx, 'ListBucketResult', children);
  }

  async function deleteObjects(ctx: Ctx) {
    await requireBucket(ctx);
    const body = await readSmallBody(ctx);
    const del = parseXml(body, 'Delete');
    const objects = (del.Object as Record<string, unknown>[] | undefined) ?? [];
    if (objects.length === 0 || objects.length > 1000) {
      throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema: a Delete request names 1 to 1,000 objects.');
    }
    const quiet = String(del.Quiet ?? '').trim().toLowerCase() === 'true';
    const keys: string[] = [];
    const errors: XmlNode[] = [];
    for (const o of objects) {
      const key = typeof o.Key === 'string' ? o.Key : undefined;
      if (key === undefined || key === '') {
        throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema: every Object needs a Key.');
      }
      if (Buffer.byteLength(key) > 1024) errors.push({ Key: key, Code: 'KeyTooLongError', Message: 'Your key is too long' });
      else keys.push(key);
    }
    await store.deleteObjects(ctx.bucket, keys);
    sendXml(ctx, 'DeleteResult', { Deleted: quiet ? [] : keys.map((k) => ({ Key: k })), Error: errors });
  }

  async function listUploads(ctx: Ctx) {
    const q = ctx.query;
    const maxUploads = intParam(q, 'max-uploads', 1000, 0, 1000);
    const prefix = q.get('prefix') ?? '';
    const keyMarker = q.get('key-marker') ?? '';
    const uploadIdMarker = q.get('upload-id-marker') ?? '';
    const page = await store.listMultipartUploads(ctx.bucket, {
      ...(prefix ? { prefix } : {}),
      ...(keyMarker ? { keyMarker } : {}),
      ...(uploadIdMarker ? { uploadIdMarker } : {}),
      maxUploads,
    });
    const last = page.uploads[page.uploads.length - 1];
    sendXml(ctx, 'ListMultipartUploadsResult', {
      Bucket: ctx.bucket,
      KeyMarker: keyMarker,
      UploadIdMarker: uploadIdMarker,
      NextKeyMarker: page.isTruncated ? last?.key : undefined,
      NextUploadIdMarker: page.isTruncated ? last?.uploadId : undefined,
      Prefix: prefix,
      MaxUploads: maxUploads,
      IsTruncated: page.isTruncated,
      Upload: page.uploads.map((u) => ({
        Key: u.key,
        UploadId: u.uploadId,
        Initiator: owner,
        Owner: owner,
        StorageClass: 'STANDARD',
        Initiated: isoTime(u.initiatedAtMs),
      })),
    });
  }

  async function bucketOp(ctx: Ctx) {
    const q = ctx.query;
    switch (ctx.method) {
      case 'PUT':
        return createBucket(ctx);
      case 'HEAD':
        await requireBucket(ctx);
        return send(ctx, 200, { 'x-amz-bucket-region': deps.region });
      case 'DELETE':
        await store.deleteBucket(ctx.bucket);
        return send(ctx, 204, {});
      case 'GET':
        if (q.has('location')) {
          await requireBucket(ctx);
          const location = deps.region === 'us-east-1' ? '' : escapeXml(deps.region);
          return send(ctx, 200, {}, `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${location}</LocationConstraint>`);
        }
        if (q.has('versioning')) {
          await requireBucket(ctx);
          return sendXml(ctx, 'VersioningConfiguration', {});
        }
        if (q.has('uploads')) return listUploads(ctx);
        return listObjects(ctx, q.get('list-type') === '2');
      case 'POST':
        if (q.has('delete')) return deleteObjects(ctx);
        break;
    }
    throw new S3Error('MethodNotAllowed', `The specified method is not allowed against this resource: ${ctx.method} on a bucket.`, {
      Method: ctx.method,
      ResourceType: 'BUCKET',
    });
  }

  function checkReadConditions(ctx: Ctx, info: ObjectInfo): void {
    const ifMatch = header(ctx.req, 'if-match');
    const ifNoneMatch = header(ctx.req, 'if-none-match');
    const ifModifiedSince = parseHttpDate(header(ctx.req, 'if-modified-since'));
    const ifUnmodifiedSince = parseHttpDate(header(ctx.req, 'if-unmodified-since'));
    const lastModified = secondsFloor(info.lastModifiedMs);
    if (ifMatch !== undefined) {
      if (!etagMatches(ifMatch, info.etag)) throw preconditionFailed('If-Match');
    } else if (ifUnmodifiedSince !== undefined && lastModified > ifUnmodifiedSince) {
      throw preconditionFailed('If-Unmodified-Since');
    }
    if (ifNoneMatch !== undefined) {
      if (etagMatches(ifNoneMatch, info.etag)) throw new NotModified(info);
    } else if (ifModifiedSince !== undefined && lastModified <= ifModifiedSince) {
      throw new NotModified(info);
    }
  }

  async function getObject(ctx: Ctx) {
    const handle: ObjectHandle | undefined = await store.openObject(ctx.bucket, ctx.key);
    if (!handle) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: ctx.key });
    const info = handle.info;
    let streaming = false;
    try {
      try {
        checkReadConditions(ctx, info);
      } catch (err) {
        if (err instanceof NotModified) {
          const h: Record<string, string | number> = { etag: info.etag, 'last-modified': httpDate(info.lastModifiedMs) };
          return send(ctx, 304, h);
        }
        throw err;
      }
      const range = parseRange(header(ctx.req, 'range'), info.size);
      const headers = objectHeaders(info);
      for (const [param, name] of Object.entries(RESPONSE_OVERRIDES)) {
        const v = ctx.query.get(param);
        if (v !== null) headers[name] = v;
      }
      if (info.checksum && !range && header(ctx.req, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED') {
        headers[`x-amz-checksum-${info.checksum.algorithm.toLowerCase()}`] = info.checksum.value;
        headers['x-amz-checksum-type'] = 'FULL_OBJECT';
      }
      let status = 200;
      if (range) {
        status = 206;
        headers['content-range'] = `bytes ${range.start}-${range.end}/${info.size}`;
        headers['content-length'] = range.end - range.start + 1;
      } else {
        headers['content-length'] = info.size;
      }
      if (ctx.method === 'HEAD') {
        ctx.res.writeHead(status, { ...baseHeaders(ctx), ...headers });
        ctx.res.end();
        return;
      }
      const length = Number(headers['content-length']);
      if (length <= SMALL_OBJECT_BYTES) {
        // One read and one write for small objects: no stream machinery.
        streaming = true;
        const bytes = await handle.readBuffer(range);
        ctx.res.writeHead(status, { ...baseHeaders(ctx), ...headers });
        ctx.res.end(bytes);
        return;
      }
      const body = handle.read(range);
      streaming = true;
      ctx.res.writeHead(status, { ...baseHeaders(ctx), ...headers });
      try {
        await pipeline(body, ctx.res);
      } catch {
        // The client went away mid-download; the file handle closes with the stream.
      }
    } finally {
      if (!streaming) await handle.close();
    }
  }

  function writeConditions(req: IncomingMessage) {
    const ifNoneMatch = header(req, 'if-none-match');
    const ifMatch = header(req, 'if-match');
    if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
      throw new S3Error('NotImplemented', 'If-None-Match on writes supports only "*" (create only).', { Header: 'If-None-Match' });
    }
    return { ...(ifNoneMatch !== undefined ? { ifNoneMatch } : {}), ...(ifMatch !== undefined ? { ifMatch } : {}) };
  }

  async function putObject(ctx: Ctx) {
    if (header(ctx.req, 'x-amz-copy-source') !== undefined) return copyObject(ctx);
    const conditions = writeConditions(ctx.req);
    const plan = planBody(ctx.req, ctx.auth);
    const metadata = userMetadata(ctx.req);
    const headers = storedHeaders(ctx.req);
    const contentMd5 = header(ctx.req, 'content-md5');
    if (contentMd5 !== undefined && Buffer.from(contentMd5, 'base64').length !== 16) {
      throw new S3Error('InvalidDigest', 'The Content-MD5 you specified is not valid: it must be the base64 of a 16-byte MD5 digest.');
    }
    const { body, decoder } = objectBody(ctx, plan);
    const info = await store.putObject(ctx.bucket, ctx.key, body, {
      contentType: header(ctx.req, 'content-type'),
      metadata,
      headers,
      ...(contentMd5 !== undefined ? { contentMd5 } : {}),
      ...conditions,
      // Read by the store after the body has ended, when the decoder has verified it.
      get checksum() {
        return decoder?.verifiedChecksum;
      },
    });
    const h: Record<string, string | number> = { etag: info.etag };
    const cs = decoder?.verifiedChecksum;
    if (cs) h[`x-amz-checksum-${cs.algorithm.toLowerCase()}`] = cs.value;
    send(ctx, 200, h);
  }

  function copySource(ctx: Ctx): { bucket: string; key: string } {
    let raw = header(ctx.req, 'x-amz-copy-source') ?? '';
    const qm = raw.indexOf('?');
    if (qm >= 0) raw = raw.slice(0, qm);
    const decoded = decodePath(raw).replace(/^\//, '');
    const slash = decoded.indexOf('/');
    if (slash <= 0 || slash === decoded.length - 1) {
      throw new S3Error('InvalidArgument', 'Copy Source must mention the source bucket and key: sourcebucket/sourcekey.', {
        ArgumentName: 'x-amz-copy-source',
        ArgumentValue: raw.slice(0, 200),
      });
    }
    return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
  }

  async function checkCopySourceConditions(ctx: Ctx, info: ObjectInfo) {
    const ifMatch = header(ctx.req, 'x-amz-copy-source-if-match');
    const ifNoneMatch = header(ctx.req, 'x-amz-copy-source-if-none-match');
    const ims = parseHttpDate(header(ctx.req, 'x-amz-copy-source-if-modified-since'));
    const ius = parseHttpDate(header(ctx.req, 'x-amz-copy-source-if-unmodified-since'));
    const lm = secondsFloor(info.lastModifiedMs);
    if (ifMatch !== undefined && !etagMatches(ifMatch, info.etag)) throw preconditionFailed('x-amz-copy-source-If-Match');
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, info.etag)) throw preconditionFailed('x-amz-copy-source-If-None-Match');
    if (ims !== undefined && lm <= ims) throw preconditionFailed('x-amz-copy-source-If-Modified-Since');
    if (ius !== undefined && lm > ius) throw preconditionFailed('x-amz-copy-source-If-Unmodified-Since');
  }

  async function copyObject(ctx: Ctx) {
    const source = copySource(ctx);
    const directive = (header(ctx.req, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
    if (directive !== 'COPY' && directive !== 'REPLACE') {
      throw new S3Error('InvalidArgument', `Unknown metadata directive '${directive.slice(0, 40)}'; use COPY or REPLACE.`, { ArgumentName: 'x-amz-metadata-directive' });
    }
    const src = await store.headObject(source.bucket, source.key);
    if (!src) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: source.key });
    await checkCopySourceConditions(ctx, src);
    const info = await store.copyObject(source, { bucket: ctx.bucket, key: ctx.key }, {
      metadataDirective: directive,
      ...(directive === 'REPLACE'
        ? { contentType: header(ctx.req, 'content-type'), metadata: userMetadata(ctx.req), headers: storedHeaders(ctx.req) }
        : {}),
      ...writeConditions(ctx.req),
    });
    sendXml(ctx, 'CopyObjectResult', { LastModified: isoTime(info.lastModifiedMs), ETag: info.etag });
  }

  async function uploadPart(ctx: Ctx, uploadId: string) {
    const partNumber = intParam(ctx.query, 'partNumber', 0, 1, 10_001);
    if (partNumber > 10_000) {
      throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive.', { ArgumentName: 'partNumber', ArgumentValue: String(partNumber) });
    }
    if (header(ctx.req, 'x-amz-copy-source') !== undefined) return uploadPartCopy(ctx, uploadId, partNumber);
    const plan = planBody(ctx.req, ctx.auth);
    const contentMd5 = header(ctx.req, 'content-md5');
    const { body, decoder } = objectBody(ctx, plan);
    const part = await store.uploadPart(ctx.bucket, ctx.key, uploadId, partNumber, body, contentMd5 !== undefined ? { contentMd5 } : {});
    const h: Record<string, string | number> = { etag: part.etag };
    const cs = decoder?.verifiedChecksum;
    if (cs) h[`x-amz-checksum-${cs.algorithm.toLowerCase()}`] = cs.value;
    send(ctx, 200, h);
  }

  async function uploadPartCopy(ctx: Ctx, uploadId: string, partNumber: number) {
    const source = copySource(ctx);
    const handle = await store.openObject(source.bucket, source.key);
    if (!handle) throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: source.key });
    let range: { start: number; end: number } | undefined;
    try {
      await checkCopySourceConditions(ctx, handle.info);
      const rawRange = header(ctx.req, 'x-amz-copy-source-range');
      if (rawRange !== undefined) {
        const m = /^bytes=(\d+)-(\d+)$/.exec(rawRange.trim());
        if (!m || Number(m[2]) < Number(m[1]) || Number(m[2]) >= handle.info.size) {
          throw new S3Error('InvalidArgument', `The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy, inside the ${handle.info.size}-byte source.`, {
            ArgumentName: 'x-amz-copy-source-range',
            ArgumentValue: rawRange.slice(0, 100),
          });
        }
        range = { start: Number(m[1]), end: Number(m[2]) };
      }
    } catch (err) {
      await handle.close();
      throw err;
    }
    const part = await store.uploadPart(ctx.bucket, ctx.key, uploadId, partNumber, handle.read(range));
    sendXml(ctx, 'CopyPartResult', { LastModified: isoTime(part.lastModifiedMs), ETag: part.etag });
  }

  async function completeUpload(ctx: Ctx, uploadId: string) {
    const body = await readSmallBody(ctx);
    const root = parseXml(body, 'CompleteMultipartUpload');
    const raw = (root.Part as Record<string, unknown>[] | undefined) ?? [];
    const parts: CompletedPart[] = raw.map((p) => {
      const n = String(p.PartNumber ?? '').trim();
      const etag = String(p.ETag ?? '').trim();
      if (!/^\d+$/.test(n) || etag === '') {
        throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema: every Part needs a PartNumber and an ETag.');
      }
      return { partNumber: Number(n), etag };
    });
    const info = await store.completeMultipartUpload(ctx.bucket, ctx.key, uploadId, parts, writeConditions(ctx.req));
    const host = header(ctx.req, 'host') ?? 'localhost';
    sendXml(ctx, 'CompleteMultipartUploadResult', {
      Location: `http://${host}/${ctx.bucket}/${urlEncodeKey(ctx.key)}`,
      Bucket: ctx.bucket,
      Key: ctx.key,
      ETag: info.etag,
    });
  }

  async function listParts(ctx: Ctx, uploadId: string) {
    const maxParts = intParam(ctx.query, 'max-parts', 1000, 0, 1000);
    const marker = intParam(ctx.query, 'part-number-marker', 0, 0, 10_000);
    const page = await store.listParts(ctx.bucket, ctx.key, uploadId, { maxParts, partNumberMarker: marker });
    const last = page.parts[page.parts.length - 1];
    sendXml(ctx, 'ListPartsResult', {
      Bucket: ctx.bucket,
      Key: ctx.key,
      UploadId: uploadId,
      Initiator: owner,
      Owner: owner,
      StorageClass: 'STANDARD',
      PartNumberMarker: marker,
      NextPartNumberMarker: last?.partNumber ?? marker,
      MaxParts: maxParts,
      IsTruncated: page.isTruncated,
      Part: page.parts.map((p) => ({ PartNumber: p.partNumber, LastModified: isoTime(p.lastModifiedMs), ETag: p.etag, Size: p.size })),
    });
  }

  async function objectOp(ctx: Ctx) {
    const q = ctx.query;
    const uploadId = q.get('uploadId');
    switch (ctx.method) {
      case 'GET':
        if (uploadId !== null) return listParts(ctx, uploadId);
        return getObject(ctx);
      case 'HEAD':
        return getObject(ctx);
      case 'PUT':
        if (uploadId !== null) return uploadPart(ctx, uploadId);
        return putObject(ctx);
      case 'DELETE':
        if (uploadId !== null) {
          await store.abortMultipartUpload(ctx.bucket, ctx.key, uploadId);
          return send(ctx, 204, {});
        }
        await store.deleteObject(ctx.bucket, ctx.key);
        return send(ctx, 204, {});
      case 'POST':
        if (q.has('uploads')) {
          const up = await store.createMultipartUpload(ctx.bucket, ctx.key, {
            contentType: header(ctx.req, 'content-type'),
            metadata: userMetadata(ctx.req),
            headers: storedHeaders(ctx.req),
          });
          return sendXml(ctx, 'InitiateMultipartUploadResult', { Bucket: ctx.bucket, Key: ctx.key, UploadId: up.uploadId });
        }
        if (uploadId !== null) return completeUpload(ctx, uploadId);
        break;
    }
    throw new S3Error('MethodNotAllowed', `The specified method is not allowed against this resource: ${ctx.method} on an object.`, {
      Method: ctx.method,
      ResourceType: 'OBJECT',
    });
  }

  async function route(ctx: Ctx) {
    for (const name of UNSUPPORTED_SUBRESOURCES) {
      if (ctx.query.has(name)) {
        throw new S3Error('NotImplemented', `A header or query you provided implies functionality that is not implemented: '?${name}' is not supported by Apiary.`, { Header: name });
      }
    }
    if (ctx.bucket === '') {
      if (ctx.method === 'GET') return listBuckets(ctx);
      throw new S3Error('MethodNotAllowed', `The specified method is not allowed against this resource: ${ctx.method} on the service.`, { Method: ctx.method, ResourceType: 'SERVICE' });
    }
    if (ctx.key === '') return bucketOp(ctx);
    return objectOp(ctx);
  }

  return {
    async handle(request, reply, auth) {
      reply.hijack();
      const req = request.raw;
      const res = reply.raw;
      const method = (req.method ?? 'GET').toUpperCase();
      let ctx: Ctx | undefined;
      try {
        const loc = locate(req);
        ctx = { req, res, auth, requestId: request.id, method, ...loc, bodyStarted: false };
        await route(ctx);
      } catch (err) {
        const e = toS3Error(err, request.id);
        // A body abandoned part-way cannot be drained cheaply: answer and close the connection.
        const close = !req.complete && (ctx?.bodyStarted ?? false);
        sendError({ req, res, requestId: request.id, method, resource: ctx?.resource ?? (req.url ?? '/').split('?')[0]! }, e, close);
      }
    },
    authError(request, reply, err) {
      reply.hijack();
      const req = request.raw;
      const method = (req.method ?? 'GET').toUpperCase();
      const e = authToS3Error(err, req);
      sendError({ req, res: reply.raw, requestId: request.id, method, resource: (req.url ?? '/').split('?')[0]! }, e, false);
    },
  };
}

class NotModified extends Error {
  constructor(readonly info: ObjectInfo) {
    super('not modified');
  }
}

const preconditionFailed = (condition: string) =>
  new S3Error('PreconditionFailed', `At least one of the pre-conditions you specified did not hold (${condition}).`, { Condition: condition });

/** S3's answer to each SigV4 failure. */
export function authToS3Error(err: SigV4Error, req: IncomingMessage): S3Error {
  const presigned = (req.url ?? '').includes('X-Amz-Algorithm=');
  const d = err.detail;
  switch (err.kind) {
    case 'Missing':
      if (/[?&]AWSAccessKeyId=/.test(req.url ?? '') || /^AWS /.test(String(req.headers.authorization ?? ''))) {
        return new S3Error(
          'AccessDenied',
          "Signature Version 2 is not supported: sign with AWS Signature Version 4 (boto3: Config(signature_version='s3v4'); aws CLI: 'aws configure set default.s3.signature_version s3v4').",
        );
      }
      return new S3Error('AccessDenied', err.message || 'Access Denied');
    case 'UnknownKey':
      return new S3Error('InvalidAccessKeyId', err.message, d);
    case 'BadSignature':
      return new S3Error('SignatureDoesNotMatch', err.message, d);
    case 'Skewed':
      return new S3Error('RequestTimeTooSkewed', `The difference between the request time and the server's time is too large: ${err.message}`, {
        ...d,
        MaxAllowedSkewMilliseconds: '900000',
      });
    case 'Expired':
      return new S3Error('AccessDenied', 'Request has expired', d);
    case 'BadExpires':
      return new S3Error('AccessDenied', `${err.message}: presigned URLs may be valid for 1 to 604800 seconds (7 days).`, {
        ...d,
        Reason: 'AuthorizationQueryParametersError',
      });
    case 'Malformed':
      // A scope date that is not the request's day, or an unsigned Host, can never carry a valid
      // signature: S3 refuses those with 403.
      if (/scope date|'host'/.test(err.message)) return new S3Error('SignatureDoesNotMatch', err.message, d);
      return new S3Error(presigned ? 'AuthorizationQueryParametersError' : 'AuthorizationHeaderMalformed', `The authorization ${presigned ? 'query parameters are' : 'header is'} malformed; ${err.message}`, d);
  }
}
