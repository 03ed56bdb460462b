import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { ObjectStore } from '../../objects/index.js';
import type { Clock } from '../../shared/clock.js';
import type { Identity } from '../../identity/index.js';
import { isAppError } from '../../shared/errors.js';
import { BodyTooLargeError, readBody } from '../http.js';
import { wireError } from '../error-catalog.js';
import { SAGEMAKER_ERRORS } from '../sagemaker/errors.js';
import {
  jsonErrorResponse,
  MAX_JSON_BODY_BYTES,
  type JsonProtocol,
} from '../sagemaker/protocol.js';
import { ConsoleError, renderConsoleError, sendConsoleError } from './errors.js';
import { publicUser, requireUser, sendApiJson, sessionTokenOf } from './http.js';
import { LiveHub, WatchError, type LiveResult } from './live.js';
import { registerJobViews, type HostingViews, type TrainingViews } from './job-views.js';
import { endpointCloudWatchView, endpointDeploymentsView } from './deployment-views.js';
import type { Metrics } from '../../metrics/index.js';
import { registerManifestRoutes } from './manifests.js';
import { registerS3Views } from './s3-views.js';
import type { BucketDenyEnv } from '../bucket-deny.js';
import { registerConsoleStatic } from './static.js';
import { textOf } from '../../shared/text.js';

export { CONSOLE_CSP, CONSOLE_PREFIX } from './static.js';
export { LiveHub } from './live.js';
export { boxLabelsOf, manifestStamp } from './manifests.js';

export interface ConsoleDeps {
  /** The SageMaker JSON 1.1 protocol the SigV4 API runs; the console calls it for signed-in admins. */
  readonly sagemaker: JsonProtocol;
  readonly objects: ObjectStore;
  readonly identity: Identity;
  readonly clock: Clock;
  /** Operations run as this access key (the account's root key): console admins act for the account. */
  readonly accessKeyId: string;
  /** Bucket policies (the S3 API's own store and cache): the S3 views obey their explicit Deny. */
  readonly bucketPolicies: BucketDenyEnv;
  /** Training logs and metric series (the console's job detail). */
  readonly training?: TrainingViews;
  /** The runtime, for the endpoint page's test invocation. */
  readonly hosting?: HostingViews;
  /** CloudWatch metrics and alarms, for the endpoint page's charts and deployment view. */
  readonly metrics?: Metrics;
  /** The built console; default `<repo>/web/dist`. */
  readonly webRoot?: string;
  /** How often watched resources are polled for the live stream; default 1500 ms. */
  readonly liveIntervalMs?: number;
}

export interface ConsoleHandle {
  readonly live: LiveHub;
  /** Ends the live streams (before the server closes, so close() does not wait on them). */
  close(): void;
}

/** `<repo>/web/dist`, found from this file both in src/ (tsx) and in a compiled dist/. */
export function defaultWebRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'web')))
      return path.join(dir, 'web', 'dist');
    dir = path.dirname(dir);
  }
  return path.resolve('web/dist');
}

const READ_ONLY_OP = /^SageMaker\.(Describe|List|Search|Get)/;

/**
 * The console's server side (`/_apiary/...`): the built SPA at /_apiary/ui/, and the JSON API at
 * /_apiary/api/ for signed-in admins — the SageMaker operations through the very same protocol
 * object as the SigV4 API (same validation, same errors), object-store views, manifest actions and
 * the live-update stream.
 */
