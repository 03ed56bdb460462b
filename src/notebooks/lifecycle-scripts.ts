import fs from 'node:fs';
import path from 'node:path';
import { AppError, ErrorCodes } from '../shared/errors.js';
import type { LifecycleConfigRecord } from './model.js';
import {
  logTail,
  signalGroup,
  spawnInSandbox,
  type InstanceDirs,
  type SandboxOptions,
} from './sandbox.js';

/** @throws ValidationException unless every script is non-empty base64 (SageMaker's rule). */
export function validateScripts(contents: readonly string[]): void {
  for (const c of contents) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(c) || Buffer.from(c, 'base64').length === 0) {
      throw new AppError(
        ErrorCodes.Validation,
        'Lifecycle configuration Content must be base64-encoded script text',
      );
    }
  }
}

/** Where and how an instance's lifecycle scripts run. */
export interface ScriptRun {
  readonly instanceArn: string;
  readonly dirs: InstanceDirs;
  readonly sandbox: SandboxOptions;
  readonly env: Record<string, string>;
  /** The instance's run folder as the sandbox sees it. */
  readonly seenRun: string;
  readonly timeoutMs: number;
  /** Process groups of scripts running now (the owner kills them on close). */
  readonly running: Set<number>;
  readonly closed: () => boolean;
}

/** How a hook's scripts ended: all succeeded, one failed (the instance's FailureReason), or Apiary closed. */
export type ScriptsOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'failed'; readonly reason: string }
  | { readonly kind: 'closed' };

/**
 * Runs a lifecycle configuration's OnCreate or OnStart scripts in order, each in the sandbox with
 * SageMaker's time limit.
 */
export async function runLifecycleScripts(
  run: ScriptRun,
  config: LifecycleConfigRecord,
  hook: 'OnCreate' | 'OnStart',
): Promise<ScriptsOutcome> {
  const scripts = hook === 'OnCreate' ? config.onCreate : config.onStart;
  for (const [i, content] of scripts.entries()) {
    const file = `lifecycle-${hook.toLowerCase()}-${i}.sh`;
    fs.writeFileSync(path.join(run.dirs.run, file), Buffer.from(content, 'base64'));
    fs.appendFileSync(run.dirs.log, `== lifecycle ${hook} script of ${config.name}\n`);
    const child = spawnInSandbox(
      run.dirs,
      run.sandbox,
      ['/bin/bash', `${run.seenRun}/${file}`],
      run.env,
    );
    const pid = child.pid;
    if (pid !== undefined) run.running.add(pid);
    const result = await new Promise<{ code: number | null; timedOut: boolean }>((resolve) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        if (pid !== undefined) signalGroup(pid, 'SIGKILL');
      }, run.timeoutMs);
      child.once('error', () => resolve({ code: 127, timedOut }));
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (pid !== undefined) run.running.delete(pid);
        resolve({ code, timedOut });
      });
    });
    if (run.closed()) return { kind: 'closed' };
    const where = `Notebook Instance Lifecycle Config '${config.arn}' for Notebook Instance '${run.instanceArn}'`;
    if (result.timedOut)
      return {
        kind: 'failed',
        reason: `${where} took longer than ${Math.round(run.timeoutMs / 1000)} seconds (${hook}). See the instance's log for details.`,
      };
    if (result.code !== 0)
      return {
        kind: 'failed',
        reason: `${where} failed with exit code ${result.code ?? 'unknown'} (${hook}): ${logTail(run.dirs, 300)}`,
      };
  }
  return { kind: 'ok' };
}
