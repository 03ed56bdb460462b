import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApiary, type Apiary, type ApiaryOptions } from '../../src/api/server.js';
import { loadSettings, type Settings } from '../../src/config/index.js';

export interface TestServer {
  readonly apiary: Apiary;
  readonly url: string;
  readonly dataDir: string;
  readonly region: string;
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** Environment for child processes (aws CLI, boto3) pointed at this server. */
  readonly env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** Starts the real server on a random loopback port with a temp data dir. */
export async function startTestServer(
  overrides: Partial<Settings> = {},
  env: Record<string, string> = {},
  options: ApiaryOptions & { tmpPrefix?: string } = {},
): Promise<TestServer> {
  const dataDir = overrides.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), options.tmpPrefix ?? 'apiary-test-'));
  const settings = loadSettings(
    { APIARY_LOG_LEVEL: 'silent', ...env },
    { port: 0, host: '127.0.0.1', dataDir, ...overrides },
  );
  const apiary = await createApiary(settings, options);
  const url = await apiary.listen();
  const credentials = {
    accessKeyId: apiary.credentials.accessKeyId,
    secretAccessKey: apiary.credentials.secretAccessKey,
  };
  return {
    apiary,
    url,
    dataDir,
    region: settings.region,
    credentials,
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_DEFAULT_REGION: settings.region,
      AWS_REGION: settings.region,
      AWS_ENDPOINT_URL: url,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      APIARY_ENDPOINT_URL: url,
    },
    async close() {
      await apiary.close();
      if (!overrides.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Client config for the AWS SDK for JavaScript v3. */
export function sdkConfig(server: TestServer) {
  return {
    endpoint: server.url,
    region: server.region,
    credentials: server.credentials,
    forcePathStyle: true,
  };
}
