import fs from 'node:fs';

/**
 * A process's resident memory from `/proc/<pid>/smaps`, split into private (anonymous) pages and
 * file pages keyed by mapped file, each file's pages counted once: RSS counts a file page once per
 * mapping, and every ONNX Runtime session maps the ORT-format model itself.
 */
export interface SmapsRss {
  /** Anonymous (private) resident KiB. */
  readonly anonKb: number;
  /** Resident KiB per mapped file (`dev inode path`), the largest mapping of each. */
  readonly fileKb: ReadonlyMap<string, number>;
}

/** Reads `/proc/<pid>/smaps` (`self` for this process). @throws when it cannot be read. */
export function smapsRss(pid: number | 'self'): SmapsRss {
  let anonKb = 0;
  const fileKb = new Map<string, number>();
  let key: string | undefined;
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ ([0-9a-f]+) \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      key = head[2] !== '0' ? `${head[2]} ${head[1]} ${head[3]}` : undefined;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (!rss) continue;
    if (key === undefined) anonKb += Number(rss[1]);
    else fileKb.set(key, Math.max(fileKb.get(key) ?? 0, Number(rss[1])));
  }
  return { anonKb, fileKb };
}

/** Resident KiB with each file's pages counted once. */
export const physKb = (r: SmapsRss): number =>
  r.anonKb + [...r.fileKb.values()].reduce((a, b) => a + b, 0);
