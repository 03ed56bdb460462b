import fs from 'node:fs';
import path from 'node:path';

/**
 * A job's log: `output.log` holds the raw bytes the process (and the platform) wrote, in append
 * mode; `output.idx` holds one 24-byte entry per line (start offset, end offset, timestamp ms, as
 * float64 LE), so any sequence number is one seek away. Only the server's tailer writes the index.
 */
export interface LogLine {
  readonly seq: number;
  readonly timestampMs: number;
  readonly message: string;
}

const ENTRY = 24;
/** A line longer than this is cut into several events (CloudWatch's event limit is 256 KiB). */
export const MAX_LINE_BYTES = 256 * 1024;

export class JobLog {
  readonly rawFile: string;
  readonly indexFile: string;

  constructor(readonly dir: string) {
    this.rawFile = path.join(dir, 'output.log');
    this.indexFile = path.join(dir, 'output.idx');
  }

  ensure(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    fs.closeSync(fs.openSync(this.rawFile, 'a'));
    fs.closeSync(fs.openSync(this.indexFile, 'a'));
  }

  /** A line from Apiary itself (staging, uploads, warnings), appended to the same stream. */
  appendPlatformLine(message: string): void {
    fs.appendFileSync(this.rawFile, message.replace(/\r?\n/g, ' ') + '\n');
  }

  count(): number {
    try {
      return Math.floor(fs.statSync(this.indexFile).size / ENTRY);
    } catch {
      return 0;
    }
  }

  rawSize(): number {
    try {
      return fs.statSync(this.rawFile).size;
    } catch {
      return 0;
    }
  }

  private readEntries(
    fd: number,
    from: number,
    n: number,
  ): { start: number; end: number; ts: number }[] {
    const buf = Buffer.alloc(n * ENTRY);
    const got = fs.readSync(fd, buf, 0, buf.length, from * ENTRY);
    const out = [];
    for (let i = 0; i + ENTRY <= got; i += ENTRY) {
      out.push({
        start: buf.readDoubleLE(i),
        end: buf.readDoubleLE(i + 8),
        ts: buf.readDoubleLE(i + 16),
      });
    }
    return out;
  }

  /** Lines `fromSeq` … `fromSeq + limit - 1` (fewer at the end). */
  read(fromSeq: number, limit: number): LogLine[] {
    const total = this.count();
    const from = Math.max(0, fromSeq);
    const n = Math.max(0, Math.min(limit, total - from));
    if (n === 0) return [];
    const idx = fs.openSync(this.indexFile, 'r');
    let entries;
    try {
      entries = this.readEntries(idx, from, n);
    } finally {
      fs.closeSync(idx);
    }
    if (entries.length === 0) return [];
    const first = entries[0]!.start;
    const last = entries[entries.length - 1]!.end;
    const raw = Buffer.alloc(last - first);
    const fd = fs.openSync(this.rawFile, 'r');
    try {
      fs.readSync(fd, raw, 0, raw.length, first);
    } finally {
      fs.closeSync(fd);
    }
    return entries.map((e, i) => ({
      seq: from + i,
      timestampMs: e.ts,
      message: raw
        .subarray(e.start - first, e.end - first)
        .toString('utf8')
        .replace(/\r$/, ''),
    }));
  }

  /** The last `n` lines (failure reasons quote them). */
  tail(n: number): LogLine[] {
    const total = this.count();
    return this.read(Math.max(0, total - n), n);
  }

  /** Where the index ends in the raw file: the tailer resumes there after a restart. */
  indexedEnd(): number {
    const total = this.count();
    if (total === 0) return 0;
    const fd = fs.openSync(this.indexFile, 'r');
    try {
      const [e] = this.readEntries(fd, total - 1, 1);
      if (!e) return 0;
      const raw = this.rawSize();
      return Math.min(raw, e.end + 1);
    } finally {
      fs.closeSync(fd);
    }
  }

