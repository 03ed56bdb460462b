import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';

/** What a staging URL grants: job, attempt, which route, expiry (ms). */
export type StagingToken = { j: string; a: number; k: 'stage' | 'upload'; e: number };

/** One attempt's `/opt/ml` folder on Apiary's side, and the promise that its outputs came back. */
export interface StagedAttempt {
  readonly mlDir: string;
  readonly outputs: Promise<void>;
}

/** A fresh signing key for the staging URLs. */
export const newStagingKey = (): Buffer => randomBytes(32);

const attemptKey = (jobName: string, attempt: number): string =>
  `${jobName.toLowerCase()}#${attempt}`;

/**
 * The two signed URLs a training pod's steps use — fetch the staged `/opt/ml`, send back
 * `/opt/ml/model` and `/opt/ml/output` — and the attempts they may reach. The URLs carry an HMAC
 * token (job, attempt, route, expiry) under a key every replica shares, so the pod holds no other
 * credential; an attempt is reachable only while this process follows it.
 */
export class PodStaging {
  private readonly attempts = new Map<
    string,
    { mlDir: string; arrived: () => void; outputs: Promise<void> }
  >();
  private key: Promise<Buffer> | undefined;

  constructor(private readonly signingKey: () => Promise<Buffer>) {}

  /** Makes an attempt reachable (idempotent: a re-attach gets the same entry). */
  track(jobName: string, attempt: number, mlDir: string): StagedAttempt {
    const key = attemptKey(jobName, attempt);
    const existing = this.attempts.get(key);
    if (existing) return existing;
    let arrived!: () => void;
    const outputs = new Promise<void>((r) => (arrived = r));
    const entry = { mlDir, arrived, outputs };
    this.attempts.set(key, entry);
    return entry;
  }

  /** The attempt is over: its URLs answer 404 from now on. */
  forget(jobName: string, attempt: number): void {
    this.attempts.delete(attemptKey(jobName, attempt));
  }

  async sign(t: StagingToken): Promise<string> {
    const body = Buffer.from(JSON.stringify(t)).toString('base64url');
    const mac = createHmac('sha256', await this.hmacKey())
      .update(body)
      .digest('base64url');
    return `${body}.${mac}`;
  }

  /** @returns the token's contents when its signature holds and it has not expired. */
  async verify(
    token: string,
    kind: StagingToken['k'],
    nowMs: number,
  ): Promise<StagingToken | undefined> {
    const [body, mac] = token.split('.');
    if (!body || !mac) return undefined;
    const want = createHmac('sha256', await this.hmacKey())
      .update(body)
      .digest();
    const got = Buffer.from(mac, 'base64url');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined;
    let t: StagingToken;
    try {
      t = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as StagingToken;
    } catch {
      return undefined;
    }
    return t.k === kind && t.e > nowMs ? t : undefined;
  }

  /** The staged `/opt/ml` of a job as a tar stream (the pod's init step). */
  stagedArchive(token: StagingToken): Readable | undefined {
    const job = this.attempts.get(attemptKey(token.j, token.a));
    if (!job) return undefined;
    const dirs = ['input', 'code', 'checkpoints'].filter((d) =>
      fs.existsSync(path.join(job.mlDir, d)),
    );
    // tar's stream is a Minipass, not a stream.Readable: wrapped in a real one (back-pressure kept).
    return Readable.from(tar.create({ cwd: job.mlDir, portable: true }, dirs), {
      objectMode: false,
    });
  }

  /** Receives the job's `model/` and `output/` (the pod's upload sidecar) into its folder. */
  async receiveOutputs(token: StagingToken, body: Readable, maxBytes: number): Promise<boolean> {
    const job = this.attempts.get(attemptKey(token.j, token.a));
    if (!job) return false;
    let seen = 0;
    const counter = new PassThrough();
    counter.on('data', (c: Buffer) => {
      seen += c.length;
      if (seen > maxBytes)
        counter.destroy(new Error(`the outputs are larger than ${maxBytes} bytes`));
    });
    await pipeline(
      body,
      counter,
      tar.extract({
        cwd: job.mlDir,
        strict: true,
        // Only model/ and output/, no links, no escapes.
        filter: (p, entry) =>
          /^(model|output)(\/|$)/.test(p) &&
          !p.split('/').includes('..') &&
          !('type' in entry && /Link/.test(String(entry.type))),
      }) as unknown as Writable,
    );
    job.arrived();
    return true;
  }

  private hmacKey(): Promise<Buffer> {
    this.key ??= this.signingKey();
    return this.key;
  }
}
