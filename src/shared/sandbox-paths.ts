import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Host folders the bubblewrap sandboxes lay an empty tmpfs over. */
export const SANDBOX_MASKED_DIRS: readonly string[] = ['/tmp', '/opt'];

/** The repository root: the built-in algorithm, `.venv` and the serving helpers live under it. */
export const APIARY_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The interpreter with the pinned torch that `scripts/install.sh` sets up (APIARY_PYTHON overrides it). */
export const DEFAULT_PYTHON = path.join(APIARY_ROOT, '.venv', 'bin', 'python');

const underMask = (p: string): boolean =>
  SANDBOX_MASKED_DIRS.some((m) => p === m || p.startsWith(m + path.sep));

/**
 * What a sandboxed process needs bound back, read-only, from under a masked folder: Apiary's own
 * checkout (installed or cloned under /tmp or /opt) and the folders of the absolute paths in its
 * command line (an interpreter in a virtualenv, a script).
 */
export function sandboxRebindPaths(command: readonly string[]): string[] {
  const wanted = new Set<string>([APIARY_ROOT]);
  for (const arg of command) {
    if (!path.isAbsolute(arg) || !fs.existsSync(arg)) continue;
    const dir = path.dirname(arg);
    // .../venv/bin/python needs the whole virtualenv (pyvenv.cfg, site-packages).
    wanted.add(path.basename(dir) === 'bin' ? path.dirname(dir) : dir);
  }
  return [...wanted]
    .sort()
    .filter(
      (p) =>
        underMask(p) &&
        ![...wanted].some((q) => q !== p && p.startsWith(q + path.sep) && underMask(q)),
    );
}

/** {@link sandboxRebindPaths} as bwrap arguments (after the masks, before the job's own binds). */
export function sandboxRebindArgs(command: readonly string[]): string[] {
  return sandboxRebindPaths(command).flatMap((p) => ['--ro-bind', p, p]);
}

/** One bubblewrap sandbox: what every sandboxed process of Apiary's runs in, with its own binds. */
export interface SandboxSpec {
  /** Folders laid over with an empty tmpfs besides {@link SANDBOX_MASKED_DIRS} (e.g. /home). */
  readonly extraMasks?: readonly string[];
  /** Host folders bound back read-only from under the masks. */
  readonly rebind: readonly string[];
  /** Folders that must not be seen at all (Apiary's data dir): an empty tmpfs over each. */
  readonly hidden: readonly string[];
  /** The process's own folders, in order. */
  readonly binds: readonly {
    readonly host: string;
    readonly at: string;
    readonly readOnly?: boolean;
  }[];
  /** `none`: its own network namespace (loopback only); `host`: the host's network. */
  readonly network: 'none' | 'host';
  readonly chdir?: string;
  /** End the sandbox when its parent (Apiary) dies. */
  readonly dieWithParent?: boolean;
}

/**
 * The bwrap arguments (before `--` and the command) of Apiary's sandboxes — training jobs,
 * notebook instances, user serving code: the host's root read-only, fresh /dev and /proc, the
 * masked folders empty, the data dir hidden, the process's own folders bound in, its own PID and
 * IPC namespaces (and network, unless it needs the host's), no capabilities.
 */
export function bwrapArgs(spec: SandboxSpec): string[] {
  return [
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    ...[...SANDBOX_MASKED_DIRS, ...(spec.extraMasks ?? [])].flatMap((m) => ['--tmpfs', m]),
    ...spec.rebind.flatMap((p) => ['--ro-bind', p, p]),
    ...spec.hidden.flatMap((p) => ['--tmpfs', p]),
    ...spec.binds.flatMap((b) => [b.readOnly ? '--ro-bind' : '--bind', b.host, b.at]),
    ...(spec.network === 'none' ? ['--unshare-net'] : []),
    '--unshare-pid',
    '--unshare-ipc',
    '--cap-drop',
    'ALL',
    ...(spec.dieWithParent ? ['--die-with-parent'] : []),
    ...(spec.chdir ? ['--chdir', spec.chdir] : []),
  ];
}

let bwrapWorks: boolean | undefined;
/** Whether `bwrap` exists and can create the namespaces the sandboxes use here (cached). */
export function bubblewrapAvailable(): boolean {
  if (bwrapWorks === undefined) {
    const r = spawnSync(
      'bwrap',
      [
        '--ro-bind',
        '/',
        '/',
        '--dev',
        '/dev',
        '--proc',
        '/proc',
        '--unshare-net',
        '--unshare-pid',
        '--',
        '/bin/true',
      ],
      { stdio: 'ignore', timeout: 10_000 },
    );
    bwrapWorks = r.status === 0;
  }
  return bwrapWorks;
}
