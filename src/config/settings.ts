import path from 'node:path';

/**
 * Every environment variable Apiary reads, in one place. Defaults live in {@link DEFAULTS};
 * a bad value fails at start-up naming the variable. (Over 500 lines on purpose: the conventions
 * ask for one typed module that declares every APIARY_* variable; it is declarations, not logic.)
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
  tuningPollMs: 2000,
  metricsFlushMs: 5_000,
  alarmEvaluationMs: 10_000,
  metricsRetentionHours: 360,
  deploymentPollMs: 1_000,
  tuningTrialSilenceSeconds: 3600,
  sandbox: 'auto',
  pythonPath: '',
  ortThreads: 0,
  servingMaxBatch: 1,
  servingMaxBatchWaitMs: 0,
  servingQueuePerInstance: 16,
  servingMaxInputPixels: 40_000_000,
  servingStartupTimeoutSeconds: 60,
  servingInvocationTimeoutSeconds: 60,
  servingImages: '',
  endpointCreateWaitMs: 5_000,
  multiModelBudgetMb: 1024,
  serverlessIdleSeconds: 300,
  servingBodyTimeoutMs: 30_000,
  logLevel: 'info',
  databaseUrl: '',
  s3BodyIdleTimeoutMs: 60_000,
  connectionIdleTimeoutMs: 120_000,
  metricsToken: '',
  trustProxy: false as boolean | string | number,
  sigv4MaxFailures: 100,
  allowedHosts: '',
  smallBodyTimeoutMs: 30_000,
  s3Fsync: 'true',
  sessionTtlSeconds: 12 * 3600,
  loginMaxFailures: 5,
  labelingImageUrlTtlSeconds: 300,
  autoLabelingMinObjects: 1250,
  autoLabelingHyperParameters: '',
  executor: 'local',
  k8sNamespace: 'default',
  k8sImage: 'apiary:latest',
  k8sAlgorithmImage: 'apiary-object-detection:latest',
  k8sPendingTimeoutSeconds: 300,
  hosting: 'local',
  k8sServiceUrl: 'http://{service}.{namespace}.svc.cluster.local:8080',
  k8sEndpointReadyTimeoutSeconds: 900,
  replicaId: '',
  advertiseUrl: '',
  leaseTtlSeconds: 15,
  notebookVenv: '',
  notebookLifecycleTimeoutSeconds: 300,
  notebookStartTimeoutSeconds: 120,
} as const;

/** How training processes are isolated: bubblewrap when available (`auto`), always (`bwrap`), or not at all. */
export type SandboxMode = 'auto' | 'bwrap' | 'none';

/**
 * Where object bytes live (APIARY_BLOB_STORE): blob files under the data dir (default), or an
 * external S3-compatible bucket; keys, metadata and multipart state stay in the database.
 */
export type BlobStoreSettings =
  | { readonly kind: 'fs' }
  | {
      readonly kind: 's3';
      readonly bucket: string;
      /** '' or ending in '/'. */
      readonly prefix: string;
      /** APIARY_BLOB_S3_ENDPOINT: an S3-compatible store, addressed path-style; AWS when unset. */
      readonly endpoint: string | undefined;
      readonly region: string;
      /** Unset: the standard AWS credential chain (env, profile, instance role). */
      readonly accessKeyId: string | undefined;
      readonly secretAccessKey: string | undefined;
    };

