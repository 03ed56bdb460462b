import { describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
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

describe('apiary credentials', () => {
  it('prints a config and a credentials block that boto3 reads as the README says (profile apiary)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-cli-creds-'));
    try {
      const env = {
        ...process.env,
        APIARY_DATA_DIR: dataDir,
        APIARY_FROM_SOURCE: '1',
        APIARY_PORT: '8877',
        APIARY_ROOT_ACCESS_KEY_ID: 'AKAPTESTTESTTESTTEST',
        APIARY_ROOT_SECRET_ACCESS_KEY: 'secret/of+the-test-root-key-000000000000',
      };
      const out = execFileSync(process.execPath, ['bin/apiary', 'credentials'], { env }).toString();
      // The user copies each block into its file: they are separated by a blank line.
      const [config, credentials] = out.split('\n\n# ~/.aws/credentials\n');
      expect(credentials).toBeDefined();
      fs.writeFileSync(
        path.join(dataDir, 'config'),
        config!.slice(config!.indexOf('# ~/.aws/config')),
      );
      fs.writeFileSync(path.join(dataDir, 'credentials'), credentials!);
      const seen = execFileSync(
        'python3',
        [
          '-c',
          'import boto3; s = boto3.Session(profile_name="apiary"); c = s.get_credentials();' +
            ' print(s.client("sagemaker").meta.endpoint_url, s.region_name, c.access_key, c.secret_key)',
        ],
        {
          env: {
            ...process.env,
            AWS_CONFIG_FILE: path.join(dataDir, 'config'),
            AWS_SHARED_CREDENTIALS_FILE: path.join(dataDir, 'credentials'),
          },
        },
      ).toString();
      expect(seen.trim()).toBe(
        'http://127.0.0.1:8877 us-east-1 AKAPTESTTESTTESTTEST secret/of+the-test-root-key-000000000000',
      );
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
