import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Identity } from '../auth/index.js';
import { ServiceBusy } from '../db/acquire.js';
import { isImageProblem, parseImageReference } from './container.js';
import { BrokerError } from './errors.js';
import { tailInside } from './files.js';
import type { DataResource, ExecutionRequest } from './model.js';
import { TYPES } from './request.js';
import { caller, HOP_HEADER, type RouteContext } from './routes.js';
import type { PeerBroker } from './settings.js';
import {
  InputError,
  jobId,
  parseProvisionId,
  provisionId,
  type QueryInput,
  queryAnswer,
  queryToRequest,
  readJobInput,
  readQueryInput,
  statusAnswer,
} from './srcnet-model.js';
import * as store from './store.js';
import { resultFiles } from './wire.js';

/**
 * The SRCNet compute API prototype (ska-src-compute-api, rest/server.py) on the same offers
 * and sessions (EB-100..104): query = an offer set nobody accepts, provision = one offer held
 * for the job, submit = plan the job into that offer and accept it, status = the session.
 * Routes, fields, codes and units are the prototype's (srcnet-model.ts); they are served at
 * /broker/... and, as the prototype's versioned prefix has them, at /broker/v1/....
 * Domain answers are HTTP 200 with a `response_code`, as the prototype answers them; bad
 * input is FastAPI's 422 `{"detail": [...]}`, here with a `response_code` too.
 */

const VERSION: string = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
).version;
const STARTED = Date.now();
/** Most bytes of each log written into `logging`. */
const LOG_TAIL_BYTES = 16 * 1024;

type Reply = Record<string, unknown>;

export async function srcnetRoutes(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  for (const prefix of ['', '/v1']) await app.register((scope) => facade(scope, ctx), { prefix });
}