/** The whole server configuration, resolved once at startup (every field has a default). */
export interface Settings {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly region: string;
  readonly accountId: string;
  /** Root credentials; when unset they are generated on first start and kept in the data dir. */
  readonly rootAccessKeyId: string | undefined;
  readonly rootSecretAccessKey: string | undefined;
  /** Root's console password, separate from the secret key (APIARY_ROOT_CONSOLE_PASSWORD). */
  readonly rootConsolePassword: string | undefined;
  readonly maxRunningTrainingJobs: number;
  readonly maxQueuedTrainingJobs: number;
  readonly trainingLogCapBytes: number;
  readonly trainingModelCapBytes: number;
  readonly trainingStopGraceSeconds: number;
  /** How often active tuning jobs are re-examined besides training events (APIARY_TUNING_POLL_MS). */
  readonly tuningPollMs: number;
  /** How often each replica writes its per-minute CloudWatch datapoints (APIARY_METRICS_FLUSH_MS). */
  readonly metricsFlushMs: number;
  /** How often alarms are evaluated, on one replica (APIARY_ALARM_EVALUATION_MS). */
  readonly alarmEvaluationMs: number;
  /** How long CloudWatch datapoints are kept (APIARY_METRICS_RETENTION_HOURS; 15 days as CloudWatch's 1-minute data). */
  readonly metricsRetentionHours: number;
  /** How often a blue/green deployment reads its rollback alarms while it bakes (APIARY_DEPLOYMENT_POLL_MS). */
  readonly deploymentPollMs: number;
  /** A tuning trial with no status change or objective metric for this long is stopped and retried or failed (APIARY_TUNING_TRIAL_SILENCE_SECONDS). */
  readonly tuningTrialSilenceSeconds: number;
  readonly sandbox: SandboxMode;
  /** Python interpreter with the pinned torch; default `<repo>/.venv/bin/python`. */
  readonly pythonPath: string;
  /** ONNX Runtime intra-op threads per endpoint instance; 0 = the machine's cores divided among the variant's instances. */
  readonly ortThreads: number;
  /**
   * Most images an endpoint instance runs in one ONNX Runtime call (dynamic batching). Default 1:
   * on 2 cores batching the SSDlite detector did not raise throughput (bench/serving), only latency.
   */
  readonly servingMaxBatch: number;
  /** Milliseconds a free instance waits for a batch to fill; 0 = take what is queued now. */
  readonly servingMaxBatchWaitMs: number;
  /** Requests admitted per endpoint instance (queued + running); beyond it: 503 + Retry-After. */
  readonly servingQueuePerInstance: number;
  /** Images with more pixels are refused before decoding (decompression bombs). */
  readonly servingMaxInputPixels: number;
  /** Seconds a bring-your-own serving process gets to answer GET /ping with 200. */
  readonly servingStartupTimeoutSeconds: number;
  /** Seconds a bring-your-own serving process gets per invocation. */
  readonly servingInvocationTimeoutSeconds: number;
  /**
   * Registered bring-your-own serving images, JSON: `{"<Image>": {"command": ["prog", "arg"],
   * "env": {"K": "V"}}}`; a Model whose Image is a key is served by that command.
   */
  readonly servingImages: string;
  /** CreateEndpoint (and weight/capacity updates) wait up to this long for InService before answering. */
  readonly endpointCreateWaitMs: number;
  /** Multi-model endpoints: MiB of extracted models one variant keeps loaded (least recently used evicted). */
  readonly multiModelBudgetMb: number;
  /** Serverless endpoints: seconds without an invocation before a variant scales to zero. */
  readonly serverlessIdleSeconds: number;
  /** Milliseconds an InvokeEndpoint client gets to send its whole body (slow clients are cut off). */
  readonly servingBodyTimeoutMs: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `postgres://…` to use PostgreSQL instead of the embedded SQLite file. */
  readonly databaseUrl: string;
  /** Where training jobs run (APIARY_EXECUTOR): sandboxed local processes, or Kubernetes Jobs. */
  readonly executor: 'local' | 'kubernetes';
  /** The Kubernetes executor's settings (APIARY_K8S_*); the cluster comes from KUBECONFIG or in-cluster config. */
  readonly k8s: {
    readonly namespace: string;
    readonly serviceAccount: string | undefined;
    /** Apiary's image: the staging and upload steps of each training pod. */
    readonly image: string;
    /** The image of the built-in object-detection algorithm (train and serve). */
    readonly algorithmImage: string;
    readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
    /** The URL training pods reach Apiary at; default APIARY_ADVERTISE_URL, else the listening URL. */
    readonly callbackUrl: string;
    /** A JSON file of instance types added to the built-in table. */
    readonly instanceTypesFile: string | undefined;
    /** An unschedulable pod or an image that cannot be pulled fails the job after this long. */
    readonly pendingTimeoutSeconds: number;
    /**
     * Where Apiary sends an endpoint variant's invocations (APIARY_K8S_SERVICE_URL): a template with
     * {service}, {namespace}, {endpoint}, {variant}; the default reaches the Service from inside the cluster.
     */
    readonly serviceUrl: string;
    /** An endpoint variant whose replicas are not all ready after this long fails (APIARY_K8S_ENDPOINT_READY_TIMEOUT_SECONDS). */
    readonly endpointReadyTimeoutSeconds: number;
  };
  /** Where endpoints serve (APIARY_HOSTING): in this process, or as Kubernetes Deployments + Services. */
  readonly hosting: 'local' | 'kubernetes';
  /**
   * This replica's name among several sharing one PostgreSQL (APIARY_REPLICA_ID). Default: one
   * generated on first start and kept in the data dir, so a restart is the same replica.
   */
  readonly replicaId: string;
  /**
   * The URL other replicas reach this one at, to forward calls only it can answer
   * (APIARY_ADVERTISE_URL). Default: http://<host>:<port> as it listens.
   */
  readonly advertiseUrl: string;
  /** A replica that stops heartbeating loses its jobs and endpoints after this long (APIARY_LEASE_TTL_SECONDS). */
  readonly leaseTtlSeconds: number;
  /** The virtualenv with JupyterLab and the notebook kernel (APIARY_NOTEBOOK_VENV; default `.venv-notebook`). */
  readonly notebookVenv: string;
  /** Each notebook lifecycle script's time limit (APIARY_NOTEBOOK_LIFECYCLE_TIMEOUT_SECONDS; SageMaker's 300). */
  readonly notebookLifecycleTimeoutSeconds: number;
  /** How long JupyterLab may take to answer before the instance is Failed (APIARY_NOTEBOOK_START_TIMEOUT_SECONDS). */
  readonly notebookStartTimeoutSeconds: number;
  /** An S3 upload whose body sends nothing for this long fails with RequestTimeout (ms). */
  readonly s3BodyIdleTimeoutMs: number;
  /**
   * APIARY_S3_SSE_STRICT: refuse even the default server-side encryption requests (`AES256`,
   * `aws:kms` without a key) that SDKs send by habit, since Apiary stores them unencrypted.
   */
  readonly s3SseStrict: boolean;
  /** How often the S3 lifecycle sweep runs (APIARY_S3_LIFECYCLE_INTERVAL_SECONDS; default 3600). */
  readonly s3LifecycleIntervalSeconds: number;
  /**
   * The length of a lifecycle rule's "day" (APIARY_S3_LIFECYCLE_DAY_SECONDS; default 86400). Any
   * other value is a test day (like ceph rgw's `rgw_lc_debug_interval`): no rounding to midnight,
   * and for the sweep only (the `x-amz-expiration` headers still count real days).
   */
  readonly s3LifecycleDaySeconds: number;
  /**
   * APIARY_SSE_MASTER_KEY_FILE: the SSE-S3 master key (64 hex; created 0600 at first start).
   * Default `<dataDir>/sse-master.key`; replicas must all point at the same key.
   */
  readonly sseMasterKeyFile: string | undefined;
  /** APIARY_S3_SSE_C_ALLOW_HTTP: accept SSE-C keys over plain HTTP from non-loopback clients. */
  readonly s3SseCAllowHttp: boolean;
  /**
   * Which proxies' X-Forwarded-For to believe for the client address (APIARY_TRUST_PROXY: 'true',
   * a hop count, or comma-separated addresses/CIDRs; default none). The sign-in and signature
   * limiters count per client address.
   */
  readonly trustProxy: boolean | string | number;
  /** Failed SigV4 attempts per client address per 15 min before SlowDown/Throttling (APIARY_SIGV4_MAX_FAILURES). */
  readonly sigv4MaxFailures: number;
  /**
   * Host names the console answers to, comma-separated (APIARY_ALLOWED_HOSTS). Default: the
   * loopback names when bound to loopback (DNS rebinding), else any.
   */
  readonly allowedHosts: string;
  /** Bearer token for /metrics and detailed health (APIARY_METRICS_TOKEN); empty: loopback only. */
  readonly metricsToken: string;
  /** A connection with no traffic either way for this long is closed (APIARY_CONNECTION_IDLE_TIMEOUT_MS). */
  readonly connectionIdleTimeoutMs: number;
  /** A JSON API body (SageMaker, Logs) must arrive whole within this (APIARY_BODY_TIMEOUT_MS). */
  readonly smallBodyTimeoutMs: number;
  /**
   * fsync every object blob before its key commits (default true). 'false' trades durability across
   * power loss for write throughput; a process crash never loses an acknowledged write either way.
   */
  readonly s3Fsync: boolean;
  /** Objects (and parts) up to this many bytes are kept in the database (APIARY_S3_INLINE_MAX_BYTES; 0: off). */
  readonly s3InlineMaxBytes: number;
  /** Where object bytes live (APIARY_BLOB_STORE and APIARY_BLOB_S3_*). */
  readonly blobStore: BlobStoreSettings;
  /** Lifetime of a console / worker-portal sign-in session. */
  readonly sessionTtlSeconds: number;
  /** Failed sign-ins allowed per username+IP in 15 minutes before 429. */
  readonly loginMaxFailures: number;
  /** Lifetime of the signed image URLs the worker portal hands out. */
  readonly labelingImageUrlTtlSeconds: number;
  /** Automated data labeling: the smallest input dataset (SageMaker's 1,250). */
  readonly autoLabelingMinObjects: number;
  /** Automated data labeling: JSON object of hyperparameters over the loop's training defaults. */
  readonly autoLabelingHyperParameters: string;
}

