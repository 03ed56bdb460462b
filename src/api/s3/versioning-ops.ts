import { isObjectStoreError, NULL_VERSION, type ObjectInfo } from '../../objects/index.js';
import { textOf } from '../../shared/text.js';
import { requireBucket } from './bucket-ops.js';
import type { S3Context } from './context.js';
import { S3Error } from './errors.js';
import { parseXml, readSmallBody } from './payload.js';
import { header, intParam, urlEncodeKey } from './request.js';
import { send, sendXml, type Headers } from './response.js';
import { isoTime, type XmlNode } from './xml.js';

/** Bucket versioning (Get/PutBucketVersioning), ListObjectVersions, and the version headers. */

/** PutBucketVersioning: Status Enabled | Suspended; MFA delete is not implemented. */
export async function putBucketVersioning(ctx: S3Context): Promise<void> {
  await requireBucket(ctx);
  const conf = parseXml(await readSmallBody(ctx), 'VersioningConfiguration');
  const mfa = textOf(conf.MfaDelete).trim();
  if (mfa === 'Enabled') {
    throw new S3Error(
      'NotImplemented',
      'A header or query you provided implies functionality that is not implemented: MFA delete is not supported by Apiary.',
      { Header: 'MfaDelete' },
    );
  }
  if (mfa !== '' && mfa !== 'Disabled') {
    throw new S3Error(
      'MalformedXML',
      `The XML you provided was not well-formed or did not validate against our published schema: MfaDelete is Enabled or Disabled, not '${mfa.slice(0, 40)}'.`,
    );
  }
  const status = textOf(conf.Status).trim();
  if (status !== '' && status !== 'Enabled' && status !== 'Suspended') {
    throw new S3Error(
      'MalformedXML',
      `The XML you provided was not well-formed or did not validate against our published schema: Status is Enabled or Suspended, not '${status.slice(0, 40)}'.`,
    );
  }
  if (status !== '') await ctx.env.store.putBucketVersioning(ctx.bucket, status);
  send(ctx, 200, {});
}

/** GetBucketVersioning: empty until versioning is first set, then its Status. */
export async function getBucketVersioning(ctx: S3Context): Promise<void> {
  const state = await ctx.env.store.getBucketVersioning(ctx.bucket);
  sendXml(ctx, 'VersioningConfiguration', state ? { Status: state } : {});
}

/** ListObjectVersions (`GET ?versions`): versions and delete markers, key/version-id paging. */
export async function listObjectVersions(ctx: S3Context): Promise<void> {
  const q = ctx.query;
  const encode = q.get('encoding-type');
  if (encode !== null && encode !== 'url') {
    throw new S3Error(
      'InvalidArgument',
      `Invalid Encoding Method specified in Request: '${encode.slice(0, 40)}'; the only one is 'url'.`,
      { ArgumentName: 'encoding-type' },
    );
  }
  const enc = encode === 'url' ? urlEncodeKey : (s: string) => s;
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const keyMarker = q.get('key-marker') ?? '';
  const versionIdMarker = q.get('version-id-marker') ?? '';
  if (versionIdMarker !== '' && keyMarker === '') {
    throw new S3Error(
      'InvalidArgument',
      'A version-id marker cannot be specified without a key marker.',
      { ArgumentName: 'version-id-marker', ArgumentValue: versionIdMarker.slice(0, 100) },
    );
  }
  const maxKeys = intParam(q, 'max-keys', 1000, 0, 1000);
  const page = await ctx.env.store.listObjectVersions(ctx.bucket, {
    prefix,
    ...(delimiter ? { delimiter } : {}),
    ...(keyMarker ? { keyMarker } : {}),
    ...(versionIdMarker ? { versionIdMarker } : {}),
    maxKeys,
  });
  const owner = ctx.env.owner;
  const versions: XmlNode[] = [];
  const markers: XmlNode[] = [];
  for (const v of page.versions) {
    if (v.isDeleteMarker) {
      markers.push({
        Key: enc(v.key),
        VersionId: v.versionId,
        IsLatest: v.isLatest,
        LastModified: isoTime(v.lastModifiedMs),
        Owner: owner,
      });
    } else {
      versions.push({
        Key: enc(v.key),
        VersionId: v.versionId,
        IsLatest: v.isLatest,
        LastModified: isoTime(v.lastModifiedMs),
        ETag: v.etag,
        Size: v.size,
        Owner: owner,
        StorageClass: 'STANDARD',
      });
    }
  }
  sendXml(ctx, 'ListVersionsResult', {
    Name: ctx.bucket,
    Prefix: enc(prefix),
    KeyMarker: enc(keyMarker),
    VersionIdMarker: versionIdMarker,
    NextKeyMarker: page.nextKeyMarker !== undefined ? enc(page.nextKeyMarker) : undefined,
    NextVersionIdMarker: page.nextVersionIdMarker,
    MaxKeys: maxKeys,
    Delimiter: delimiter ? enc(delimiter) : undefined,
    EncodingType: encode ? 'url' : undefined,
    IsTruncated: page.isTruncated,
    Version: versions,
    DeleteMarker: markers,
    CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  });
}

