import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the request body exceeds ${limit} bytes`);
  }
}

/** A small (JSON) body that did not arrive within its deadline: the connection was cut. */
export class BodyTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the request body did not arrive within ${timeoutMs} ms`);
  }
}

/**
 * How long a whole small body (the JSON APIs, the console, login) may take to arrive. A slow
 * (possibly unauthenticated) sender cannot hold a connection and its buffer longer than this.
 */
export const SMALL_BODY_TIMEOUT_MS = 30_000;

/**
 * Cuts the connection when `req`'s body has not fully arrived within `timeoutMs`; returns the
 * function that disarms the deadline (call it once the body is read).
 */
export function bodyDeadline(req: IncomingMessage, timeoutMs = SMALL_BODY_TIMEOUT_MS): () => void {
  if (req.complete) return () => {};
  const timer = setTimeout(() => {
    req.destroy(new BodyTimeoutError(timeoutMs));
    req.socket?.destroy();
  }, timeoutMs);
  timer.unref();
  return () => clearTimeout(timer);
}

/**
 * Reads a whole request body, failing fast (without buffering the rest) past `limit` bytes or
 * past `timeoutMs`. A declared Content-Length over the limit is refused before any byte is read.
 */
export async function readBody(
  req: IncomingMessage,
  limit: number,
  timeoutMs = SMALL_BODY_TIMEOUT_MS,
): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new BodyTooLargeError(limit);
  }
  const disarm = bodyDeadline(req, timeoutMs);
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        req.resume();
        throw new BodyTooLargeError(limit);
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks, size);
  } finally {
    disarm();
  }
}
