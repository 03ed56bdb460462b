// The composition root (DESIGN §2-3): the one place that picks adapters, builds every context and
// wires them to the protocols and the dispatch by signature. Longer than 500 lines because the
// wiring is kept together on purpose; the logic it wires lives in the contexts and in src/api/*.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Settings } from '../config/index.js';
import { loadRootCredentials, type RootCredentials } from '../config/index.js';
import { systemClock, type Clock } from '../shared/clock.js';
import type { Random } from '../shared/random.js';
import { sagemakerArn, type ArnContext } from '../shared/arn.js';
import { Coordinator, openDatabase, TagRepository, type Database } from '../store/index.js';
import { allMigrations } from './migrations.js';
import { onFrameworkError } from './s3/bad-url.js';
import { forwardRequest, isForwarded } from './forward.js';
import { registerKubernetesStaging } from './k8s-staging.js';
import { replicaIdentity, runtimeEndpointName, sharedRootCredentials } from './replica.js';
import { sql } from 'kysely';
import {
  BucketCorsRepository,
  BucketLifecycleRepository,
  createObjectStore,
  LifecycleSweeper,
  type ObjectStore,
} from '../objects/index.js';
import { AccessStore } from '../objects/index.js';
import { principalResolver } from './principals.js';
import { Authenticator, jsonAuthError, StaticCredentialStore, SigV4Error } from './auth.js';
import { EMPTY_SHA256, sha256Hex, type SignedRequest } from './sigv4/index.js';
import { BodyTimeoutError, BodyTooLargeError, readBody } from './http.js';
import { continueOnFirstRead } from './expect-continue.js';
import { loadServiceModel } from './service-model.js';
import {
  JsonProtocol,
  jsonErrorResponse,
  MAX_JSON_BODY_BYTES,
  type OperationTable,
} from './sagemaker/protocol.js';
import { AWS_JSON_ERRORS, SAGEMAKER_ERRORS } from './sagemaker/errors.js';
import { LOGS_ERRORS } from './logs/errors.js';
import { internalErrorMessage, wireError } from './error-catalog.js';
import { tagOperations } from './sagemaker/tags.js';
import { createS3Api } from './s3/index.js';
import { s3FastPath, serverWithFastPath } from './s3-fast-path.js';
import { createHosting, type Hosting } from '../hosting/index.js';
import { hostingOperations } from './sagemaker/hosting-ops.js';
import { createRuntimeApi, isRuntimePath } from './runtime/index.js';
import { hostingServingConfig, kubernetesHostingConfig } from './runtime/config.js';
import { AccessKeys, createIdentity, type Identity } from '../identity/index.js';
import { registerAuthRoutes } from './console/auth-routes.js';
import { registerAccessKeyRoutes } from './console/access-key-routes.js';
import { ConsoleError, sendConsoleError } from './console/errors.js';
import { createLabeling, type Labeling } from '../labeling/index.js';
import { labelingOperations } from './sagemaker/labeling-ops.js';
import { registerLabelingRoutes } from './console/labeling-routes.js';
import { autoLabelingPort } from './auto-labeling-port.js';
import { registerConsole } from './console/index.js';
import { allowedConsoleHosts, registerOriginGuard } from './console/origin-guard.js';
import { createTraining, type Training } from '../training/index.js';
import { trainingOperations } from './sagemaker/training-ops.js';
import { Tuning, fromTraining } from '../tuning/index.js';
import { tuningOperations } from './sagemaker/tuning-ops.js';
import { logOperations } from './logs/logs-ops.js';
import { createRoleRepository } from '../iam/index.js';
import { createOtherServices } from './iam/index.js';
import { cloudWatchOperations } from './cloudwatch/cloudwatch-ops.js';
import { CLOUDWATCH_ERRORS, withQueryErrorHeader } from './cloudwatch/errors.js';
import { Metrics } from '../metrics/index.js';
import { createNotebooks, type Notebooks } from '../notebooks/index.js';
import { notebookOperations } from './sagemaker/notebook-ops.js';
import { registerNotebookProxy } from './notebook-proxy.js';
import type { Readable } from 'node:stream';

export interface ApiaryOptions {
  readonly clock?: Clock;
  /** Randomness for variant routing (seeded in tests). */
  readonly random?: Random;
}

