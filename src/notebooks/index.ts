export {
  Notebooks,
  notebookBasePath,
  notebookLease,
  TUTORIAL_NOTEBOOKS_DIR,
  PRESIGNED_URL_TTL_MS,
  type NotebooksDeps,
} from './notebooks.js';
export { notebookMigrations } from './migrations.js';
export { NotebookStatus, NOTEBOOK_TRANSITIONS } from './model.js';
export type {
  NotebookInstanceRecord,
  LifecycleConfigRecord,
  CreateNotebookInput,
  UpdateNotebookInput,
} from './model.js';
export type { SandboxOptions } from './sandbox.js';

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Settings } from '../config/index.js';
import { APIARY_ROOT } from '../shared/sandbox-paths.js';
import { Notebooks, type NotebooksDeps } from './notebooks.js';

/**
 * Builds the notebooks context for the settings: bubblewrap unless `APIARY_SANDBOX=none`
 * (`auto` falls back to plain processes, with a warning, where bwrap cannot run), Apiary's data
 * dir hidden from instances, the `.venv-notebook` virtualenv unless APIARY_NOTEBOOK_VENV names another.
 */
export function createNotebooks(
  deps: Omit<NotebooksDeps, 'dir' | 'sandbox' | 'lifecycleTimeoutMs' | 'startTimeoutMs'>,
  settings: Settings,
): Notebooks {
  const works =
    settings.sandbox !== 'none' &&
    spawnSync(
      'bwrap',
      [
        '--ro-bind',
        '/',
        '/',
        '--dev',
        '/dev',
        '--proc',
        '/proc',
        '--unshare-pid',
        '--',
        '/bin/true',
      ],
      { stdio: 'ignore', timeout: 10_000 },
    ).status === 0;
  if (settings.sandbox === 'auto' && !works)
    deps.logger.warn(
      {},
      'bubblewrap (bwrap) is not available: notebook instances run as plain processes without a sandbox',
    );
  const mode = settings.sandbox === 'bwrap' || works ? 'bwrap' : 'none';
  return new Notebooks({
    ...deps,
    dir: path.join(settings.dataDir, 'notebooks'),
    sandbox: {
      mode,
      hiddenPaths: [settings.dataDir],
      venv: settings.notebookVenv || path.join(APIARY_ROOT, '.venv-notebook'),
    },
    lifecycleTimeoutMs: settings.notebookLifecycleTimeoutSeconds * 1000,
    startTimeoutMs: settings.notebookStartTimeoutSeconds * 1000,
  });
}
