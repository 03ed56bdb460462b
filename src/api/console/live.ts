import type { ServerResponse } from 'node:http';

/** One thing a page watches: a read-only SageMaker operation and its input. */
export interface Watch {
  readonly op: string;
  readonly input: Readonly<Record<string, unknown>>;
}

/** Runs a read-only operation; resolves with the output or an error in the protocol's shape. */
/** One answer of a watched operation. */
export type LiveResult =
  { ok: true; output: unknown } | { ok: false; code: string; message: string };
export type Poll = (op: string, input: Readonly<Record<string, unknown>>) => Promise<LiveResult>;

export const MAX_WATCHES_PER_STREAM = 20;
export const MAX_WATCHED_KEYS = 500;
/** Read-only SageMaker operations, and the console's own views (`Apiary*`, e.g. ApiaryEndpointMetrics). */
const READ_ONLY = /^((Describe|List)[A-Za-z]+|Apiary[A-Za-z]+)$/;

interface Entry {
  readonly watch: Watch;
  readonly subscribers: Set<Stream>;
  last?: string;
}

interface Stream {
  readonly res: ServerResponse;
  readonly keys: string[];
}

export class WatchError extends Error {}

/**
 * Live updates for the console over Server-Sent Events. Every watched (operation, input) pair is
 * polled ONCE per tick however many tabs watch it, and a stream hears about it only when the
 * answer changed: N open tabs cost one query per watched resource per tick, not N polling loops.
 * Writes made through the console kick an immediate tick, so a page sees its own change at once.
 */
export class LiveHub {
  private readonly entries = new Map<string, Entry>();
  private readonly streams = new Set<Stream>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private kickAgain = false;
  private closed = false;

  constructor(
    private readonly poll: Poll,
    private readonly intervalMs = 1500,
    private readonly heartbeatMs = 15_000,
  ) {}

  /** Validates what a client asked to watch. @throws WatchError with a message for the user. */
  static parseWatches(raw: string | undefined): Watch[] {
    if (!raw) throw new WatchError('Pass w=<JSON array of {"op": "DescribeX", "input": {...}}>');
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new WatchError('w is not valid JSON');
    }
    if (!Array.isArray(parsed) || parsed.length === 0)
      throw new WatchError('w must be a non-empty JSON array');
    if (parsed.length > MAX_WATCHES_PER_STREAM) {
      throw new WatchError(
        `A stream may watch at most ${MAX_WATCHES_PER_STREAM} things; got ${parsed.length}`,
      );
    }
    return parsed.map((w, i) => {
      const o = w as { op?: unknown; input?: unknown };
      if (!o || typeof o.op !== 'string' || !READ_ONLY.test(o.op)) {
        throw new WatchError(
          `w[${i}].op must name a Describe* or List* operation, or an Apiary* view`,
        );
      }
      const input = o.input ?? {};
      if (typeof input !== 'object' || input === null || Array.isArray(input)) {
        throw new WatchError(`w[${i}].input must be a JSON object`);
      }
      return { op: o.op, input: input as Record<string, unknown> };
    });
  }

  static keyOf(w: Watch): string {
    return `${w.op} ${JSON.stringify(w.input)}`;
  }

  get watchedKeys(): number {
    return this.entries.size;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** Starts an SSE stream on `res` for `watches`; ends it when the client goes away. */
  open(res: ServerResponse, watches: readonly Watch[]): void {
    const keys = [...new Set(watches.map((w) => LiveHub.keyOf(w)))];
    const fresh = keys.filter((k) => !this.entries.has(k)).length;
    if (this.entries.size + fresh > MAX_WATCHED_KEYS)
      throw new WatchError('The server is watching too many resources; close some console tabs');
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 3000\n\n`);
    const stream: Stream = { res, keys };
    this.streams.add(stream);
    for (const [i, key] of keys.entries()) {
      let entry = this.entries.get(key);
      if (!entry) {
        entry = {
          watch: watches.find((w) => LiveHub.keyOf(w) === key) ?? watches[i]!,
          subscribers: new Set(),
        };
        this.entries.set(key, entry);
      }
      entry.subscribers.add(stream);
      if (entry.last !== undefined) this.send(stream, key, entry.last);
    }
    res.on('close', () => this.drop(stream));
    this.ensureTimer();
    this.kick();
  }

  /** Polls everything now (after a write through the console). */
  kick(): void {
    if (this.closed) return;
    if (this.ticking) {
      this.kickAgain = true;
      return;
    }
    this.ticking = this.tick().finally(() => {
      this.ticking = undefined;
      if (this.kickAgain) {
        this.kickAgain = false;
        this.kick();
      }
    });
  }

  /** Ends every stream and stops polling (server shutdown). */
  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const s of this.streams) s.res.end();
    this.streams.clear();
    this.entries.clear();
  }

  private ensureTimer(): void {
    if (this.timer || this.closed) return;
    let beats = 0;
    const beatEvery = Math.max(1, Math.round(this.heartbeatMs / this.intervalMs));
    this.timer = setInterval(() => {
      if (++beats % beatEvery === 0) for (const s of this.streams) s.res.write(': keep-alive\n\n');
      this.kick();
    }, this.intervalMs);
    this.timer.unref();
  }

  private drop(stream: Stream): void {
    if (!this.streams.delete(stream)) return;
    for (const key of stream.keys) {
      const entry = this.entries.get(key);
      if (!entry) continue;
      entry.subscribers.delete(stream);
      if (entry.subscribers.size === 0) this.entries.delete(key);
    }
    if (this.streams.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private async tick(): Promise<void> {
    // A snapshot: watches come and go while we await the polls.
    for (const [key, entry] of Array.from(this.entries)) {
      if (this.closed) return;
      const r = await this.poll(entry.watch.op, entry.watch.input);
      const data = JSON.stringify(
        r.ok
          ? { key, op: entry.watch.op, input: entry.watch.input, output: r.output }
          : {
              key,
              op: entry.watch.op,
              input: entry.watch.input,
              error: { code: r.code, message: r.message },
            },
      );
      if (data === entry.last) continue;
      entry.last = data;
      for (const s of entry.subscribers) this.send(s, key, data);
    }
  }

  private send(stream: Stream, _key: string, data: string): void {
    stream.res.write(`event: update\ndata: ${data}\n\n`);
  }
}
