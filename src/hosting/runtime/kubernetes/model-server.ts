import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { InvokeError } from '../errors.js';
import { ServingMetrics } from '../metrics.js';
import { loadDetectorSpec } from '../model-spec.js';
import { OnnxVariant } from '../onnx-variant.js';
import type { ServingLimits } from '../variant-server.js';

const LIMITS: ServingLimits = {
  ortThreads: 0,
  maxBatch: 1,
  maxBatchWaitMs: 0,
  queuePerInstance: 16,
  maxInputPixels: 40_000_000,
  startupTimeoutSeconds: 60,
  invocationTimeoutSeconds: 60,
};

/**
 * The built-in detector's serving container (`serve` in the algorithm image, APIARY_HOSTING=
 * kubernetes): SageMaker's contract on `port` — `GET /ping` 200 once the model is loaded,
 * `POST /invocations` answered by the same ONNX runtime Apiary uses in process. Errors answer
 * with their status and `{"message"}`, which Apiary turns into a ModelError.
 */
export async function startModelServer(opts: {
  modelDir: string;
  port: number;
  host?: string;
  log?: (msg: string) => void;
}): Promise<{ url: string; close(): Promise<void> }> {
  const spec = await loadDetectorSpec(opts.modelDir);
  const variant = new OnnxVariant(
    'model',
    'serve',
    opts.modelDir,
    spec,
    LIMITS,
    new ServingMetrics(),
    opts.log,
  );
  await variant.start(1);
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/ping')
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/invocations') {
      return void res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: `no route ${req.method} ${req.url}` }));
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const header = (n: string) =>
        typeof req.headers[n] === 'string' ? (req.headers[n] as string) : undefined;
      variant
        .invoke({
          body: Buffer.concat(chunks),
          contentType: header('content-type'),
          accept: header('accept'),
          customAttributes: header('x-amzn-sagemaker-custom-attributes'),
          inferenceId: header('x-amzn-sagemaker-inference-id'),
          receivedAt: performance.now(),
        })
        .then(
          (r) => res.writeHead(200, { 'content-type': r.contentType }).end(r.body),
          (e: unknown) => {
            const status = e instanceof InvokeError ? e.status : 500;
            res
              .writeHead(status, { 'content-type': 'application/json' })
              .end(JSON.stringify({ message: (e as Error).message }));
          },
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port, opts.host ?? '0.0.0.0', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    async close() {
      await new Promise((r) => server.close(r));
      await variant.stop(5_000);
    },
  };
}
