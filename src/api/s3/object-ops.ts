import { expirationHeader } from './lifecycle-ops.js';
import { pipeline } from 'node:stream/promises';
import type { CannedAcl, SseWrite } from '../../objects/index.js';
import { applyRequestedAcl, requestedAcl } from './access-ops.js';
import { planBody } from './body.js';
import {
  checkCopySourceConditions,
  checkDeleteConditions,
  checkReadConditions,
  deleteConditions,
  writeConditions,
} from './conditions.js';
import type { S3Context } from './context.js';
import { S3Error } from './errors.js';
import { partNumberRead } from './multipart-ops.js';
import { objectBody } from './payload.js';
import { copySource, header, parseRange, storedHeaders, userMetadata } from './request.js';
import {
  applyResponseOverrides,
  checksumHeader,
  httpDate,
  objectHeaders,
  send,
  sendXml,
  writeHead,
  type Headers,
} from './response.js';
import { isoTime } from './xml.js';
import {
  copySourceVersion,
  noSuchKey,
  requestedVersion,
  versionHeader,
  versionReadError,
} from './versioning-ops.js';
import { tagCountHeader, taggingDirective, taggingHeader } from './tagging-ops.js';
import { customerKeyOf, sseHeaders, writeSse } from './sse-ops.js';

/** Object operations: GetObject/HeadObject, PutObject, CopyObject, DeleteObject. */

/** Objects (or ranges) up to this size are read into memory in one go and sent with one write. */
const SMALL_OBJECT_BYTES = 256 * 1024;

