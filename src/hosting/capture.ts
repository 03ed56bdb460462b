import { randomUUID } from 'node:crypto';
import type { ObjectStore } from '../objects/index.js';
import type { Random } from '../shared/random.js';
import { parseS3Uri } from '../shared/s3-uri.js';
import type { InvokeRequest, InvokeResponse } from './runtime/variant-server.js';

/** An endpoint config's DataCaptureConfig, in domain terms. */
export interface CaptureConfig {
  readonly enabled: boolean;
  readonly samplingPercentage: number;
  readonly destination: string;
  readonly kmsKeyId: string | undefined;
  readonly input: boolean;
  readonly output: boolean;
  readonly csvContentTypes: readonly string[];
  readonly jsonContentTypes: readonly string[];
}

/** The wire's DataCaptureConfig → CaptureConfig (undefined when absent). */
export function captureConfigFromWire(raw: unknown): CaptureConfig | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const c = raw as {
    EnableCapture?: boolean;
    InitialSamplingPercentage?: number;
    DestinationS3Uri?: string;
    KmsKeyId?: string;
    CaptureOptions?: { CaptureMode?: string }[];
    CaptureContentTypeHeader?: { CsvContentTypes?: string[]; JsonContentTypes?: string[] };
  };
  const modes = new Set((c.CaptureOptions ?? []).map((o) => o.CaptureMode));
  return {
    enabled: c.EnableCapture ?? true,
    samplingPercentage: c.InitialSamplingPercentage ?? 0,
    destination: c.DestinationS3Uri ?? '',
    kmsKeyId: c.KmsKeyId,
    input: modes.has('Input'),
    output: modes.has('Output'),
    csvContentTypes: (c.CaptureContentTypeHeader?.CsvContentTypes ?? []).map((t) =>
      t.toLowerCase(),
    ),
    jsonContentTypes: (c.CaptureContentTypeHeader?.JsonContentTypes ?? []).map((t) =>
      t.toLowerCase(),
    ),
  };
}

/** DescribeEndpoint's DataCaptureConfigSummary. */
export function captureSummary(c: CaptureConfig) {
  return {
    EnableCapture: c.enabled,
    CaptureStatus: c.enabled ? 'Started' : 'Stopped',
    CurrentSamplingPercentage: c.samplingPercentage,
    DestinationS3Uri: c.destination,
    KmsKeyId: c.kmsKeyId,
  };
}

/**
 * Each live fleet's capture config, looked up once per fleet (on its first invocation) from the
 * endpoint config it was built from; a failed lookup means no capture for that fleet.
 */
export class FleetCaptureConfigs {
  private readonly byFleet = new WeakMap<object, Promise<CaptureConfig | undefined>>();

  /** @param wireConfigOf the endpoint config's DataCaptureConfig (wire shape), if any */
  constructor(private readonly wireConfigOf: (endpoint: string) => Promise<unknown>) {}

  of(fleet: { readonly endpoint: string }): Promise<CaptureConfig | undefined> {
    let p = this.byFleet.get(fleet);
    if (!p) {
      p = (async () => captureConfigFromWire(await this.wireConfigOf(fleet.endpoint)))().catch(
        () => undefined,
      );
      this.byFleet.set(fleet, p);
    }
    return p;
  }
}

type Encoding = 'CSV' | 'JSON' | 'BASE64';

