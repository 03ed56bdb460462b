import type { S3Context } from './context.js';
import { requireCustomerKey } from './sse-ops.js';
import { S3Error } from './errors.js';
import { checksumElements } from './multipart-ops.js';
import { header, intParam } from './request.js';
import { httpDate, sendXml } from './response.js';
import { requestedVersion, versionHeader } from './versioning-ops.js';
import type { XmlNode } from './xml.js';

/** The attributes GetObjectAttributes can be asked for (`x-amz-object-attributes`). */
const ATTRIBUTES = ['ETag', 'Checksum', 'ObjectParts', 'StorageClass', 'ObjectSize'] as const;
type Attribute = (typeof ATTRIBUTES)[number];

/**
 * GetObjectAttributes (`GET /bucket/key?attributes`): the asked-for attributes of the object;
 * ObjectParts (multipart objects only) pages with `x-amz-max-parts` and
 * `x-amz-part-number-marker`.
 * @throws S3Error InvalidArgument without attributes or with an unknown one; NoSuchKey.
 */
export async function getObjectAttributes(ctx: S3Context): Promise<void> {
  const raw = header(ctx.req, 'x-amz-object-attributes') ?? '';
  const asked = new Set<Attribute>();
  for (const name of raw.split(',').map((s) => s.trim())) {
    if (name === '') continue;
    const attribute = ATTRIBUTES.find((a) => a.toLowerCase() === name.toLowerCase());
    if (!attribute) {
      throw new S3Error(
        'InvalidArgument',
        `Invalid attribute name specified: '${name.slice(0, 40)}'; use ${ATTRIBUTES.join(', ')}.`,
        { ArgumentName: 'x-amz-object-attributes', ArgumentValue: name.slice(0, 40) },
      );
    }
    asked.add(attribute);
  }
  if (asked.size === 0) {
    throw new S3Error(
      'InvalidArgument',
      'The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty.',
      { ArgumentName: 'x-amz-object-attributes' },
    );
  }
  const headerParams = new URLSearchParams();
  for (const name of ['x-amz-max-parts', 'x-amz-part-number-marker']) {
    const v = header(ctx.req, name);
    if (v !== undefined) headerParams.set(name, v);
  }
  const maxParts = intParam(headerParams, 'x-amz-max-parts', 1000, 0, 1000);
  const marker = intParam(headerParams, 'x-amz-part-number-marker', 0, 0, 10_000);

  const versionId = requestedVersion(ctx);
  const info =
    versionId === undefined
      ? await ctx.env.store.headObject(ctx.bucket, ctx.key)
      : await ctx.env.store.getObjectVersion(ctx.bucket, ctx.key, versionId);
  if (!info) throw new S3Error('NoSuchKey', undefined, { Key: ctx.key });
  // A delete marker has no attributes: 405 with `x-amz-delete-marker`, as GET by version answers.
  if ('isDeleteMarker' in info && info.isDeleteMarker) {
    throw new S3Error(
      'MethodNotAllowed',
      'The specified method is not allowed against this resource.',
      { Method: 'GET', ResourceType: 'DeleteMarker' },
      { 'x-amz-delete-marker': 'true', ...(versionId ? { 'x-amz-version-id': versionId } : {}) },
    );
  }
  // An SSE-C object's attributes need its key, as its bytes do (checked by opening it).
  if (info.encryption === 'SSE-C') await requireCustomerKey(ctx);
  const out: Record<string, XmlNode[string]> = {};
  // GetObjectAttributes writes the ETag without quotes (unlike every other operation).
  if (asked.has('ETag')) out.ETag = info.etag.replace(/^"(.*)"$/, '$1');
  if (asked.has('Checksum') && info.checksum) out.Checksum = checksumElements(info.checksum);
  if (asked.has('ObjectParts') && info.partsCount !== undefined) {
    const parts = await ctx.env.store.objectParts(ctx.bucket, ctx.key, info.etag);
    const after = parts.filter((p) => p.partNumber > marker);
    const page = after.slice(0, maxParts);
    const truncated = after.length > page.length;
    out.ObjectParts = {
      PartNumberMarker: marker,
      NextPartNumberMarker: page[page.length - 1]?.partNumber ?? marker,
      MaxParts: maxParts,
      IsTruncated: truncated,
      Part: page.map((p) => ({
        PartNumber: p.partNumber,
        Size: p.size,
        ...(p.checksum ? { [`Checksum${p.checksum.algorithm}`]: p.checksum.value } : {}),
      })),
      PartsCount: info.partsCount,
    };
  }
  if (asked.has('StorageClass')) out.StorageClass = 'STANDARD';
  if (asked.has('ObjectSize')) out.ObjectSize = info.size;
  // The version answered, as GET/HEAD do (`x-amz-version-id`; botocore's `VersionId`).
  sendXml(
    ctx,
    'GetObjectAttributesResponse',
    out,
    versionHeader(info, { 'last-modified': httpDate(info.lastModifiedMs) }),
  );
}
