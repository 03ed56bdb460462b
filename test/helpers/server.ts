import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApiary, type Apiary, type ApiaryOptions } from '../../src/api/server.js';
import { loadSettings, type Settings } from '../../src/config/index.js';
import { createPostgresDatabase, testDatabaseDialect, type PostgresDatabase } from './postgres.js';

/**
 * PostgreSQL databases by data dir, so a test that restarts a server on the same data dir finds
 * its metadata again; the throwaway cluster goes at the end of the run.
 */
const postgresByDataDir = new Map<string, PostgresDatabase>();

/**
 * The SageMaker Python SDK's own config file with telemetry switched off (both majors read it;
 * neither reads an environment variable for it): without it each `fit` tries an AWS address and
 * logs the failure. Written once per test process; `env` below points the SDK at it, as notebook
 * instances do (src/notebooks/instance-boot.ts).
 */
function sdkConfigFile(): string {
  const file = path.join(os.tmpdir(), `apiary-test-sagemaker-config-${process.pid}.yaml`);
  if (!fs.existsSync(file)) {
    fs.writeFileSync(
      file,
      "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n",
    );
  }
  return file;
}

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

/**
 * Starts the real server on a random loopback port with a temp data dir. With
 * `APIARY_TEST_DATABASE=postgres` its metadata lives in a fresh database of the run's throwaway
 * PostgreSQL cluster (test/global-setup.ts) instead of the data dir's SQLite file.
 */
export async function startTestServer(
  overrides: Partial<Settings> = {},
  env: Record<string, string> = {},
  options: ApiaryOptions & { tmpPrefix?: string } = {},
): Promise<TestServer> {
  const dataDir =
    overrides.dataDir ??
    fs.mkdtempSync(path.join(os.tmpdir(), options.tmpPrefix ?? 'apiary-test-'));
  let postgres: PostgresDatabase | undefined;
  if (testDatabaseDialect() === 'postgres' && overrides.databaseUrl === undefined) {
    postgres = postgresByDataDir.get(dataDir) ?? (await createPostgresDatabase());
    postgresByDataDir.set(dataDir, postgres);
  }
  const settings = loadSettings(
    { APIARY_LOG_LEVEL: 'silent', ...env },
    {
      port: 0,
      host: '127.0.0.1',
      dataDir,
      ...(postgres ? { databaseUrl: postgres.url } : {}),
      ...overrides,
    },
  );
  const apiary = await createApiary(settings, options);
  if (postgres && apiary.database.dialect !== 'postgres') {
    await apiary.close();
    throw new Error(
      `APIARY_TEST_DATABASE=postgres, but the server opened ${apiary.database.dialect}`,
    );
  }
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
      SAGEMAKER_ADMIN_CONFIG_OVERRIDE: sdkConfigFile(),
      // A CLI started against this server's data dir opens the same database.
      ...(settings.databaseUrl ? { APIARY_DATABASE_URL: settings.databaseUrl } : {}),
    },
    async close() {
      await apiary.close();
      if (!overrides.dataDir) {
        fs.rmSync(dataDir, { recursive: true, force: true });
        if (postgres) {
          postgresByDataDir.delete(dataDir);
          await postgres.drop();
        }
      }
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
