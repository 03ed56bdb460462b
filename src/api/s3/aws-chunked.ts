import { createHash, createHmac, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { ObjectChecksum } from '../../objects/index.js';
import { EMPTY_SHA256, type VerifiedSigV4 } from '../sigv4/index.js';
import { ChunkLease, disposeChunk, hasDisposableChunks } from '../../shared/disposable-chunks.js';
import { checkDigests, type BodyPlan, type Mode } from './body-plan.js';
import { createChecksum, type Checksum } from './checksums.js';
import { S3Error } from './errors.js';

/**
 * The aws-chunked reader of an S3 request body: decodes the framing while it streams, checks each
 * chunk's signature (signed uploads) and the trailer (its checksum line, its signature), then the
 * plan's end-of-body digests (`body-plan.ts`). A failure errors the stream at the point it is
 * known, so whatever consumes it (a temp file) never gets committed.
 */

const MAX_CHUNK_HEADER = 4096;
const MAX_TRAILER = 16 * 1024;

type State = 'size' | 'data' | 'data-crlf' | 'trailer' | 'done';

/** Decodes and verifies an aws-chunked body (raw bodies pass through, hashed). */
export class BodyDecoder extends Transform {
  private state: State = 'size';
  private pending: Buffer = Buffer.alloc(0);
  private chunkRemaining = 0;
  private chunkSignature = '';
  private chunkHash: Hash | undefined;
  private previousSignature: string;
  private decoded = 0;
  private readonly sha256: Hash | undefined;
  private readonly checksum: Checksum | undefined;
  private trailerLines: string[] = [];
  /** The chunk being parsed, shared with the slices emitted from it (a disposable stream). */
  private lease: ChunkLease | undefined;
  /** The chunk `pending` is a view into, held until `pending` was copied. */
  private pendingLease: ChunkLease | undefined;
  /** The checksum verified over the decoded body (kept with the object). */
  verifiedChecksum: ObjectChecksum | undefined;

  constructor(
    private readonly plan: BodyPlan,
    private readonly auth: VerifiedSigV4,
    private readonly onActivity: () => void = () => undefined,
  ) {
    super({ readableHighWaterMark: 1024 * 1024, writableHighWaterMark: 1024 * 1024 });
    this.previousSignature = auth.signature;
    if (plan.mode.kind === 'raw' && plan.mode.sha256) this.sha256 = createHash('sha256');
    if (plan.checksumAlgorithm) this.checksum = createChecksum(plan.checksumAlgorithm);
  }

  private emitData(data: Buffer): void {
    if (data.length === 0) return;
    this.decoded += data.length;
    this.sha256?.update(data);
    this.checksum?.update(data);
    this.push(this.lease ? this.lease.share(data) : data);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.onActivity();
    try {
      // Marked disposable (fed by a request): each input chunk is freed once this reader and the
      // consumers of every slice emitted from it are done (socket reads, see disposable-chunks).
      const disposable = hasDisposableChunks(this);
      if (this.plan.mode.kind === 'raw') {
        this.lease = disposable ? new ChunkLease(chunk) : undefined;
        this.emitData(chunk);
        this.lease?.release();
        this.lease = undefined;
      } else this.parse(chunk, disposable);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.finish();
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  private parse(input: Buffer, disposable: boolean): void {
    const joined = this.pending.length > 0;
    const buf = joined ? Buffer.concat([this.pending, input]) : input;
    this.pending = Buffer.alloc(0);
    if (disposable) {
      // Copied into `buf` (when joined): neither the old pending bytes nor `input` are needed.
      this.pendingLease?.release();
      this.pendingLease = undefined;
      if (joined) disposeChunk(input);
      this.lease = new ChunkLease(buf);
    }
    try {
      this.parseBuffer(buf);
    } finally {
      const lease = this.lease;
      this.lease = undefined;
      // A pending tail still points into `buf`: the lease stays held until the next chunk.
      if (lease && this.pending.length > 0 && this.pending.buffer === buf.buffer) {
        this.pendingLease = lease;
      } else lease?.release();
    }
  }

  private parseBuffer(buf: Buffer): void {
    let pos = 0;
    while (pos < buf.length) {
      switch (this.state) {
        case 'size': {
          const eol = buf.indexOf('\r\n', pos);
          if (eol < 0) {
            if (buf.length - pos > MAX_CHUNK_HEADER)
              throw this.malformed('a chunk header is too long');
            this.pending = buf.subarray(pos);
            return;
          }
          this.startChunk(buf.toString('latin1', pos, eol));
          pos = eol + 2;
          break;
        }
        case 'data': {
          const n = Math.min(this.chunkRemaining, buf.length - pos);
          const piece = buf.subarray(pos, pos + n);
          this.chunkHash?.update(piece);
          this.emitData(piece);
          this.chunkRemaining -= n;
          pos += n;
          if (this.chunkRemaining === 0) {
            this.endChunk(false);
            this.state = 'data-crlf';
          }
          break;
        }
        case 'data-crlf': {
          if (buf.length - pos < 2) {
            this.pending = buf.subarray(pos);
            return;
          }
          if (buf[pos] !== 0x0d || buf[pos + 1] !== 0x0a)
            throw this.malformed('a chunk does not end with CRLF');
          pos += 2;
          this.state = 'size';
          break;
        }
        case 'trailer': {
          const eol = buf.indexOf('\n', pos);
          if (eol < 0) {
            if (buf.length - pos > MAX_TRAILER) throw this.malformed('the trailer is too long');
            this.pending = buf.subarray(pos);
            return;
          }
          const line = buf.toString('latin1', pos, eol).replace(/\r$/, '');
          pos = eol + 1;
          if (line === '') {
            this.state = 'done';
          } else {
            this.trailerLines.push(line);
            if (this.trailerLines.length > 16)
              throw this.malformed('the trailer has too many lines');
          }
          break;
        }
        case 'done': {
          // Anything but line ends after the final chunk is not aws-chunked.
          const rest = buf.subarray(pos).toString('latin1');
          if (rest.replace(/[\r\n]/g, '') !== '')
            throw this.malformed('data follows the final chunk');
          return;
        }
      }
    }
  }

  private malformed(why: string): S3Error {
    return new S3Error('IncompleteBody', `The aws-chunked request body is malformed: ${why}.`);
  }

  private startChunk(header: string): void {
    const mode = this.plan.mode as Extract<Mode, { kind: 'chunked' }>;
    const semi = header.indexOf(';');
    const sizeHex = (semi >= 0 ? header.slice(0, semi) : header).trim();
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeHex))
      throw this.malformed(`'${sizeHex.slice(0, 20)}' is not a hexadecimal chunk size`);
    const size = parseInt(sizeHex, 16);
    if (mode.signed) {
      const m = /chunk-signature=([0-9a-f]{64})/.exec(header.slice(semi + 1));
      if (semi < 0 || !m) {
        throw new S3Error(
          'SignatureDoesNotMatch',
          'Every chunk of a signed aws-chunked upload needs a chunk-signature.',
        );
      }
      this.chunkSignature = m[1]!;
      this.chunkHash = createHash('sha256');
    }
    this.chunkRemaining = size;
    if (size === 0) {
      this.endChunk(true);
      // Trailer lines (if any) follow, then an empty line.
      this.state = 'trailer';
    } else {
      this.state = 'data';
    }
  }

  private endChunk(_final: boolean): void {
    if (!this.chunkHash) return;
    const stringToSign = [
      'AWS4-HMAC-SHA256-PAYLOAD',
      this.auth.amzDate,
      this.auth.scope,
      this.previousSignature,
      EMPTY_SHA256,
      this.chunkHash.digest('hex'),
    ].join('\n');
    const expected = createHmac('sha256', this.auth.signingKey).update(stringToSign).digest('hex');
    if (expected !== this.chunkSignature) {
      throw new S3Error(
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided: a chunk signature of the aws-chunked body is wrong.',
      );
    }
    this.previousSignature = this.chunkSignature;
    this.chunkHash = undefined;
  }

  private finish(): void {
    const plan = this.plan;
    if (plan.mode.kind === 'chunked') {
      // Some clients leave out the empty line after the trailer: the final chunk is what counts.
      if (this.state !== 'done' && this.state !== 'trailer') {
        throw new S3Error(
          'IncompleteBody',
          'The request body ended before the final aws-chunked chunk.',
        );
      }
      if (plan.mode.decodedLength !== undefined && plan.mode.decodedLength !== this.decoded) {
        throw new S3Error(
          'IncompleteBody',
          `You did not provide the number of bytes specified by the x-amz-decoded-content-length header: ${plan.mode.decodedLength} declared, ${this.decoded} received.`,
        );
      }
      if (plan.mode.trailer) this.checkTrailer(plan.mode.signed);
    }
    this.verifiedChecksum = checkDigests(plan, this.sha256, this.checksum, this.trailerChecksum);
  }

  private trailerChecksum: string | undefined;

  private checkTrailer(signed: boolean): void {
    let signature: string | undefined;
    const signedLines: string[] = [];
    for (const line of this.trailerLines) {
      const colon = line.indexOf(':');
      if (colon < 0) throw this.malformed('a trailer line has no colon');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'x-amz-trailer-signature') {
        signature = value;
        continue;
      }
      signedLines.push(`${name}:${value}\n`);
      if (
        this.plan.checksumAlgorithm &&
        name === `x-amz-checksum-${this.plan.checksumAlgorithm.toLowerCase()}`
      ) {
        this.trailerChecksum = value;
      }
    }
    if (signed) {
      if (!signature)
        throw new S3Error(
          'SignatureDoesNotMatch',
          'The signed aws-chunked trailer carries no x-amz-trailer-signature.',
        );
      const stringToSign = [
        'AWS4-HMAC-SHA256-TRAILER',
        this.auth.amzDate,
        this.auth.scope,
        this.previousSignature,
        createHash('sha256').update(signedLines.join('')).digest('hex'),
      ].join('\n');
      const expected = createHmac('sha256', this.auth.signingKey)
        .update(stringToSign)
        .digest('hex');
      if (expected !== signature) {
        throw new S3Error(
          'SignatureDoesNotMatch',
          'The request signature we calculated does not match the signature you provided: the trailer signature is wrong.',
        );
      }
    }
  }
}
