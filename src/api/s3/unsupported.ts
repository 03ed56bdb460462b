import type { S3Context } from './context.js';
import { S3Error } from './errors.js';
import { header } from './request.js';

/**
 * "Never silently ignore": every S3 sub-resource and request header that asks for something
 * Apiary does not do answers S3's `NotImplemented` (501) naming it, instead of a 200 that did
 * not do what was asked. Audited against every operation, sub-resource and header member of
 * botocore's s3 model (2006-03-01). One entry per line: implementing a feature is deleting its
 * line (the helper that implements it is named in the comment at the end of the line).
 */

/** A query parameter (sub-resource) Apiary does not serve, and the feature it belongs to. */
interface UnsupportedQuery {
  readonly query: string;
  readonly feature: string;
}

/** A request header Apiary does not honour; `allowed` values are what Apiary already does. */
interface UnsupportedHeader {
  readonly header: string;
  readonly feature: string;
  /** Values that ask for nothing beyond what Apiary does (compared case-insensitively). */
  readonly allowed?: readonly string[];
}

/** Sub-resources with no implementation (any method, bucket or object). */
export const UNSUPPORTED_QUERIES: readonly UnsupportedQuery[] = [
  { query: 'abac', feature: 'attribute-based access control' },
  { query: 'accelerate', feature: 'transfer acceleration' },
  { query: 'analytics', feature: 'storage class analytics' },
  { query: 'intelligent-tiering', feature: 'S3 Intelligent-Tiering' },
  { query: 'inventory', feature: 'S3 Inventory' },
  { query: 'legal-hold', feature: 'Object Lock legal holds' },
  { query: 'logging', feature: 'server access logging' },
  { query: 'metadataConfiguration', feature: 'S3 Metadata' },
  { query: 'metadataInventoryTable', feature: 'S3 Metadata' },
  { query: 'metadataJournalTable', feature: 'S3 Metadata' },
  { query: 'metadataTable', feature: 'S3 Metadata' },
  { query: 'metrics', feature: 'CloudWatch request metrics' },
  { query: 'notification', feature: 'event notifications' },
  { query: 'object-lock', feature: 'Object Lock' },
  { query: 'ownershipControls', feature: 'Object Ownership controls' },
  { query: 'publicAccessBlock', feature: 'Block Public Access' },
  { query: 'renameObject', feature: 'RenameObject (directory buckets)' },
  { query: 'replication', feature: 'replication' },
  { query: 'requestPayment', feature: 'Requester Pays' },
  { query: 'restore', feature: 'restoring archived objects' },
  { query: 'retention', feature: 'Object Lock retention' },
  { query: 'select', feature: 'S3 Select' },
  { query: 'session', feature: 'CreateSession (directory buckets)' },
  { query: 'torrent', feature: 'BitTorrent' },
  { query: 'website', feature: 'static website hosting' },
];

/** Request headers with no implementation (any operation). */
export const UNSUPPORTED_HEADERS: readonly UnsupportedHeader[] = [
  { header: 'x-amz-grant-full-control', feature: 'ACL grants' },
  { header: 'x-amz-grant-read', feature: 'ACL grants' },
  { header: 'x-amz-grant-read-acp', feature: 'ACL grants' },
  { header: 'x-amz-grant-write', feature: 'ACL grants' },
  { header: 'x-amz-grant-write-acp', feature: 'ACL grants' },
  {
    header: 'x-amz-object-ownership',
    feature: 'Object Ownership',
    allowed: ['BucketOwnerEnforced'],
  },
  { header: 'x-amz-mfa', feature: 'MFA delete' },
  { header: 'x-amz-bucket-object-lock-enabled', feature: 'Object Lock', allowed: ['false'] },
  { header: 'x-amz-object-lock-mode', feature: 'Object Lock' },
  { header: 'x-amz-object-lock-retain-until-date', feature: 'Object Lock' },
  { header: 'x-amz-object-lock-legal-hold', feature: 'Object Lock', allowed: ['OFF'] },
  { header: 'x-amz-website-redirect-location', feature: 'static website hosting' },
  { header: 'x-amz-write-offset-bytes', feature: 'appending to objects (directory buckets)' },
  { header: 'x-amz-bucket-namespace', feature: 'bucket namespaces' },
  { header: 'x-amz-if-match-initiated-time', feature: 'conditional AbortMultipartUpload' },
  { header: 'x-amz-checksum-md5', feature: 'the MD5 checksum algorithm (use Content-MD5)' },
  { header: 'x-amz-checksum-sha512', feature: 'the SHA512 checksum algorithm' },
  { header: 'x-amz-checksum-xxhash64', feature: 'the XXHASH64 checksum algorithm' },
  { header: 'x-amz-checksum-xxhash3', feature: 'the XXHASH3 checksum algorithm' },
  { header: 'x-amz-checksum-xxhash128', feature: 'the XXHASH128 checksum algorithm' },
];
// Not listed, on purpose: `x-amz-bypass-governance-retention` (no object is ever retained, so there
// is nothing to bypass: AWS accepts it on buckets without Object Lock), `x-amz-request-payer`
// (an acknowledgement), `x-amz-expected-bucket-owner` (expected-owner.ts checks it),
// `x-amz-optional-object-attributes` (RestoreStatus: no object is ever archived),
// `x-amz-sdk-checksum-algorithm` (body.ts checks it).

/** Storage classes S3 knows; Apiary stores everything as STANDARD. */
const STORAGE_CLASSES = [
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'DEEP_ARCHIVE',
  'OUTPOSTS',
  'GLACIER_IR',
  'SNOW',
  'EXPRESS_ONEZONE',
  'FSX_OPENZFS',
  'FSX_ONTAP',
] as const;

const notImplemented = (what: string, name: string): S3Error =>
  new S3Error(
    'NotImplemented',
    `A header or query you provided implies functionality that is not implemented: ${what} is not supported by Apiary.`,
    { Header: name },
  );

/**
 * Refuses a request that asks for something Apiary does not do, before any operation runs.
 * @throws S3Error NotImplemented naming the sub-resource or header; InvalidStorageClass for a
 *   storage class S3 does not have.
 */
export function refuseUnsupported(ctx: S3Context): void {
  for (const { query, feature } of UNSUPPORTED_QUERIES) {
    if (!ctx.query.has(query)) continue;
    throw notImplemented(`'?${query}' (${feature})`, query);
  }
  for (const { header: name, feature, allowed } of UNSUPPORTED_HEADERS) {
    const value = header(ctx.req, name);
    if (value === undefined) continue;
    const v = value.trim().toLowerCase();
    if (allowed?.some((a) => a.toLowerCase() === v)) continue;
    throw notImplemented(`'${name}: ${value.slice(0, 60)}' (${feature})`, name);
  }
  const storageClass = header(ctx.req, 'x-amz-storage-class');
  if (storageClass !== undefined) {
    const sc = storageClass.trim();
    if (!(STORAGE_CLASSES as readonly string[]).includes(sc)) {
      throw new S3Error(
        'InvalidStorageClass',
        `The storage class you specified is not valid: '${sc.slice(0, 40)}'.`,
        { StorageClassRequested: sc.slice(0, 40) },
      );
    }
    if (sc !== 'STANDARD') {
      throw notImplemented(
        `storage class '${sc}' (every object is STANDARD)`,
        'x-amz-storage-class',
      );
    }
  }
}
