import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Item 7 of the hardening audit: the generated root secret never lands in a service's log.
describe('apiary serve on first start', () => {
  it('does not print the generated secret when stdout is not a terminal (a service log), and says where it is', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-cli-secret-'));
    const child = spawn(process.execPath, ['bin/apiary', 'serve'], {
      env: { ...process.env, APIARY_DATA_DIR: dataDir, APIARY_PORT: '0', APIARY_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', () => /Generated root credentials/.test(out) && resolve());
        child.on('exit', (code) => reject(new Error(`apiary serve exited (${code}): ${out}`)));
      });
      const creds = JSON.parse(fs.readFileSync(path.join(dataDir, 'credentials.json'), 'utf8')) as {
        secretAccessKey: string;
      };
      expect(creds.secretAccessKey.length).toBeGreaterThan(20);
      expect(out).toContain(`Generated root credentials in ${dataDir}/credentials.json`);
      expect(out).toContain("read them with 'apiary credentials'");
      expect(out).not.toContain(creds.secretAccessKey);
    } finally {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await gone;
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
