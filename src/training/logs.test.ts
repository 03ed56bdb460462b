import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JobLog, LogTailer, MAX_LINE_BYTES, type LogLine } from './logs.js';

const dirs: string[] = [];
const fresh = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-log-'));
  dirs.push(d);
  return new JobLog(d);
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('job logs: raw file + line index', () => {
  it('indexes complete lines with timestamps and reads any range by sequence number', () => {
    const log = fresh();
    let now = 100;
    const seen: LogLine[] = [];
    const tailer = new LogTailer(
      log,
      (l) => seen.push(l),
      () => now,
    );
    fs.appendFileSync(log.rawFile, 'one\ntwo\r\nthr');
    tailer.poll();
    expect(seen.map((l) => l.message)).toEqual(['one', 'two']);
    now = 200;
    fs.appendFileSync(log.rawFile, 'ee\nüñí©ødé\n');
    tailer.poll();
    fs.appendFileSync(log.rawFile, 'no newline at the end');
    tailer.close();
    expect(log.count()).toBe(5);
    expect(log.read(0, 10).map((l) => [l.seq, l.timestampMs, l.message])).toEqual([
      [0, 100, 'one'],
      [1, 100, 'two'],
      [2, 200, 'three'],
      [3, 200, 'üñí©ødé'],
      [4, 200, 'no newline at the end'],
    ]);
    expect(log.read(3, 1).map((l) => l.message)).toEqual(['üñí©ødé']);
    expect(log.read(9, 5)).toEqual([]);
    expect(log.tail(2).map((l) => l.seq)).toEqual([3, 4]);
    expect(log.timeRange()).toEqual({ first: 100, last: 200 });
  });

  it('resumes after a restart where the index ends, without indexing a line twice', () => {
    const log = fresh();
    const a = new LogTailer(
      log,
      () => {},
      () => 1,
    );
    fs.appendFileSync(log.rawFile, 'a\nb\npart');
    a.poll();
    // The server dies here (no close): the partial line is not indexed.
    fs.appendFileSync(log.rawFile, 'ial\nc\n');
    const seen: string[] = [];
    const b = new LogTailer(
      log,
      (l) => seen.push(`${l.seq}:${l.message}`),
      () => 2,
    );
    b.poll();
    b.close();
    expect(seen).toEqual(['2:partial', '3:c']);
    expect(log.read(0, 10).map((l) => l.message)).toEqual(['a', 'b', 'partial', 'c']);
  });

  it('cuts a line longer than 256 KiB into several events', () => {
    const log = fresh();
    const seen: LogLine[] = [];
    const t = new LogTailer(
      log,
      (l) => seen.push(l),
      () => 0,
    );
    fs.appendFileSync(log.rawFile, 'x'.repeat(MAX_LINE_BYTES + 10) + '\nend\n');
    t.poll();
    t.close();
    expect(seen.map((l) => l.message.length)).toEqual([MAX_LINE_BYTES, 10, 3]);
  });

  it('puts platform lines in the same stream', () => {
    const log = fresh();
    log.ensure();
    log.appendPlatformLine('Apiary: staging\nchannel train');
    const t = new LogTailer(
      log,
      () => {},
      () => 5,
    );
    t.close();
    expect(log.read(0, 5).map((l) => l.message)).toEqual(['Apiary: staging channel train']);
  });
});
