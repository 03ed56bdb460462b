import fs from 'node:fs';

/** Linux's clock ticks per second for /proc times (USER_HZ; 100 on every mainstream build). */
const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

/** The fields of `/proc/<pid>/stat` that Apiary reads. */
export interface ProcStat {
  readonly pid: number;
  /** R, S, D, Z (zombie), X (dead), … */
  readonly state: string;
  readonly ppid: number;
  readonly pgid: number;
  /** User + system CPU time, seconds. */
  readonly cpuSeconds: number;
  /** Start time in clock ticks since boot, as text: with the pid it names one process for good. */
  readonly startTime: string;
  /** Resident set size, bytes. */
  readonly rssBytes: number;
}

/** Parses `/proc/<pid>/stat` (undefined when the process is gone or /proc is unavailable). */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state); field n is f[n - 3].
  return {
    pid,
    state: f[0] ?? '?',
    ppid: Number(f[1]),
    pgid: Number(f[2]),
    cpuSeconds: (Number(f[11]) + Number(f[12])) / TICKS_PER_SECOND,
    startTime: f[19] ?? '',
    rssBytes: Number(f[21]) * PAGE_BYTES,
  };
}

/** Whether the process exists and has not exited (a zombie waiting for its parent counts as gone). */
export function isLive(stat: ProcStat | undefined): stat is ProcStat {
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

/** Every live process under /proc (empty where there is no /proc). */
export function allProcesses(): ProcStat[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    if (!/^\d+$/.test(e)) return [];
    const s = readProcStat(Number(e));
    return isLive(s) ? [s] : [];
  });
}

/** Memory and CPU of a process and all its descendants (a serving process, its sandbox, its workers). */
export function processTreeUsage(
  root: number,
): { processes: number; rssBytes: number; cpuSeconds: number } | undefined {
  const all = allProcesses();
  const children = new Map<number, ProcStat[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const top = all.find((p) => p.pid === root);
  if (!top) return undefined;
  const out = { processes: 0, rssBytes: 0, cpuSeconds: 0 };
  const todo = [top];
  while (todo.length > 0) {
    const p = todo.pop()!;
    out.processes += 1;
    out.rssBytes += p.rssBytes;
    out.cpuSeconds += p.cpuSeconds;
    todo.push(...(children.get(p.pid) ?? []));
  }
  return out;
}
