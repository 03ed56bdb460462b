import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { startModelServer } from '../src/hosting/index.js';
import { hostingFixtures } from './fixtures/hosting.js';

/** The algorithm image's `serve` entry (apiary serve-model) on a real built-in detector model. */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-model-server-'));
let server: Awaited<ReturnType<typeof startModelServer>>;

beforeAll(async () => {
  const fixtures = await hostingFixtures();
  execFileSync('tar', ['-xzf', path.join(fixtures, 'detector.tar.gz'), '-C', dir]);
  server = await startModelServer({ modelDir: dir, port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("serve-model: SageMaker's serving container contract", () => {
  it('answers GET /ping, POST /invocations with detections, and a bad image with 4xx', async () => {
    expect((await fetch(`${server.url}/ping`)).status).toBe(200);
    const png = await sharp({
      create: { width: 64, height: 48, channels: 3, background: '#203040' },
    })
      .png()
      .toBuffer();
    const ok = await fetch(`${server.url}/invocations`, {
      method: 'POST',
      body: png,
      headers: { 'content-type': 'image/png' },
    });
    expect(ok.status).toBe(200);
    expect(Array.isArray(((await ok.json()) as { prediction: unknown }).prediction)).toBe(true);
    const bad = await fetch(`${server.url}/invocations`, {
      method: 'POST',
      body: 'not an image',
      headers: { 'content-type': 'image/png' },
    });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(bad.status).toBeLessThan(500);
    expect(((await bad.json()) as { message: string }).message).toBeTruthy();
  });
});
