import type { CompletedPart } from '../../objects/index.js';
import { planBody } from './body.js';
import { checkCopySourceConditions, writeConditions } from './conditions.js';
import type { S3Context } from './context.js';
import { S3Error } from './errors.js';
import { objectBody, parseXml, readSmallBody } from './payload.js';
import {
  copySource,
  header,
  intParam,
  parseCopySourceRange,
  storedHeaders,
  urlEncodeKey,
  userMetadata,
  type ByteRange,
} from './request.js';
import { checksumHeader, send, sendXml } from './response.js';
import { isoTime } from './xml.js';
import { guardSseHeaders } from './sse-headers.js';
import { textOf } from '../../shared/text.js';

/** Multipart uploads: create, upload part (or copy), complete, abort, list parts and uploads. */

/** CreateMultipartUpload (`POST ?uploads`): the object's type, metadata and headers come now. */
export async function createUpload(ctx: S3Context): Promise<void> {
  guardSseHeaders(ctx.req);
  const up = await ctx.env.store.createMultipartUpload(ctx.bucket, ctx.key, {
    contentType: header(ctx.req, 'content-type'),
    metadata: userMetadata(ctx.req),
    headers: storedHeaders(ctx.req),
  });
  sendXml(ctx, 'InitiateMultipartUploadResult', {
    Bucket: ctx.bucket,
    Key: ctx.key,
    UploadId: up.uploadId,
  });
}

/** UploadPart (UploadPartCopy when `x-amz-copy-source` is present); part numbers 1 to 10,000. */
export async function uploadPart(ctx: S3Context, uploadId: string): Promise<void> {
  const partNumber = intParam(ctx.query, 'partNumber', 0, 1, 10_001);
  if (partNumber > 10_000) {
    throw new S3Error(
      'InvalidArgument',
      'Part number must be an integer between 1 and 10000, inclusive.',
      { ArgumentName: 'partNumber', ArgumentValue: String(partNumber) },
    );
  }
  if (header(ctx.req, 'x-amz-copy-source') !== undefined)
    return uploadPartCopy(ctx, uploadId, partNumber);
  const plan = planBody(ctx.req, ctx.auth);
  const contentMd5 = header(ctx.req, 'content-md5');
  const { body, decoder } = objectBody(ctx, plan);
  const part = await ctx.env.store.uploadPart(
    ctx.bucket,
    ctx.key,
    uploadId,
    partNumber,
    body,
    contentMd5 !== undefined ? { contentMd5 } : {},
  );
  send(ctx, 200, checksumHeader({ etag: part.etag }, decoder.verifiedChecksum));
}

/** UploadPartCopy: a part from an existing object, whole or `x-amz-copy-source-range`. */
async function uploadPartCopy(ctx: S3Context, uploadId: string, partNumber: number): Promise<void> {
  const source = copySource(ctx);
  const handle = await ctx.env.store.openObject(source.bucket, source.key);
  if (!handle) throw new S3Error('NoSuchKey', undefined, { Key: source.key });
  let range: ByteRange | undefined;
  try {
    checkCopySourceConditions(ctx.req, handle.info);
    range = parseCopySourceRange(header(ctx.req, 'x-amz-copy-source-range'), handle.info.size);
  } catch (err) {
    await handle.close();
    throw err;
  }
  const part = await ctx.env.store.uploadPart(
    ctx.bucket,
    ctx.key,
    uploadId,
    partNumber,
    handle.read(range),
  );
  sendXml(ctx, 'CopyPartResult', { LastModified: isoTime(part.lastModifiedMs), ETag: part.etag });
}

/** CompleteMultipartUpload: the `<Part>` list, with the destination's write conditions. */
export async function completeUpload(ctx: S3Context, uploadId: string): Promise<void> {
  const body = await readSmallBody(ctx);
  const root = parseXml(body, 'CompleteMultipartUpload');
  const raw = (root.Part as Record<string, unknown>[] | undefined) ?? [];
  const parts: CompletedPart[] = raw.map((p) => {
    const n = textOf(p.PartNumber).trim();
    const etag = textOf(p.ETag).trim();
    if (!/^\d+$/.test(n) || etag === '') {
      throw new S3Error(
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema: every Part needs a PartNumber and an ETag.',
      );
    }
    return { partNumber: Number(n), etag };
  });
  const info = await ctx.env.store.completeMultipartUpload(
    ctx.bucket,
    ctx.key,
    uploadId,
    parts,
    writeConditions(ctx.req),
  );
  const host = header(ctx.req, 'host') ?? 'localhost';
  sendXml(ctx, 'CompleteMultipartUploadResult', {
    Location: `http://${host}/${ctx.bucket}/${urlEncodeKey(ctx.key)}`,
    Bucket: ctx.bucket,
    Key: ctx.key,
    ETag: info.etag,
  });
}

/** AbortMultipartUpload: 204, the parts are gone. */
export async function abortUpload(ctx: S3Context, uploadId: string): Promise<void> {
  await ctx.env.store.abortMultipartUpload(ctx.bucket, ctx.key, uploadId);
  send(ctx, 204, {});
}

/** ListParts: `max-parts` ≤ 1000 from `part-number-marker`. */
export async function listParts(ctx: S3Context, uploadId: string): Promise<void> {
  const maxParts = intParam(ctx.query, 'max-parts', 1000, 0, 1000);
  const marker = intParam(ctx.query, 'part-number-marker', 0, 0, 10_000);
  const page = await ctx.env.store.listParts(ctx.bucket, ctx.key, uploadId, {
    maxParts,
    partNumberMarker: marker,
  });
  const last = page.parts[page.parts.length - 1];
  sendXml(ctx, 'ListPartsResult', {
    Bucket: ctx.bucket,
    Key: ctx.key,
    UploadId: uploadId,
    Initiator: ctx.env.owner,
    Owner: ctx.env.owner,
    StorageClass: 'STANDARD',
    PartNumberMarker: marker,
    NextPartNumberMarker: last?.partNumber ?? marker,
    MaxParts: maxParts,
    IsTruncated: page.isTruncated,
    Part: page.parts.map((p) => ({
      PartNumber: p.partNumber,
      LastModified: isoTime(p.lastModifiedMs),
      ETag: p.etag,
      Size: p.size,
    })),
  });
}

/** ListMultipartUploads (`GET /bucket?uploads`): prefix, key and upload-id markers. */
export async function listUploads(ctx: S3Context): Promise<void> {
  const q = ctx.query;
  const maxUploads = intParam(q, 'max-uploads', 1000, 0, 1000);
  const prefix = q.get('prefix') ?? '';
  const keyMarker = q.get('key-marker') ?? '';
  const uploadIdMarker = q.get('upload-id-marker') ?? '';
  const page = await ctx.env.store.listMultipartUploads(ctx.bucket, {
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
      Initiator: ctx.env.owner,
      Owner: ctx.env.owner,
      StorageClass: 'STANDARD',
      Initiated: isoTime(u.initiatedAtMs),
    })),
  });
}