  timeRange(): { first: number; last: number } | undefined {
    const total = this.count();
    if (total === 0) return undefined;
    const fd = fs.openSync(this.indexFile, 'r');
    try {
      const [a] = this.readEntries(fd, 0, 1);
      const [b] = this.readEntries(fd, total - 1, 1);
      return a && b ? { first: a.ts, last: b.ts } : undefined;
    } finally {
      fs.closeSync(fd);
    }
  }
}

/**
 * Follows a job's raw log file, indexes complete lines with the time they were seen and hands
 * each to `onLine`. Uses inotify (fs.watch) with a polling fallback; `flush()` at process exit
 * indexes a last line without a newline.
 */
export class LogTailer {
  private offset: number;
  private seq: number;
  private watcher: fs.FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  private again = false;
  private readonly idxFd: number;
  private readonly rawFd: number;
  private closed = false;

  constructor(
    private readonly log: JobLog,
    private readonly onLine: (line: LogLine) => void,
    private readonly now: () => number,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    log.ensure();
    this.offset = log.indexedEnd();
    this.seq = log.count();
    this.idxFd = fs.openSync(log.indexFile, 'a');
    this.rawFd = fs.openSync(log.rawFile, 'r');
  }

  start(pollMs = 200): void {
    try {
      this.watcher = fs.watch(this.log.rawFile, () => this.poll());
      this.watcher.on('error', () => {});
    } catch {
      /* polling only */
    }
    this.timer = setInterval(() => this.poll(), pollMs);
    this.timer.unref();
    this.poll();
  }

  /** Bytes of the raw file, as last seen. */
  get bytesSeen(): number {
    return this.offset;
  }

  poll(): void {
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    try {
      do {
        this.again = false;
        this.readAvailable(false);
      } while (this.again && !this.closed);
    } catch (err) {
      this.onError(err);
    } finally {
      this.reading = false;
    }
  }

  private readAvailable(final: boolean): void {
    const size = fs.fstatSync(this.rawFd).size;
    if (size <= this.offset) return;
    const chunkMax = 4 * 1024 * 1024;
    while (this.offset < size) {
      const len = Math.min(chunkMax, size - this.offset);
      const buf = Buffer.alloc(len);
      const got = fs.readSync(this.rawFd, buf, 0, len, this.offset);
      if (got <= 0) break;
      let start = 0;
      const entries: Buffer[] = [];
      for (;;) {
        const nl = buf.indexOf(10, start);
        const limit = start + MAX_LINE_BYTES;
        if (nl === -1 || nl > limit) {
          if (got - start >= MAX_LINE_BYTES) {
            entries.push(this.emit(buf, start, limit, limit));
            start = limit;
            continue;
          }
          break;
        }
        entries.push(this.emit(buf, start, nl, nl + 1));
        start = nl + 1;
      }
      if (final && start < got && this.offset + got >= size) {
        entries.push(this.emit(buf, start, got, got));
        start = got;
      }
      if (entries.length) fs.writeSync(this.idxFd, Buffer.concat(entries));
      this.offset += start;
      if (start === 0) break;
    }
  }

  private emit(buf: Buffer, start: number, end: number, _next: number): Buffer {
    const ts = this.now();
    const e = Buffer.alloc(ENTRY);
    e.writeDoubleLE(this.offset + start, 0);
    e.writeDoubleLE(this.offset + end, 8);
    e.writeDoubleLE(ts, 16);
    const message = buf.subarray(start, end).toString('utf8').replace(/\r$/, '');
    const line = { seq: this.seq++, timestampMs: ts, message };
    try {
      this.onLine(line);
    } catch (err) {
      this.onError(err);
    }
    return e;
  }

  /** Indexes everything left, including a last line without a newline, and stops. */
  close(): void {
    if (this.closed) return;
    try {
      this.readAvailable(true);
    } catch (err) {
      this.onError(err);
    }
    this.closed = true;
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
    fs.closeSync(this.idxFd);
    fs.closeSync(this.rawFd);
  }
}