export async function registerConsole(
  app: FastifyInstance,
  deps: ConsoleDeps,
): Promise<ConsoleHandle> {
  const admin = requireUser(deps.identity, ['admin']);

  const hostingView = async (
    what: string,
    read: (hosting: HostingViews) => Promise<unknown>,
  ): Promise<LiveResult> => {
    if (!deps.hosting)
      return {
        ok: false,
        code: 'ValidationException',
        message: 'This server does not host endpoints',
      };
    try {
      return { ok: true, output: await read(deps.hosting) };
    } catch (err) {
      if (isAppError(err)) return { ok: false, code: err.code, message: err.message };
      app.log.error({ err }, `${what} failed`);
      return { ok: false, code: 'InternalFailure', message: `The ${what} could not be read` };
    }
  };

  const live = new LiveHub(async (op, input) => {
    if (op === 'ApiaryEndpointMetrics') {
      // Per variant: invocations, latency, what it holds (the SageMaker console's CloudWatch graphs).
      if (typeof input.EndpointName !== 'string')
        return {
          ok: false,
          code: 'ValidationException',
          message: 'ApiaryEndpointMetrics needs {"EndpointName": "..."}',
        };
      const name = input.EndpointName;
      return hostingView('endpoint metrics', async (h) => ({
        Variants: await h.endpointMetrics(name),
      }));
    }
    if (op === 'ApiaryEndpointDeployments' || op === 'ApiaryEndpointCloudWatch') {
      // The deployment history with its traffic timeline and alarm states; the CloudWatch charts.
      if (typeof input.EndpointName !== 'string')
        return {
          ok: false,
          code: 'ValidationException',
          message: `${op} needs {"EndpointName": "..."}`,
        };
      const name = input.EndpointName;
      if (op === 'ApiaryEndpointDeployments')
        return hostingView('endpoint deployments', (h) =>
          endpointDeploymentsView(h.deploymentLog, deps.metrics, name),
        );
      const metrics = deps.metrics;
      if (!metrics)
        return {
          ok: false,
          code: 'ValidationException',
          message: 'This server keeps no CloudWatch metrics',
        };
      const minutes =
        typeof input.Minutes === 'number' && input.Minutes >= 1 && input.Minutes <= 1440
          ? input.Minutes
          : 60;
      return hostingView('endpoint metrics', () =>
        endpointCloudWatchView(metrics, name, deps.clock.nowMs(), minutes),
      );
    }
    if (op === 'ApiaryEndpointsUsage') {
      // Every serving endpoint's footprint and last invocation (idle endpoints in the list).
      return hostingView('endpoint usage', async (h) => ({ Endpoints: await h.endpointsUsage() }));
    }
    if (op.startsWith('Apiary'))
      return {
        ok: false,
        code: 'UnknownOperationException',
        message: `No console view named ${op}`,
      };
    const r = await deps.sagemaker.handle(
      `SageMaker.${op}`,
      Buffer.from(JSON.stringify(input)),
      deps.accessKeyId,
    );
    const body = JSON.parse(r.body) as Record<string, unknown>;
    if (r.status === 200) return { ok: true, output: body };
    return {
      ok: false,
      code: textOf(body.__type, 'InternalFailure'),
      message: textOf(body.message),
    };
  }, deps.liveIntervalMs);

  // Who is signed in, without a 401 for "nobody" (the page asks before it knows; a 401 would be
  // logged as an error in the browser console on every visit to the sign-in page).
  app.get('/_apiary/api/session', async (req, reply) => {
    const token = sessionTokenOf(req);
    const user = token ? await deps.identity.authenticate(token) : undefined;
    if (!user || !token) return sendApiJson(reply, { user: null });
    return sendApiJson(reply, {
      user: publicUser(user),
      csrfToken: deps.identity.csrfTokenFor(token),
    });
  });

  // The SageMaker control plane for cookie sessions: X-Amz-Target names the operation, the body is
  // the operation's JSON input, the answer is exactly what the SigV4 API would answer.
  app.post('/_apiary/api/sagemaker', { preHandler: admin }, async (req, reply) => {
    let body: Buffer;
    try {
      body = await readBody(req.raw, MAX_JSON_BODY_BYTES);
    } catch (err) {
      if (!(err instanceof BodyTooLargeError)) throw err;
      const e = jsonErrorResponse(
        wireError(
          SAGEMAKER_ERRORS,
          'PayloadTooLarge',
          `The request body is larger than ${MAX_JSON_BODY_BYTES} bytes`,
        ),
        req.id,
      );
      return reply.code(e.status).headers(e.headers).send(e.body);
    }
    const target = req.headers['x-amz-target'];
    const r = await deps.sagemaker.handle(
      typeof target === 'string' ? target : undefined,
      body,
      deps.accessKeyId,
      req.id,
    );
    if (r.status === 200 && typeof target === 'string' && !READ_ONLY_OP.test(target)) live.kick();
    return reply
      .code(r.status)
      .headers({ ...r.headers, 'cache-control': 'no-store' })
      .send(r.body);
  });

  // Which SageMaker operations this server implements (the console hides actions it cannot do).
  app.get('/_apiary/api/operations', { preHandler: admin }, async (_req, reply) =>
    sendApiJson(reply, { operations: deps.sagemaker.operationNames().sort() }),
  );

  // Live updates: GET /_apiary/api/events?w=[{"op":"DescribeEndpoint","input":{"EndpointName":"x"}}]
  app.get('/_apiary/api/events', { preHandler: admin }, async (req, reply) => {
    let watches;
    try {
      watches = LiveHub.parseWatches((req.query as Record<string, string | undefined>).w);
    } catch (err) {
      return sendConsoleError(
        reply,
        err instanceof WatchError ? new ConsoleError('ValidationError', err.message) : err,
      );
    }
    reply.hijack();
    try {
      live.open(reply.raw, watches);
    } catch (err) {
      if (!(err instanceof WatchError))
        app.log.error({ err, requestId: req.id }, 'live stream failed to start');
      const message = err instanceof WatchError ? err.message : 'The live stream could not start';
      const e = renderConsoleError(new ConsoleError('ServiceUnavailable', message));
      reply.raw.writeHead(e.status, e.headers);
      reply.raw.end(e.body);
    }
  });

  const streams = new Set<() => void>();
  registerJobViews(app, { training: deps.training, hosting: deps.hosting, streams }, admin);
  registerS3Views(app, deps.objects, deps.bucketPolicies, admin);
  registerManifestRoutes(
    app,
    { objects: deps.objects, clock: deps.clock, policies: deps.bucketPolicies },
    admin,
  );
  await registerConsoleStatic(app, deps.webRoot ?? defaultWebRoot());

  // Streams never end on their own: end them first, or close() would wait for them.
  const closeStreams = () => {
    live.close();
    for (const end of streams) end();
  };
  app.addHook('preClose', (done) => {
    closeStreams();
    done();
  });

  return { live, close: closeStreams };
}