async function facade(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { service } = ctx;
  const site = service.settings.site;
  let managed = 0;
  const countRequest = async () => {
    managed++;
  };

  // Bad input: the prototype's FastAPI answers 422 {"detail": [{loc, msg, type}]}.
  app.setErrorHandler((err, request, reply) => {
    if (err instanceof InputError)
      return reply.status(422).send({
        detail: err.detail,
        response_code: 1,
        response_text: `Invalid input: ${err.message}`,
      });
    if (err instanceof ServiceBusy) {
      reply.header('Retry-After', String(err.retryAfterSeconds));
      return reply.status(503).send({ response_code: 3, response_text: `Internal error (${err.message})` });
    }
    // The broker's own refusals of the body (its YAML reader, EB request checks): bad input.
    if (err instanceof BrokerError && err.status < 500)
      return reply.status(422).send({
        detail: [{ loc: ['body'], msg: err.message, type: err.type }],
        response_code: 1,
        response_text: `Invalid input: ${err.message}`,
      });
    const status = (err as { statusCode?: number }).statusCode;
    const text = (err as Error).message;
    if (status && status >= 400 && status < 500)
      return reply.status(422).send({
        detail: [{ loc: ['body'], msg: text, type: 'json_invalid' }],
        response_code: 1,
        response_text: `Invalid input: ${text}`,
      });
    request.log.error({ err }, 'srcnet facade request failed');
    return reply
      .status(500)
      .send({ response_code: 255, response_text: 'Unexpected error; the node logged it' });
  });

  // GET /ping, /health (server.py "Status"): no token needed, as in the prototype.
  app.get('/ping', async () => ({ status: 'UP', version: VERSION }));
  app.get('/health', async (_request, reply) => {
    const db = await ctx.pool
      .query('SELECT 1')
      .then(() => 'UP' as const)
      .catch(() => 'DOWN' as const);
    // The prototype's dependent service is its permissions API; this node's is its database.
    return reply.status(db === 'UP' ? 200 : 500).send({
      uptime: Math.round((Date.now() - STARTED) / 1000),
      number_of_managed_requests: managed,
      dependent_services: { database: { status: db } },
    });
  });

  /** data_location: here (or not given), a peer's site (asked in our stead), or nowhere known. */
  const place = (q: QueryInput): 'here' | PeerBroker | undefined => {
    const where = q.dataLocation?.trim().toLowerCase();
    if (!where || where === site.toLowerCase()) return 'here';
    return service.settings.peers.find((p) => p.site.toLowerCase() === where);
  };

  const offerHere = async (identity: Identity, q: QueryInput) => {
    const out = await service.offer(identity, queryToRequest(q), [], []);
    const found = await store.getOfferSet(ctx.pool, out.uuid);
    const answer = queryAnswer(q, found?.set.messages ?? []);
    if (answer.code === 0 && !found?.offers[0]) return { code: 2, text: 'not bookable', offer: undefined };
    return { ...answer, offer: answer.code === 0 ? found?.offers[0] : undefined };
  };

  const notHere = (q: QueryInput) => ({
    code: 1,
    text: `data location ${q.dataLocation} not available: this is site ${site}${
      service.settings.peers.length
        ? `, its peers are ${service.settings.peers.map((p) => p.site).join(', ')}`
        : ''
    }`,
  });

  // POST /query (QueryResponse).
  app.post('/query', { onRequest: countRequest }, async (request, reply) => {
    const identity = caller(request, reply);
    if (!identity) return reply;
    const q = readQueryInput(request.body);
    const where = place(q);
    if (where === undefined) return { response_code: notHere(q).code, response_text: notHere(q).text };
    if (where !== 'here') return forward(request, reply, where, 'POST', '/query');
    const r = await offerHere(identity, q);
    return { response_code: r.code, response_text: r.text };
  });

  // PUT /provision (ProvisionResponse); POST kept for vonode clients written before.
  const provision = async (request: FastifyRequest, reply: FastifyReply) => {
    const identity = caller(request, reply);
    if (!identity) return reply;
    const q = readQueryInput(request.body);
    const where = place(q);
    if (where !== undefined && where !== 'here') return forward(request, reply, where, 'PUT', '/provision');
    const r = where === undefined ? { ...notHere(q), offer: undefined } : await offerHere(identity, q);
    return {
      response_code: r.code,
      response_text: r.text,
      provision_id: r.offer ? provisionId(site, r.offer.uuid) : null,
      provision_validity: r.offer?.expires?.toISOString() ?? null,
    };
  };
  app.put('/provision', { onRequest: countRequest }, provision);
  app.post('/provision', { onRequest: countRequest }, provision);

  /**
   * The provision a path names: ours and the caller's, someone else's (code 4, README "Access
   * denied"), a peer's (asked in our stead), or unknown.
   */
  const lookup = async (identity: Identity, id: string) => {
    const parsed = parseProvisionId(id);
    if (parsed?.site && parsed.site.toLowerCase() !== site.toLowerCase()) {
      const peer = service.settings.peers.find((p) => p.site.toLowerCase() === parsed.site?.toLowerCase());
      return peer ? { peer } : { unknown: true as const };
    }
    const s = parsed ? await store.getSession(ctx.pool, parsed.uuid) : undefined;
    if (!s || s.remoteUrl) return { unknown: true as const };
    if (s.owner !== identity.sub) return { denied: true as const };
    return { session: s };
  };

  // PUT /provision/{id}/submit (JobSubmissionResponse).
  const submit = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const identity = caller(request, reply);
    if (!identity) return reply;
    const id = request.params.id;
    const found = await lookup(identity, id);
    if (found.peer)
      return forward(request, reply, found.peer, 'PUT', `/provision/${encodeURIComponent(id)}/submit`);
    const refuse = (code: number, text: string) => ({
      response_code: code,
      response_text: text,
      job_id: null,
    });
    if ('denied' in found) return refuse(4, 'Access denied');
    if ('unknown' in found) return refuse(2, `Invalid provision: provision ID ${id} unknown`);
    const s = found.session;
    if (!s) return refuse(2, `Invalid provision: provision ID ${id} unknown`);
    const j = readJobInput(request.body);
    let executable: ExecutionRequest['executable'];
    if (service.settings.pipelines.some((p) => p.name === j.container)) {
      // A registered pipeline name stands for a whitelisted image (EB-08: a broker may be a whitelist).
      const params = Object.fromEntries(Object.entries(j.params).map(([k, v]) => [k.replace(/^-+/, ''), v]));
      executable = {
        kind: 'pipeline',
        type: TYPES.pipeline,
        name: 'srcnet-job',
        pipeline: j.container,
        params,
      };
    } else {
      // Anything else is an image, checked against the OCI reference grammar (issue 13).
      const image = parseImageReference(j.container);
      if (isImageProblem(image)) return refuse(1, `Job cannot be executed: container: ${image.problem}`);
      executable = {
        kind: 'container',
        type: TYPES.docker,
        name: 'srcnet-job',
        image,
        // `params` are the command's options (models/input.py: "Runtime options for the command").
        command: Object.entries(j.params).flatMap(([k, v]) => [k.startsWith('-') ? k : `--${k}`, v]),
        environment: {},
      };
    }
    const data: DataResource[] = j.dataset
      ? [
          /^https?:\/\//i.test(j.dataset)
            ? { type: TYPES.simpleData, name: 'dataset', ids: [j.dataset], spec: { location: j.dataset } }
            : { type: TYPES.ivoaData, name: 'dataset', ids: [j.dataset], spec: {} },
        ]
      : [];
    try {
      await service.submit(
        identity,
        s.uuid,
        { ...s.request, executable, data },
        { contact_email: j.contactEmail ?? null },
      );
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      if (err.status === 409 || err.status === 404)
        return refuse(
          2,
          `Invalid provision: ${err.type === 'uri:offer-expired' ? 'provision expired' : err.message}`,
        );
      if (err.status >= 500) return refuse(3, `Internal error (${err.message})`);
      return refuse(1, `Job cannot be executed: ${err.message}`);
    }
    return { response_code: 0, response_text: 'OK', job_id: jobId(site, s.uuid) };
  };
  app.put('/provision/:id/submit', { onRequest: countRequest }, submit);
  app.post('/provision/:id/submit', { onRequest: countRequest }, submit);
  // The prototype's own client (client/compute.py) calls {api}/{provision_id}/submit and /status.
  app.put('/:id/submit', { onRequest: countRequest }, submit);
  app.post('/:id/submit', { onRequest: countRequest }, submit);

  // GET /provision/{id}/status (JobStatusResponse).
  const status = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const identity = caller(request, reply);
    if (!identity) return reply;
    const id = request.params.id;
    const found = await lookup(identity, id);
    if (found.peer)
      return forward(request, reply, found.peer, 'GET', `/provision/${encodeURIComponent(id)}/status`);
    const none = (code: number, text: string) => ({
      response_code: code,
      response_text: text,
      logging: '',
      output_data: null,
    });
    if ('denied' in found) return none(4, 'Access denied');
    if ('unknown' in found) return none(2, `Invalid job: job ${id} does not exist`);
    const s = found.session;
    if (!s) return none(2, `Invalid job: job ${id} does not exist`);
    const answer = statusAnswer(s);
    const lines = s.messages.map((m) => `broker | ${m.level}: ${m.message}`);
    for (const log of ['stdout.log', 'stderr.log']) {
      const tail = (await tailInside(s.workDir, [log], LOG_TAIL_BYTES)).replace(/\n$/, '');
      if (tail) lines.push(...tail.split('\n').map((l) => `${log.replace('.log', '')} | ${l}`));
    }
    // output_data is one URL (models/response.py: AnyHttpUrl): the listing of the job's outputs.
    return {
      response_code: answer.code,
      response_text: answer.text,
      logging: lines.length ? `${lines.join('\n')}\n` : '',
      output_data: answer.code === 0 ? `${ctx.base}/provision/${provisionId(site, s.uuid)}/output` : null,
    };
  };
  app.get('/provision/:id/status', { onRequest: countRequest }, status);
  app.get('/:id/status', { onRequest: countRequest }, status);

  // The output location status gives: the job's files as download links (JSON).
  app.get<{ Params: { id: string } }>('/provision/:id/output', async (request, reply) => {
    const identity = caller(request, reply);
    if (!identity) return reply;
    const found = await lookup(identity, request.params.id);
    if (!found.session)
      return reply
        .status(404)
        .send({ response_code: 2, response_text: `Invalid job: job ${request.params.id} does not exist` });
    const s = found.session;
    const files = await resultFiles(s, `${ctx.base}/sessions/${s.uuid}`, service.settings.maxOutputs);
    return files.filter((f) => !f.name.startsWith('logs/'));
  });
}

/**
 * Asks the peer whose site holds the data (one hop, marked so it never forwards again) and
 * returns its answer as it is: its provision ids carry its site, so submit and status come
 * back here and go on to it. The caller's token goes to configured peers only.
 */
async function forward(
  request: FastifyRequest,
  reply: FastifyReply,
  peer: PeerBroker,
  method: string,
  path: string,
): Promise<FastifyReply | Reply> {
  if (request.headers[HOP_HEADER])
    return { response_code: 1, response_text: `data location ${peer.site} is not this site (one hop only)` };
  try {
    const res = await fetch(`${peer.url}${path}`, {
      method,
      headers: {
        accept: 'application/json',
        [HOP_HEADER]: '1',
        ...(method !== 'GET' ? { 'content-type': 'application/json' } : {}),
        ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}),
      },
      body: method === 'GET' ? undefined : JSON.stringify(request.body ?? {}),
      signal: AbortSignal.timeout(30_000),
    });
    const body = await res.text();
    return reply.status(res.status).type('application/json; charset=utf-8').send(body);
  } catch (err) {
    return reply.status(502).send({
      response_code: 3,
      response_text: `Internal error (site ${peer.site} did not answer: ${(err as Error).message})`,
    });
  }
}
