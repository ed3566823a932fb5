import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createProxyServer } from 'http-proxy-3';
import type { Identity, TokenVerifier } from '../auth/index.js';
import { BrokerError, notFound } from './errors.js';
import { notebookPath, notebookSecrets, notebookSocket } from './notebook.js';
import { caller } from './routes.js';
import type { BrokerService } from './service.js';
import * as store from './store.js';

/**
 * The reverse proxy in front of a session's notebook server, HTTP and websockets
 * (http-proxy-3), under /broker/sessions/{uuid}/notebook/.
 *
 * Who may pass: the session's owner, as for every broker route; anyone else gets the 404
 * of a session that does not exist. A browser cannot put a bearer token on a navigation or
 * a websocket, so the first request may carry it as `?access_token=` (RFC 6750 §2.3): the
 * node checks it, answers with a cookie and a redirect to the same URL without the token
 * (out of the address bar and history). The cookie is not the token: it is a random secret
 * of this one session, HttpOnly (the notebook's own JavaScript cannot read it), SameSite
 * Strict (another site cannot make the browser send it, websockets included), scoped to
 * this session's proxy path, and it ends with the session; a leak exposes one notebook,
 * not the user's token for every service of the node. API clients may send
 * `Authorization: Bearer` on every request instead.
 *
 * The notebook server listens on a unix socket only (no port) and has a random token of
 * its own (notebook.ts); the node replaces the caller's credentials with that token on
 * every request, so the user's token never reaches the server and the server's never
 * reaches the browser.
 */

const COOKIE = 'vonode_notebook';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ROUTE = /^\/broker\/sessions\/([^/?#]+)\/notebook(\/[^?#]*)?(\?.*)?$/;

export interface ProxyContext {
  readonly service: BrokerService;
  readonly pool: import('pg').Pool;
  /** Public URL of the broker, e.g. https://node.example/broker */
  readonly base: string;
  readonly verifier?: TokenVerifier;
}

function cookieValue(header: string | undefined): string[] {
  if (!header) return [];
  return header
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c.startsWith(`${COOKIE}=`))
    .map((c) => c.slice(COOKIE.length + 1));
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The caller's other cookies (Jupyter's own _xsrf and login cookies), without the node's. */
function withoutOurCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const rest = header
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c && !c.startsWith(`${COOKIE}=`));
  return rest.length ? rest.join('; ') : undefined;
}

type Target = { session: store.StoredSession; socket: string; token: string; cookie: string };

/**
 * The running notebook server of a session, or the broker error saying why not: 404 for
 * no such session (or another user's: EB privacy, as for every session route), 503 while
 * it starts, 409 once it has ended.
 */
async function target(ctx: ProxyContext, uuid: string): Promise<Target> {
  if (!UUID.test(uuid)) throw notFound(`no session ${uuid}`);
  const session = await store.getSession(ctx.pool, uuid);
  if (!session) throw notFound(`no session ${uuid}`);
  return { session, socket: notebookSocket(session.workDir, uuid), token: '', cookie: '' };
}

async function ready(t: Target): Promise<Target> {
  const s = t.session;
  const ex = s.request.executable;
  if (ex.kind !== 'notebook' || ex.mode === 'batch')
    throw notFound(`session ${s.uuid} has no notebook server`);
  if (['OFFERED', 'ACCEPTED', 'WAITING', 'PREPARING', 'AVAILABLE'].includes(s.phase))
    throw new BrokerError(
      503,
      'uri:not-ready',
      `session ${s.uuid} is ${s.phase}; its notebook server is not running yet`,
    );
  if (s.phase !== 'RUNNING')
    throw new BrokerError(
      409,
      'uri:invalid-state',
      `session ${s.uuid} is ${s.phase}; its notebook server has stopped`,
    );
  const secrets = await notebookSecrets(s.workDir);
  if (!secrets)
    throw new BrokerError(503, 'uri:not-ready', `session ${s.uuid}: the notebook server is starting`);
  return { ...t, ...secrets };
}

