import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BucketCorsStore, BucketLifecycleStore, ObjectStore } from '../../objects/index.js';
import type { AccessStore, Principal } from '../../objects/index.js';
import type { VerifiedSigV4 } from '../sigv4/index.js';
import type { XmlNode } from './xml.js';

/** What every operation of one S3 API shares: the store and the settings it was built with. */
export interface S3Env {
  readonly store: ObjectStore;
  readonly region: string;
  /** `<Owner>`/`<Initiator>` of listings: a stable id derived from the account. */
  readonly owner: XmlNode;
  /** A request body that sends nothing for this long fails with RequestTimeout. */
  readonly bodyIdleTimeoutMs: number;
  /** `.<suffix>` for each host name under which `<bucket>.<suffix>` selects a bucket. */
  readonly hostSuffixes: readonly string[];
  /** Bucket policies and canned ACLs. */
  readonly access: AccessStore;
  /** The account that policies' principals and ARNs name. */
  readonly accountId: string;
  /** Buckets' CORS rules (absent: `?cors` answers NotImplemented, preflights 403). */
  readonly cors?: BucketCorsStore;
  /** Buckets' lifecycle rules (absent: `?lifecycle` answers NotImplemented). */
  readonly lifecycle?: S3Lifecycle;
  /** Checks a browser POST form's signature with the access key's secret (see post-object.ts). */
  readonly verifyPostSignature?: PostSignatureVerifier;
  /** Refuse even default SSE requests (APIARY_S3_SSE_STRICT; see sse-headers.ts). */
  readonly sseStrict?: boolean;
  /** Accept SSE-C keys over plain HTTP from other machines (APIARY_S3_SSE_C_ALLOW_HTTP). */
  readonly sseCAllowHttp?: boolean;
  /** The principal behind a verified access key (a POST form's signer). */
  readonly principalOf?: (accessKeyId: string) => Principal;
}

/**
 * Lifecycle configurations. The headers they give (`x-amz-expiration`, `x-amz-abort-date`) always
 * count real days: a shortened day (APIARY_S3_LIFECYCLE_DAY_SECONDS) is the sweep's alone, as
 * ceph rgw's `rgw_lc_debug_interval` is.
 */
export interface S3Lifecycle {
  readonly store: BucketLifecycleStore;
}

/**
 * Looks up `accessKeyId` and calls `matches` with its secret; throws SigV4Error UnknownKey or
 * BadSignature (failures counted per client address as other signatures).
 */
export type PostSignatureVerifier = (
  accessKeyId: string,
  client: string | undefined,
  matches: (secret: string) => boolean,
) => void;

/** Where a request points: bucket and key decoded, the query, the resource path errors name. */
export interface S3Location {
  readonly bucket: string;
  readonly key: string;
  readonly query: URLSearchParams;
  readonly resource: string;
}

/** One S3 request on its way through routing and an operation. */
export interface S3Context extends S3Location {
  readonly env: S3Env;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly auth: VerifiedSigV4;
  /**
   * Who sent it (anonymous for an unsigned request). Set once more by a browser POST upload, whose
   * signer is known only after its form's signature is checked.
   */
  principal: Principal;
  /** The client's address (aws:SourceIp). */
  readonly sourceIp: string;
  readonly requestId: string;
  /** Upper case. */
  readonly method: string;
  /** Set once the request body has been handed to a reader that may stop part-way. */
  bodyStarted: boolean;
}
