import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendAuthenticationRequired, type TokenVerifier } from '../auth/index.js';
import { ServiceBusy } from '../db/acquire.js';
import { reportInternalError } from '../errors/index.js';
import { OUTPUT_DIR, STDERR_FILE, STDOUT_FILE } from './backend.js';
import { BrokerError, badRequest, notFound } from './errors.js';
import { openInside } from './files.js';
import { message } from './model.js';
import { notebookProxy } from './notebook-proxy.js';
import { readRequest } from './request.js';
import type { BrokerService } from './service.js';
import * as store from './store.js';
import { offerSetDocument, readUpdate, sessionDocument } from './wire.js';
import { parseYaml, toYaml, YamlError } from './yaml.js';

export const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];
export const HOP_HEADER = 'x-vonode-broker-hop';

/** EB-16: the Accept header picks YAML or JSON; JSON when absent or ambiguous. */
export function send(
  request: FastifyRequest,
  reply: FastifyReply,
  status: number,
  doc: unknown,
): FastifyReply {
  const accept = String(request.headers.accept ?? '');
  const yaml = /(application|text)\/(x-)?yaml|\+yaml/.test(accept) && !/application\/json/.test(accept);
  reply.status(status).header('cache-control', 'no-cache');
  if (yaml) return reply.type('application/yaml; charset=utf-8').send(toYaml(doc));
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(doc));
}

export function errorDoc(err: BrokerError): Record<string, unknown> {
  return { kind: 'uri:error', messages: [message('ERROR', err.type, err.message)] };
}

export interface RouteContext {
  readonly service: BrokerService;
  readonly pool: import('pg').Pool;
  /** Public URL of the broker, e.g. https://node.example/broker */
  readonly base: string;
  /** The node's token verifier: the notebook proxy checks a browser's first request with it. */
  readonly verifier?: TokenVerifier;
}

/** The owner's identity, or a 401 already sent. */
export function caller(request: FastifyRequest, reply: FastifyReply) {
  if (request.identity.sub === null) {
    sendAuthenticationRequired(
      reply,
      undefined,
      'The ExecutionBroker needs a signed-in user: send Authorization: Bearer <token>',
    );
    return undefined;
  }
  return request.identity;
}