/** Thrown by loadSettings when an APIARY_* variable is malformed or out of range. */
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

function servingImagesVar(env: Env): string {
  const raw = env.APIARY_SERVING_IMAGES;
  if (raw === undefined || raw.trim() === '') return DEFAULTS.servingImages;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new SettingsError(
      'APIARY_SERVING_IMAGES: expected JSON such as {"my-image:1": {"command": ["python3", "serve.py"]}}',
    );
  }
  const ok =
    typeof parsed === 'object' &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    Object.values(parsed).every(
      (v) =>
        typeof v === 'object' &&
        v !== null &&
        Array.isArray((v as { command?: unknown }).command) &&
        (v as { command: unknown[] }).command.length > 0 &&
        (v as { command: unknown[] }).command.every((a) => typeof a === 'string'),
    );
  if (!ok) {
    throw new SettingsError(
      'APIARY_SERVING_IMAGES: every image needs {"command": ["program", "arg", …]} (argv, no shell)',
    );
  }
  return raw;
}

const S3_VARS = [
  'APIARY_BLOB_S3_ENDPOINT',
  'APIARY_BLOB_S3_REGION',
  'APIARY_BLOB_S3_ACCESS_KEY_ID',
  'APIARY_BLOB_S3_SECRET_ACCESS_KEY',
] as const;

