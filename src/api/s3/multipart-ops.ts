import { abortHeaders, expirationHeader } from './lifecycle-ops.js';
import {
  CHECKSUM_ALGORITHMS,
  type ChecksumCombiner,
  type ChecksumType,
  type CompletedPart,
  type MultipartChecksum,
  type ObjectChecksum,
  type ObjectInfo,
} from '../../objects/index.js';
import { combinable, combineCrcs, compositeChecksum } from './checksums.js';
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
import { copySourceVersion, versionHeader, versionReadError } from './versioning-ops.js';
import { taggingHeader } from './tagging-ops.js';

const tagsOption = (tags: Record<string, string> | undefined) => (tags ? { tags } : {});
import { isoTime } from './xml.js';
import { guardSseHeaders } from './sse-headers.js';
import { textOf } from '../../shared/text.js';

/** Multipart uploads: create, upload part (or copy), complete, abort, list parts and uploads. */

/** CreateMultipartUpload (`POST ?uploads`): the object's type, metadata and headers come now. */
export async function createUpload(ctx: S3Context): Promise<void> {
  guardSseHeaders(ctx.req, ctx.env.sseStrict);
  const checksum = uploadChecksum(ctx);
  const up = await ctx.env.store.createMultipartUpload(ctx.bucket, ctx.key, {
    contentType: header(ctx.req, 'content-type'),
    metadata: userMetadata(ctx.req),
    headers: storedHeaders(ctx.req),
    ...tagsOption(taggingHeader(ctx)),
    ...(checksum ? { multipartChecksum: checksum } : {}),
  });
  sendXml(
    ctx,
    'InitiateMultipartUploadResult',
    { Bucket: ctx.bucket, Key: ctx.key, UploadId: up.uploadId },
    {
      ...(checksum
        ? { 'x-amz-checksum-algorithm': checksum.algorithm, 'x-amz-checksum-type': checksum.type }
        : {}),
      ...(await abortHeaders(ctx, up.initiatedAtMs)),
    },
  );
}

/**
 * CreateMultipartUpload's `x-amz-checksum-algorithm` and `x-amz-checksum-type`, checked as S3
 * does: CRC64NVME is FULL_OBJECT only, SHA1/SHA256 COMPOSITE only, CRC32/CRC32C either
 * (COMPOSITE by default).
 * @throws S3Error InvalidRequest for an unknown algorithm or type, or a pair S3 refuses.
 */
