import fs from 'node:fs';
import path from 'node:path';
import { APIARY_ROOT, DEFAULT_PYTHON } from '../shared/index.js';

/** The repository root. */
export const repoRoot = (): string => APIARY_ROOT;

/** The interpreter with the pinned torch: APIARY_PYTHON, else `<repo>/.venv/bin/python`. */
export function trainerPython(configured = process.env.APIARY_PYTHON ?? ''): string {
  if (configured) return configured;
  const venv = DEFAULT_PYTHON;
  if (fs.existsSync(venv)) return venv;
  throw new Error(
    `the Python training runtime is missing (${venv}); run 'bash scripts/install.sh' or set APIARY_PYTHON`,
  );
}

/** Environment that makes the built-in algorithm importable. */
export function trainerEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const algo = path.join(repoRoot(), 'algorithms', 'object-detection');
  return {
    ...process.env,
    PYTHONPATH: [algo, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
    PYTHONUNBUFFERED: '1',
    ...extra,
  };
}