function blobStoreVar(env: Env): BlobStoreSettings {
  const raw = (env.APIARY_BLOB_STORE ?? '').trim();
  if (raw === '' || raw === 'fs') {
    const stray = S3_VARS.find((name) => env[name]);
    if (stray) {
      throw new SettingsError(
        `${stray} is set but APIARY_BLOB_STORE is not s3://BUCKET/PREFIX: set both, or neither`,
      );
    }
    return { kind: 'fs' };
  }
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(raw);
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1]!)) {
    throw new SettingsError(
      `APIARY_BLOB_STORE='${raw}': expected 'fs' or s3://BUCKET/PREFIX with a bucket name of 3-63 lowercase letters, digits, dots and hyphens`,
    );
  }
  const prefix = (m[2] ?? '').replace(/^\/+/, '');
  const endpoint = env.APIARY_BLOB_S3_ENDPOINT || undefined;
  if (endpoint !== undefined) {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(endpoint).protocol);
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new SettingsError(
        `APIARY_BLOB_S3_ENDPOINT='${endpoint}': expected an http:// or https:// URL such as http://127.0.0.1:7070`,
      );
    }
  }
  const region = env.APIARY_BLOB_S3_REGION || 'us-east-1';
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    throw new SettingsError(
      `APIARY_BLOB_S3_REGION='${region}': expected a region name such as us-east-1`,
    );
  }
  const accessKeyId = env.APIARY_BLOB_S3_ACCESS_KEY_ID || undefined;
  const secretAccessKey = env.APIARY_BLOB_S3_SECRET_ACCESS_KEY || undefined;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new SettingsError(
      'APIARY_BLOB_S3_ACCESS_KEY_ID and APIARY_BLOB_S3_SECRET_ACCESS_KEY must be set together (or both left unset for the AWS credential chain)',
    );
  }
  return {
    kind: 's3',
    bucket: m[1]!,
    prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`,
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
  };
}

/** Reads and validates settings from the environment (and optional overrides, used by tests). */
function replicaIdVar(env: Env): string {
  const v = env.APIARY_REPLICA_ID ?? '';
  if (v && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(v)) {
    throw new SettingsError(
      `APIARY_REPLICA_ID='${v}': expected 1-63 letters, digits, '.', '_' or '-'`,
    );
  }
  return v;
}

function urlVar(env: Env, name: string): string {
  const v = env[name] ?? '';
  if (!v) return '';
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new SettingsError(`${name}='${v}': expected a URL such as http://10.0.0.5:8800`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new SettingsError(`${name}='${v}': expected an http:// or https:// URL`);
  }
  return v.replace(/\/+$/, '');
}

