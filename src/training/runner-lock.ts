import fs from 'node:fs';
import path from 'node:path';
import { processStartTime } from './executors/local/local-executor.js';

/**
 * Takes `<data>/training/runner.pid` (pid + kernel start time): one server per data dir runs
 * jobs, never two runners for one job. A stale file (its process gone or reused) is taken over.
 * @throws Error when another live Apiary server holds it.
 */
export function takeRunnerLock(lockFile: string): void {
  fs.mkdirSync(path.dirname(lockFile), { recursive: true });
  try {
    const [pidText, start] = fs.readFileSync(lockFile, 'utf8').trim().split(' ');
    const pid = Number(pidText);
    if (pid && pid !== process.pid && start && processStartTime(pid) === start) {
      throw new Error(
        `another Apiary server (pid ${pid}) runs the training jobs of this data directory; stop it first (never two runners for one job)`,
      );
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) {
      if ((err as Error).message.startsWith('another Apiary')) throw err;
    }
  }
  fs.writeFileSync(lockFile, `${process.pid} ${processStartTime(process.pid) ?? ''}\n`);
}

/** Removes the lock file when this process holds it. */
export function releaseRunnerLock(lockFile: string): void {
  try {
    const [pid] = fs.readFileSync(lockFile, 'utf8').split(' ');
    if (Number(pid) === process.pid) fs.rmSync(lockFile, { force: true });
  } catch {
    /* no lock */
  }
}
