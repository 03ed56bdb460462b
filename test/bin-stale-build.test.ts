import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * bin/apiary runs `dist/` when a build is there — unless, in a git checkout, the build is older
 * than git's index (a pull, checkout or commit since): then the sources, with a note on stderr.
 * A throwaway checkout: bin/apiary copied, a dist and a src that each say which one ran.
 */
const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-bin-'));
afterAll(() => fs.rmSync(tree, { recursive: true, force: true }));

const put = (rel: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(tree, rel)), { recursive: true });
  fs.writeFileSync(path.join(tree, rel), text);
};
put('bin/apiary', fs.readFileSync(path.resolve('bin/apiary'), 'utf8'));
put('dist/cli/main.js', "console.log('ran the build');\n");
put('src/cli/main.ts', "const who: string = 'the sources';\nconsole.log(`ran ${who}`);\n");
fs.symlinkSync(path.resolve('node_modules'), path.join(tree, 'node_modules'));
const built = path.join(tree, 'dist/cli/main.js');
const index = path.join(tree, '.git/index');

function apiary(): { stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, APIARY_NODE_PINNED: '1' };
  delete env.APIARY_FROM_SOURCE;
  const r = spawnSync(process.execPath, [path.join(tree, 'bin/apiary')], {
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return { stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

const setTime = (file: string, date: Date) => fs.utimesSync(file, date, date);

describe('bin/apiary and a dist/ build', () => {
  it('runs the build when there is no .git (an image) or the build is newer than the index', () => {
    expect(apiary()).toEqual({ stdout: 'ran the build', stderr: '' });
    put('.git/index', '');
    setTime(index, new Date('2026-01-01T00:00:00Z'));
    setTime(built, new Date('2026-01-02T00:00:00Z'));
    expect(apiary()).toEqual({ stdout: 'ran the build', stderr: '' });
  });

  it('runs the sources, and says why, when the checkout changed after the build', () => {
    setTime(built, new Date('2026-01-01T00:00:00Z'));
    setTime(index, new Date('2026-01-02T00:00:00Z'));
    const r = apiary();
    expect(r.stdout).toBe('ran the sources');
    expect(r.stderr).toContain('dist/ is older than this checkout; running the sources');
  });
});
