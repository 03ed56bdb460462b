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
 * bwrap arguments that bind back, read-only, what a sandboxed process needs from under a masked
 * folder: Apiary's own checkout (installed or cloned under /tmp or /opt) and the folders of the
 * absolute paths in its command line (an interpreter in a virtualenv, a script). Must come right
 * after the masks and before the job's own binds.
 */
export function sandboxRebindArgs(command: readonly string[]): string[] {
  const wanted = new Set<string>([APIARY_ROOT]);
  for (const arg of command) {
    if (!path.isAbsolute(arg) || !fs.existsSync(arg)) continue;
    const dir = path.dirname(arg);
    // .../venv/bin/python needs the whole virtualenv (pyvenv.cfg, site-packages).
    wanted.add(path.basename(dir) === 'bin' ? path.dirname(dir) : dir);
  }
  const out: string[] = [];
  for (const p of [...wanted].sort()) {
    if (
      underMask(p) &&
      ![...wanted].some((q) => q !== p && p.startsWith(q + path.sep) && underMask(q))
    ) {
      out.push('--ro-bind', p, p);
    }
  }
  return out;
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