/** GetObject and HeadObject: conditions, a single Range, response overrides, stored checksum. */
export async function getObject(ctx: S3Context): Promise<void> {
  const versionId = requestedVersion(ctx);
  const handle = await ctx.env.store
    .openObject(ctx.bucket, ctx.key, versionId, customerKeyOf(ctx))
    .catch((err: unknown) => Promise.reject(versionReadError(err, versionId)));
  if (!handle) throw await noSuchKey(ctx);
  const info = handle.info;
  let streaming = false;
  try {
    if (checkReadConditions(ctx.req, info) === 'not-modified') {
      return send(ctx, 304, { etag: info.etag, 'last-modified': httpDate(info.lastModifiedMs) });
    }
    const part = await partNumberRead(ctx, info);
    const range = part ? part.range : parseRange(header(ctx.req, 'range'), info.size);
    const headers = {
      ...tagCountHeader(info.tags, versionHeader(info, objectHeaders(info))),
      ...part?.headers,
      ...sseHeaders(ctx, info),
      ...(versionId === undefined ? await expirationHeader(ctx, info) : {}),
    };
    applyResponseOverrides(headers, ctx.query);
    if (
      info.checksum &&
      !range &&
      header(ctx.req, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED'
    ) {
      headers[`x-amz-checksum-${info.checksum.algorithm.toLowerCase()}`] = info.checksum.value;
      // A multipart upload's COMPOSITE checksum is the only kind whose value ends in `-<parts>`.
      headers['x-amz-checksum-type'] = info.checksum.value.includes('-')
        ? 'COMPOSITE'
        : 'FULL_OBJECT';
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
      writeHead(ctx, status, headers);
      ctx.res.end();
      return;
    }
    const length = Number(headers['content-length']);
    if (length <= SMALL_OBJECT_BYTES) {
      // One read and one write for small objects: no stream machinery.
      streaming = true;
      const bytes = await handle.readBuffer(range);
      writeHead(ctx, status, headers);
      ctx.res.end(bytes);
      return;
    }
    streaming = true;
    if (handle.send) {
      // Straight from the blob file to the socket (fs): no stream between them.
      writeHead(ctx, status, headers);
      try {
        await handle.send(range, ctx.res);
        ctx.res.end();
      } catch {
        // The client went away mid-download (or the blob could not be read): cut the response
        // short so that the client sees a truncated body, never a complete-looking one.
        ctx.res.destroy();
      }
      return;
    }
    const body = handle.read(range);
    writeHead(ctx, status, headers);
    try {
      await pipeline(body, ctx.res);
    } catch {
      // The client went away mid-download; the file handle closes with the stream.
    }
  } finally {
    if (!streaming) await handle.close();
  }
}

/** PutObject (CopyObject when `x-amz-copy-source` is present): Content-MD5, checksums, conditions. */
export async function putObject(ctx: S3Context): Promise<void> {
  const acl = requestedAcl(ctx);
  const sse = writeSse(ctx);
  if (header(ctx.req, 'x-amz-copy-source') !== undefined) return copyObject(ctx, sse, acl);
  const conditions = writeConditions(ctx.req);
  const plan = planBody(ctx.req, ctx.auth);
  const metadata = userMetadata(ctx.req);
  const headers = storedHeaders(ctx.req);
  const contentMd5 = header(ctx.req, 'content-md5');
  if (contentMd5 !== undefined && Buffer.from(contentMd5, 'base64').length !== 16) {
    throw new S3Error(
      'InvalidDigest',
      'The Content-MD5 you specified is not valid: it must be the base64 of a 16-byte MD5 digest.',
    );
  }
  const tags = taggingHeader(ctx);
  const { body, decoder } = objectBody(ctx, plan);
  const info = await ctx.env.store.putObject(ctx.bucket, ctx.key, body, {
    ...(tags ? { tags } : {}),
    ...(sse ? { sse } : {}),
    contentType: header(ctx.req, 'content-type'),
    metadata,
    headers,
    ...(contentMd5 !== undefined ? { contentMd5 } : {}),
    ...conditions,
    // Read by the store after the body has ended, when the decoder has verified it.
    get checksum() {
      return decoder.verifiedChecksum;
    },
  });
  await applyRequestedAcl(ctx, acl, info);
  send(ctx, 200, {
    ...checksumHeader(
      versionHeader(info, { etag: info.etag, ...sseHeaders(ctx, info) }, true),
      decoder.verifiedChecksum,
    ),
    ...(await expirationHeader(ctx, info)),
  });
}

/** CopyObject: COPY or REPLACE metadata, source conditions, destination write conditions. */
async function copyObject(
  ctx: S3Context,
  sse: SseWrite | undefined,
  acl: CannedAcl | undefined,
): Promise<void> {
  const sourceCustomerKey = customerKeyOf(ctx, true);
  const source = copySource(ctx);
  const directive = (header(ctx.req, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw new S3Error(
      'InvalidArgument',
      `Unknown metadata directive '${directive.slice(0, 40)}'; use COPY or REPLACE.`,
      { ArgumentName: 'x-amz-metadata-directive' },
    );
  }
  const sourceVersion = copySourceVersion(ctx);
  const tagging = taggingDirective(ctx);
  const newTags = tagging === 'REPLACE' ? (taggingHeader(ctx) ?? {}) : undefined;
  const src =
    sourceVersion === undefined
      ? await ctx.env.store.headObject(source.bucket, source.key)
      : await ctx.env.store.getObjectVersion(source.bucket, source.key, sourceVersion).then((v) => {
          if (v.isDeleteMarker) {
            throw new S3Error(
              'InvalidRequest',
              'The source of a copy request may not specifically refer to a delete marker by version id.',
            );
          }
          return v;
        });
  if (!src) throw new S3Error('NoSuchKey', undefined, { Key: source.key });
  checkCopySourceConditions(ctx.req, src);
  const info = await ctx.env.store.copyObject(
    sourceVersion === undefined ? source : { ...source, versionId: sourceVersion },
    { bucket: ctx.bucket, key: ctx.key },
    {
      metadataDirective: directive,
      ...(sse ? { sse } : {}),
      ...(sourceCustomerKey ? { sourceCustomerKey } : {}),
      ...(newTags ? { taggingDirective: 'REPLACE' as const, tags: newTags } : {}),
      ...(directive === 'REPLACE'
        ? {
            contentType: header(ctx.req, 'content-type'),
            metadata: userMetadata(ctx.req),
            headers: storedHeaders(ctx.req),
          }
        : {}),
      ...writeConditions(ctx.req),
    },
  );
  await applyRequestedAcl(ctx, acl, info);
  const headers = {
    ...versionHeader(info, sseHeaders(ctx, info), true),
    ...(await expirationHeader(ctx, info)),
  };
  if (src.versionId !== undefined) headers['x-amz-copy-source-version-id'] = src.versionId;
  sendXml(
    ctx,
    'CopyObjectResult',
    { LastModified: isoTime(info.lastModifiedMs), ETag: info.etag },
    headers,
  );
}

/** DeleteObject: 204 whether or not the key existed, as S3 answers; If-Match (+ mtime, size) honoured. */
export async function deleteObject(ctx: S3Context): Promise<void> {
  const versionId = requestedVersion(ctx);
  const conditions = deleteConditions(ctx.req);
  if (Object.keys(conditions).length > 0) {
    // Checked just before the delete, not in its transaction: a write landing in between wins.
    const current =
      versionId === undefined
        ? await ctx.env.store.headObject(ctx.bucket, ctx.key)
        : await ctx.env.store
            .getObjectVersion(ctx.bucket, ctx.key, versionId)
            .catch(() => undefined);
    checkDeleteConditions(conditions, current, ctx.key);
  }
  const [r] = await ctx.env.store.deleteObjectVersions(ctx.bucket, [
    versionId === undefined ? { key: ctx.key } : { key: ctx.key, versionId },
  ]);
  const headers: Headers = {};
  if (r?.deleteMarker) headers['x-amz-delete-marker'] = 'true';
  const id = r?.deleteMarkerVersionId ?? r?.versionId;
  if (id !== undefined) headers['x-amz-version-id'] = id;
  send(ctx, 204, headers);
}