function encode(
  cfg: CaptureConfig,
  contentType: string | undefined,
  body: Buffer | string,
): { data: string; encoding: Encoding } {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (type !== '' && cfg.csvContentTypes.includes(type))
    return { data: buf.toString('utf8'), encoding: 'CSV' };
  if (type !== '' && cfg.jsonContentTypes.includes(type))
    return { data: buf.toString('utf8'), encoding: 'JSON' };
  // SageMaker base64-encodes every content type not listed in CaptureContentTypeHeader.
  return { data: buf.toString('base64'), encoding: 'BASE64' };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** One JSON line exactly as SageMaker's data capture writes it. */
export function captureLine(
  cfg: CaptureConfig,
  req: InvokeRequest,
  res: InvokeResponse,
  atMs: number,
  eventId: string = randomUUID(),
): string {
  const captureData: Record<string, unknown> = {};
  if (cfg.input) {
    captureData.endpointInput = {
      observedContentType: req.contentType ?? '',
      mode: 'INPUT',
      ...encode(cfg, req.contentType, req.body),
    };
  }
  if (cfg.output) {
    captureData.endpointOutput = {
      observedContentType: res.contentType,
      mode: 'OUTPUT',
      ...encode(cfg, res.contentType, res.body),
    };
  }
  const eventMetadata: Record<string, unknown> = {
    eventId,
    inferenceTime: new Date(atMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  if (req.inferenceId !== undefined) eventMetadata.inferenceId = req.inferenceId;
  if (req.customAttributes !== undefined) eventMetadata.customAttributes = [req.customAttributes];
  return JSON.stringify({ captureData, eventMetadata, eventVersion: '0' });
}

/** `{prefix}/{endpoint}/{variant}/yyyy/mm/dd/hh/` + `mm-ss-SSS-{uuid}.jsonl`, as SageMaker names capture files. */
export function captureKey(
  prefixKey: string,
  endpoint: string,
  variant: string,
  atMs: number,
  id: string = randomUUID(),
): string {
  const d = new Date(atMs);
  const dir = [
    prefixKey.replace(/\/+$/, ''),
    endpoint,
    variant,
    d.getUTCFullYear(),
    pad(d.getUTCMonth() + 1),
    pad(d.getUTCDate()),
    pad(d.getUTCHours()),
  ]
    .filter((p) => p !== '')
    .join('/');
  return `${dir}/${pad(d.getUTCMinutes())}-${pad(d.getUTCSeconds())}-${pad(d.getUTCMilliseconds(), 3)}-${id}.jsonl`;
}

export interface CaptureOptions {
  readonly objects: ObjectStore;
  readonly random: Random;
  readonly nowMs: () => number;
  /** Bytes of captured lines held in memory at most (waiting or being written); beyond: dropped and counted. */
  readonly maxBufferedBytes?: number;
  /** A file is written once it holds this many bytes… */
  readonly maxFileBytes?: number;
  /** …or once its first line is this old. */
  readonly flushIntervalMs?: number;
  readonly log?: (msg: string) => void;
}

interface Pending {
  readonly bucket: string;
  readonly key: string;
  readonly lines: string[];
  bytes: number;
}

/** Capture counters for the console. */
export interface CaptureStats {
  readonly captured: number;
  readonly written: number;
  readonly files: number;
  readonly dropped: number;
  readonly writeErrors: number;
  readonly bufferedBytes: number;
}

/**
 * Data capture off the request path: `record` only appends a line to an in-memory file per
 * endpoint, variant and hour; a timer writes files to the object store. Memory is bounded: when
 * the store is slower than the traffic, lines beyond `maxBufferedBytes` are dropped and counted
 * (the endpoint keeps answering). `close` writes whatever is buffered (a clean shutdown loses
 * nothing).
 */
export class DataCapture {
  private readonly open = new Map<string, Pending>();
  private buffered = 0;
  private readonly timer: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private captured = 0;
  private written = 0;
  private files = 0;
  private dropped = 0;
  private writeErrors = 0;
  private readonly maxBuffered: number;
  private readonly maxFile: number;

  constructor(private readonly opts: CaptureOptions) {
    this.maxBuffered = opts.maxBufferedBytes ?? 64 * 1024 * 1024;
    this.maxFile = opts.maxFileBytes ?? 4 * 1024 * 1024;
    this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 2_000);
    this.timer.unref();
  }

  /** Samples and buffers one answered invocation. Never throws, never waits. */
  record(
    cfg: CaptureConfig,
    endpoint: string,
    variant: string,
    req: InvokeRequest,
    res: InvokeResponse,
  ): void {
    if (!cfg.enabled || (!cfg.input && !cfg.output)) return;
    if (cfg.samplingPercentage < 100 && this.opts.random.next() * 100 >= cfg.samplingPercentage)
      return;
    const now = this.opts.nowMs();
    const line = captureLine(cfg, req, res, now) + '\n';
    const size = Buffer.byteLength(line);
    if (this.buffered + size > this.maxBuffered) {
      this.dropped += 1;
      return;
    }
    let bucket: string;
    let prefixKey: string;
    try {
      ({ bucket, key: prefixKey } = parseS3Uri(cfg.destination, 'DestinationS3Uri'));
    } catch {
      this.dropped += 1;
      return;
    }
    const hour = Math.floor(now / 3_600_000);
    const slot = `${cfg.destination}\0${endpoint}\0${variant}\0${hour}`;
    let p = this.open.get(slot);
    if (!p) {
      p = { bucket, key: captureKey(prefixKey, endpoint, variant, now), lines: [], bytes: 0 };
      this.open.set(slot, p);
    }
    p.lines.push(line);
    p.bytes += size;
    this.buffered += size;
    this.captured += 1;
    if (p.bytes >= this.maxFile) {
      this.open.delete(slot);
      void this.enqueue([p]);
    }
  }

  /** Writes every open file now. */
  flush(): Promise<void> {
    const files = [...this.open.values()];
    this.open.clear();
    return this.enqueue(files);
  }

  /** One write at a time: a slow store makes the buffer fill (bounded), not the writes pile up. */
  private enqueue(files: Pending[]): Promise<void> {
    if (files.length === 0) return this.writing;
    this.writing = this.writing.then(async () => {
      for (const f of files) {
        try {
          await this.opts.objects.putObject(
            f.bucket,
            f.key,
            Buffer.from(f.lines.join(''), 'utf8'),
            { contentType: 'application/jsonl' },
          );
          this.written += f.lines.length;
          this.files += 1;
        } catch (e) {
          this.writeErrors += 1;
          this.dropped += f.lines.length;
          this.opts.log?.(
            `data capture: could not write s3://${f.bucket}/${f.key}: ${(e as Error).message}`,
          );
        } finally {
          this.buffered -= f.bytes;
        }
      }
    });
    return this.writing;
  }

  stats(): CaptureStats {
    return {
      captured: this.captured,
      written: this.written,
      files: this.files,
      dropped: this.dropped,
      writeErrors: this.writeErrors,
      bufferedBytes: this.buffered,
    };
  }

  /** Stops the timer and writes what is buffered. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
