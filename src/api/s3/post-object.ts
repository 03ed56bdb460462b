import { authorize } from './access-ops.js';
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { CHECKSUM_ALGORITHMS, type ObjectChecksum, type SseWrite } from '../../objects/index.js';
import { SigV4Error } from '../sigv4/index.js';
import { requireBucket } from './bucket-ops.js';
import { createChecksum, CHECKSUM_BYTES, type Checksum } from './checksums.js';
import type { S3Context } from './context.js';
import { authToS3Error, S3Error } from './errors.js';
import { formBoundary, readForm, type FormFile } from './form-data.js';
import { MAX_PUT_BYTES } from './payload.js';
import { header } from './request.js';
import { send, type Headers } from './response.js';
import { checkPolicy, parsePolicy, postSignature, type SizeRange } from './post-policy.js';
import { sseHeaders, writeSse } from './sse-ops.js';
import { MAX_OBJECT_TAGS, parseTagging } from './tagging-ops.js';
import { xmlDocument } from './xml.js';

/**
 * PostObject: a browser form upload (`POST /bucket`, multipart/form-data) authorized by a signed
 * policy in the form (V4 or V2). Fields come first and are bounded; the file part streams
 * through the size and checksum checks into the store's ordinary put.
 */

/** Form fields before the file, in bytes (S3's limit is of this order; past it: 400). */
export const MAX_POST_PRE_DATA_BYTES = 20 * 1024;
/** A refused form is read to its end up to this many bytes before the error is answered. */
const MAX_DRAIN_BYTES = 1024 * 1024;
/** Bytes after the file (the closing boundary, ignored fields) read before answering. */
const MAX_TRAILING_BYTES = 64 * 1024;
/** Standard headers a form may set on the object, as PutObject's headers. */
const STORED_FIELDS = ['cache-control', 'content-disposition', 'content-encoding', 'expires'];

/** True for a request S3 treats as a browser POST upload: a form posted to a bucket. */
export const isPostObject = (ctx: S3Context): boolean =>
  ctx.method === 'POST' &&
  ctx.bucket !== '' &&
  ctx.key === '' &&
  formBoundary(header(ctx.req, 'content-type')) !== undefined;

/** Counts the file's bytes against the policy's range and computes the form's checksum. */
class FileCheck extends Transform {
  size = 0;
  constructor(
    private readonly range: SizeRange,
    private readonly checksum: { sum: Checksum; expected: ObjectChecksum } | undefined,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.range.max) {
      return done(
        new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', {
          MaxSizeAllowed: String(this.range.max),
        }),
      );
    }
    this.checksum?.sum.update(chunk);
    done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    if (this.size < this.range.min) {
      return done(
        new S3Error(
          'EntityTooSmall',
          'Your proposed upload is smaller than the minimum allowed size',
          {
            MinSizeAllowed: String(this.range.min),
            ProposedSize: String(this.size),
          },
        ),
      );
    }
    if (this.checksum && this.checksum.sum.digestBase64() !== this.checksum.expected.value) {
      const name = `x-amz-checksum-${this.checksum.expected.algorithm.toLowerCase()}`;
      return done(
        new S3Error(
          'BadDigest',
          `The ${name} you specified did not match the calculated checksum.`,
        ),
      );
    }
    done();
  }
}

/** The one `x-amz-checksum-<algorithm>` field of a form, if any. */
function formChecksum(fields: ReadonlyMap<string, string>): ObjectChecksum | undefined {
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = fields.get(`x-amz-checksum-${algorithm.toLowerCase()}`);
    if (value === undefined) continue;
    // A malformed value is InvalidRequest, as AWS answers for PutObject's header (ceph's suite
    // expects BadDigest there; AWS wins).
    if (Buffer.from(value, 'base64').length !== CHECKSUM_BYTES[algorithm]) {
      throw new S3Error(
        'InvalidRequest',
        `Value for x-amz-checksum-${algorithm.toLowerCase()} header is invalid.`,
      );
    }
    return { algorithm, value };
  }
  return undefined;
}

