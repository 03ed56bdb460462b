import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { create } from 'tar';
import { afterEach, describe, expect, it } from 'vitest';
import { checkEntryPath, extractModelArchive } from './artifact.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-artifact-test-'));
afterEach(() => {
  for (const f of fs.readdirSync(tmp))
    fs.rmSync(path.join(tmp, f), { recursive: true, force: true });
});

async function tarOf(files: Record<string, string | Buffer>): Promise<Buffer> {
  const src = fs.mkdtempSync(path.join(tmp, 'src-'));
  for (const [name, data] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(src, name)), { recursive: true });
    fs.writeFileSync(path.join(src, name), data);
  }
  const chunks: Buffer[] = [];
  for await (const c of create(
    { gzip: true, cwd: src },
    Object.keys(files),
  ) as unknown as AsyncIterable<Buffer>)
    chunks.push(c);
  return Buffer.concat(chunks);
}

describe('model.tar.gz extraction', () => {
  it('extracts regular files and directories into a fresh directory', async () => {
    const dest = path.join(tmp, 'out');
    await extractModelArchive(
      Readable.from(await tarOf({ 'model.json': '{}', 'code/inference.py': 'x = 1\n' })),
      dest,
    );
    expect(fs.readFileSync(path.join(dest, 'code/inference.py'), 'utf8')).toBe('x = 1\n');
    await expect(extractModelArchive(Readable.from(await tarOf({ a: 'b' })), dest)).rejects.toThrow(
      'EEXIST',
    );
  });

  it('caps the entry count and the extracted size (a gzip bomb stops at the cap) and cleans up', async () => {
    const many = await tarOf({ a: '1', b: '2', c: '3', d: '4' });
    await expect(
      extractModelArchive(Readable.from(many), path.join(tmp, 'n'), {
        maxEntries: 3,
        maxBytes: 1e6,
      }),
    ).rejects.toThrow('model.tar.gz has more than 3 entries');
    expect(fs.existsSync(path.join(tmp, 'n'))).toBe(false);
    const bomb = await tarOf({ 'zeros.bin': Buffer.alloc(4 * 1024 * 1024) });
    expect(bomb.length).toBeLessThan(64 * 1024);
    await expect(
      extractModelArchive(Readable.from(bomb), path.join(tmp, 's'), {
        maxEntries: 10,
        maxBytes: 1024 * 1024,
      }),
    ).rejects.toThrow('model.tar.gz extracts to more than 1048576 bytes');
    expect(fs.existsSync(path.join(tmp, 's'))).toBe(false);
  });

  it('refuses garbage that is not a tar archive', async () => {
    await expect(
      extractModelArchive(Readable.from(zlib.gzipSync(Buffer.from('hello'))), path.join(tmp, 'g')),
    ).rejects.toThrow(/model.tar.gz/);
    await expect(
      extractModelArchive(Readable.from(Buffer.alloc(0)), path.join(tmp, 'e')),
    ).rejects.toThrow(
      /^model.tar.gz is (empty or not a tar archive|not a valid gzip-compressed tar archive)/,
    );
  });

  it('checks entry names: relative only, no .., no backslashes', () => {
    expect(checkEntryPath('./code/inference.py')).toEqual({ ok: true, rel: 'code/inference.py' });
    expect(checkEntryPath('../x')).toEqual({ ok: false, reason: "contains a '..' component" });
    expect(checkEntryPath('a/../../x')).toEqual({ ok: false, reason: "contains a '..' component" });
    expect(checkEntryPath('/etc/passwd')).toEqual({ ok: false, reason: 'is an absolute path' });
    expect(checkEntryPath('..\\..\\x')).toEqual({ ok: false, reason: 'contains a backslash' });
    expect(checkEntryPath('C:x')).toEqual({ ok: false, reason: 'is an absolute path' });
  });
});
