import path from 'node:path';

/**
 * Every environment variable Apiary reads, in one place. Defaults live in {@link DEFAULTS};
 * a bad value fails at start-up naming the variable.
 */
export const DEFAULTS = {
  port: 8800,
  host: '127.0.0.1',
  dataDir: './.apiary',
  region: 'us-east-1',
  accountId: '000000000000',
  maxRunningTrainingJobs: 1,
  maxQueuedTrainingJobs: 100,
  trainingLogCapBytes: 64 * 1024 * 1024,
  trainingModelCapBytes: 4 * 1024 * 1024 * 1024,
  trainingStopGraceSeconds: 120,
  sandbox: 'auto',
  pythonPath: '',
  ortThreads: 0,
  logLevel: 'info',
  databaseUrl: '',
  sessionTtlSeconds: 12 * 3600,
  loginMaxFailures: 5,
  labelingImageUrlTtlSeconds: 300,
} as const;

export type SandboxMode = 'auto' | 'bwrap' | 'none';

export interface Settings {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly region: string;
  readonly accountId: string;
  /** Root credentials; when unset they are generated on first start and kept in the data dir. */
  readonly rootAccessKeyId: string | undefined;
  readonly rootSecretAccessKey: string | undefined;
  readonly maxRunningTrainingJobs: number;
  readonly maxQueuedTrainingJobs: number;
  readonly trainingLogCapBytes: number;
  readonly trainingModelCapBytes: number;
  readonly trainingStopGraceSeconds: number;
  readonly sandbox: SandboxMode;
  /** Python interpreter with the pinned torch; default `<repo>/.venv/bin/python`. */
  readonly pythonPath: string;
  /** ONNX Runtime intra-op threads per endpoint instance; 0 = let ORT decide. */
  readonly ortThreads: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `postgres://…` to use PostgreSQL instead of the embedded SQLite file. */
  readonly databaseUrl: string;
  /** Lifetime of a console / worker-portal sign-in session. */
  readonly sessionTtlSeconds: number;
  /** Failed sign-ins allowed per username+IP in 15 minutes before 429. */
  readonly loginMaxFailures: number;
  /** Lifetime of the signed image URLs the worker portal hands out. */
  readonly labelingImageUrlTtlSeconds: number;
}

export class SettingsError extends Error {
  override readonly name = 'SettingsError';
}

type Env = Readonly<Record<string, string | undefined>>;

function intVar(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) {
    throw new SettingsError(`${name}='${raw}': expected an integer between ${min} and ${max}`);
  }
  const value = Number(raw.trim());
  if (value < min || value > max) {
    throw new SettingsError(`${name}='${raw}': expected an integer between ${min} and ${max}`);
  }
  return value;
}

function enumVar<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new SettingsError(`${name}='${raw}': expected one of ${allowed.join(', ')}`);
  }
  return raw as T;
}

/** Reads and validates settings from the environment (and optional overrides, used by tests). */
export function loadSettings(env: Env = process.env, overrides: Partial<Settings> = {}): Settings {
  const region = env.APIARY_REGION || DEFAULTS.region;
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    throw new SettingsError(`APIARY_REGION='${region}': expected a region name such as us-east-1`);
  }
  const accountId = env.APIARY_ACCOUNT_ID || DEFAULTS.accountId;
  if (!/^\d{12}$/.test(accountId)) {
    throw new SettingsError(`APIARY_ACCOUNT_ID='${accountId}': expected 12 digits`);
  }
  const keyId = env.APIARY_ROOT_ACCESS_KEY_ID || undefined;
  const secret = env.APIARY_ROOT_SECRET_ACCESS_KEY || undefined;
  if ((keyId === undefined) !== (secret === undefined)) {
    throw new SettingsError(
      'APIARY_ROOT_ACCESS_KEY_ID and APIARY_ROOT_SECRET_ACCESS_KEY must be set together',
    );
  }
  if (keyId !== undefined && !/^[A-Za-z0-9]{16,128}$/.test(keyId)) {
    throw new SettingsError(`APIARY_ROOT_ACCESS_KEY_ID: expected 16-128 letters or digits`);
  }
  const settings: Settings = {
    port: intVar(env, 'APIARY_PORT', DEFAULTS.port, 0, 65535),
    host: env.APIARY_HOST || DEFAULTS.host,
    dataDir: path.resolve(env.APIARY_DATA_DIR || DEFAULTS.dataDir),
    region,
    accountId,
    rootAccessKeyId: keyId,
    rootSecretAccessKey: secret,
    maxRunningTrainingJobs: intVar(
      env,
      'APIARY_MAX_RUNNING_TRAINING_JOBS',
      DEFAULTS.maxRunningTrainingJobs,
      1,
      1024,
    ),
    maxQueuedTrainingJobs: intVar(
      env,
      'APIARY_MAX_QUEUED_TRAINING_JOBS',
      DEFAULTS.maxQueuedTrainingJobs,
      0,
      100_000,
    ),
    trainingLogCapBytes: intVar(
      env,
      'APIARY_TRAINING_LOG_CAP_BYTES',
      DEFAULTS.trainingLogCapBytes,
      1024,
      Number.MAX_SAFE_INTEGER,
    ),
    trainingModelCapBytes: intVar(
      env,
      'APIARY_TRAINING_MODEL_CAP_BYTES',
      DEFAULTS.trainingModelCapBytes,
      1024,
      Number.MAX_SAFE_INTEGER,
    ),
    trainingStopGraceSeconds: intVar(
      env,
      'APIARY_TRAINING_STOP_GRACE_SECONDS',
      DEFAULTS.trainingStopGraceSeconds,
      0,
      3600,
    ),
    sandbox: enumVar<SandboxMode>(env, 'APIARY_SANDBOX', DEFAULTS.sandbox, ['auto', 'bwrap', 'none']),
    pythonPath: env.APIARY_PYTHON || DEFAULTS.pythonPath,
    ortThreads: intVar(env, 'APIARY_ORT_THREADS', DEFAULTS.ortThreads, 0, 256),
    logLevel: enumVar(env, 'APIARY_LOG_LEVEL', DEFAULTS.logLevel, [
      'fatal',
      'error',
      'warn',
      'info',
      'debug',
      'trace',
      'silent',
    ]),
    databaseUrl: env.APIARY_DATABASE_URL || DEFAULTS.databaseUrl,
    sessionTtlSeconds: intVar(env, 'APIARY_SESSION_TTL_SECONDS', DEFAULTS.sessionTtlSeconds, 60, 30 * 86400),
    loginMaxFailures: intVar(env, 'APIARY_LOGIN_MAX_FAILURES', DEFAULTS.loginMaxFailures, 1, 1000),
    labelingImageUrlTtlSeconds: intVar(
      env,
      'APIARY_LABELING_IMAGE_URL_TTL_SECONDS',
      DEFAULTS.labelingImageUrlTtlSeconds,
      10,
      86400,
    ),
    ...overrides,
  };
  return Object.freeze(settings);
}