/**
 * The form's `x-amz-server-side-encryption*` fields, read as PutObject reads those headers: SSE-S3,
 * SSE-C (the customer key fields), SSE-KMS with a key → NotImplemented. Never ignored.
 */
function formSseFields(fields: ReadonlyMap<string, string>): { headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  for (const [name, value] of fields) {
    if (name.startsWith('x-amz-server-side-encryption')) headers[name] = value;
  }
  return { headers };
}

/** Where S3 sends the browser after the upload: `success_action_redirect` (or `redirect`). */
function redirectTarget(fields: ReadonlyMap<string, string>): URL | undefined {
  const raw = fields.get('success_action_redirect') ?? fields.get('redirect');
  if (!raw) return undefined;
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined; // S3 falls back to success_action_status for an unusable URL
  }
}

/**
 * Reads and discards the rest of a refused form (up to `max` bytes) so that the client, still
 * sending, reads the error instead of a reset connection; past `max` the connection is closed.
 */
function drainRequest(req: S3Context['req'], max: number): Promise<void> {
  if (req.complete || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let left = max;
    const done = (): void => {
      req.off('readable', onReadable);
      req.off('end', done);
      req.off('error', done);
      req.off('close', done);
      resolve();
    };
    // Pulled with read(): the form reader's async iterator holds a 'readable' listener, which
    // keeps the stream out of flowing mode.
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = req.read() as Buffer | null) !== null) {
        left -= chunk.length;
        if (left < 0) return done();
      }
    };
    req.on('readable', onReadable);
    req.on('end', done);
    req.on('error', done);
    req.on('close', done);
    onReadable();
  });
}

/** PostObject; a refused form is drained (bounded) before the error is answered. */
export async function postObject(ctx: S3Context): Promise<void> {
  try {
    await postForm(ctx);
  } catch (err) {
    await drainRequest(ctx.req, MAX_DRAIN_BYTES);
    throw err;
  }
}

