import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * `Expect: 100-continue`, answered when a handler first reads the body. Node's server sends
 * `100 Continue` for every such request before any handler runs; S3 sends it only to a request it
 * will serve, so a client whose request is refused (403, 404, …) gets that answer without having
 * sent its body. A refused request's connection is closed by Node (no 100 was sent), so the
 * unsent body is never read as the next request.
 */
export function continueOnFirstRead(server: Pick<Server, 'emit' | 'on'>): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    // _read runs when a consumer first asks for body bytes (data listener, pipe, read()).
    const stream = req as IncomingMessage & { _read(size: number): void };
    const read = stream._read;
    stream._read = function (this: IncomingMessage, size: number): void {
      stream._read = read;
      if (!res.headersSent && !res.writableEnded) res.writeContinue();
      read.call(this, size);
    };
    server.emit('request', req, res);
  });
}
