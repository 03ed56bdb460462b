import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

export const CONSOLE_PREFIX = '/_apiary/ui/';

/**
 * The console's Content-Security-Policy: scripts and styles only from Apiary itself, no inline
 * scripts, no eval, no framing. Images may be blob: URLs (previews of files picked for upload or
 * for a test invocation) and data: URLs (fonts and icons bundled into the CSS).
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');
}

/**
 * Serves the built console (web/dist) at /_apiary/ui/. Hashed assets are immutable; every other
 * path under the prefix answers index.html so deep links work (the SPA routes on the client).
 */
export async function registerConsoleStatic(app: FastifyInstance, webRoot: string): Promise<void> {
  const root = path.resolve(webRoot);
  await app.register(fastifyStatic, { root, serve: false, decorateReply: true });

  const built = (): boolean => fs.existsSync(path.join(root, 'index.html'));

  const sendIndex = (reply: FastifyReply) => {
    if (!built()) {
      return securityHeaders(reply)
        .code(503)
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(
          '<!doctype html><title>Apiary console not built</title><h1>The console is not built</h1>' +
            '<p>Run <code>npm run build:web</code> and reload this page.</p>',
        );
    }
    securityHeaders(reply).header('cache-control', 'no-cache');
    return reply.sendFile('index.html', root, { cacheControl: false });
  };

  app.get('/_apiary/ui', async (_req, reply) => reply.redirect(CONSOLE_PREFIX));
  app.get('/_apiary/ui/*', async (req, reply) => {
    const rel = (req.params as { '*': string })['*'] ?? '';
    // Only files the build wrote: a plain relative path under root, no dot segments.
    if (
      rel &&
      /^[A-Za-z0-9._\-/]+$/.test(rel) &&
      !rel.split('/').some((s) => s === '' || s === '.' || s === '..')
    ) {
      const file = path.join(root, rel);
      if (file.startsWith(root + path.sep) && fs.existsSync(file) && fs.statSync(file).isFile()) {
        securityHeaders(reply);
        const immutable = rel.startsWith('assets/');
        return reply.sendFile(rel, root, {
          cacheControl: true,
          immutable,
          maxAge: immutable ? 365 * 24 * 3600 * 1000 : 0,
        });
      }
      // A missing hashed asset is a 404, not the app (a stale tab after a rebuild).
      if (rel.startsWith('assets/')) {
        return reply.code(404).header('content-type', 'text/plain').send('Not found');
      }
    }
    return sendIndex(reply);
  });
}
