import { createHash, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { ObjectChecksum } from '../../objects/index.js';
import { markChunksDisposable } from '../../shared/disposable-chunks.js';
import type { VerifiedSigV4 } from '../sigv4/index.js';
import { BodyDecoder } from './aws-chunked.js';
import { checkDigests, type BodyPlan } from './body-plan.js';
import { createChecksum, type Checksum } from './checksums.js';
import { S3Error } from './errors.js';

/**
 * Reads and verifies an S3 request body while it streams: a raw body here ({@link RawBody}), an
 * aws-chunked one by `aws-chunked.ts`; what to verify comes from `body-plan.ts`. A failure errors
 * the stream at the point it is known, so whatever consumes it (a temp file) never gets committed.
 */

export { BodyDecoder } from './aws-chunked.js';
export { planBody, type BodyPlan } from './body-plan.js';

/**
 * A raw (not aws-chunked) body: the request's own bytes, hashed as they pass. A Readable fed by
 * the request's 'data' events, without the Writable half of a Transform: per 64 KiB chunk that
 * half cost more main-thread CPU than the chunk's MD5. Ends only once the digests hold; a
 * mismatch errors it instead, so its consumer never commits the object. Its chunks are the
 * socket's own reads, referenced by nothing once emitted: marked disposable, so the file writer
 * frees each right after copying it (`src/shared/disposable-chunks.ts`).
 */
export class RawBody extends Readable {
  private readonly sha256: Hash | undefined;
  private readonly checksum: Checksum | undefined;
  private paused = false;
  /** The checksum verified over the body (kept with the object). */
  verifiedChecksum: ObjectChecksum | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly plan: BodyPlan,
    private readonly onActivity: () => void,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    markChunksDisposable(this);
    if (plan.mode.kind === 'raw' && plan.mode.sha256) this.sha256 = createHash('sha256');
    if (plan.checksumAlgorithm) this.checksum = createChecksum(plan.checksumAlgorithm);
    req.on('data', this.onData);
    req.once('end', this.onEnd);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.onActivity();
    this.sha256?.update(chunk);
    this.checksum?.update(chunk);
    if (!this.push(chunk) && !this.paused) {
      this.paused = true;
      this.req.pause();
    }
  };

  private readonly onEnd = (): void => {
    try {
      this.verifiedChecksum = checkDigests(this.plan, this.sha256, this.checksum, undefined);
      this.push(null);
    } catch (err) {
      this.destroy(err as Error);
    }
  };

  override _read(): void {
    if (this.paused) {
      this.paused = false;
      this.req.resume();
    }
  }

  override _destroy(err: Error | null, done: (error?: Error | null) => void): void {
    this.req.off('data', this.onData);
    this.req.off('end', this.onEnd);
    done(err);
  }
}

export interface BodyOptions {
  /** Fail with RequestTimeout when no byte arrives for this long. */
  readonly idleTimeoutMs: number;
}

/**
 * The decoded, verified body of `req` as a stream; once it has ended, `decoder.verifiedChecksum`
 * tells which checksum was verified. A client that goes silent for `idleTimeoutMs` or disconnects
 * errors the stream.
 */
export function requestBody(
  req: IncomingMessage,
  plan: BodyPlan,
  auth: VerifiedSigV4,
  options: BodyOptions,
): { body: BodyDecoder | RawBody; decoder: { readonly verifiedChecksum?: ObjectChecksum } } {
  let timer: NodeJS.Timeout | undefined;
  const activity = () => timer?.refresh();
  const decoder: BodyDecoder | RawBody =
    plan.mode.kind === 'raw'
      ? new RawBody(req, plan, activity)
      : new BodyDecoder(plan, auth, activity);
  timer = setTimeout(
    () =>
      decoder.destroy(
        new S3Error(
          'RequestTimeout',
          'Your socket connection to the server was not read from or written to within the timeout period. Idle connections will be closed.',
        ),
      ),
    options.idleTimeoutMs,
  );
  timer.unref();
  const clear = () => clearTimeout(timer);
  // The consumer may attach later (after a database lookup): the error stays on the stream and its
  // reader sees it then; it must not become an uncaught exception meanwhile.
  decoder.on('error', () => undefined);
  decoder.once('close', clear);
  decoder.once('end', clear);
  const incomplete = () => {
    if (!req.complete) {
      decoder.destroy(
        new S3Error(
          'IncompleteBody',
          'You did not provide the number of bytes specified by the Content-Length HTTP header.',
        ),
      );
    }
  };
  req.once('aborted', incomplete);
  req.once('close', incomplete);
  req.once('error', incomplete);
  if (decoder instanceof BodyDecoder) {
    // Fed by the socket's own reads: the decoder frees each once it and its slices are done.
    markChunksDisposable(decoder);
    req.pipe(decoder);
  }
  return { body: decoder, decoder };
}
