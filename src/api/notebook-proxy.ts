import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../identity/index.js';
import type { Notebooks } from '../notebooks/index.js';
import { notebookBasePath } from '../notebooks/index.js';
import { parseCookies, SESSION_COOKIE } from './console/http.js';

/** The cookie a presigned URL leaves, scoped to its instance's path. */
export const NOTEBOOK_SESSION_COOKIE = 'apiary_notebook';
const PREFIX = '/_apiary/notebooks/';

/** `/_apiary/notebooks/<name>/rest?q` → name and the rest (with the query). */
function split(rawUrl: string): { name: string; rest: string } | undefined {
  if (!rawUrl.startsWith(PREFIX)) return undefined;
  const tail = rawUrl.slice(PREFIX.length);
  const cut = tail.search(/[/?]/);
  const name = cut < 0 ? tail : tail.slice(0, cut);
  if (!/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/.test(name)) return undefined;
  const rest = cut < 0 ? '' : tail.slice(cut);
  return { name, rest: rest.startsWith('/') ? rest.slice(1) : rest };
}

type Verdict = { ok: true } | { ok: false; status: number; message: string };

/**
 * Who may reach an instance: a console user with the admin role (any instance), or the holder of
 * that instance's session from a presigned URL. Worker accounts and other instances' sessions
 * are refused.
 */
async function authorize(
  deps: ProxyDeps,
  name: string,
  cookieHeader: string | undefined,
): Promise<Verdict> {
  const cookies = parseCookies(cookieHeader);
  if (await deps.notebooks.sessionAllows(name, cookies[NOTEBOOK_SESSION_COOKIE]))
    return { ok: true };
  const user = await deps.identity.authenticate(cookies[SESSION_COOKIE]);
  if (user && user.role === 'admin') return { ok: true };
  if (user)
    return { ok: false, status: 403, message: 'Your account may not open notebook instances.' };
  if (cookies[NOTEBOOK_SESSION_COOKIE]) {
    return {
      ok: false,
      status: 403,
      message: `This session does not open the notebook instance ${name}.`,
    };
  }
  return {
    ok: false,
    status: 403,
    message:
      'Sign in to the Apiary console, or open a URL from CreatePresignedNotebookInstanceUrl.',
  };
}

interface ProxyDeps {
  readonly notebooks: Notebooks;
  readonly identity: Identity;
}

function sendText(reply: FastifyReply, status: number, message: string): void {
  void reply
    .code(status)
    .header('content-type', 'text/plain; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(`${message}\n`);
}

/** Headers passed upstream: the client's, less Apiary's cookies, plus JupyterLab's token. */
function upstreamHeaders(
  headers: http.IncomingHttpHeaders,
  token: string,
): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = { ...headers, authorization: `token ${token}` };
  const cookie = headers.cookie
    ?.split(';')
    .map((c) => c.trim())
    .filter(
      (c) =>
        !c.startsWith(`${SESSION_COOKIE}=`) &&
        !c.startsWith(`${NOTEBOOK_SESSION_COOKIE}=`) &&
        !c.startsWith('apiary_csrf='),
    )
    .join('; ');
  if (cookie) out.cookie = cookie;
  else delete out.cookie;
  return out;
}

/**
 * HTTP and WebSocket proxy to each instance's JupyterLab (a unix socket inside its folder; the
 * token JupyterLab wants is added here and never leaves Apiary). A presigned URL's `authToken`
 * is redeemed once and becomes a cookie for the instance's path.
 */
export function registerNotebookProxy(app: FastifyInstance, deps: ProxyDeps): void {
  const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const parts = split(req.raw.url ?? '');
    if (!parts) return sendText(reply, 404, 'No notebook instance has that name.');
    const url = new URL(req.raw.url ?? '/', 'http://apiary');
    const authToken = url.searchParams.get('authToken');
    if (authToken !== null) {
      const redeemed = await deps.notebooks.redeem(parts.name, authToken);
      if (!redeemed)
        return sendText(
          reply,
          403,
          'This presigned URL is invalid, was used already, or expired; create a new one.',
        );
      const target = await deps.notebooks.target(parts.name);
      const base = notebookBasePath(target?.name ?? parts.name);
      return void reply
        .header(
          'set-cookie',
          `${NOTEBOOK_SESSION_COOKIE}=${redeemed.session}; Path=${base}; Max-Age=${redeemed.maxAgeSeconds}; SameSite=Lax; HttpOnly`,
        )
        .header('cache-control', 'no-store')
        .redirect(`${base}lab`, 302);
    }
    const verdict = await authorize(deps, parts.name, req.headers.cookie);
    if (!verdict.ok) return sendText(reply, verdict.status, verdict.message);
    const target = await deps.notebooks.target(parts.name);
    if (!target)
      return sendText(
        reply,
        503,
        `The notebook instance ${parts.name} is not InService; start it and wait until it is.`,
      );
    reply.hijack();
    const upstream = http.request(
      {
        socketPath: target.socket,
        method: req.method,
        path: `${notebookBasePath(target.name)}${parts.rest}`,
        headers: upstreamHeaders(req.headers, target.token),
      },
      (res) => {
        reply.raw.writeHead(res.statusCode ?? 502, res.headers);
        res.pipe(reply.raw);
      },
    );
    upstream.on('error', () => {
      if (!reply.raw.headersSent) reply.raw.writeHead(502, { 'content-type': 'text/plain' });
      reply.raw.end('The notebook instance did not answer.\n');
    });
    req.raw.pipe(upstream);
  };
  app.route({
    method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'],
    url: `${PREFIX}*`,
    handler,
  });

  // WebSockets (kernels, terminals): the same checks, then the raw sockets are joined.
  app.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const parts = split(req.url ?? '');
    if (!parts) return; // not ours: other upgrade handlers (none today) or node closes it
    const refuse = (status: number, message: string): void => {
      socket.end(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n${message}\n`,
      );
    };
    // A page of another site may not open a kernel with the user's cookie.
    const origin = req.headers.origin;
    if (origin && new URL(origin).host !== req.headers.host)
      return refuse(403, 'Cross-origin WebSocket refused.');
    void (async () => {
      const verdict = await authorize(deps, parts.name, req.headers.cookie);
      if (!verdict.ok) return refuse(verdict.status, verdict.message);
      const target = await deps.notebooks.target(parts.name);
      if (!target) return refuse(503, `The notebook instance ${parts.name} is not InService.`);
      const upstream = http.request({
        socketPath: target.socket,
        method: req.method,
        path: `${notebookBasePath(target.name)}${parts.rest}`,
        headers: upstreamHeaders(req.headers, target.token),
      });
      upstream.on('upgrade', (res, upSocket, upHead) => {
        const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage}`];
        for (let i = 0; i < res.rawHeaders.length; i += 2)
          lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
        socket.write(`${lines.join('\r\n')}\r\n\r\n`);
        if (upHead.length > 0) socket.write(upHead);
        if (head.length > 0) upSocket.write(head);
        upSocket.pipe(socket).pipe(upSocket);
        upSocket.on('error', () => socket.destroy());
        socket.on('error', () => upSocket.destroy());
      });
      upstream.on('response', (res) => {
        refuse(res.statusCode ?? 502, 'The notebook instance refused the WebSocket.');
        res.resume();
      });
      upstream.on('error', () => refuse(502, 'The notebook instance did not answer.'));
      upstream.end();
    })().catch(() => refuse(500, 'Internal error'));
  });
}
