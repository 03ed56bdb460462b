import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Executor, ExitInfo, LaunchSpec, ProcessRef, RunningProcess } from '../executor.js';
import {
  allProcesses,
  bubblewrapAvailable,
  isLive,
  readProcStat,
  bwrapArgs,
  sandboxRebindPaths,
} from '../../../shared/index.js';

/**
 * Local processes, in a bubblewrap sandbox when `bwrap` works (read-only root, the job folder at
 * /opt/ml, input data read-only, no network, own PID/IPC namespaces, no capabilities), else a
 * plain child process. The job runs in its own process group, so signals reach the whole tree;
 * a tiny /bin/sh wrapper (argv only, never a command string built from input) records the exit
 * status in `.apiary/exit-status` so that a restarted server learns how a job it did not spawn
 * ended. Jobs survive a server crash and are re-attached (see the training README).
 */
const WRAPPER = [
  'exitfile=$1; shift',
  'trap \'kill -TERM "$child" 2>/dev/null\' TERM',
  'trap \'kill -INT "$child" 2>/dev/null\' INT',
  '"$@" &',
  'child=$!',
  'while :; do wait "$child"; st=$?; kill -0 "$child" 2>/dev/null || break; done',
  'echo "$st" > "$exitfile"',
  'exit "$st"',
].join('\n');

export const CONTAINER_ML_ROOT = '/opt/ml';

/** The start time of a live process (with the pid, it names one process for good). */
export function processStartTime(pid: number): string | undefined {
  const stat = readProcStat(pid);
  return isLive(stat) ? stat.startTime : undefined;
}

export { bubblewrapAvailable };

function statusFromCode(code: number | null, signal: NodeJS.Signals | null): ExitInfo {
  return { code, signal };
}

class ChildRun implements RunningProcess {
  private readonly exited: Promise<ExitInfo>;
  constructor(
    readonly ref: ProcessRef,
    child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve(statusFromCode(code, signal)));
      child.once('error', () => resolve({ code: 127, signal: null }));
    });
  }
  wait(): Promise<ExitInfo> {
    return this.exited;
  }
  signal(sig: NodeJS.Signals): void {
    signalJob(this.ref.pid, sig);
  }
}

/** A process this server did not spawn (re-attached after a restart): polled until it is gone. */
class AdoptedRun implements RunningProcess {
  private readonly exited: Promise<ExitInfo>;
  constructor(
    readonly ref: ProcessRef,
    leftStatus: (ref: ProcessRef) => ExitInfo | undefined,
  ) {
    this.exited = new Promise((resolve) => {
      const timer = setInterval(() => {
        if (processStartTime(ref.pid) === ref.startTime) return;
        clearInterval(timer);
        resolve(leftStatus(ref) ?? { code: null, signal: 'SIGKILL' });
      }, 250);
    });
  }
  wait(): Promise<ExitInfo> {
    return this.exited;
  }
  signal(sig: NodeJS.Signals): void {
    if (processStartTime(this.ref.pid) === this.ref.startTime) signalJob(this.ref.pid, sig);
  }
}

/**
 * SIGTERM/SIGINT go to the wrapper shell only, which forwards them to the job's main process (as
 * `docker stop` signals a container's PID 1): the outer bwrap process would die at once and
 * report the job gone while it still saves its checkpoint. SIGKILL goes to the whole group.
 */
function signalJob(leader: number, sig: NodeJS.Signals): void {
  if (sig === 'SIGKILL') return killGroup(leader, sig);
  for (const pid of wrapperPids(leader)) {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  }
}

