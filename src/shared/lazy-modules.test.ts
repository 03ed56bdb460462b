import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { awsS3Client, awsS3Storage, kubernetesClient, sharpImages } from './lazy-modules.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('lazy modules', () => {
  it('give the same module instance a static import gets (instanceof keeps working)', async () => {
    const k8s = await import('@kubernetes/client-node');
    expect(kubernetesClient().ApiException).toBe(k8s.ApiException);
    expect(kubernetesClient().KubeConfig).toBe(k8s.KubeConfig);
    expect(awsS3Client().S3Client).toBe((await import('@aws-sdk/client-s3')).S3Client);
    expect(awsS3Storage().Upload).toBe((await import('@aws-sdk/lib-storage')).Upload);
    expect(await sharpImages()).toBe((await import('sharp')).default);
  });

  it('are not loaded when the server module graph is imported', async () => {
    // A fresh process: this one has loaded them above.
    const script = `
      import { registerHooks } from 'node:module';
      const loaded = [];
      registerHooks({ load(url, ctx, next) { loaded.push(url); return next(url, ctx); } });
      await import('./src/api/server.ts');
      console.log(JSON.stringify(loaded.filter((u) => u.includes('/node_modules/'))));
      process.exit(0);`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: root },
    );
    const loaded = JSON.parse(stdout.trim().split('\n').pop() ?? '[]') as string[];
    expect(loaded.some((u) => u.includes('/node_modules/fastify/'))).toBe(true);
    const heavy = loaded.filter((u) =>
      /\/node_modules\/(@kubernetes\/client-node|@aws-sdk\/(client-s3|lib-storage|s3-request-presigner)|sharp|onnxruntime-node)\//.test(
        u,
      ),
    );
    expect(heavy).toEqual([]);
  }, 30_000);
});