/**
 * `x-amz-version-id` for an object of a bucket that has had versioning. A write answers it only
 * for a real version: S3 leaves it out for the `null` version of a suspended bucket.
 */
export function versionHeader(info: ObjectInfo, headers: Headers = {}, write = false): Headers {
  if (info.versionId !== undefined && !(write && info.versionId === NULL_VERSION))
    headers['x-amz-version-id'] = info.versionId;
  return headers;
}

/** The `versionId` query parameter of a request, if any (empty is refused as S3 does). */
export function requestedVersion(ctx: S3Context): string | undefined {
  const v = ctx.query.get('versionId');
  if (v === null) return undefined;
  if (v === '') {
    throw new S3Error('InvalidArgument', 'Version id cannot be the empty string', {
      ArgumentName: 'versionId',
      ArgumentValue: '',
    });
  }
  return v;
}

/**
 * The error of a GET/HEAD that found no object: NoSuchKey, with `x-amz-delete-marker` when the
 * key's latest version is a delete marker (as S3 answers).
 */
export async function noSuchKey(ctx: S3Context): Promise<S3Error> {
  const latest = await ctx.env.store.getLatestVersion(ctx.bucket, ctx.key);
  // S3 says `x-amz-delete-marker: false` on a plain miss (the suite's delete-marker tests read it).
  const headers: Record<string, string> =
    latest?.isDeleteMarker === true
      ? { 'x-amz-delete-marker': 'true', 'x-amz-version-id': latest.versionId }
      : { 'x-amz-delete-marker': 'false' };
  return new S3Error('NoSuchKey', undefined, { Key: ctx.key }, headers);
}

/** A store error of a versioned read, with S3's headers (a delete marker's version → 405). */
export function versionReadError(err: unknown, versionId: string | undefined): unknown {
  if (isObjectStoreError(err) && err.code === 'MethodNotAllowed') {
    return new S3Error(
      'MethodNotAllowed',
      'The specified method is not allowed against this resource.',
      { Method: 'GET', ResourceType: 'DeleteMarker' },
      { 'x-amz-delete-marker': 'true', ...(versionId ? { 'x-amz-version-id': versionId } : {}) },
    );
  }
  return err;
}

/** The `versionId` of an `x-amz-copy-source` header (`bucket/key?versionId=…`), if any. */
export function copySourceVersion(ctx: S3Context): string | undefined {
  const raw = header(ctx.req, 'x-amz-copy-source') ?? '';
  const qm = raw.indexOf('?');
  if (qm < 0) return undefined;
  const v = new URLSearchParams(raw.slice(qm + 1)).get('versionId');
  return v === null ? undefined : v;
}
