import type { FastifyInstance } from 'fastify';
import { isImageProblem, parseImageReference } from './container.js';
import { BrokerError, badRequest } from './errors.js';
import type { ExecutionRequest } from './model.js';
import { TYPES } from './request.js';
import { caller, type RouteContext } from './routes.js';
import * as store from './store.js';
import { resultFiles } from './wire.js';

/**
 * The SRCNet compute API prototype (EB-100..104) mapped onto the same offers and
 * sessions: query = an offer set nobody accepts, provision = one offer held for the
 * job, submit = plan the job into that offer and accept it, status = the session.
 * Response codes follow the prototype's mock (not a standard).
 */
type Obj = Record<string, unknown>;

function queryToRequest(body: unknown): ExecutionRequest {
  const q = (body && typeof body === 'object' ? body : {}) as Obj;
  const int = (k: string, min: number): number => {
    const v = q[k];
    if (v === undefined || v === null) return min;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
      throw badRequest('uri:invalid-data', `${k} must be a non-negative integer`);
    return Math.max(v, min);
  };
  const runtimeHours = int('runtime', 1);
  const gpuModel = typeof q.gpu_model === 'string' && q.gpu_model !== 'none' ? q.gpu_model : undefined;
  let latest: number | undefined;
  if (typeof q.deadline === 'string') {
    const d = Date.parse(q.deadline);
    if (Number.isNaN(d))
      throw badRequest('uri:invalid-data', `deadline "${q.deadline}" is not an ISO-8601 date-time`);
    latest = d - runtimeHours * 3600_000; // EB-102: latest start = deadline − runtime
  }
  const cores = int('cpu_cores', 1);
  const memory = int('memory', 1);
  // GB in the prototype, GiB in the broker: rounding up keeps the request satisfied.
  const storage = Math.ceil(((int('data_size', 0) + int('output_data_size', 0)) * 1e9) / 2 ** 30);
  return {
    executable: {
      kind: 'deferred',
      type: `${TYPES.pipeline.replace('pipeline-1.0', 'deferred-1.0')}`,
      name: 'srcnet-job',
    },
    compute: {
      type: TYPES.compute,
      name: 'compute',
      cores: { min: cores, max: cores },
      memory: { min: memory, max: memory },
      gpus: { min: gpuModel ? 1 : 0, max: gpuModel ? 1 : 0 },
      gpuModel,
    },
    storage: { type: TYPES.storage, name: 'scratch', size: { min: storage, max: storage } },
    data: [],
    schedule: { latest, durationSeconds: runtimeHours * 3600 },
  };
}

