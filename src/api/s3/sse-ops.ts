import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { BucketEncryption, ObjectInfo, SseWrite } from '../../objects/index.js';
import type { S3Context } from './context.js';
import { S3Error } from './errors.js';
import { parseXml, readSmallBody } from './payload.js';
import { guardSseHeaders, parseSseHeaders, type SseRequest } from './sse-headers.js';
import { send, sendXml, type Headers } from './response.js';
import { requireBucket } from './bucket-ops.js';

/**
 * Server-side encryption on the wire: what a write asks for (SSE-S3, SSE-C), the SSE-C key a read
 * must bring, the response headers that say how an object is stored, and the bucket default
 * (`?encryption`). The sealing itself is the store's (objects/encryption/).
 */

const SSE = 'x-amz-server-side-encryption';
const SSE_C = `${SSE}-customer-`;

/** Whether the request came over TLS or from this machine (where plain HTTP never leaves it). */
function secureEnough(ctx: S3Context): boolean {
  if ((ctx.req.socket as TLSSocket).encrypted) return true;
  if (ctx.env.sseCAllowHttp) return true;
  const ip = ctx.sourceIp.replace(/^::ffff:/, '');
  return ip === '::1' || ip.startsWith('127.');
}

/**
 * AWS refuses SSE-C over plain HTTP (the key would cross the network in clear). Apiary often runs
 * on http://localhost, so loopback clients are accepted; others need TLS or APIARY_S3_SSE_C_ALLOW_HTTP.
 */
function requireSecure(ctx: S3Context, sse: SseRequest): void {
  if (sse.kind === 'SSE-C' && !secureEnough(ctx)) {
    throw new S3Error(
      'InvalidRequest',
      'Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.',
    );
  }
}

/**
 * The encryption a write (PutObject, CopyObject target, CreateMultipartUpload) asks for; undefined:
 * none asked (the bucket's default applies). `aws:kms` without a key id — what the SageMaker Python
 * SDK sends with every upload — is stored with SSE-S3 and answered as `AES256`: Apiary has no KMS,
 * and the response says honestly what was done (APIARY_S3_SSE_STRICT refuses it instead).
 * `headers`: where the SSE headers are (a POST form's fields); the request's own by default.
 */
export function writeSse(
  ctx: S3Context,
  headers: Pick<IncomingMessage, 'headers'> = ctx.req,
): SseWrite | undefined {
  const sse = guardSseHeaders(headers as IncomingMessage, ctx.env.sseStrict);
  requireSecure(ctx, sse);
  switch (sse.kind) {
    case 'none':
      return undefined;
    case 'AES256':
    case 'KMS-default':
      return { mode: 'SSE-S3' };
    case 'SSE-C':
      return { mode: 'SSE-C', customerKey: sse.key };
  }
}

/**
 * The SSE-C key a read (GET, HEAD, UploadPart) brings; `copySource`: the copy source's key. A GET
 * or HEAD carrying `x-amz-server-side-encryption` is refused (400), as AWS does: it is a write
 * header, and SSE-S3 objects need nothing to be read.
 */
export function customerKeyOf(ctx: S3Context, copySource = false): Buffer | undefined {
  if ((ctx.method === 'GET' || ctx.method === 'HEAD') && ctx.req.headers[SSE] !== undefined) {
    throw new S3Error(
      'InvalidArgument',
      `${SSE} is a header of writes: a GET or HEAD must not carry it`,
      { ArgumentName: SSE },
    );
  }
  const sse = parseSseHeaders(ctx.req, copySource ? 'x-amz-copy-source-' : 'x-amz-');
  requireSecure(ctx, sse);
  return sse.kind === 'SSE-C' ? sse.key : undefined;
}

/**
 * The headers that say how an object is stored: `x-amz-server-side-encryption: AES256` for SSE-S3;
 * for SSE-C the algorithm and the MD5 of the key the request carried (the key is never stored).
 */