function uploadChecksum(ctx: S3Context): MultipartChecksum | undefined {
  const rawAlg = header(ctx.req, 'x-amz-checksum-algorithm');
  const rawType = header(ctx.req, 'x-amz-checksum-type');
  if (rawAlg === undefined) {
    if (rawType !== undefined) {
      throw new S3Error(
        'InvalidRequest',
        'The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.',
      );
    }
    return undefined;
  }
  const algorithm = CHECKSUM_ALGORITHMS.find((a) => a === rawAlg.trim().toUpperCase());
  if (!algorithm) {
    throw new S3Error(
      'InvalidRequest',
      `Checksum algorithm '${rawAlg.slice(0, 40)}' is not supported; use one of ${CHECKSUM_ALGORITHMS.join(', ')}.`,
    );
  }
  const type = (rawType?.trim().toUpperCase() ??
    (algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE')) as ChecksumType;
  if (type !== 'COMPOSITE' && type !== 'FULL_OBJECT') {
    throw new S3Error(
      'InvalidRequest',
      `Value for x-amz-checksum-type header is invalid: '${rawType!.slice(0, 40)}'; use COMPOSITE or FULL_OBJECT.`,
    );
  }
  if (type === 'FULL_OBJECT' ? !combinable(algorithm) : algorithm === 'CRC64NVME') {
    throw new S3Error(
      'InvalidRequest',
      `The ${type} checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`,
    );
  }
  return { algorithm, type };
}

/** The store's checksum arithmetic for Complete: COMPOSITE or FULL_OBJECT (checksums.ts). */
const combineChecksum: ChecksumCombiner = (c, parts) =>
  c.type === 'FULL_OBJECT'
    ? combineCrcs(c.algorithm, parts)
    : compositeChecksum(
        c.algorithm,
        parts.map((p) => p.value),
      );

/** `<ChecksumCRC32>` (etc.) and `<ChecksumType>` of a stored object or part checksum. */
export function checksumElements(checksum: ObjectChecksum | undefined): Record<string, string> {
  if (!checksum) return {};
  return {
    [`Checksum${checksum.algorithm}`]: checksum.value,
    ChecksumType: checksum.value.includes('-') ? 'COMPOSITE' : 'FULL_OBJECT',
  };
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
  const part = await ctx.env.store.uploadPart(ctx.bucket, ctx.key, uploadId, partNumber, body, {
    ...(contentMd5 !== undefined ? { contentMd5 } : {}),
    // Read by the store after the body has ended, when the decoder has verified it.
    get checksum() {
      return decoder.verifiedChecksum;
    },
  });
  send(ctx, 200, checksumHeader({ etag: part.etag }, decoder.verifiedChecksum));
}

/** UploadPartCopy: a part from an existing object, whole or `x-amz-copy-source-range`. */
async function uploadPartCopy(ctx: S3Context, uploadId: string, partNumber: number): Promise<void> {
  const source = copySource(ctx);
  const sourceVersion = copySourceVersion(ctx);
  const handle = await ctx.env.store
    .openObject(source.bucket, source.key, sourceVersion)
    .catch((err: unknown) => Promise.reject(versionReadError(err, sourceVersion)));
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
  sendXml(
    ctx,
    'CopyPartResult',
    { LastModified: isoTime(part.lastModifiedMs), ETag: part.etag },
    handle.info.versionId !== undefined
      ? { 'x-amz-copy-source-version-id': handle.info.versionId }
      : {},
  );
}

/** CompleteMultipartUpload: the `<Part>` list, with the destination's write conditions. */
export async function completeUpload(ctx: S3Context, uploadId: string): Promise<void> {
  // On Complete, `x-amz-checksum-<alg>` is the whole object's expected checksum, not the XML
  // body's: take it out before the body is read (the signature was checked already).
  const expected = CHECKSUM_ALGORITHMS.map((algorithm) => {
    const name = `x-amz-checksum-${algorithm.toLowerCase()}`;
    const value = header(ctx.req, name);
    delete ctx.req.headers[name];
    return value !== undefined ? { algorithm, value: value.trim() } : undefined;
  }).find((c) => c !== undefined);
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
    const checksums = CHECKSUM_ALGORITHMS.map((a) => textOf(p[`Checksum${a}`]).trim()).filter(
      (v) => v !== '',
    );
    return { partNumber: Number(n), etag, ...(checksums[0] ? { checksum: checksums[0] } : {}) };
  });
  const info = await ctx.env.store.completeMultipartUpload(ctx.bucket, ctx.key, uploadId, parts, {
    ...writeConditions(ctx.req),
    // Runs before the commit: a mismatch leaves the upload as it was.
    combineChecksum: (c, ps) => {
      const value = combineChecksum(c, ps);
      if (expected && expected.algorithm === c.algorithm && expected.value !== value) {
        throw new S3Error(
          'BadDigest',
          `The ${c.algorithm} you specified did not match the calculated checksum.`,
          { Expected: expected.value.slice(0, 100), Calculated: value },
        );
      }
      return value;
    },
  });
  const host = header(ctx.req, 'host') ?? 'localhost';
  sendXml(
    ctx,
    'CompleteMultipartUploadResult',
    {
      Location: `http://${host}/${ctx.bucket}/${urlEncodeKey(ctx.key)}`,
      Bucket: ctx.bucket,
      Key: ctx.key,
      ETag: info.etag,
      ...checksumElements(info.checksum),
    },
    { ...versionHeader(info, {}, true), ...(await expirationHeader(ctx, info)) },
  );
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
      ...(p.checksum ? { [`Checksum${p.checksum.algorithm}`]: p.checksum.value } : {}),
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

/**
 * GetObject/HeadObject `?partNumber=N`: the byte range of part N of a multipart object (part 1 of
 * a single-part object is all of it); undefined without the parameter.
 * @throws S3Error InvalidArgument for a bad number or with a Range header; InvalidPartNumber
 *   (416, AWS's answer; ceph's suite expects 400 InvalidPart) past the last part.
 */
export async function partNumberRead(
  ctx: S3Context,
  info: ObjectInfo,
): Promise<{ range: ByteRange | undefined; headers: Record<string, string> } | undefined> {
  if (!ctx.query.has('partNumber')) return undefined;
  const n = intParam(ctx.query, 'partNumber', 1, 1, 10_001);
  if (n > 10_000) {
    throw new S3Error(
      'InvalidArgument',
      'Part number must be an integer between 1 and 10000, inclusive.',
      { ArgumentName: 'partNumber', ArgumentValue: String(n) },
    );
  }
  if (header(ctx.req, 'range') !== undefined) {
    throw new S3Error(
      'InvalidRequest',
      'Cannot specify both Range header and partNumber query parameter.',
    );
  }
  const count = info.partsCount ?? 1;
  if (n > count) {
    throw new S3Error(
      'InvalidPartNumber',
      `The requested partnumber is not satisfiable: the object has ${count} part${count === 1 ? '' : 's'}.`,
      { PartNumberRequested: String(n), ActualPartCount: String(count) },
    );
  }
  if (info.partsCount === undefined) {
    return { range: info.size === 0 ? undefined : { start: 0, end: info.size - 1 }, headers: {} };
  }
  const parts = await ctx.env.store.objectParts(ctx.bucket, ctx.key, info.etag);
  if (parts.length !== count) {
    throw new S3Error(
      'NotImplemented',
      'This object was completed before Apiary recorded part sizes: it cannot be read by part number.',
      { Header: 'partNumber' },
    );
  }
  const start = parts.slice(0, n - 1).reduce((sum, p) => sum + p.size, 0);
  const part = parts[n - 1]!;
  // S3 sends the part's own checksum with a part read, asked for or not, with the object's type.
  const headers: Record<string, string> = part.checksum
    ? {
        [`x-amz-checksum-${part.checksum.algorithm.toLowerCase()}`]: part.checksum.value,
        'x-amz-checksum-type':
          info.checksum?.value.includes('-') === false ? 'FULL_OBJECT' : 'COMPOSITE',
      }
    : {};
  return { range: part.size === 0 ? undefined : { start, end: start + part.size - 1 }, headers };
}
