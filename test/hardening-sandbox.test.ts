import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import {
  SageMakerClient,
  CreateModelCommand,
  CreateEndpointConfigCommand,
  CreateEndpointCommand,
  DescribeEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient, InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { sdkConfig, startTestServer, type TestServer } from './helpers/server.js';
import { bubblewrapAvailable } from '../src/shared/index.js';

// Item 1 of the hardening audit: bring-your-own serving code runs in a sandbox at least as strict
// as training's. The data dir lives outside /tmp here, so only the data-dir mask can hide it.
const HOSTILE = path.resolve('test/fixtures/hostile-serving.mjs');
let server: TestServer;
let sm: SageMakerClient;
let rt: SageMakerRuntimeClient;
const dataDir = fs.mkdtempSync('/var/tmp/apiary-harden-');

beforeAll(async () => {
  process.env.APIARY_HARDEN_SECRET = 'server-only-secret';
  server = await startTestServer(
    {
      dataDir,
      servingStartupTimeoutSeconds: 30,
      endpointCreateWaitMs: 30_000,
      servingInvocationTimeoutSeconds: 2,
      servingQueuePerInstance: 1,
    },
    {
      APIARY_SERVING_IMAGES: JSON.stringify({
        'acme/hostile:1': { command: [process.execPath, HOSTILE] },
      }),
    },
  );
  sm = new SageMakerClient(sdkConfig(server));
  rt = new SageMakerRuntimeClient({ ...sdkConfig(server), maxAttempts: 1 });
});

afterAll(async () => {
  delete process.env.APIARY_HARDEN_SECRET;
  sm?.destroy();
  rt?.destroy();
  await server?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('the serving sandbox', () => {
  it.runIf(bubblewrapAvailable())(
    'hides the credentials, the database, the server process and its loopback endpoints from serving code',
    async () => {
      expect(fs.existsSync(path.join(dataDir, 'credentials.json'))).toBe(true);
      expect(
        fs.existsSync(path.join(dataDir, 'apiary.db')) ||
          process.env.APIARY_TEST_DATABASE === 'postgres',
      ).toBe(true);
      await sm.send(
        new CreateModelCommand({
          ModelName: 'hostile',
          PrimaryContainer: {
            Image: 'acme/hostile:1',
            Environment: {
              TARGET_DATA_DIR: dataDir,
              TARGET_SERVER_PID: String(process.pid),
              TARGET_URL: server.url,
              TARGET_REPO: process.cwd(),
            },
          },
        }),
      );
      await sm.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: 'hostile',
          ProductionVariants: [
            {
              VariantName: 'AllTraffic',
              ModelName: 'hostile',
              InitialInstanceCount: 1,
              InstanceType: 'ml.m5.large',
            },
          ],
        }),
      );
      await sm.send(
        new CreateEndpointCommand({ EndpointName: 'hostile', EndpointConfigName: 'hostile' }),
      );
      const d = await sm.send(new DescribeEndpointCommand({ EndpointName: 'hostile' }));
      expect(d.FailureReason).toBeUndefined();
      expect(d.EndpointStatus).toBe('InService');
      const r = await rt.send(
        new InvokeEndpointCommand({
          EndpointName: 'hostile',
          ContentType: 'text/plain',
          Body: Buffer.from('x'),
        }),
      );
      const seen = JSON.parse(Buffer.from(r.Body!).toString());
      // The data dir is an empty tmpfs: no credentials, no database.
      expect(seen.dataDirListing).toEqual({ ok: true, value: '' });
      expect(seen.credentials).toMatchObject({ ok: false, error: 'ENOENT' });
      expect(seen.database).toMatchObject({ ok: false, error: 'ENOENT' });
      // Own PID namespace: the server's process is not there; its environment never reaches the model.
      expect(seen.serverEnviron.ok).toBe(false);
      expect(seen.serverVisible.ok).toBe(false);
      expect(seen.ownEnvSecret).toBeNull();
      // Own network namespace: the server's loopback port is unreachable.
      expect(seen.metrics).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
      expect(seen.health).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
    },
  );

  it.runIf(bubblewrapAvailable())(
    'names no host path in a ModelError, and replaces a serving process that died',
    async () => {
      const leak = await rt
        .send(
          new InvokeEndpointCommand({
            EndpointName: 'hostile',
            ContentType: 'text/plain',
            Body: Buffer.from('leak'),
          }),
        )
        .catch((e) => e);
      expect(leak).toMatchObject({ name: 'ModelError', OriginalStatusCode: 500 });
      expect(leak.OriginalMessage).toBe('cannot open <path>/x and <path>/y');
      const died = await rt
        .send(
          new InvokeEndpointCommand({
            EndpointName: 'hostile',
            ContentType: 'text/plain',
            Body: Buffer.from('die'),
          }),
        )
        .catch((e) => e);
      expect(died).toMatchObject({ name: 'ModelError', OriginalStatusCode: 0 });
      expect(died.message).not.toMatch(/\/tmp|\/var|\/work/);
      // A replacement starts in the background; until it answers, calls are 503 (retryable) or served.
      let answered: Buffer | undefined;
      for (let i = 0; i < 600 && !answered; i++) {
        const r = await rt
          .send(
            new InvokeEndpointCommand({
              EndpointName: 'hostile',
              ContentType: 'text/plain',
              Body: Buffer.from('x'),
            }),
          )
          .catch((e: Error) => e);
        // Errors while it starts must not leak host paths either.
        const message = r instanceof Error ? r.message : '';
        expect(message).not.toMatch(/\/tmp|\/var|\/work/);
        if (r instanceof Error) await new Promise((res) => setTimeout(res, 50));
        else answered = Buffer.from(r.Body!);
      }
      expect(JSON.parse(answered!.toString()).credentials).toMatchObject({ ok: false });
    },
  );

  it.runIf(bubblewrapAvailable())(
    'answers a hung model with ModelError at the invocation limit and frees its slot',
    async () => {
      const hung = await rt
        .send(
          new InvokeEndpointCommand({
            EndpointName: 'hostile',
            ContentType: 'text/plain',
            Body: Buffer.from('hang'),
          }),
        )
        .catch((e) => e);
      expect(hung).toMatchObject({ name: 'ModelError', OriginalStatusCode: 0 });
      expect(hung.message).toContain('timed out');
      // One slot per instance here: had the hung call kept it, this one would be refused at capacity.
      const next = await rt.send(
        new InvokeEndpointCommand({
          EndpointName: 'hostile',
          ContentType: 'text/plain',
          Body: Buffer.from('x'),
        }),
      );
      expect(JSON.parse(Buffer.from(next.Body!).toString()).credentials).toMatchObject({
        ok: false,
      });
    },
  );
});