/** Whether one of the cookies sent is the session's proxy secret (none for other kinds of session). */
async function cookieMatches(s: store.StoredSession, sent: readonly string[]): Promise<boolean> {
  if (sent.length === 0 || s.request.executable.kind !== 'notebook') return false;
  const secrets = await notebookSecrets(s.workDir);
  return secrets !== undefined && sent.some((c) => sameSecret(c, secrets.cookie));
}

/** 401 with the broker's Bearer challenge. */
function unauthenticated(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  caller(request, reply);
  return reply;
}

/** Seconds left to the session's time limit: the cookie's lifetime. */
function secondsLeft(s: store.StoredSession): number {
  const start = s.started?.getTime() ?? Date.now();
  return Math.max(1, Math.ceil((start + s.allocation.durationSeconds * 1000 - Date.now()) / 1000));
}

export async function notebookProxy(app: FastifyInstance, ctx: ProxyContext): Promise<void> {
  const basePath = new URL(ctx.base).pathname.replace(/\/broker$/, '');
  const secure = ctx.base.startsWith('https:');
  const proxy = createProxyServer({ xfwd: false, ws: true });
  const upgraded = new Set<Duplex>();
  proxy.on('error', () => {
    // Answered per request (see the callbacks below).
  });

  /** Points a raw request at the server: its path under Jupyter's base_url, its credentials replaced. */
  const rewrite = (raw: IncomingMessage, uuid: string, rest: string, search: string, token: string) => {
    raw.url = `${notebookPath(basePath, uuid)}${rest.replace(/^\//, '')}${search}`;
    raw.headers.authorization = `token ${token}`;
    const cookies = withoutOurCookie(raw.headers.cookie);
    if (cookies) raw.headers.cookie = cookies;
    else delete raw.headers.cookie;
  };

  // The request bodies are the notebook server's (notebooks saved as JSON, uploads): they
  // stay unread in the raw request, which the proxy streams on. (Not handed over as the
  // parsed body either: the node's NUL check walks parsed bodies, and a stream is no body.)
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

  const handle = async (
    request: FastifyRequest<{ Params: { uuid: string; '*'?: string } }>,
    reply: FastifyReply,
  ) => {
    const { uuid } = request.params;
    const url = new URL(request.url, 'http://node.invalid');
    // The path as sent (still percent-encoded), not fastify's decoded parameter.
    const rest = ROUTE.exec(request.url)?.[2] ?? '/';
    const sent = cookieValue(request.headers.cookie);
    // No credentials: 401 before anything is looked up, as on every broker route.
    if (request.identity.sub === null && !url.searchParams.has('access_token') && sent.length === 0)
      return unauthenticated(request, reply);
    let t = await target(ctx, uuid).catch((err) => {
      // A cookie alone proves nothing about a session: no different answer when it is absent.
      if (request.identity.sub === null && !url.searchParams.has('access_token')) return undefined;
      throw err;
    });
    if (!t) return unauthenticated(request, reply);
    const owner = t.session.owner;
    const other = () => notFound(`no session ${uuid}`);
    // 1. A bearer token on the request (API clients).
    if (request.identity.sub !== null) {
      if (request.identity.sub !== owner) throw other();
      t = await ready(t);
    } else if (url.searchParams.has('access_token')) {
      // 2. A browser's first request: the token in the query, exchanged for the cookie.
      if (!ctx.verifier) return unauthenticated(request, reply);
      let identity: Identity;
      try {
        identity = await ctx.verifier.verify(url.searchParams.get('access_token') as string);
      } catch (err) {
        throw new BrokerError(401, 'uri:invalid-token', `access_token refused: ${(err as Error).message}`);
      }
      if (identity.sub !== owner) throw other();
      t = await ready(t);
      url.searchParams.delete('access_token');
      const path = notebookPath(basePath, uuid);
      reply.header(
        'set-cookie',
        `${COOKIE}=${t.cookie}; Path=${path}; Max-Age=${secondsLeft(t.session)}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`,
      );
      const search = url.searchParams.size ? `?${url.searchParams}` : '';
      return reply.code(303).header('location', `${basePath}${url.pathname}${search}`).send();
    } else {
      // 3. The cookie of this session, checked before anything about the session is told.
      if (!(await cookieMatches(t.session, sent))) return unauthenticated(request, reply);
      t = await ready(t);
    }
    rewrite(request.raw, uuid, rest, url.search, t.token);
    reply.hijack();
    proxy.web(
      request.raw,
      reply.raw,
      { target: { host: 'localhost', port: 80, socketPath: t.socket } },
      (err) => {
        const res = reply.raw;
        if (res.headersSent) {
          res.destroy();
          return;
        }
        // ENOENT / ECONNREFUSED: the server has not opened its socket yet (or has just ended).
        res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '1' });
        res.end(
          JSON.stringify({
            kind: 'uri:error',
            messages: [
              {
                type: 'uri:not-ready',
                level: 'ERROR',
                time: new Date().toISOString(),
                message: `session ${uuid}: the notebook server does not answer yet (${(err as NodeJS.ErrnoException).code ?? err.message})`,
              },
            ],
          }),
        );
      },
    );
  };
  app.all('/sessions/:uuid/notebook', handle);
  app.all('/sessions/:uuid/notebook/*', handle);

  // Websockets (kernels, terminals) arrive as HTTP upgrades, which fastify does not route.
  const onUpgrade = (raw: IncomingMessage, socket: Duplex, head: Buffer) => {
    const m = ROUTE.exec(raw.url ?? '');
    if (!m) {
      // Nothing else on this node speaks websockets: an upgrade no listener takes is closed.
      if (app.server.listenerCount('upgrade') === 1) socket.destroy();
      return;
    }
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const [, uuid, rest = '/', search = ''] = m;
    void (async () => {
      // A page of another site cannot open the socket with the user's cookie (SameSite),
      // and the Origin must be this node's: the node, not Jupyter, checks it.
      const origin = raw.headers.origin;
      if (origin && origin !== new URL(ctx.base).origin && new URL(origin).host !== raw.headers.host)
        return refuse(403, 'Forbidden');
      const bearer = /^Bearer\s+(\S+)$/i.exec(raw.headers.authorization ?? '')?.[1];
      const sent = cookieValue(raw.headers.cookie);
      if (!(bearer && ctx.verifier) && sent.length === 0) return refuse(401, 'Unauthorized');
      let t: Target;
      if (bearer && ctx.verifier) {
        const identity = await ctx.verifier.verify(bearer);
        t = await target(ctx, uuid);
        if (identity.sub !== t.session.owner) return refuse(404, 'Not Found');
      } else {
        const found = await target(ctx, uuid).catch(() => undefined);
        if (!found || !(await cookieMatches(found.session, sent))) return refuse(401, 'Unauthorized');
        t = found;
      }
      t = await ready(t);
      rewrite(raw, uuid, rest, search, t.token);
      upgraded.add(socket);
      socket.once('close', () => upgraded.delete(socket));
      proxy.ws(raw, socket, head, { target: { host: 'localhost', port: 80, socketPath: t.socket } }, () =>
        socket.destroy(),
      );
    })().catch((err) => {
      if (err instanceof BrokerError) refuse(err.status, err.status === 404 ? 'Not Found' : 'Unavailable');
      else refuse(401, 'Unauthorized');
    });
  };
  app.server.on('upgrade', onUpgrade);
  app.addHook('onClose', async () => {
    app.server.off('upgrade', onUpgrade);
    for (const s of upgraded) s.destroy();
    proxy.close();
  });
}