async function postForm(ctx: S3Context): Promise<void> {
  await requireBucket(ctx);
  const boundary = formBoundary(header(ctx.req, 'content-type'))!;
  ctx.bodyStarted = true;
  const form = await readForm(ctx.req, boundary, MAX_POST_PRE_DATA_BYTES);
  const fields = form.fields;
  const file = form.file;
  if (!file) {
    throw new S3Error('IncorrectNumberOfFilesInPostRequest', undefined);
  }
  const policyB64 = fields.get('policy');
  if (policyB64 === undefined) {
    // Without a policy the upload is anonymous: Apiary has no publicly writable buckets.
    throw new S3Error(
      'AccessDenied',
      'Access Denied: an anonymous POST upload needs a signed policy.',
    );
  }
  const signature = postSignature(fields, policyB64);
  const verify = ctx.env.verifyPostSignature;
  if (!verify) throw new S3Error('AccessDenied', 'POST uploads are not enabled on this server.');
  try {
    verify(signature.accessKeyId, ctx.req.socket.remoteAddress, (secret) =>
      signature.matches(secret),
    );
  } catch (err) {
    if (err instanceof SigV4Error) throw authToS3Error(err, ctx.req);
    throw err;
  }
  // The form's signer is the request's principal: it needs s3:PutObject here like any PUT.
  ctx.principal = ctx.env.principalOf?.(signature.accessKeyId) ?? { kind: 'anonymous' };
  await authorize(ctx);
  const policy = parsePolicy(policyB64);
  const keyField = fields.get('key');
  if (keyField === undefined || keyField === '') {
    throw new S3Error(
      'InvalidArgument',
      "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
      { ArgumentName: 'key', ArgumentValue: '' },
    );
  }
  const key = keyField.replaceAll('${filename}', file.filename);
  const checked = new Map(fields);
  checked.set('key', key);
  const range = checkPolicy(policy, checked, ctx.bucket, Date.now()) ?? {
    min: 0,
    max: MAX_PUT_BYTES,
  };
  const acl = fields.get('acl');
  if (acl !== undefined && acl !== 'private') {
    throw new S3Error(
      'NotImplemented',
      `A header or query you provided implies functionality that is not implemented: the acl '${acl.slice(0, 40)}' (Apiary's buckets are private; only 'private' is accepted).`,
      { Header: 'acl' },
    );
  }
  const tagging = fields.get('tagging');
  // S3's form field is a <Tagging> document (PutObject's header is URL-encoded instead).
  const tags =
    tagging !== undefined ? parseTagging(Buffer.from(tagging), MAX_OBJECT_TAGS) : undefined;
  const sseFields = formSseFields(fields);
  const sse = writeSse(ctx, sseFields);
  const expected = formChecksum(fields);
  const metadata: Record<string, string> = {};
  const headers: Record<string, string> = {};
  for (const [name, value] of fields) {
    if (name.startsWith('x-amz-meta-')) metadata[name.slice('x-amz-meta-'.length)] = value;
    if (STORED_FIELDS.includes(name)) headers[name] = value;
  }
  const info = await putFile(ctx, key, file, range, expected, {
    contentType: fields.get('content-type'),
    metadata,
    headers,
    ...(tags ? { tags } : {}),
    ...(sse ? { sse } : {}),
  });
  // What follows the file (closing boundary, ignored fields) is read before answering.
  const drained = await form.drain(MAX_TRAILING_BYTES);
  const location = `${ctx.req.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http'}://${header(ctx.req, 'host') ?? 'localhost'}/${encodeURIComponent(ctx.bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;
  const answer: Headers = {
    etag: info.etag,
    location,
    // The SSE-C key's MD5 comes from the form's fields, as it would from PutObject's headers.
    ...sseHeaders({ ...ctx, req: sseFields as unknown as S3Context['req'] }, info),
  };
  if (expected) answer[`x-amz-checksum-${expected.algorithm.toLowerCase()}`] = expected.value;
  if (!drained) answer.connection = 'close';
  const redirect = redirectTarget(fields);
  if (redirect) {
    redirect.searchParams.set('bucket', ctx.bucket);
    redirect.searchParams.set('key', key);
    redirect.searchParams.set('etag', info.etag);
    return send(ctx, 303, { ...answer, location: redirect.toString() });
  }
  const status = fields.get('success_action_status');
  if (status === '201') {
    return send(
      ctx,
      201,
      answer,
      xmlDocument(
        'PostResponse',
        { Location: location, Bucket: ctx.bucket, Key: key, ETag: info.etag },
        false,
      ),
    );
  }
  send(ctx, status === '200' ? 200 : 204, answer);
}

async function putFile(
  ctx: S3Context,
  key: string,
  file: FormFile,
  range: SizeRange,
  expected: ObjectChecksum | undefined,
  options: {
    contentType: string | undefined;
    metadata: Record<string, string>;
    headers: Record<string, string>;
    tags?: Record<string, string>;
    sse?: SseWrite;
  },
) {
  const check = new FileCheck(
    range,
    expected ? { sum: createChecksum(expected.algorithm), expected } : undefined,
  );
  // pipeline: an error of either stream destroys both and is never left unhandled; the store
  // sees it from `check` and commits nothing.
  pipeline(file.body, check, () => {});
  return ctx.env.store.putObject(ctx.bucket, key, check, {
    ...(options.contentType !== undefined ? { contentType: options.contentType } : {}),
    metadata: options.metadata,
    headers: options.headers,
    ...(options.tags ? { tags: options.tags } : {}),
    ...(options.sse ? { sse: options.sse } : {}),
    ...(expected ? { checksum: expected } : {}),
  });
}
