import type { FastifyInstance } from 'fastify';
import { sendApiError } from './errors.js';

const LOOPBACK_NAMES: readonly string[] = ['localhost', '127.0.0.1', '::1', '[::1]'];
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Probes a load balancer sends by address: never refused for their Host. */
const PROBES = new Set(['/_apiary/health', '/_apiary/ready']);

/**
 * The host names the console answers to: APIARY_ALLOWED_HOSTS when set; else, on a loopback
 * bind, the loopback names only (a DNS-rebinding page on another name is refused); else any.
 */
export function allowedConsoleHosts(
  bindHost: string,
  configured: string,
): readonly string[] | 'any' {
  const list = configured
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  if (list.length > 0) return list;
  return LOOPBACK_NAMES.includes(bindHost.toLowerCase()) ? LOOPBACK_NAMES : 'any';
}

/** The host name of a Host header value (`name:port`, `[v6]:port`), lower case. */
export function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon > 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

/**
 * Guards the console and portal (`/_apiary/…`): the Host must be one the console answers to
 * (DNS rebinding), and a mutating request that carries an Origin must come from this same host
 * (cross-site requests, on top of SameSite cookies and the CSRF header).
 */
export function registerOriginGuard(
  app: FastifyInstance,
  allowed: readonly string[] | 'any',
): void {
  app.addHook('onRequest', async (req, reply) => {
    const url = req.raw.url ?? '';
    if (!url.startsWith('/_apiary/') || PROBES.has(url.split('?')[0]!)) return;
    const host = String(req.headers.host ?? '');
    if (allowed !== 'any' && !allowed.includes(hostName(host))) {
      return sendApiError(
        reply,
        'Forbidden',
        `This console does not answer to the host name '${hostName(host)}' (set APIARY_ALLOWED_HOSTS to allow it)`,
      );
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !SAFE_METHODS.has(req.method)) {
      let originHost = '';
      try {
        originHost = new URL(origin).host.toLowerCase();
      } catch {
        /* 'null' or junk: no match */
      }
      if (originHost !== host.toLowerCase()) {
        return sendApiError(
          reply,
          'Forbidden',
          `Requests from ${origin} may not change anything here`,
        );
      }
    }
  });
}
