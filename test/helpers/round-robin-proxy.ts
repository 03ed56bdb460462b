import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small round-robin HTTP load balancer for tests: each request goes to the next backend; a
 * backend that refuses the connection is skipped (as a load balancer's health check would), and
 * the request goes to the next one. The Host header passes unchanged (it is part of the SigV4
 * signature). Not for production: bodies are buffered so a refused request can be re-sent.
 */
export interface RoundRobinProxy {
  readonly url: string;
  /** How many requests each backend answered. */
  readonly served: Map<string, number>;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(backends: readonly string[]): Promise<RoundRobinProxy> {
  let next = 0;
  const served = new Map<string, number>(backends.map((b) => [b, 0]));
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const start = next++ % backends.length;
      const attempt = (i: number): void => {
        if (i === backends.length) {
          res.writeHead(502, { 'content-type': 'text/plain' }).end('no backend answered\n');
          return;
        }
        const backend = backends[(start + i) % backends.length]!;
        const target = new URL(req.url ?? '/', backend);
        const headers = { ...req.headers };
        delete headers['transfer-encoding'];
        headers['content-length'] = String(body.length);
        const out = http.request(
          {
            hostname: target.hostname,
            port: target.port,
            method: req.method,
            path: target.pathname + target.search,
            headers,
          },
          (up) => {
            served.set(backend, (served.get(backend) ?? 0) + 1);
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        out.on('error', (err: NodeJS.ErrnoException) => {
          if (!res.headersSent && err.code === 'ECONNREFUSED') attempt(i + 1);
          else res.destroy(err);
        });
        out.end(body);
      };
      attempt(0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    served,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