export function sseHeaders(ctx: S3Context, info: Pick<ObjectInfo, 'encryption'>): Headers {
  if (info.encryption === 'SSE-S3') return { [SSE]: 'AES256' };
  if (info.encryption === 'SSE-C') {
    const sse = parseSseHeaders(ctx.req);
    return {
      [`${SSE_C}algorithm`]: 'AES256',
      ...(sse.kind === 'SSE-C' ? { [`${SSE_C}key-md5`]: sse.keyMd5 } : {}),
    };
  }
  return {};
}

/** Checks the SSE-C key of the request's object (missing → 400, wrong → 403) without reading it. */
export async function requireCustomerKey(ctx: S3Context): Promise<void> {
  const handle = await ctx.env.store.openObject(ctx.bucket, ctx.key, undefined, customerKeyOf(ctx));
  await handle?.close();
}

type Encryptable = Pick<ObjectInfo, 'encryption'>;

/** `encryption` of what a write of `want` makes (for the headers of CreateMultipartUpload). */
export const encryptionOf = (want: SseWrite | undefined): Encryptable =>
  want ? { encryption: want.mode } : {};

// ---- bucket default encryption (?encryption) ----

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

/** PutBucketEncryption: one rule, SSE-S3 (AES256); SSE-KMS answers NotImplemented naming it. */
export async function putBucketEncryption(ctx: S3Context): Promise<void> {
  await requireBucket(ctx);
  const doc = parseXml(await readSmallBody(ctx), 'ServerSideEncryptionConfiguration');
  const rules = asArray(doc.Rule) as Record<string, unknown>[];
  if (rules.length !== 1) {
    throw new S3Error(
      'MalformedXML',
      'The XML you provided was not well-formed or did not validate against our published schema: exactly one <Rule> is required.',
    );
  }
  const rule = rules[0]!;
  const apply = (rule.ApplyServerSideEncryptionByDefault ?? {}) as Record<string, unknown>;
  const algorithm = typeof apply.SSEAlgorithm === 'string' ? apply.SSEAlgorithm : '';
  if (algorithm.startsWith('aws:kms')) {
    throw new S3Error(
      'NotImplemented',
      `SSE-KMS is not implemented by Apiary (SSEAlgorithm ${algorithm}); use AES256 (SSE-S3)`,
    );
  }
  if (algorithm !== 'AES256') {
    throw new S3Error(
      'MalformedXML',
      `The XML you provided was not well-formed or did not validate against our published schema: SSEAlgorithm must be AES256 (it was '${algorithm.slice(0, 40)}').`,
    );
  }
  if (apply.KMSMasterKeyID !== undefined) {
    throw new S3Error('InvalidArgument', 'a KMSMasterKeyID is allowed only with aws:kms', {
      ArgumentName: 'KMSMasterKeyID',
    });
  }
  const bucketKey = rule.BucketKeyEnabled;
  const config: BucketEncryption = {
    algorithm: 'AES256',
    ...(bucketKey !== undefined
      ? { bucketKeyEnabled: bucketKey === 'true' || bucketKey === true }
      : {}),
  };
  await ctx.env.store.putBucketEncryption(ctx.bucket, config);
  send(ctx, 200, {});
}

/** GetBucketEncryption: the rule, or 404 ServerSideEncryptionConfigurationNotFoundError. */
export async function getBucketEncryption(ctx: S3Context): Promise<void> {
  const config = await ctx.env.store.getBucketEncryption(ctx.bucket);
  if (!config) {
    throw new S3Error('ServerSideEncryptionConfigurationNotFoundError', undefined, {
      BucketName: ctx.bucket,
    });
  }
  sendXml(ctx, 'ServerSideEncryptionConfiguration', {
    Rule: {
      ApplyServerSideEncryptionByDefault: { SSEAlgorithm: config.algorithm },
      BucketKeyEnabled:
        config.bucketKeyEnabled === undefined ? undefined : String(config.bucketKeyEnabled),
    },
  });
}

/** DeleteBucketEncryption: 204; writes without SSE headers are stored plain again. */
export async function deleteBucketEncryption(ctx: S3Context): Promise<void> {
  await ctx.env.store.putBucketEncryption(ctx.bucket, undefined);
  send(ctx, 204, {});
}