/** Reads the settings from APIARY_* environment variables, then applies `overrides`; throws SettingsError on bad values. */
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
    rootConsolePassword: env.APIARY_ROOT_CONSOLE_PASSWORD || undefined,
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
    tuningPollMs: intVar(env, 'APIARY_TUNING_POLL_MS', DEFAULTS.tuningPollMs, 50, 3_600_000),
    metricsFlushMs: intVar(env, 'APIARY_METRICS_FLUSH_MS', DEFAULTS.metricsFlushMs, 50, 60_000),
    alarmEvaluationMs: intVar(
      env,
      'APIARY_ALARM_EVALUATION_MS',
      DEFAULTS.alarmEvaluationMs,
      50,
      300_000,
    ),
    metricsRetentionHours: intVar(
      env,
      'APIARY_METRICS_RETENTION_HOURS',
      DEFAULTS.metricsRetentionHours,
      1,
      24 * 455,
    ),
    deploymentPollMs: intVar(
      env,
      'APIARY_DEPLOYMENT_POLL_MS',
      DEFAULTS.deploymentPollMs,
      50,
      60_000,
    ),
    tuningTrialSilenceSeconds: intVar(
      env,
      'APIARY_TUNING_TRIAL_SILENCE_SECONDS',
      DEFAULTS.tuningTrialSilenceSeconds,
      10,
      30 * 86_400,
    ),
    sandbox: enumVar<SandboxMode>(env, 'APIARY_SANDBOX', DEFAULTS.sandbox, [
      'auto',
      'bwrap',
      'none',
    ]),
    pythonPath: env.APIARY_PYTHON || DEFAULTS.pythonPath,
    ortThreads: intVar(env, 'APIARY_ORT_THREADS', DEFAULTS.ortThreads, 0, 256),
    servingMaxBatch: intVar(env, 'APIARY_SERVING_MAX_BATCH', DEFAULTS.servingMaxBatch, 1, 256),
    servingMaxBatchWaitMs: intVar(
      env,
      'APIARY_SERVING_MAX_BATCH_WAIT_MS',
      DEFAULTS.servingMaxBatchWaitMs,
      0,
      10_000,
    ),
    servingQueuePerInstance: intVar(
      env,
      'APIARY_SERVING_QUEUE_PER_INSTANCE',
      DEFAULTS.servingQueuePerInstance,
      1,
      100_000,
    ),
    servingMaxInputPixels: intVar(
      env,
      'APIARY_SERVING_MAX_INPUT_PIXELS',
      DEFAULTS.servingMaxInputPixels,
      1,
      1_000_000_000,
    ),
    servingStartupTimeoutSeconds: intVar(
      env,
      'APIARY_SERVING_STARTUP_TIMEOUT_SECONDS',
      DEFAULTS.servingStartupTimeoutSeconds,
      1,
      3600,
    ),
    servingInvocationTimeoutSeconds: intVar(
      env,
      'APIARY_SERVING_INVOCATION_TIMEOUT_SECONDS',
      DEFAULTS.servingInvocationTimeoutSeconds,
      1,
      3600,
    ),
    servingImages: servingImagesVar(env),
    endpointCreateWaitMs: intVar(
      env,
      'APIARY_ENDPOINT_CREATE_WAIT_MS',
      DEFAULTS.endpointCreateWaitMs,
      0,
      600_000,
    ),
    multiModelBudgetMb: intVar(
      env,
      'APIARY_MULTI_MODEL_BUDGET_MB',
      DEFAULTS.multiModelBudgetMb,
      1,
      1_048_576,
    ),
    serverlessIdleSeconds: intVar(
      env,
      'APIARY_SERVERLESS_IDLE_SECONDS',
      DEFAULTS.serverlessIdleSeconds,
      1,
      86_400,
    ),
    servingBodyTimeoutMs: intVar(
      env,
      'APIARY_SERVING_BODY_TIMEOUT_MS',
      DEFAULTS.servingBodyTimeoutMs,
      100,
      600_000,
    ),
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
    executor: enumVar(env, 'APIARY_EXECUTOR', DEFAULTS.executor, ['local', 'kubernetes']),
    k8s: {
      namespace: env.APIARY_K8S_NAMESPACE || DEFAULTS.k8sNamespace,
      serviceAccount: env.APIARY_K8S_SERVICE_ACCOUNT || undefined,
      image: env.APIARY_K8S_IMAGE || DEFAULTS.k8sImage,
      algorithmImage: env.APIARY_K8S_ALGORITHM_IMAGE || DEFAULTS.k8sAlgorithmImage,
      imagePullPolicy: enumVar(env, 'APIARY_K8S_IMAGE_PULL_POLICY', 'IfNotPresent', [
        'Always',
        'IfNotPresent',
        'Never',
      ]),
      callbackUrl: urlVar(env, 'APIARY_K8S_CALLBACK_URL'),
      instanceTypesFile: env.APIARY_K8S_INSTANCE_TYPES || undefined,
      pendingTimeoutSeconds: intVar(
        env,
        'APIARY_K8S_PENDING_TIMEOUT_SECONDS',
        DEFAULTS.k8sPendingTimeoutSeconds,
        1,
        86_400,
      ),
      serviceUrl: env.APIARY_K8S_SERVICE_URL || DEFAULTS.k8sServiceUrl,
      endpointReadyTimeoutSeconds: intVar(
        env,
        'APIARY_K8S_ENDPOINT_READY_TIMEOUT_SECONDS',
        DEFAULTS.k8sEndpointReadyTimeoutSeconds,
        1,
        86_400,
      ),
    },
    hosting: enumVar(env, 'APIARY_HOSTING', DEFAULTS.hosting, ['local', 'kubernetes']),
    replicaId: replicaIdVar(env),
    advertiseUrl: urlVar(env, 'APIARY_ADVERTISE_URL'),
    leaseTtlSeconds: intVar(env, 'APIARY_LEASE_TTL_SECONDS', DEFAULTS.leaseTtlSeconds, 1, 3600),
    notebookVenv: env.APIARY_NOTEBOOK_VENV || DEFAULTS.notebookVenv,
    notebookLifecycleTimeoutSeconds: intVar(
      env,
      'APIARY_NOTEBOOK_LIFECYCLE_TIMEOUT_SECONDS',
      DEFAULTS.notebookLifecycleTimeoutSeconds,
      1,
      3600,
    ),
    notebookStartTimeoutSeconds: intVar(
      env,
      'APIARY_NOTEBOOK_START_TIMEOUT_SECONDS',
      DEFAULTS.notebookStartTimeoutSeconds,
      5,
      3600,
    ),
    s3Fsync: enumVar(env, 'APIARY_S3_FSYNC', DEFAULTS.s3Fsync, ['true', 'false']) === 'true',
    s3InlineMaxBytes: intVar(env, 'APIARY_S3_INLINE_MAX_BYTES', 64 * 1024, 0, 1024 * 1024),
    s3SseStrict: enumVar(env, 'APIARY_S3_SSE_STRICT', 'false', ['true', 'false']) === 'true',
    sseMasterKeyFile: env.APIARY_SSE_MASTER_KEY_FILE || undefined,
    s3SseCAllowHttp:
      enumVar(env, 'APIARY_S3_SSE_C_ALLOW_HTTP', 'false', ['true', 'false']) === 'true',
    s3LifecycleIntervalSeconds: intVar(env, 'APIARY_S3_LIFECYCLE_INTERVAL_SECONDS', 3600, 1, 86400),
    s3LifecycleDaySeconds: intVar(env, 'APIARY_S3_LIFECYCLE_DAY_SECONDS', 86400, 1, 86400),
    s3BodyIdleTimeoutMs: intVar(
      env,
      'APIARY_S3_BODY_IDLE_TIMEOUT_MS',
      DEFAULTS.s3BodyIdleTimeoutMs,
      100,
      3_600_000,
    ),
    metricsToken: env.APIARY_METRICS_TOKEN ?? DEFAULTS.metricsToken,
    allowedHosts: env.APIARY_ALLOWED_HOSTS ?? DEFAULTS.allowedHosts,
    trustProxy: trustProxyVar(env.APIARY_TRUST_PROXY),
    sigv4MaxFailures: intVar(
      env,
      'APIARY_SIGV4_MAX_FAILURES',
      DEFAULTS.sigv4MaxFailures,
      1,
      1_000_000,
    ),
    connectionIdleTimeoutMs: intVar(
      env,
      'APIARY_CONNECTION_IDLE_TIMEOUT_MS',
      DEFAULTS.connectionIdleTimeoutMs,
      1000,
      3_600_000,
    ),
    smallBodyTimeoutMs: intVar(
      env,
      'APIARY_BODY_TIMEOUT_MS',
      DEFAULTS.smallBodyTimeoutMs,
      100,
      600_000,
    ),
    blobStore: blobStoreVar(env),
    sessionTtlSeconds: intVar(
      env,
      'APIARY_SESSION_TTL_SECONDS',
      DEFAULTS.sessionTtlSeconds,
      60,
      30 * 86400,
    ),
    loginMaxFailures: intVar(env, 'APIARY_LOGIN_MAX_FAILURES', DEFAULTS.loginMaxFailures, 1, 1000),
    labelingImageUrlTtlSeconds: intVar(
      env,
      'APIARY_LABELING_IMAGE_URL_TTL_SECONDS',
      DEFAULTS.labelingImageUrlTtlSeconds,
      10,
      86400,
    ),
    autoLabelingMinObjects: intVar(
      env,
      'APIARY_AUTO_LABELING_MIN_OBJECTS',
      DEFAULTS.autoLabelingMinObjects,
      1,
      1_000_000_000,
    ),
    autoLabelingHyperParameters: env.APIARY_AUTO_LABELING_HYPERPARAMETERS ?? '',
    ...overrides,
  };
  return Object.freeze(settings);
}

/** APIARY_TRUST_PROXY: unset/false → none; true → any; a number → hops; else addresses/CIDRs. */
function trustProxyVar(raw: string | undefined): boolean | string | number {
  const v = raw?.trim() ?? '';
  if (v === '' || v === 'false') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  return v;
}
