import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Runs `apiary <args>` whose stdout reader has already gone (`apiary … | head -0`). */
async function runWithClosedStdout(args: string[], dataDir: string) {
  const child = spawn(process.execPath, ['bin/apiary', ...args], {
    env: {
      ...process.env,
      APIARY_DATA_DIR: dataDir,
      APIARY_LOG_LEVEL: 'silent',
      APIARY_FROM_SOURCE: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Closing our end before the CLI has started makes its first write fail with EPIPE.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, stderr };
}

describe('the apiary CLI piped into a reader that stops early', () => {
  it('ends quietly with status 0 instead of an EPIPE stack trace (apiary users list | head)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-cli-pipe-'));
    try {
      const { code, stderr } = await runWithClosedStdout(['users', 'list'], dataDir);
      expect(stderr).not.toContain('EPIPE');
      expect(stderr).toBe('');
      expect(code).toBe(0);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
