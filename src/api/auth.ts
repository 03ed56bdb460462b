import {
  parseSigV4,
  SigningKeyCache,
  SigV4Error,
  verifySigV4,
  type SignedRequest,
  type SigV4Auth,
  type VerifiedSigV4,
} from './sigv4/index.js';
import type { Clock } from '../shared/clock.js';

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

/** Verifies SigV4 on behalf of every protocol, with the signing key cached per day/region/service. */
export class Authenticator {
  private readonly keyCache = new SigningKeyCache();
  constructor(
    private readonly credentials: CredentialStore,
    private readonly clock: Clock,
  ) {}

  parse(req: SignedRequest): SigV4Auth | undefined {
    return parseSigV4(req);
  }

  verify(req: SignedRequest, auth: SigV4Auth, payloadHash: string): VerifiedSigV4 {
    return verifySigV4(req, auth, {
      lookupSecret: (id) => this.credentials.secretFor(id),
      payloadHash,
      nowMs: this.clock.nowMs(),
      keyCache: this.keyCache,
    });
  }
}

/** The AWS JSON services' answer to each SigV4 failure. */
export function jsonAuthError(err: SigV4Error): { code: string; status: number; message: string } {
  switch (err.kind) {
    case 'Missing':
      return { code: 'MissingAuthenticationTokenException', status: 403, message: 'Missing Authentication Token' };
    case 'UnknownKey':
      return {
        code: 'UnrecognizedClientException',
        status: 403,
        message: 'The security token included in the request is invalid.',
      };
    case 'BadSignature':
      return { code: 'InvalidSignatureException', status: 403, message: err.message };
    case 'Skewed':
    case 'Expired':
      return { code: 'InvalidSignatureException', status: 403, message: err.message };
    case 'Malformed':
    case 'BadExpires':
      return { code: 'IncompleteSignatureException', status: 403, message: err.message };
  }
}

export { SigV4Error };