export async function srcnetRoutes(app: FastifyInstance, ctx: RouteContext): Promise<void> {
  const { service } = ctx;
  const offerFor = async (identity: Parameters<typeof service.offer>[0], body: unknown) => {
    const q = (body && typeof body === 'object' ? body : {}) as Obj;
    if (
      typeof q.data_location === 'string' &&
      q.data_location !== '' &&
      q.data_location.toLowerCase() !== service.settings.site.toLowerCase()
    ) {
      return { code: 1, text: `data at ${q.data_location}; this is site ${service.settings.site}` };
    }
    const out = await service.offer(identity, queryToRequest(body), [], []);
    const found = await store.getOfferSet(ctx.pool, out.uuid);
    if (out.result === 'NO' || !found?.offers[0]) {
      return { code: 1, text: found?.set.messages.map((m) => m.message).join('; ') || 'not available' };
    }
    return { code: 0, text: 'available', offer: found.offers[0] };
  };

  app.post('/query', async (request, reply) => {
    const identity = caller(request, reply);
    if (!identity) return reply;
    const r = await offerFor(identity, request.body);
    return { response_code: r.code, response_text: r.text };
  });

  const provision = async (
    request: import('fastify').FastifyRequest,
    reply: import('fastify').FastifyReply,
  ) => {
    const identity = caller(request, reply);
    if (!identity) return reply;
    const r = await offerFor(identity, request.body);
    if (!r.offer)
      return reply
        .status(422)
        .send({ response_code: r.code, response_text: r.text, provision_id: null, provision_validity: null });
    return {
      response_code: 0,
      response_text: 'provisioned',
      provision_id: r.offer.uuid,
      provision_validity: r.offer.expires?.toISOString(),
    };
  };
  app.put('/provision', provision);
  app.post('/provision', provision);

  const submit = async (
    request: import('fastify').FastifyRequest<{ Params: { id: string } }>,
    reply: import('fastify').FastifyReply,
  ) => {
    const identity = caller(request, reply);
    if (!identity) return reply;
    const j = (request.body && typeof request.body === 'object' ? request.body : {}) as Obj;
    if (typeof j.container !== 'string' || j.container === '')
      throw badRequest(
        'uri:missing-required-value',
        'submit needs "container": an image, or the name of a pipeline registered at this site',
      );
    const params: Record<string, string> = {};
    if (j.params && typeof j.params === 'object') {
      for (const [k, v] of Object.entries(j.params as Obj)) params[k.replace(/^-+/, '')] = String(v);
    }
    // A registered pipeline name stands for a whitelisted image (EB-08: a broker may be a whitelist).
    const isPipeline = service.settings.pipelines.some((p) => p.name === j.container);
    // Anything else is an image: checked against the OCI reference grammar (issue 13).
    const image = isPipeline ? undefined : parseImageReference(j.container);
    if (image && isImageProblem(image)) throw badRequest('uri:invalid-data', `container: ${image.problem}`);
    for (const v of Object.values(params)) {
      if (v.includes('\0'))
        throw badRequest('uri:invalid-data', 'params: values may not hold NUL characters');
    }
    const executable: ExecutionRequest['executable'] = image
      ? {
          kind: 'container',
          type: TYPES.docker,
          name: 'srcnet-job',
          image,
          command: Object.entries(params).flatMap(([k, v]) => [`--${k}`, v]),
          environment: {},
        }
      : { kind: 'pipeline', type: TYPES.pipeline, name: 'srcnet-job', pipeline: j.container, params };
    const data =
      typeof j.dataset === 'string' && j.dataset
        ? [{ type: TYPES.ivoaData, name: 'dataset', ids: [j.dataset], spec: { location: j.dataset } }]
        : [];
    const s = await service.owned(identity, request.params.id);
    try {
      await service.submit(
        identity,
        s.uuid,
        { ...s.request, executable, data },
        { contact_email: j.contact_email ?? null },
      );
    } catch (err) {
      if (err instanceof BrokerError && err.status === 409) {
        return reply.status(409).send({ response_code: 2, response_text: err.message, job_id: null });
      }
      throw err;
    }
    return { response_code: 1, response_text: 'submitted', job_id: s.uuid };
  };
  app.put('/:id/submit', submit);
  app.post('/:id/submit', submit);

  app.get<{ Params: { id: string } }>('/:id/status', async (request, reply) => {
    const identity = caller(request, reply);
    if (!identity) return reply;
    const s = await service.owned(identity, request.params.id);
    const url = `${ctx.base}/sessions/${s.uuid}`;
    const code =
      s.phase === 'COMPLETED'
        ? 0
        : s.phase === 'FAILED'
          ? s.exitCode !== null
            ? 5
            : 6
          : ['CANCELLED', 'EXPIRED', 'REJECTED', 'OFFERED'].includes(s.phase)
            ? 2
            : 1;
    const results = await resultFiles(s, url, service.settings.maxOutputs);
    return {
      response_code: code,
      response_text: s.phase,
      logging: s.messages.map((m) => `${m.time} ${m.level} ${m.message}`),
      output_data: results.filter((r) => !r.name.startsWith('logs/')).map((r) => r.href),
    };
  });
}