export async function brokerRoutes(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { service, base } = ctx;
  const maxResults = service.settings.maxOutputs;
  app.addContentTypeParser(
    YAML_TYPES,
    { parseAs: 'string', bodyLimit: service.settings.maxRequestBytes },
    (_req, body, done) => {
      try {
        done(null, parseYaml(String(body)));
      } catch (err) {
        done(badRequest('uri:invalid-data', (err as Error).message) as unknown as Error);
      }
    },
  );
  app.setErrorHandler((err, request, reply) => {
    if (err instanceof BrokerError) return send(request, reply, err.status, errorDoc(err));
    if (err instanceof YamlError)
      return send(request, reply, 400, errorDoc(badRequest('uri:invalid-data', err.message)));
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      return send(
        request,
        reply,
        status,
        errorDoc(new BrokerError(status, 'uri:invalid-data', (err as Error).message)),
      );
    }
    if (err instanceof ServiceBusy) {
      reply.header('Retry-After', String(err.retryAfterSeconds));
      return send(request, reply, 503, errorDoc(new BrokerError(503, 'uri:service-busy', err.message)));
    }
    const message = reportInternalError(request.log, err, 'broker request failed');
    return send(request, reply, 500, errorDoc(new BrokerError(500, 'uri:internal-error', message)));
  });

  // EB-10: POST /offersets. Answers 200 with the offer set (Content-Location names it) or,
  // for a NO, a 4xx with the same document explaining why.
  app.post('/offersets', async (request, reply) => {
    const identity = caller(request, reply);
    if (!identity) return reply;
    const read = readRequest(request.body);
    const remote = request.headers[HOP_HEADER] ? [] : await askPeers(service, request);
    const out = await service.offer(identity, read.request, read.messages, remote);
    const found = await store.getOfferSet(ctx.pool, out.uuid);
    if (!found) throw new Error('offer set vanished after insert');
    reply.header('content-location', `${base}/offersets/${out.uuid}`);
    return send(
      request,
      reply,
      out.status,
      await offerSetDocument(found.set, found.offers, base, maxResults),
    );
  });

  app.get<{ Params: { uuid: string } }>('/offersets/:uuid', async (request, reply) => {
    const identity = caller(request, reply);
    if (!identity) return reply;
    const found = /^[0-9a-f-]{36}$/i.test(request.params.uuid)
      ? await store.getOfferSet(ctx.pool, request.params.uuid)
      : undefined;
    if (!found || found.set.owner !== identity.sub) throw notFound(`no offer set ${request.params.uuid}`);
    return send(request, reply, 200, await offerSetDocument(found.set, found.offers, base, maxResults));
  });

  // The site's limits, capacity and retention (issue 21), for clients and operators to read
  // before asking; public, like a VOSI capabilities document (EB-18: the draft defines none).
  app.get('/limits', async (request, reply) => send(request, reply, 200, await service.limits()));

  app.get('/sessions', async (request, reply) => {
    const identity = caller(request, reply);
    if (!identity) return reply;
    const list = await store.listSessions(ctx.pool, identity.sub as string, 1000);
    return send(request, reply, 200, {
      sessions: list.map((s) => ({
        uuid: s.uuid,
        url: `${base}/sessions/${s.uuid}`,
        phase: s.phase,
        created: s.created.toISOString(),
      })),
    });
  });

  app.get<{ Params: { uuid: string } }>('/sessions/:uuid', async (request, reply) => {
    const identity = caller(request, reply);
    if (!identity) return reply;
    const s = await service.owned(identity, request.params.uuid);
    return send(request, reply, 200, await sessionDocument(s, base, maxResults));
  });

  // EB-13: POST /sessions/{uuid} with an update.
  app.post<{ Params: { uuid: string } }>('/sessions/:uuid', async (request, reply) => {
    const identity = caller(request, reply);
    if (!identity) return reply;
    const u = readUpdate(request.body);
    if (!u.phase) throw badRequest('uri:invalid-data', u.problem ?? 'bad update');
    const s = await service.update(identity, request.params.uuid, u.phase);
    return send(request, reply, 200, await sessionDocument(s, base, maxResults));
  });

  // Issue 13: the work decides what its folders hold, so a download follows no symbolic
  // link, opens only regular files and never leaves the session's work folder (files.ts);
  // anything else is 404, with the same message as a file that is not there.
  const download = async (
    request: FastifyRequest,
    reply: FastifyReply,
    uuid: string,
    parts: string[],
    rel: string,
  ) => {
    const identity = caller(request, reply);
    if (!identity) return reply;
    const s = await service.owned(identity, uuid);
    const file = await openInside(s.workDir, parts);
    if (!file) throw notFound(`no result ${rel} in session ${uuid}`);
    if (file.size === 0) {
      await file.handle.close();
      return reply.type('application/octet-stream').header('content-length', 0).send('');
    }
    const type = rel.endsWith('.json')
      ? 'application/json'
      : rel.endsWith('.log') || rel.endsWith('.txt')
        ? 'text/plain; charset=utf-8'
        : 'application/octet-stream';
    return reply
      .type(type)
      .header('content-length', file.size)
      .send(file.handle.createReadStream({ end: Math.max(0, file.size - 1), autoClose: true }));
  };
  app.get<{ Params: { uuid: string; '*': string } }>('/sessions/:uuid/results/*', (request, reply) => {
    const rel = request.params['*'];
    return download(request, reply, request.params.uuid, [OUTPUT_DIR, ...rel.split('/')], rel);
  });
  app.get<{ Params: { uuid: string; name: string } }>('/sessions/:uuid/logs/:name', (request, reply) => {
    if (request.params.name !== STDOUT_FILE && request.params.name !== STDERR_FILE)
      throw notFound(`no log ${request.params.name}`);
    return download(request, reply, request.params.uuid, [request.params.name], request.params.name);
  });

  // A notebook session's server, proxied (notebook-proxy.ts): a scope of its own, whose
  // bodies are passed on unread.
  await app.register(async (scope) => notebookProxy(scope, ctx));
}

/**
 * EB-08: asks each configured peer broker for offers with the caller's own token, one hop
 * only, and returns their offers labelled with the peer's site. A peer that fails or is
 * slow is left out (logged), never fatal.
 */
async function askPeers(service: BrokerService, request: FastifyRequest): Promise<unknown[]> {
  const peers = service.settings.peers;
  if (peers.length === 0) return [];
  const results = await Promise.all(
    peers.map(async (peer) => {
      try {
        const res = await fetch(`${peer.url}/offersets`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            [HOP_HEADER]: '1',
            ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}),
          },
          body: JSON.stringify(request.body),
          signal: AbortSignal.timeout(service.settings.peerTimeoutMs),
        });
        const doc = (await res.json()) as { result?: string; offers?: Record<string, unknown>[] };
        if (doc.result !== 'YES' || !Array.isArray(doc.offers)) return [];
        return doc.offers.map((o) => ({ ...o, site: peer.site }));
      } catch (err) {
        request.log.warn({ err, peer: peer.url }, 'broker: peer did not answer with offers');
        return [];
      }
    }),
  );
  return results.flat();
}
