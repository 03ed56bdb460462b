import {
  parseSigV2Presigned,
  parseSigV4,
  SigningKeyCache,
  SigV4Error,
  verifySigV2Presigned,
  verifySigV4,
  type SigV2PresignedAuth,
  type SignedRequest,
  type SigV4Auth,
  type VerifiedSigV4,
} from './sigv4/index.js';
import type { Clock } from '../shared/clock.js';
import { FailureLimiter } from '../shared/failure-limiter.js';
import type { ErrorCatalog } from './error-catalog.js';

/** Looks up secrets of access keys Apiary knows (the root key; later, users' keys). */
export interface CredentialStore {
  secretFor(accessKeyId: string): string | undefined;
}

export class StaticCredentialStore implements CredentialStore {
  private readonly keys = new Map<string, string>();
  constructor(entries: readonly { accessKeyId: string; secretAccessKey: string }[]) {
    for (const e of entries) this.keys.set(e.accessKeyId, e.secretAccessKey);
  }
  secretFor(accessKeyId: string): string | undefined {
    return this.keys.get(accessKeyId);
  }
}

/** Verifies SigV4 on behalf of every protocol (and S3's V2 presigned URLs), with the signing key cached per day/region/service. */
export class Authenticator {
  private readonly keyCache = new SigningKeyCache();
  /** Failed signatures (unknown key, bad signature) per client address. */
  private readonly failures: FailureLimiter;
  constructor(
    private readonly credentials: CredentialStore,
    private readonly clock: Clock,
    limit: { readonly maxFailures: number; readonly windowMs: number } = {
      maxFailures: 100,
      windowMs: 15 * 60_000,
    },
    /** Told of each access key whose signature held (e.g. to record its last use). */
    private readonly onVerified?: (accessKeyId: string) => void,
  ) {
    this.failures = new FailureLimiter(limit.maxFailures, limit.windowMs);
  }

  /** Throws SigV4Error 'Throttled' while `client` is over its allowance of failed signatures. */
  private admit(client: string | undefined): void {
    if (client === undefined) return;
    const wait = this.failures.retryAfterSeconds(client, this.clock.nowMs());
    if (wait !== undefined) {
      throw new SigV4Error(
        'Throttled',
        `Too many requests with a wrong access key or signature from your address; retry in ${wait} seconds`,
        {
          RetryAfterSeconds: String(wait),
        },
      );
    }
  }

  private counted<T>(client: string | undefined, check: () => T): T {
    this.admit(client);
    try {
      return check();
    } catch (err) {
      if (
        client !== undefined &&
        err instanceof SigV4Error &&
        (err.kind === 'UnknownKey' || err.kind === 'BadSignature')
      ) {
        this.failures.fail(client, this.clock.nowMs());
      }
      throw err;
    }
  }

  parse(req: SignedRequest): SigV4Auth | undefined {
    return parseSigV4(req);
  }

  /** S3's Signature Version 2 presigned URL of a request, or undefined (throws when incomplete). */
  parseV2Presigned(req: SignedRequest): SigV2PresignedAuth | undefined {
    return parseSigV2Presigned(req);
  }

  /** Verifies a V2 presigned S3 URL; S3 answers it in `region`. */
  verifyV2Presigned(req: SignedRequest, auth: SigV2PresignedAuth, region: string): VerifiedSigV4 {
    return verifySigV2Presigned(req, auth, {
      lookupSecret: (id) => this.credentials.secretFor(id),
      nowMs: this.clock.nowMs(),
      region,
    });
  }

  /** The checks that need no body: the access key is known (throws SigV4Error 'UnknownKey'). */
  precheck(auth: SigV4Auth, client?: string): void {
    this.counted(client, () => {
      if (this.credentials.secretFor(auth.accessKeyId) === undefined) {
        throw new SigV4Error(
          'UnknownKey',
          'The AWS Access Key Id you provided does not exist in our records.',
          {
            AWSAccessKeyId: auth.accessKeyId,
          },
        );
      }
    });
  }

  /**
   * A browser POST form's signature (S3's POST uploads): `matches` gets the key's secret;
   * throws SigV4Error UnknownKey or BadSignature, counted as other failed signatures.
   */
  verifyPostSignature(
    accessKeyId: string,
    client: string | undefined,
    matches: (secret: string) => boolean,
  ): void {
    this.counted(client, () => {
      const secret = this.credentials.secretFor(accessKeyId);
      if (secret === undefined) {
        throw new SigV4Error(
          'UnknownKey',
          'The AWS Access Key Id you provided does not exist in our records.',
          { AWSAccessKeyId: accessKeyId },
        );
      }
      if (!matches(secret)) {
        throw new SigV4Error(
          'BadSignature',
          'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
          { AWSAccessKeyId: accessKeyId },
        );
      }
    });
  }

  /** Verifies the signature; `client` (the caller's address) is limited in failed attempts. */
  verify(req: SignedRequest, auth: SigV4Auth, payloadHash: string, client?: string): VerifiedSigV4 {
    const verified = this.counted(client, () =>
      verifySigV4(req, auth, {
        lookupSecret: (id) => this.credentials.secretFor(id),
        payloadHash,
        nowMs: this.clock.nowMs(),
        keyCache: this.keyCache,
      }),
    );
    this.onVerified?.(verified.accessKeyId);
    return verified;
  }
}

/**
 * How AWS's JSON and rest-json services (SageMaker, CloudWatch Logs, the runtime) answer SigV4
 * failures; each of those protocols' catalogs includes these rows. (S3 has its own, in XML.)
 */
export const AWS_AUTH_ERRORS = {
  MissingAuthenticationTokenException: { status: 403, message: 'Missing Authentication Token' },
  UnrecognizedClientException: {
    status: 403,
    message: 'The security token included in the request is invalid.',
  },
  InvalidSignatureException: {
    status: 403,
    message:
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  },
  IncompleteSignatureException: {
    status: 403,
    message: 'The request signature does not conform to AWS standards.',
  },
  ThrottlingException: { status: 400, message: 'Rate exceeded; retry with backoff.' },
} as const satisfies ErrorCatalog;

export type AwsAuthErrorCode = keyof typeof AWS_AUTH_ERRORS;

/** The AWS JSON services' code for each SigV4 failure (status: the protocol's catalog). */
export function jsonAuthError(err: SigV4Error): { code: AwsAuthErrorCode; message: string } {
  switch (err.kind) {
    case 'Missing':
      return {
        code: 'MissingAuthenticationTokenException',
        message: AWS_AUTH_ERRORS.MissingAuthenticationTokenException.message,
      };
    case 'UnknownKey':
      return {
        code: 'UnrecognizedClientException',
        message: AWS_AUTH_ERRORS.UnrecognizedClientException.message,
      };
    case 'BadSignature':
    case 'Skewed':
    case 'Expired':
      return { code: 'InvalidSignatureException', message: err.message };
    case 'Malformed':
    case 'BadExpires':
      return { code: 'IncompleteSignatureException', message: err.message };
    case 'Throttled':
      return { code: 'ThrottlingException', message: err.message };
  }
}

export { SigV4Error };
