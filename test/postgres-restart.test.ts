import {
  CreateBucketCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import {
  ListTrainingJobsCommand,
  SageMakerClient,
  SageMakerServiceException,
} from '@aws-sdk/client-sagemaker';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgresCluster, type PostgresCluster } from './helpers/postgres.js';
import { sdkConfig, startTestServer, type TestServer } from './helpers/server.js';

// PostgreSQL restarted under load: requests fail with a clear, retryable error while it is down,
// and succeed again once it is back — with no restart of Apiary and nothing acknowledged lost.
let cluster: PostgresCluster;
let server: TestServer;
let s3: S3Client;
let sm: SageMakerClient;

beforeAll(async () => {
  cluster = await startPostgresCluster(); // its own cluster: this test stops it
  const admin = new pg.Client({ connectionString: cluster.adminUrl });
  await admin.connect();
  await admin.query('CREATE DATABASE restart');
  await admin.end();
  const url = new URL(cluster.adminUrl);
  url.pathname = '/restart';
  server = await startTestServer({ databaseUrl: url.toString() });
  s3 = new S3Client({ ...sdkConfig(server), maxAttempts: 1 });
  sm = new SageMakerClient({ ...sdkConfig(server), maxAttempts: 1 });
  await s3.send(new CreateBucketCommand({ Bucket: 'pg-restart' }));
});

afterAll(async () => {
  s3?.destroy();
  sm?.destroy();
  await server?.close().catch(() => {});
  await cluster?.stop();
});

describe('PostgreSQL restarted under load', () => {
  it('answers ServiceUnavailable while the database is down and serves again when it is back', async () => {
    const acknowledged: string[] = [];
    for (let i = 0; i < 5; i++) {
      await s3.send(
        new PutObjectCommand({ Bucket: 'pg-restart', Key: `before/${i}`, Body: `v${i}` }),
      );
      acknowledged.push(`before/${i}`);
    }
    await cluster.halt();

    const s3Error = await s3
      .send(new PutObjectCommand({ Bucket: 'pg-restart', Key: 'during', Body: 'x' }))
      .catch((e: unknown) => e);
    expect(s3Error).toBeInstanceOf(S3ServiceException);
    expect((s3Error as S3ServiceException).name).toBe('ServiceUnavailable');
    expect((s3Error as S3ServiceException).$metadata.httpStatusCode).toBe(503);
    expect((s3Error as S3ServiceException).message).toContain('metadata database is unavailable');

    const smError = await sm.send(new ListTrainingJobsCommand({})).catch((e: unknown) => e);
    expect(smError).toBeInstanceOf(SageMakerServiceException);
    expect((smError as SageMakerServiceException).name).toBe('ServiceUnavailable');
    expect((smError as SageMakerServiceException).$metadata.httpStatusCode).toBe(503);

    await cluster.start();
    // The pool reconnects on the next query; the first one after the restart may still meet a dead connection.
    let ok = false;
    const failures: string[] = [];
    for (let i = 0; i < 50 && !ok; i++) {
      try {
        await s3.send(new PutObjectCommand({ Bucket: 'pg-restart', Key: 'after', Body: 'back' }));
        ok = true;
      } catch (e) {
        failures.push((e as S3ServiceException).name);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(ok).toBe(true);
    expect(failures.filter((name) => name !== 'ServiceUnavailable')).toEqual([]);
    expect((await sm.send(new ListTrainingJobsCommand({}))).TrainingJobSummaries).toEqual([]);
    const listed = await server.apiary.objects.listObjects('pg-restart', { prefix: 'before/' });
    expect(listed.objects.map((o) => o.key)).toEqual(acknowledged);
  });
});
