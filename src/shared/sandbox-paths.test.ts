import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { APIARY_ROOT, bwrapArgs, sandboxRebindArgs } from './sandbox-paths.js';

/** The binds besides the checkout's own (present when the checkout itself sits under /tmp). */
const withoutCheckout = (args: string[]): string[] => {
  const out: string[] = [];
  for (let i = 0; i < args.length; i += 3)
    if (args[i + 1] !== APIARY_ROOT) out.push(...args.slice(i, i + 3));
  return out;
};

describe('sandboxRebindArgs', () => {
  it('binds back a virtualenv and a script that live under /tmp, a folder once', () => {
    const dir = fs.mkdtempSync(path.join('/tmp', 'apiary-rebind-'));
    fs.mkdirSync(path.join(dir, 'venv', 'bin'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'venv', 'bin', 'python'), '');
    fs.writeFileSync(path.join(dir, 'serve.py'), '');
    const args = sandboxRebindArgs([
      path.join(dir, 'venv', 'bin', 'python'),
      path.join(dir, 'serve.py'),
      '--port',
      '8080',
    ]);
    // The script's folder holds the virtualenv: binding it covers both.
    expect(withoutCheckout(args)).toEqual(['--ro-bind', dir, dir]);
    const venvOnly = sandboxRebindArgs([path.join(dir, 'venv', 'bin', 'python')]);
    expect(withoutCheckout(venvOnly)).toEqual([
      '--ro-bind',
      path.join(dir, 'venv'),
      path.join(dir, 'venv'),
    ]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('binds nothing for paths outside the masked folders (except a checkout under them)', () => {
    const args = sandboxRebindArgs(['/usr/bin/python3', os.homedir()]);
    const underMask = APIARY_ROOT.startsWith('/tmp/') || APIARY_ROOT.startsWith('/opt/');
    expect(args).toEqual(underMask ? ['--ro-bind', APIARY_ROOT, APIARY_ROOT] : []);
  });
});

describe('bwrapArgs', () => {
  it('masks, hides, binds in order, and isolates the network unless told otherwise', () => {
    const args = bwrapArgs({
      extraMasks: ['/home'],
      rebind: ['/opt/apiary'],
      hidden: ['/var/lib/apiary'],
      binds: [
        { host: '/data/job', at: '/opt/ml' },
        { host: '/data/job/input/data', at: '/opt/ml/input/data', readOnly: true },
      ],
      network: 'none',
      chdir: '/opt/ml/code',
      dieWithParent: true,
    });
    expect(args).toEqual(
      [
        ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc'],
        ['--tmpfs', '/tmp', '--tmpfs', '/opt', '--tmpfs', '/home'],
        ['--ro-bind', '/opt/apiary', '/opt/apiary'],
        ['--tmpfs', '/var/lib/apiary'],
        ['--bind', '/data/job', '/opt/ml'],
        ['--ro-bind', '/data/job/input/data', '/opt/ml/input/data'],
        ['--unshare-net', '--unshare-pid', '--unshare-ipc', '--cap-drop', 'ALL'],
        ['--die-with-parent', '--chdir', '/opt/ml/code'],
      ].flat(),
    );
    const hostNet = bwrapArgs({ rebind: [], hidden: [], binds: [], network: 'host' });
    expect(hostNet).not.toContain('--unshare-net');
    expect(hostNet).toContain('--unshare-pid');
  });
});
