import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { APIARY_ROOT, sandboxRebindArgs } from './sandbox-paths.js';

describe('sandboxRebindArgs', () => {
  it('binds back a virtualenv and a script that live under /tmp, once each', () => {
    const dir = fs.mkdtempSync(path.join('/tmp', 'apiary-rebind-'));
    fs.mkdirSync(path.join(dir, 'venv', 'bin'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'venv', 'bin', 'python'), '');
    fs.writeFileSync(path.join(dir, 'serve.py'), '');
    const args = sandboxRebindArgs([path.join(dir, 'venv', 'bin', 'python'), path.join(dir, 'serve.py'), '--port', '8080']);
    expect(args).toContain(path.join(dir, 'venv'));
    expect(args).toContain(dir);
    expect(args.filter((a) => a === '--ro-bind').length).toBe(args.length / 3);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('binds nothing for paths outside the masked folders (except a checkout under them)', () => {
    const args = sandboxRebindArgs(['/usr/bin/python3', os.homedir()]);
    const underMask = APIARY_ROOT.startsWith('/tmp/') || APIARY_ROOT.startsWith('/opt/');
    expect(args).toEqual(underMask ? ['--ro-bind', APIARY_ROOT, APIARY_ROOT] : []);
  });
});