function wrapperPids(leader: number): number[] {
  const out: number[] = [];
  const all = allProcesses();
  if (all.length === 0) return [leader]; // no /proc to look in
  for (const p of all) {
    if (p.pgid !== leader) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${p.pid}/cmdline`, 'latin1');
      if (cmd.startsWith('/bin/sh\0-c\0') && cmd.includes('\0apiary-job\0')) out.push(p.pid);
    } catch {
      /* raced with exit */
    }
  }
  return out;
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

export interface LocalExecutorOptions {
  /** bwrap: sandbox (fail when bwrap cannot run); none: plain process. */
  readonly sandbox: 'bwrap' | 'none';
  /**
   * Host folders the sandbox masks with an empty tmpfs (Apiary's data dir: the credentials, the
   * database, every blob and other jobs' folders). The job's own folder is still bound at /opt/ml.
   */
  readonly hiddenPaths?: readonly string[];
}

export class LocalExecutor implements Executor {
  readonly isolated: boolean;
  readonly description: string;

  constructor(private readonly options: LocalExecutorOptions) {
    this.isolated = options.sandbox === 'bwrap';
    this.description = this.isolated
      ? 'bubblewrap sandbox (read-only root, job folder at /opt/ml, no network)'
      : 'plain child process (no sandbox)';
  }

  mlRootFor(mlDir: string): string {
    return this.isolated ? CONTAINER_ML_ROOT : mlDir;
  }

  private exitFileFor(mlDir: string): { host: string; seen: string } {
    return {
      host: path.join(mlDir, '.apiary', 'exit-status'),
      seen: path.join(this.mlRootFor(mlDir), '.apiary', 'exit-status'),
    };
  }

  async launch(spec: LaunchSpec): Promise<RunningProcess> {
    const exit = this.exitFileFor(spec.mlDir);
    fs.mkdirSync(path.dirname(exit.host), { recursive: true });
    fs.rmSync(exit.host, { force: true });
    const out = fs.openSync(spec.logFile, 'a');
    let file: string;
    let args: string[];
    const inner = ['-c', WRAPPER, 'apiary-job', exit.seen, ...spec.command];
    if (this.isolated) {
      const dataDir = path.join(spec.mlDir, 'input', 'data');
      fs.mkdirSync(dataDir, { recursive: true });
      file = 'bwrap';
      args = [
        ...bwrapArgs({
          // A checkout under /tmp or /opt (CI clones, /opt installs) stays visible, read-only.
          rebind: sandboxRebindPaths(spec.command),
          hidden: this.options.hiddenPaths ?? [],
          binds: [
            { host: spec.mlDir, at: CONTAINER_ML_ROOT },
            { host: dataDir, at: `${CONTAINER_ML_ROOT}/input/data`, readOnly: true },
          ],
          network: 'none',
          chdir: spec.cwd,
        }),
        '--',
        '/bin/sh',
        ...inner,
      ];
    } else {
      file = '/bin/sh';
      args = inner;
    }
    let child: ChildProcess;
    try {
      child = spawn(file, args, {
        cwd: this.isolated ? spec.mlDir : spec.cwd,
        env: { ...spec.env },
        detached: true,
        stdio: ['ignore', out, out],
      });
    } finally {
      fs.closeSync(out);
    }
    const pid = child.pid;
    if (pid === undefined) {
      const err = await new Promise<Error>((resolve) => child.once('error', resolve));
      throw new Error(`could not start the training process: ${err.message}`);
    }
    const ref: ProcessRef = {
      pid,
      startTime: processStartTime(pid) ?? '0',
      exitFile: exit.host,
      sandbox: this.isolated ? 'bwrap' : 'none',
    };
    return new ChildRun(ref, child);
  }

  reattach(ref: ProcessRef): RunningProcess | undefined {
    if (processStartTime(ref.pid) !== ref.startTime) return undefined;
    return new AdoptedRun(ref, (r) => this.leftExitStatus(r));
  }

  leftExitStatus(ref: ProcessRef): ExitInfo | undefined {
    try {
      const text = fs.readFileSync(ref.exitFile, 'utf8').trim();
      if (!/^\d+$/.test(text)) return undefined;
      return { code: Number(text), signal: null };
    } catch {
      return undefined;
    }
  }
}

/** Picks the local executor for `APIARY_SANDBOX` (auto: bwrap when it works, else none). */
export function createLocalExecutor(
  mode: 'auto' | 'bwrap' | 'none',
  hiddenPaths: readonly string[] = [],
): { executor: LocalExecutor; warning?: string } {
  if (mode === 'none') return { executor: new LocalExecutor({ sandbox: 'none' }) };
  if (mode === 'bwrap') return { executor: new LocalExecutor({ sandbox: 'bwrap', hiddenPaths }) };
  if (bubblewrapAvailable())
    return { executor: new LocalExecutor({ sandbox: 'bwrap', hiddenPaths }) };
  return {
    executor: new LocalExecutor({ sandbox: 'none' }),
    warning:
      'bubblewrap (bwrap) is not available here: training jobs run as plain child processes without a sandbox (install bubblewrap, or set APIARY_SANDBOX=none to silence this)',
  };
}

/** Describes an exit for FailureReason: "exit code 3", "signal SIGKILL". */
export function describeExit(e: ExitInfo): string {
  if (e.signal) return `it was killed by signal ${e.signal}`;
  if (e.code !== null && e.code > 128 && e.code < 128 + 65) {
    const name = Object.entries(os.constants.signals).find(([, n]) => n === e.code! - 128)?.[0];
    if (name) return `it was killed by signal ${name} (exit status ${e.code})`;
  }
  return `it exited with code ${e.code ?? 'unknown'}`;
}
