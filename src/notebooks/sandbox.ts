import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  APIARY_ROOT,
  bwrapArgs as sharedBwrapArgs,
  SANDBOX_MASKED_DIRS,
} from '../shared/sandbox-paths.js';
import { isLive, readProcStat } from '../shared/index.js';

/** Where an instance's folders appear inside its sandbox (SageMaker's paths). */
export const SANDBOX_HOME = '/home/ec2-user';
export const SANDBOX_VOLUME = '/home/ec2-user/SageMaker';
export const SANDBOX_METADATA = '/opt/ml/metadata';
/** The folder JupyterLab's unix socket lives in (bound from the instance's `run/`). */
export const SANDBOX_RUN = '/opt/apiary';

/** An instance's folders on the host, under `<data-dir>/notebooks/<dirId>/`. */
export interface InstanceDirs {
  readonly root: string;
  /** The persistent volume: /home/ec2-user/SageMaker. */
  readonly volume: string;
  /** resource-metadata.json: /opt/ml/metadata. */
  readonly metadata: string;
  /** JupyterLab's socket and the lifecycle scripts. */
  readonly run: string;
  /** The instance's log (lifecycle scripts, JupyterLab). */
  readonly log: string;
  readonly socket: string;
}

export function instanceDirs(notebooksDir: string, dirId: string): InstanceDirs {
  const root = path.join(notebooksDir, dirId);
  const run = path.join(root, 'run');
  return {
    root,
    volume: path.join(root, 'volume'),
    metadata: path.join(root, 'metadata'),
    run,
    log: path.join(root, 'instance.log'),
    socket: path.join(run, 'jupyter.sock'),
  };
}

/** How instances are isolated: bubblewrap, or (APIARY_SANDBOX=none) plain processes. */
export interface SandboxOptions {
  readonly mode: 'bwrap' | 'none';
  /** Host folders masked with an empty tmpfs (Apiary's data dir). */
  readonly hiddenPaths: readonly string[];
  /** The virtualenv with JupyterLab and the kernel's packages (`.venv-notebook`). */
  readonly venv: string;
}

/**
 * The bwrap arguments of an instance: read-only root, Apiary's data dir hidden, an empty home
 * with the persistent volume at /home/ec2-user/SageMaker, the metadata file at /opt/ml/metadata,
 * own PID/IPC namespaces, no capabilities. The network namespace is the host's: the kernel
 * reaches Apiary on loopback (see the README's "Network").
 */
export function bwrapArgs(dirs: InstanceDirs, options: SandboxOptions): string[] {
  const rebind = [APIARY_ROOT, options.venv].filter((p) =>
    [...SANDBOX_MASKED_DIRS, '/home'].some((m) => p === m || p.startsWith(m + path.sep)),
  );
  return sharedBwrapArgs({
    extraMasks: ['/home'],
    rebind,
    hidden: options.hiddenPaths,
    binds: [
      { host: dirs.volume, at: SANDBOX_VOLUME },
      { host: dirs.metadata, at: SANDBOX_METADATA, readOnly: true },
      { host: dirs.run, at: SANDBOX_RUN },
    ],
    // The kernel reaches Apiary on loopback (see the README's "Network").
    network: 'host',
    chdir: SANDBOX_VOLUME,
  });
}

/** Paths as the sandboxed process sees them (the host's when there is no sandbox). */
export function seenPaths(dirs: InstanceDirs, mode: 'bwrap' | 'none') {
  return mode === 'bwrap'
    ? {
        home: SANDBOX_HOME,
        volume: SANDBOX_VOLUME,
        run: SANDBOX_RUN,
        socket: `${SANDBOX_RUN}/jupyter.sock`,
      }
    : {
        home: path.join(dirs.root, 'home'),
        volume: dirs.volume,
        run: dirs.run,
        socket: dirs.socket,
      };
}

/**
 * Spawns `command` in the instance's sandbox, detached in its own process group, stdout and
 * stderr appended to the instance's log. The caller owns the returned child.
 */
export function spawnInSandbox(
  dirs: InstanceDirs,
  options: SandboxOptions,
  command: readonly string[],
  env: Readonly<Record<string, string>>,
): ChildProcess {
  const out = fs.openSync(dirs.log, 'a');
  try {
    if (options.mode === 'bwrap') {
      return spawn('bwrap', [...bwrapArgs(dirs, options), '--', ...command], {
        env: { ...env },
        detached: true,
        stdio: ['ignore', out, out],
      });
    }
    fs.mkdirSync(env.HOME ?? dirs.root, { recursive: true });
    return spawn(command[0]!, command.slice(1), {
      cwd: dirs.volume,
      env: { ...env },
      detached: true,
      stdio: ['ignore', out, out],
    });
  } finally {
    fs.closeSync(out);
  }
}

/** The start time of a live process, or undefined. */
export function liveStartTime(pid: number): string | undefined {
  const stat = readProcStat(pid);
  return isLive(stat) ? stat.startTime : undefined;
}

/** Signals a whole process group (the sandbox and everything in it). */
export function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  }
}

/** The last `maxChars` of the instance's log (for FailureReason). */
export function logTail(dirs: InstanceDirs, maxChars = 600): string {
  try {
    const text = fs.readFileSync(dirs.log, 'utf8');
    return text.slice(-maxChars).trim();
  } catch {
    return '';
  }
}

/** Bytes the files under `dir` take (the volume's usage, reported against VolumeSizeInGB). */
export function dirBytes(dir: string): number {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) {
        try {
          total += fs.statSync(p).size;
        } catch {
          /* removed meanwhile */
        }
      }
    }
  }
  return total;
}