/** Everything the composition root built; tests and the CLI use it. */
export interface Apiary {
  readonly app: FastifyInstance;
  readonly settings: Settings;
  readonly credentials: RootCredentials;
  readonly database: Database;
  readonly objects: ObjectStore;
  readonly hosting: Hosting;
  readonly identity: Identity;
  /** Console users' access keys. */
  readonly accessKeys: AccessKeys;
  readonly labeling: Labeling;
  readonly training: Training;
  readonly tuning: Tuning;
  readonly notebooks: Notebooks;
  /** Leases and replica membership (one replica, or several on one PostgreSQL). */
  readonly coordinator: Coordinator;
  /** Listens on settings.host:settings.port; resolves with the URL. */
  listen(): Promise<string>;
  /** Graceful: stops accepting, lets in-flight requests finish, stops background work. */
  close(): Promise<void>;
}

/** The composition root: the one place that picks adapters and wires contexts to protocols. */
/** Fastify's trustProxy for "the nearest N hops are proxies". */
const trustHops =
  (n: number) =>
  (_address: string, hop: number): boolean =>
    hop < n;

export async function createApiary(
  settings: Settings,
  options: ApiaryOptions = {},
): Promise<Apiary> {
  const clock = options.clock ?? systemClock;
  let closed = false;
  const arnContext: ArnContext = { region: settings.region, accountId: settings.accountId };

  const database = await openDatabase({
    dataDir: settings.dataDir,
    databaseUrl: settings.databaseUrl,
    migrations: allMigrations,
  });
  const db = database.db;
  // Replicas on one PostgreSQL share one set of root credentials (kept in the database).
  const credentials = await sharedRootCredentials(database, loadRootCredentials(settings)!);
  const coordinator = new Coordinator({
    db,
    clock,
    replicaId: replicaIdentity(settings),
    leaseTtlMs: settings.leaseTtlSeconds * 1000,
    onError: (err, what) => app.log.warn({ err }, `replica coordination: ${what}`),
  });
  const tags = new TagRepository(db);
  const objects = await createObjectStore({
    db,
    dataDir: settings.dataDir,
    blobStore: settings.blobStore,
    fsync: settings.s3Fsync,
    inlineMaxBytes: settings.s3InlineMaxBytes,
    ...(settings.sseMasterKeyFile ? { sseMasterKeyFile: settings.sseMasterKeyFile } : {}),
    onSweepError: (err) => app.log.warn({ err }, 'object store: the orphan-blob sweep failed'),
  });
  let listeningUrl = '';
  // CloudWatch: each replica writes its own per-minute datapoints; one replica evaluates alarms.
  const metrics = new Metrics({
    db,
    clock,
    replicaId: coordinator.replicaId,
    arnOf: (name) => `arn:aws:cloudwatch:${settings.region}:${settings.accountId}:alarm:${name}`,
    flushIntervalMs: settings.metricsFlushMs,
    evaluationIntervalMs: settings.alarmEvaluationMs,
    retentionMs: settings.metricsRetentionHours * 3_600_000,
    log: (msg) => app.log.warn(msg),
  });
  const hosting = createHosting({
    db,
    clock,
    arn: arnContext,
    objects,
    tags,
    serving: {
      ...hostingServingConfig(settings, (msg) => app.log.warn(msg)),
      random: options.random,
      kubernetes: kubernetesHostingConfig(settings, credentials, () => listeningUrl),
    },
    coordinator,
    alarmStates: (names) => metrics.alarmStates(names),
    deploymentPollMs: settings.deploymentPollMs,
  });
  hosting.serving.onInvocation((o) => metrics.recordInvocation(o));
  const identity = createIdentity({
    db,
    clock,
    rootCredentials: credentials,
    rootConsolePassword: settings.rootConsolePassword,
    sessionTtlMs: settings.sessionTtlSeconds * 1000,
    maxLoginFailures: settings.loginMaxFailures,
  });
  const labeling = createLabeling({
    db,
    clock,
    arn: arnContext,
    objects,
    tags,
    imageUrlTtlMs: settings.labelingImageUrlTtlSeconds * 1000,
    // Pre-labeling asks endpoints through the same path as InvokeEndpoint (pixel boxes + size).
    prelabel: {
      invoke: async (endpoint, body, contentType) => {
        const { response } = await hosting.invoke(endpoint, undefined, {
          body,
          contentType,
          accept: 'application/json;annotation=1',
          customAttributes: undefined,
          inferenceId: undefined,
          receivedAt: performance.now(),
        });
        return response.body.toString();
      },
    },
    autoLabeling: autoLabelingPort({
      minObjects: settings.autoLabelingMinObjects,
      hyperParameters: settings.autoLabelingHyperParameters,
      objects,
      hosting,
      training: () => training,
    }),
    onError: (err) => app.log.error({ err }, 'labeling background work failed'),
  });

  // Signed S3 requests skip Fastify's request path (s3-fast-path.ts); set once the S3 API exists.
  let s3Fast: ReturnType<typeof s3FastPath> | undefined;
  const app = Fastify({
    serverFactory: serverWithFastPath(() => s3Fast),
    logger: settings.logLevel === 'silent' ? false : { level: settings.logLevel },
    logController: new LogController({ disableRequestLogging: true }),
    exposeHeadRoutes: false,
    routerOptions: { maxParamLength: 4096 },
    // A URL Fastify cannot decode: S3's InvalidURI XML (src/api/s3/bad-url.ts).
    frameworkErrors: onFrameworkError,
    genReqId: () => randomUUID(),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // req.ip is the client's own address only when the proxy in front is named (APIARY_TRUST_PROXY).
    trustProxy:
      typeof settings.trustProxy === 'number'
        ? trustHops(settings.trustProxy)
        : settings.trustProxy,
    // A connection silent this long (no request, no body bytes, no read of the answer) is cut;
    // whole small bodies have their own deadline (SMALL_BODY_TIMEOUT_MS), headers Node's 60 s.
    connectionTimeout: settings.connectionIdleTimeoutMs,
    // S3 object bodies are streamed by their handlers; Fastify never buffers a body.
    bodyLimit: 1024 * 1024 * 1024 * 1024,
  });
  continueOnFirstRead(app.server); // 100 Continue only once a handler reads the body (S3)
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));

  // Notebook instances sign with access keys minted for them (see src/notebooks).
  const notebooks = createNotebooks(
    {
      db,
      clock,
      arn: arnContext,
      tags,
      coordinator,
      logger: { warn: (obj, msg) => app.log.warn(obj, msg) },
    },
    settings,
  );
  await notebooks.init();
  const rootKeys = new StaticCredentialStore([
    { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
  ]);
  // Console users' access keys; every replica re-reads them (see identity/access-keys.ts).
  const accessKeys = new AccessKeys({
    db,
    clock,
    identity,
    rootSecret: credentials.secretAccessKey,
    onError: (err) => app.log.warn({ err }, 'access keys: refresh failed'),
  });
  await accessKeys.refresh();
  const principals = principalResolver({
    rootAccessKeyId: credentials.accessKeyId,
    isNotebookKey: (id) => notebooks.secretFor(id) !== undefined,
    accessKeys,
  });
  const authenticator = new Authenticator(
    {
      secretFor: (id) =>
        rootKeys.secretFor(id) ?? notebooks.secretFor(id) ?? accessKeys.lookup(id)?.secretAccessKey,
    },
    clock,
    { maxFailures: settings.sigv4MaxFailures, windowMs: 15 * 60_000 },
    (id) => {
      if (accessKeys.lookup(id)) accessKeys.markUsed(id);
    },
  );
  const internalError = (err: unknown, requestId: string): void => {
    app.log.error({ err, requestId }, 'internal error');
  };

  // The last boundary: whatever a protocol did not answer itself is answered here in that
  // protocol's shape, logged with the request id — never with Fastify's default body, which
  // carries the error's message. Fastify's own 4xx (a malformed request) keep their status.
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const clientError =
      typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500;
    // A body that missed its deadline: the connection is already cut, nobody to answer.
    if ((err as unknown) instanceof BodyTimeoutError) return void reply.raw.destroy();
    if (reply.sent || reply.raw.headersSent) {
      internalError(err, req.id);
      reply.raw.destroy();
      return;
    }
    if (req.url.startsWith('/_apiary/')) {
      return sendConsoleError(
        reply,
        clientError ? new ConsoleError('BadRequest', err.message) : err,
      );
    }
    if (!clientError) internalError(err, req.id);
    if (req.headers['x-amz-target'] !== undefined || isRuntimePath(req.url)) {
      const e = clientError
        ? wireError(AWS_JSON_ERRORS, 'SerializationException', err.message)
        : wireError(AWS_JSON_ERRORS, 'InternalFailure', internalErrorMessage(req.id));
      return sendJson(reply, {
        ...jsonErrorResponse(e, req.id),
        status: clientError ? err.statusCode! : e.status,
      });
    }
    // S3 clients parse XML errors.
    const [code, message] = clientError
      ? ['InvalidRequest', 'The request could not be read.']
      : ['InternalError', 'We encountered an internal error. Please try again.'];
    void reply
      .code(clientError ? err.statusCode! : 500)
      .header('content-type', 'application/xml')
      .header('x-amz-request-id', req.id)
      .send(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${req.id}</RequestId></Error>`,
      );
  });

  const training = createTraining(
    {
      db,
      clock,
      arn: arnContext,
      objects,
      tags,
      coordinator,
      logger: { warn: (obj, msg) => app.log.warn(obj, msg) },
    },
    settings,
    () => listeningUrl,
  );
  const tuning = new Tuning({
    db,
    clock,
    arn: arnContext,
    training: fromTraining(training),
    pollIntervalMs: settings.tuningPollMs,
    trialSilenceMs: settings.tuningTrialSilenceSeconds * 1000,
    coordinator,
    logger: { warn: (obj, msg) => app.log.warn(obj, msg) },
  });
  const sagemakerOps: OperationTable = {
    ...tagOperations({
      tags,
      arn: arnContext,
      arnExists: async (arn) =>
        (await hosting.arnExists(arn)) ??
        (await labeling.arnExists(arn)) ??
        (await training.arnExists(arn)) ??
        (await tuning.arnExists(arn)) ??
        (await notebooks.arnExists(arn)),
    }),
    ...hostingOperations({ hosting }),
    ...labelingOperations({ labeling, tags }),
    ...trainingOperations({ training }),
    ...notebookOperations({ notebooks, publicUrl: () => settings.advertiseUrl || listeningUrl }),
    ...tuningOperations({
      tuning,
      trainingJobArn: (name) => sagemakerArn(arnContext, 'training-job', name),
      addTags: (arn, t) => tags.add(arn, t),
    }),
  };
  const sagemaker = new JsonProtocol(
    loadServiceModel('sagemaker-2017-07-24'),
    'SageMaker',
    sagemakerOps,
    SAGEMAKER_ERRORS,
    internalError,
  );
  const logsApi = new JsonProtocol(
    loadServiceModel('logs-2014-03-28'),
    'Logs_20140328',
    logOperations({ training, region: settings.region, accountId: settings.accountId }),
    LOGS_ERRORS,
    internalError,
  );
  const cloudwatchApi = new JsonProtocol(
    loadServiceModel('cloudwatch-2010-08-01'),
    'GraniteServiceVersion20100801',
    cloudWatchOperations({
      metrics,
      trainingSeries: async (job) =>
        (await training.find(job)) ? training.metricSeries(job) : undefined,
    }),
    CLOUDWATCH_ERRORS,
    internalError,
  );
  // S3 lifecycle: rules per bucket, applied by a sweep that runs on one replica (see listen()).
  const lifecycleRules = new BucketLifecycleRepository(db);
  const lifecycleSweeper = new LifecycleSweeper({
    db: db.withTables(),
    store: objects,
    configs: lifecycleRules,
    clock,
    dayMs: settings.s3LifecycleDaySeconds * 1000,
    intervalMs: settings.s3LifecycleIntervalSeconds * 1000,
    onError: (err) => app.log.warn({ err }, 'object store: the lifecycle sweep failed'),
  });
  // One per replica, shared by the S3 API and the console: a policy change made through either
  // drops the cached copy both judge by.
  const bucketAccess = new AccessStore(db);
  const s3 = createS3Api({
    store: objects,
    access: bucketAccess,
    region: settings.region,
    accountId: settings.accountId,
    bodyIdleTimeoutMs: settings.s3BodyIdleTimeoutMs,
    onInternalError: internalError,
    cors: new BucketCorsRepository(db),
    lifecycle: { store: lifecycleRules },
    verifyPostSignature: (id, client, matches) =>
      authenticator.verifyPostSignature(id, client, matches),
    principalOf: (id) => principals.of(id),
    sseStrict: settings.s3SseStrict,
    sseCAllowHttp: settings.s3SseCAllowHttp,
  });
  // Behind a trusted proxy the client's address is Fastify's to work out: no fast path then.
  if (!settings.trustProxy) {
    s3Fast = s3FastPath({ s3, authenticator, principalOf: (id) => principals.of(id) });
  }
  // While closing, Fastify answers (503, connection closed) so that keep-alive connections end.
  app.addHook('preClose', (done) => {
    s3Fast = undefined;
    done();
  });

  // IAM and STS (roles as records, GetCallerIdentity); every other AWS service answers an error in its own protocol.
  const otherServices = createOtherServices({
    roles: createRoleRepository({
      db,
      clock,
      arn: arnContext,
      randomId: () => randomUUID().replace(/-/g, '').slice(0, 17).toUpperCase(),
    }),
    accountId: settings.accountId,
    onInternalError: internalError,
    accessKeys,
    principalOf: principals.of,
  });

  registerAuthRoutes(app, identity);
  registerAccessKeyRoutes(app, { identity, accessKeys });
  const runtime = createRuntimeApi({
    hosting,
    region: settings.region,
    accountId: settings.accountId,
    bodyTimeoutMs: settings.servingBodyTimeoutMs,
    onInternalError: internalError,
  });
  /** Operator endpoints: with APIARY_METRICS_TOKEN, that bearer token; without it, loopback only. */
  const operatorAllowed = (req: FastifyRequest): boolean => {
    if (settings.metricsToken) {
      const presented = Buffer.from(String(req.headers.authorization ?? ''));
      const expected = Buffer.from(`Bearer ${settings.metricsToken}`);
      return presented.length === expected.length && timingSafeEqual(presented, expected);
    }
    const ip = req.socket.remoteAddress ?? '';
    return ip === '127.0.0.1' || ip === '::1' || ip === '::ffff:127.0.0.1';
  };
  // Prometheus metrics of the endpoints, for the operator only (see operatorAllowed); a signed GET /metrics
  // is an S3 request for a bucket named "metrics" and goes to dispatch.
  app.get('/metrics', async (req, reply) => {
    if (
      (req.headers.authorization ?? '').startsWith('AWS4-') ||
      (req.query as Record<string, unknown>)['X-Amz-Signature'] !== undefined
    ) {
      return dispatch(req, reply);
    }
    if (!operatorAllowed(req)) {
      return reply
        .code(403)
        .type('text/plain')
        .send(
          settings.metricsToken
            ? 'GET /metrics needs Authorization: Bearer <APIARY_METRICS_TOKEN>\n'
            : 'GET /metrics is served to loopback clients only (set APIARY_METRICS_TOKEN to serve it to a scraper)\n',
        );
    }
    const m = hosting.serving.metrics;
    return reply.type(m.contentType).send(await m.text());
  });
  registerOriginGuard(app, allowedConsoleHosts(settings.host, settings.allowedHosts));
  await registerConsole(app, {
    sagemaker,
    objects,
    identity,
    clock,
    accessKeyId: credentials.accessKeyId,
    bucketPolicies: { access: bucketAccess, accountId: settings.accountId },
    training,
    hosting,
    metrics,
  });
  registerLabelingRoutes(app, { labeling, identity, objects });
  registerNotebookProxy(app, { notebooks, identity });

  registerKubernetesStaging(app, {
    training,
    maxUploadBytes: settings.trainingModelCapBytes * 2,
    replicaId: coordinator.replicaId,
    now: () => clock.nowMs(),
  });

  // Liveness for anyone; the details (account id, version) for the operator only.
  app.get('/_apiary/health', async (req) =>
    operatorAllowed(req)
      ? {
          status: 'ok',
          version: process.env.npm_package_version ?? '0.1.0',
          region: settings.region,
          accountId: settings.accountId,
        }
      : { status: 'ok' },
  );

  // Readiness for a load balancer: this replica can reach the database and is not shutting down.
  app.get('/_apiary/ready', async (_req, reply) => {
    if (closed) return reply.code(503).send({ status: 'closing' });
    try {
      await sql`select 1`.execute(db);
      return { status: 'ready', replica: coordinator.replicaId };
    } catch {
      return reply.code(503).send({ status: 'database unreachable' });
    }
  });

  const forwardOptions = {
    replicaId: coordinator.replicaId,
    timeoutMs: settings.servingInvocationTimeoutSeconds * 1000 + 5000,
  };
  /** Passes the request to the replica that owns the resource; false when it is served here. */
  const toOwner = async (
    req: FastifyRequest,
    reply: FastifyReply,
    owner: Awaited<ReturnType<Coordinator['ownerOf']>>,
    body: Buffer | Readable,
    unreachable: () => void,
  ): Promise<boolean> => {
    if (owner.kind !== 'peer' || isForwarded(req)) return false;
    if (!(await forwardRequest(req, reply, owner.url, body, forwardOptions))) unreachable();
    return true;
  };
  const FORWARDED_OPS: Readonly<
    Record<
      string,
      (
        input: Record<string, unknown>,
      ) => Promise<Awaited<ReturnType<Coordinator['ownerOf']>>> | undefined
    >
  > = {
    'SageMaker.StopTrainingJob': (i) =>
      typeof i.TrainingJobName === 'string' ? training.owner(i.TrainingJobName) : undefined,
    'SageMaker.UpdateEndpoint': (i) =>
      typeof i.EndpointName === 'string' ? hosting.owner(i.EndpointName) : undefined,
    'SageMaker.UpdateEndpointWeightsAndCapacities': (i) =>
      typeof i.EndpointName === 'string' ? hosting.owner(i.EndpointName) : undefined,
    'SageMaker.DeleteEndpoint': (i) =>
      typeof i.EndpointName === 'string' ? hosting.owner(i.EndpointName) : undefined,
    'SageMaker.StopNotebookInstance': (i) =>
      typeof i.NotebookInstanceName === 'string'
        ? notebooks.owner(i.NotebookInstanceName)
        : undefined,
  };

  const signedRequest = (req: FastifyRequest): SignedRequest => ({
    method: req.method,
    rawUrl: req.raw.url ?? '/',
    rawHeaders: req.raw.rawHeaders,
  });

  const sendJson = (
    reply: FastifyReply,
    r: { status: number; headers: Record<string, string>; body: string },
  ): void => {
    void reply.code(r.status).headers(r.headers).send(r.body);
  };

  /** Errors answered before a request reaches a JSON service: the common AWS JSON rows. */
  const sendJsonError = (
    reply: FastifyReply,
    e: { code: keyof typeof AWS_JSON_ERRORS; message?: string },
    requestId: string,
  ): void =>
    sendJson(reply, jsonErrorResponse(wireError(AWS_JSON_ERRORS, e.code, e.message), requestId));

  const dispatch = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    // S3's unsigned entries: CORS preflights (never for the console or the SageMaker APIs) and
    // browser POST uploads, whose signature is in the form.
    if (
      (req.method === 'OPTIONS' ||
        /^multipart\/form-data/i.test(req.headers['content-type'] ?? '')) &&
      !req.url.startsWith('/_apiary/') &&
      !isRuntimePath(req.raw.url) &&
      req.headers['x-amz-target'] === undefined &&
      (await s3.serveUnsigned(req, reply))
    ) {
      return;
    }
    const signed = signedRequest(req);
    let auth;
    try {
      auth = authenticator.parse(signed);
    } catch (err) {
      if (!(err instanceof SigV4Error)) throw err;
      const target = req.headers['x-amz-target'];
      if (target) {
        return sendJsonError(reply, jsonAuthError(err), req.id);
      }
      return s3.authError(req, reply, err);
    }
    if (!auth) {
      // S3's Signature Version 2 presigned URLs (boto3's default presign in us-east-1).
      let v2;
      try {
        const parsed = authenticator.parseV2Presigned(signed);
        v2 = parsed && authenticator.verifyV2Presigned(signed, parsed, settings.region);
      } catch (err) {
        if (err instanceof SigV4Error) return s3.authError(req, reply, err);
        throw err;
      }
      if (v2) return s3.handle(req, reply, v2, principals.of(v2.accessKeyId));
      if (
        req.method === 'GET' &&
        (req.raw.url === '/' || req.raw.url === '') &&
        /text\/html/.test(req.headers.accept ?? '')
      ) {
        return void reply.redirect('/_apiary/ui/');
      }
      if (req.headers['x-amz-target']) {
        return sendJsonError(reply, { code: 'MissingAuthenticationTokenException' }, req.id);
      }
      // Unsigned S3 requests: only a bucket policy or ACL that grants everyone admits one.
      if (!isRuntimePath(req.raw.url)) return s3.handleAnonymous(req, reply);
      return s3.authError(
        req,
        reply,
        new SigV4Error(
          'Missing',
          'Access Denied: the request carries no AWS Signature Version 4 authentication',
        ),
      );
    }
    if (auth.service === 's3') {
      let verified;
      try {
        verified = authenticator.verify(signed, auth, auth.contentSha256 ?? EMPTY_SHA256, req.ip);
      } catch (err) {
        if (err instanceof SigV4Error) return s3.authError(req, reply, err);
        throw err;
      }
      return s3.handle(req, reply, verified, principals.of(verified.accessKeyId));
    }
    // Workers' keys: S3 only (AccessDeniedException elsewhere; STS GetCallerIdentity is free).
    if (auth.service !== 's3' && auth.service !== 'sts' && auth.service !== 'iam') {
      const denied = principals.deniedOutsideS3(auth.accessKeyId, auth.service);
      if (denied) {
        if (!req.raw.complete) void reply.header('connection', 'close');
        return sendJsonError(reply, { code: 'AccessDeniedException', message: denied }, req.id);
      }
    }
    if (auth.service === 'sagemaker' && isRuntimePath(req.raw.url)) {
      const endpointName = runtimeEndpointName(req.raw.url);
      if (endpointName && !isForwarded(req)) {
        const owner = await hosting.owner(endpointName);
        const sent = await toOwner(req, reply, owner, req.raw, () =>
          runtime.unavailable(
            reply,
            req.id,
            `The Apiary replica serving endpoint ${endpointName} did not answer; retry in a few seconds (another replica takes the endpoint over if it stays down).`,
          ),
        );
        if (sent) return;
      }
      const runtimeAuth = auth;
      return runtime.handle(
        req,
        reply,
        (payloadHash) => void authenticator.verify(signed, runtimeAuth, payloadHash, req.ip),
      );
    }
    if (auth.service !== 'sagemaker' && auth.service !== 'logs' && auth.service !== 'monitoring') {
      const otherAuth = auth;
      return otherServices.handle(
        req,
        reply,
        auth,
        (payloadHash) => void authenticator.verify(signed, otherAuth, payloadHash, req.ip),
      );
    }
    // JSON services (sagemaker control plane, logs, CloudWatch). What can be checked without the body is
    // checked before reading it (an unknown key, a skewed date, a signature over a declared
    // payload hash), so an unauthenticated sender never gets its megabytes buffered.
    try {
      const declaredHash = auth.contentSha256;
      if (declaredHash && /^[0-9a-f]{64}$/.test(declaredHash))
        authenticator.verify(signed, auth, declaredHash, req.ip);
      else authenticator.precheck(auth, req.ip);
    } catch (err) {
      if (!(err instanceof SigV4Error)) throw err;
      // The unread body is not drained: the connection closes after the answer.
      if (!req.raw.complete) void reply.header('connection', 'close');
      return sendJsonError(reply, jsonAuthError(err), req.id);
    }
    let body: Buffer;
    try {
      body = await readBody(
        req.raw,
        MAX_JSON_BODY_BYTES + 1024 * 1024,
        settings.smallBodyTimeoutMs,
      );
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        return sendJsonError(
          reply,
          {
            code: 'PayloadTooLarge',
            message: `The request body is larger than ${MAX_JSON_BODY_BYTES} bytes`,
          },
          req.id,
        );
      }
      throw err;
    }
    try {
      const declared = auth.contentSha256;
      const actual = body.length === 0 ? EMPTY_SHA256 : sha256Hex(body);
      if (declared && declared !== 'UNSIGNED-PAYLOAD' && declared !== actual) {
        throw new SigV4Error(
          'BadSignature',
          'The provided x-amz-content-sha256 header does not match what was computed.',
        );
      }
      authenticator.verify(
        signed,
        auth,
        declared === 'UNSIGNED-PAYLOAD' ? declared : actual,
        req.ip,
      );
    } catch (err) {
      if (!(err instanceof SigV4Error)) throw err;
      return sendJsonError(reply, jsonAuthError(err), req.id);
    }
    if (body.length > MAX_JSON_BODY_BYTES) {
      return sendJsonError(
        reply,
        {
          code: 'PayloadTooLarge',
          message: `The request body is larger than ${MAX_JSON_BODY_BYTES} bytes`,
        },
        req.id,
      );
    }
    const ownerOf = FORWARDED_OPS[String(req.headers['x-amz-target'] ?? '')];
    if (ownerOf && !isForwarded(req)) {
      let input: Record<string, unknown> = {};
      try {
        input = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        /* the protocol answers the malformed body below */
      }
      const owner = await ownerOf(input);
      if (owner) {
        const sent = await toOwner(req, reply, owner, body, () =>
          sendJsonError(
            reply,
            {
              code: 'ServiceUnavailable',
              message:
                'The Apiary replica that runs this resource did not answer; retry in a few seconds (another replica takes it over if it stays down).',
            },
            req.id,
          ),
        );
        if (sent) return;
      }
    }
    if (
      auth.service === 'sagemaker' &&
      req.method === 'POST' &&
      (req.raw.url === '/' || req.raw.url?.startsWith('/?'))
    ) {
      const r = await sagemaker.handle(
        req.headers['x-amz-target'] as string | undefined,
        body,
        auth.accessKeyId,
        req.id,
      );
      return sendJson(reply, r);
    }
    if (
      auth.service === 'logs' &&
      req.method === 'POST' &&
      (req.raw.url === '/' || req.raw.url?.startsWith('/?'))
    ) {
      return sendJson(
        reply,
        await logsApi.handle(
          req.headers['x-amz-target'] as string | undefined,
          body,
          auth.accessKeyId,
          req.id,
        ),
      );
    }
    if (
      auth.service === 'monitoring' &&
      req.method === 'POST' &&
      (req.raw.url === '/' || req.raw.url?.startsWith('/?'))
    ) {
      return sendJson(
        reply,
        withQueryErrorHeader(
          await cloudwatchApi.handle(
            req.headers['x-amz-target'] as string | undefined,
            body,
            auth.accessKeyId,
            req.id,
          ),
        ),
      );
    }
    return sendJsonError(
      reply,
      {
        code: 'UnknownRoute',
        message: `No ${auth.service} operation matches ${req.method} ${req.raw.url?.split('?')[0] ?? '/'}`,
      },
      req.id,
    );
  };

  app.route({
    method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH'],
    url: '/*',
    handler: dispatch,
  });

  return {
    app,
    settings,
    credentials,
    database,
    objects,
    hosting,
    identity,
    accessKeys,
    labeling,
    training,
    tuning,
    notebooks,
    coordinator,
    async listen() {
      // Background work runs only in a serving process, never in a CLI command that opens the
      // data dir (one would otherwise restore endpoints, or roll back an update in flight).
      await hosting.start();
      // Labeling ticks (initialising jobs, expiring claims, writing output) run on one replica.
      await coordinator.singleton('loop:labeling', {
        start: () => labeling.start(),
        stop: () => labeling.close(),
      });
      // Alarm evaluation runs on one replica of the cluster.
      await coordinator.singleton('loop:alarms', {
        start: () => metrics.evaluator.start(),
        stop: () => metrics.evaluator.stop(),
      });
      // S3 lifecycle expiration sweeps on one replica of the cluster.
      await coordinator.singleton('loop:s3-lifecycle', {
        start: () => lifecycleSweeper.start(),
        stop: () => lifecycleSweeper.stop(),
      });
      await app.listen({ port: settings.port, host: settings.host });
      const listening = app.server.address() as AddressInfo;
      const bound = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
      listeningUrl = `http://${bound === '0.0.0.0' ? '127.0.0.1' : bound}:${listening.port}`;
      await coordinator.start(settings.advertiseUrl || listeningUrl);
      // Training jobs run (and are reconciled after a restart) only in a listening server, never
      // in a CLI command that opens the data dir.
      await training.start();
      await tuning.start();
      metrics.start();
      await notebooks.start(listeningUrl);
      await accessKeys.start();
      return listeningUrl;
    },
    async close() {
      if (closed) return;
      closed = true;
      accessKeys.close();
      await app.close();
      await hosting.close();
      await metrics.close();
      await tuning.close();
      await training.close();
      await labeling.close();
      await notebooks.close();
      // Last: releasing the leases hands this replica's jobs and endpoints to the others at once.
      await coordinator.close();
      await database.close();
    },
  };
}

export { sagemakerArn };
