import { performance } from 'node:perf_hooks';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preHandlerAsyncHookHandler,
} from 'fastify';
import type { Hosting } from '../../hosting/index.js';
import type { Training } from '../../training/index.js';
import { sendApiJson } from './http.js';
import { BodyTooLargeError, readBody } from '../http.js';
import { ConsoleError, sendConsoleError } from './errors.js';
import { textOf } from '../../shared/text.js';

/** SageMaker Runtime's payload limit, the same for the console's test invocation. */
export const MAX_TEST_INVOKE_BYTES = 6 * 1024 * 1024;
const MAX_LOG_LINES = 1000;

export type TrainingViews = Pick<Training, 'readLogs' | 'metricSeries'>;
export type HostingViews = Pick<
  Hosting,
  'invoke' | 'endpointMetrics' | 'endpointsUsage' | 'deploymentLog'
>;

function intQuery(raw: unknown, name: string, min: number, max: number, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ConsoleError(
      'ValidationError',
      `${name} must be an integer between ${min} and ${max}; got '${textOf(raw)}'`,
    );
  return n;
}

/**
 * Views the SageMaker API has no operation for: a training job's log lines and metric series
 * (CloudWatch's job in SageMaker), a live tail of the log over SSE, and the test invocation of an
 * endpoint through the same runtime InvokeEndpoint uses.
 */
export function registerJobViews(
  app: FastifyInstance,
  deps: { training?: TrainingViews; hosting?: HostingViews; streams: Set<() => void> },
  guard: preHandlerAsyncHookHandler,
): void {
  const route = (
    method: 'GET' | 'POST',
    url: string,
    handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
  ) =>
    app.route({
      method,
      url,
      preHandler: guard,
      handler: async (req, reply) => {
        try {
          return await handler(req, reply);
        } catch (err) {
          return sendConsoleError(reply, err);
        }
      },
    });
  const name = (req: FastifyRequest) => (req.params as { name: string }).name;

  const { training, hosting } = deps;
  if (training) {
    route('GET', '/_apiary/api/training-jobs/:name/logs', async (req, reply) => {
      const q = req.query as Record<string, unknown>;
      const from = intQuery(q.from, 'from', 0, Number.MAX_SAFE_INTEGER, 0);
      const limit = intQuery(q.limit, 'limit', 1, MAX_LOG_LINES, 500);
      return sendApiJson(reply, await training.readLogs(name(req), from, limit));
    });

    route('GET', '/_apiary/api/training-jobs/:name/metrics', async (req, reply) => {
      return sendApiJson(reply, { series: await training.metricSeries(name(req)) });
    });

    // Live tail: new log lines pushed as they are written (one cheap index read per second).
    route('GET', '/_apiary/api/training-jobs/:name/logs/stream', async (req, reply) => {
      const job = name(req);
      let from = intQuery(
        (req.query as Record<string, unknown>).from,
        'from',
        0,
        Number.MAX_SAFE_INTEGER,
        0,
      );
      await training.readLogs(job, from, 1); // 400 for an unknown job before the stream starts
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        connection: 'keep-alive',
      });
      res.write('retry: 3000\n\n');
      let busy = false;
      let beats = 0;
      const push = async () => {
        if (busy) return;
        busy = true;
        try {
          for (;;) {
            const r = await training.readLogs(job, from, MAX_LOG_LINES);
            if (r.lines.length === 0) break;
            from = r.next;
            res.write(
              `event: lines\ndata: ${JSON.stringify({ lines: r.lines, next: r.next })}\n\n`,
            );
            if (r.lines.length < MAX_LOG_LINES) break;
          }
          if (++beats % 15 === 0) res.write(': keep-alive\n\n');
        } catch {
          res.end();
        } finally {
          busy = false;
        }
      };
      const timer = setInterval(() => void push(), 1000);
      timer.unref();
      const stop = () => {
        clearInterval(timer);
        deps.streams.delete(end);
      };
      const end = () => {
        stop();
        res.end();
      };
      deps.streams.add(end);
      res.on('close', stop);
      void push();
    });
  }

  if (hosting) {
    route('POST', '/_apiary/api/endpoints/:name/invocations', async (req, reply) => {
      let body: Buffer;
      try {
        body = await readBody(req.raw, MAX_TEST_INVOKE_BYTES);
      } catch (err) {
        if (err instanceof BodyTooLargeError)
          throw new ConsoleError(
            'PayloadTooLarge',
            `The image is larger than ${MAX_TEST_INVOKE_BYTES} bytes (6 MiB), the most InvokeEndpoint accepts`,
          );
        throw err;
      }
      if (body.length === 0)
        throw new ConsoleError('ValidationError', 'Send the image as the request body');
      const header = (h: string) => {
        const v = req.headers[h];
        return typeof v === 'string' && v !== '' ? v : undefined;
      };
      // An InvokeError reaches the console's boundary (route()) like any other route error.
      const r = await hosting.invoke(name(req), header('x-amzn-sagemaker-target-variant'), {
        body,
        contentType: header('content-type'),
        accept: header('accept'),
        customAttributes: undefined,
        inferenceId: undefined,
        receivedAt: performance.now(),
      });
      return reply
        .code(200)
        .header('content-type', r.response.contentType)
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff')
        .header('x-amzn-invoked-production-variant', r.variant)
        .send(r.response.body);
    });
  }
}
