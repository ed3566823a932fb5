import type { Readable } from 'node:stream';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ServiceBusy } from '../db/acquire.js';
import { malformedBodyMessage, reportInternalError } from '../errors/index.js';
import { badRequest, isDiskFull, UwsError } from './errors.js';
import type { Caller, UwsService } from './service.js';
import {
  ACTIVE_PHASES,
  type ErrorDetail,
  type ErrorSummary,
  isPhase,
  type Job,
  type JobParameter,
  type Phase,
} from './types.js';
import { jobListXml, jobXml, parametersXml, resultsXml } from './xml.js';

export interface UwsRoutesOptions {
  readonly service: UwsService;
  /** The job kind created under this job list ('tap', 'soda', ...). */
  readonly kind: string;
  /** Who is calling (authentication belongs to src/auth); anonymous when absent. */
  readonly identify?: (
    request: FastifyRequest,
  ) => { owner: string | null } | Promise<{ owner: string | null }>;
  /**
   * Reads the job parameters of a creating POST or a POST to /parameters. The default
   * takes the query string and the urlencoded body; TAP plugs its own to accept uploads.
   * Throw a UwsError (400) for bad input. Files it keeps belong to `job` (the id the job
   * will have): see UwsService.jobFiles.
   */
  readonly parseJobParameters?: (
    request: FastifyRequest,
    job: { readonly id: string },
  ) => JobParameter[] | Promise<JobParameter[]>;
  /** Parameters that accumulate rather than replace on update (e.g. UPLOAD). */
  readonly multiValuedParameters?: readonly string[];
  /** External URL of the job list when behind a proxy; by default taken from the request. */
  readonly baseUrl?: string;
  /** The /error document of an ERROR job (TAP: a VOTable); default: the stored detail or the message. */
  readonly errorDocument?: (
    job: Job,
    summary: ErrorSummary,
    detail: ErrorDetail | null,
  ) => { contentType: string; body: string };
  /**
   * Content of an inline (multipart, `param:<name>`) parameter, served at
   * /{jobs}/{id}/parameters/{name} (UWS-16); null when the job has no such upload.
   */
  readonly inlineParameter?: (
    job: Job,
    name: string,
  ) => Promise<{ stream: Readable; mime: string; size?: number } | null>;
  /** The body of a refused request (4xx); default text/plain. TAP may answer with a DALI error VOTable. */
  readonly requestError?: (status: number, message: string) => { contentType: string; body: string };
}

// Job-control parameters of the creating POST (UWS-17): they steer the job, they do not describe it.
const CONTROL = new Set(['PHASE', 'DESTRUCTION', 'EXECUTIONDURATION', 'ACTION']);
const XML_TYPE = 'text/xml; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';
const MAX_ID_LENGTH = 200;

/**
 * The UWS 1.1 REST binding (UWS-1) as a fastify plugin: register it with a prefix, e.g.
 * `app.register(uwsRoutes, { prefix: '/tap/async', service, kind: 'tap' })`.
 */
export async function uwsRoutes(app: FastifyInstance, options: UwsRoutesOptions): Promise<void> {
  const { service, kind } = options;
  if (!service.hasKind(kind))
    throw new Error(`uwsRoutes: the UWS service has no runner for job kind ${kind}`);
  if (!app.hasContentTypeParser('application/x-www-form-urlencoded')) await app.register(formbody);
  const identify = options.identify ?? (() => ({ owner: null }));
  const parse = options.parseJobParameters ?? defaultParameters;
  const prefix = app.prefix;

  // The kind travels with the owner so that another kind's job is a 404 here.
  const caller = async (request: FastifyRequest): Promise<Caller> => ({
    owner: (await identify(request)).owner,
    kind,
  });
  const listUrl = (request: FastifyRequest) =>
    options.baseUrl ?? `${request.protocol}://${request.host}${prefix}`;
  const urls = (request: FastifyRequest) => {
    const base = listUrl(request);
    const job = (id: string) => `${base}/${encodeURIComponent(id)}`;
    return {
      base,
      job,
      result: (id: string) => (rid: string) => `${job(id)}/results/${encodeURIComponent(rid)}`,
    };
  };
  const jobId = (request: FastifyRequest): string => {
    const id = (request.params as { jobId: string }).jobId;
    if (id.length > MAX_ID_LENGTH) throw new UwsError(404, 'no job with such a long id');
    return id;
  };
  const toJob = (request: FastifyRequest, reply: FastifyReply, id: string) =>
    reply.code(303).header('location', urls(request).job(id)).send();
  const text = (reply: FastifyReply, value: string) => reply.type(TEXT_TYPE).send(value);

  // Job state changes under the client's feet: no cache or proxy may answer a poll.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-cache');
    return payload;
  });
  const refuse = (reply: FastifyReply, status: number, message: string) => {
    const doc = options.requestError?.(status, message) ?? { contentType: TEXT_TYPE, body: `${message}\n` };
    return reply.code(status).type(doc.contentType).send(doc.body);
  };
  app.setErrorHandler((err: Error & { statusCode?: number }, request, reply) => {
    if (err instanceof UwsError) {
      if (err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter));
      return refuse(reply, err.status, err.message);
    }
    // No database connection in time: the caller should come back (issue 13, RFC 9110 §15.6.4).
    if (err instanceof ServiceBusy) {
      reply.header('retry-after', String(err.retryAfterSeconds));
      return refuse(reply, 503, err.message);
    }
    // A full disk while keeping a request's files is the service's trouble, said plainly (issue 13).
    if (isDiskFull(err)) {
      request.log.error({ err }, 'UWS request could not be stored: the disk is full');
      reply.header('retry-after', '600');
      return refuse(reply, 503, 'the service has no room to keep this job; try again later');
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)
      return refuse(reply, err.statusCode, err.message);
    const malformed = malformedBodyMessage(err);
    if (malformed) return refuse(reply, 400, malformed);
    return reply
      .code(500)
      .type(TEXT_TYPE)
      .send(`${reportInternalError(request.log, err, 'UWS request failed')}\n`);
  });

  // ---- job list ----------------------------------------------------------------------

  app.get('/', async (request, reply) => {
    const q = valuesOf(request.query);
    const phases: Phase[] = [];
    for (const p of q.get('PHASE') ?? []) {
      const up = p.toUpperCase();
      if (!isPhase(up))
        throw badRequest(`PHASE=${p} is not a UWS phase; use one of PENDING, QUEUED, EXECUTING, ...`);
      phases.push(up);
    }
    const after = q.get('AFTER')?.at(-1);
    const last = q.get('LAST')?.at(-1);
    const lastN = last === undefined ? undefined : Number(last);
    if (lastN !== undefined && !(Number.isInteger(lastN) && lastN > 0)) {
      throw badRequest(`LAST must be a whole number > 0, got ${last}`);
    }
    const jobs = await service.list(kind, await caller(request), {
      phases,
      after: after === undefined ? undefined : parseInstant('AFTER', after),
      last: lastN,
    });
    return reply.type(XML_TYPE).send(jobListXml(jobs, urls(request).job));
  });

  app.post('/', async (request, reply) => {
    const owner = (await identify(request)).owner;
    // Refused before the body is read, so a client over its cap stores nothing (issue 13).
    await service.checkRoom(kind, owner, owner === null ? request.ip : null);
    const id = service.newJobId();
    try {
      return await createJob(request, reply, id, owner);
    } catch (err) {
      // A creation that failed halfway leaves none of the files it kept.
      await service.discardFiles(id);
      throw err;
    }
  });

  const createJob = async (
    request: FastifyRequest,
    reply: FastifyReply,
    id: string,
    owner: string | null,
  ) => {
    const params = await parse(request, { id });
    const control = takeControl(params);
    const phase = control.get('PHASE');
    if (phase !== undefined && phase.toUpperCase() !== 'RUN') {
      throw badRequest(`PHASE=${phase} cannot be given when creating a job; only PHASE=RUN`);
    }
    const durationText = control.get('EXECUTIONDURATION');
    const destructionText = control.get('DESTRUCTION');
    const job = await service.create({
      id,
      kind,
      owner,
      clientAddress: request.ip,
      parameters: control.rest,
      runId: control.rest.filter((p) => p.id.toUpperCase() === 'RUNID').at(-1)?.value ?? null,
      run: phase !== undefined,
      executionDuration: durationText === undefined ? undefined : parseDuration(durationText),
      destruction: destructionText === undefined ? undefined : parseInstant('DESTRUCTION', destructionText),
    });
    return toJob(request, reply, job.id);
  };

  // ---- one job -----------------------------------------------------------------------

  app.get('/:jobId', async (request, reply) => {
    const id = jobId(request);
    const who = await caller(request);
    let job = await service.get(id, who);
    const q = valuesOf(request.query);
    const waitText = q.get('WAIT')?.at(-1);
    if (waitText !== undefined) {
      const wait = Number(waitText);
      if (!Number.isInteger(wait) || wait < -1)
        throw badRequest(`WAIT must be a whole number of seconds or -1, got ${waitText}`);
      const expected = q.get('PHASE')?.at(-1)?.toUpperCase();
      if (expected !== undefined && !isPhase(expected))
        throw badRequest(`PHASE=${expected} is not a UWS phase`);
      // UWS-40, UWS-41: block only in an active phase, and only if the client saw the same one.
      if (wait !== 0 && ACTIVE_PHASES.has(job.phase) && (expected === undefined || expected === job.phase)) {
        const seconds = wait === -1 ? service.limits.maxWait : Math.min(wait, service.limits.maxWait);
        await service.waitForChange(id, job.phase, seconds);
        job = await service.get(id, who);
      }
    }
    return reply.type(XML_TYPE).send(jobXml(job, urls(request).result(id)));
  });

  app.post('/:jobId', async (request, reply) => {
    const id = jobId(request);
    const action =
      valuesOf(request.body).get('ACTION')?.at(-1) ?? valuesOf(request.query).get('ACTION')?.at(-1);
    if (action?.toUpperCase() !== 'DELETE') {
      throw badRequest(
        'a POST to a job accepts only ACTION=DELETE; change the job through /phase, /parameters, /destruction or /executionduration',
      );
    }
    await service.delete(id, await caller(request));
    return reply.code(303).header('location', urls(request).base).send();
  });

  app.delete('/:jobId', async (request, reply) => {
    await service.delete(jobId(request), await caller(request));
    return reply.code(303).header('location', urls(request).base).send();
  });

  // ---- job properties ----------------------------------------------------------------

  app.get('/:jobId/phase', async (request, reply) =>
    text(reply, await service.phase(jobId(request), await caller(request))),
  );

  app.post('/:jobId/phase', async (request, reply) => {
    const id = jobId(request);
    const phase = formValue(request, 'PHASE');
    if (phase === undefined) throw badRequest('POST to /phase needs PHASE=RUN or PHASE=ABORT');
    const who = await caller(request);
    if (phase.toUpperCase() === 'RUN') await service.run(id, who);
    else if (phase.toUpperCase() === 'ABORT') await service.abort(id, who);
    else throw badRequest(`PHASE=${phase} is not accepted here; use PHASE=RUN or PHASE=ABORT`);
    return toJob(request, reply, id);
  });

  app.get('/:jobId/executionduration', async (request, reply) => {
    const job = await service.get(jobId(request), await caller(request));
    return text(reply, String(job.executionDuration));
  });

  app.post('/:jobId/executionduration', async (request, reply) => {
    const id = jobId(request);
    const value = formValue(request, 'EXECUTIONDURATION');
    if (value === undefined) throw badRequest('POST to /executionduration needs EXECUTIONDURATION=<seconds>');
    await service.setExecutionDuration(id, await caller(request), parseDuration(value));
    return toJob(request, reply, id);
  });

  app.get('/:jobId/destruction', async (request, reply) => {
    const job = await service.get(jobId(request), await caller(request));
    return text(reply, job.destruction ? job.destruction.toISOString() : '');
  });

  app.post('/:jobId/destruction', async (request, reply) => {
    const id = jobId(request);
    const value = formValue(request, 'DESTRUCTION');
    if (value === undefined) throw badRequest('POST to /destruction needs DESTRUCTION=<ISO 8601 instant>');
    await service.setDestruction(id, await caller(request), parseInstant('DESTRUCTION', value));
    return toJob(request, reply, id);
  });

  app.get('/:jobId/quote', async (request, reply) => {
    const job = await service.get(jobId(request), await caller(request));
    return text(reply, job.quote ? job.quote.toISOString() : '');
  });

  app.get('/:jobId/owner', async (request, reply) => {
    const job = await service.get(jobId(request), await caller(request));
    return text(reply, job.owner ?? '');
  });

  app.get('/:jobId/error', async (request, reply) => {
    const id = jobId(request);
    const who = await caller(request);
    const { summary, detail } = await service.errorDetail(id, who);
    if (options.errorDocument) {
      const doc = options.errorDocument(await service.get(id, who), summary, detail);
      return reply.type(doc.contentType).send(doc.body);
    }
    if (detail) return reply.type(detail.mime).send(detail.body);
    return text(reply, `${summary.message}\n`);
  });

  app.get('/:jobId/parameters', async (request, reply) => {
    const job = await service.get(jobId(request), await caller(request));
    return reply.type(XML_TYPE).send(parametersXml(job.parameters));
  });

  app.post('/:jobId/parameters', async (request, reply) => {
    const id = jobId(request);
    const who = await caller(request);
    // Only the job's own caller may keep files for it, and only while it can change.
    const job = await service.get(id, who);
    if (job.phase !== 'PENDING')
      throw new UwsError(403, `job ${id} is ${job.phase}; parameters can change only while PENDING`);
    const control = takeControl(await parse(request, { id }));
    await service.updateParameters(id, who, control.rest, options.multiValuedParameters);
    return toJob(request, reply, id);
  });

  app.get('/:jobId/parameters/:name', async (request, reply) => {
    const id = jobId(request);
    const { name } = request.params as { name: string };
    const job = await service.get(id, await caller(request));
    const found = options.inlineParameter ? await options.inlineParameter(job, name) : null;
    if (!found) throw new UwsError(404, `job ${id} has no inline parameter ${name}`);
    if (found.size !== undefined) reply.header('content-length', String(found.size));
    return reply.type(found.mime).send(found.stream);
  });

  app.get('/:jobId/results', async (request, reply) => {
    const id = jobId(request);
    const job = await service.get(id, await caller(request));
    return reply.type(XML_TYPE).send(resultsXml(job.results, urls(request).result(id)));
  });

  app.get('/:jobId/results/:resultId', async (request, reply) => {
    const id = jobId(request);
    const { resultId } = request.params as { resultId: string };
    const found = await service.openResult(id, await caller(request), resultId);
    if ('href' in found) return reply.code(303).header('location', found.href).send();
    return reply.header('content-length', String(found.size)).type(found.mime).send(found.stream);
  });
}

/** Query string and urlencoded body as an ordered parameter list, names upper-cased (UWS-30). */
function defaultParameters(request: FastifyRequest): JobParameter[] {
  const out: JobParameter[] = [];
  for (const source of [request.query, request.body]) {
    for (const [name, values] of valuesOf(source)) for (const value of values) out.push({ id: name, value });
  }
  return out;
}

/** Names upper-cased, values always lists, in first-seen order. */
function valuesOf(source: unknown): Map<string, string[]> {
  const map = new Map<string, string[]>();
  if (!source || typeof source !== 'object') return map;
  for (const [key, raw] of Object.entries(source as Record<string, unknown>)) {
    const name = key.toUpperCase();
    const list = map.get(name) ?? [];
    for (const v of Array.isArray(raw) ? raw : [raw]) if (typeof v === 'string') list.push(v);
    map.set(name, list);
  }
  return map;
}

function formValue(request: FastifyRequest, name: string): string | undefined {
  return valuesOf(request.body).get(name)?.at(-1) ?? valuesOf(request.query).get(name)?.at(-1);
}

function takeControl(params: readonly JobParameter[]): {
  get(name: string): string | undefined;
  rest: JobParameter[];
} {
  const control = new Map<string, string>();
  const rest: JobParameter[] = [];
  for (const p of params) {
    const name = p.id.toUpperCase();
    if (CONTROL.has(name)) control.set(name, p.value);
    else rest.push(p);
  }
  return { get: (name) => control.get(name), rest };
}

function parseDuration(text: string): number {
  const n = Number(text.trim());
  if (text.trim() === '' || !Number.isInteger(n) || n < 0) {
    throw badRequest(`EXECUTIONDURATION must be a whole number of seconds >= 0, got ${JSON.stringify(text)}`);
  }
  return n;
}

// ISO 8601 date-time; a missing zone is read as UTC (UWS-4 asks for UTC).
const INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function parseInstant(name: string, text: string): Date {
  const t = text.trim();
  if (!INSTANT.test(t)) {
    throw badRequest(
      `${name} must be an ISO 8601 instant such as 2030-01-01T00:00:00Z, got ${JSON.stringify(text)}`,
    );
  }
  const zoned = /T/.test(t) && !/(Z|[+-]\d{2}:?\d{2})$/.test(t) ? `${t}Z` : t;
  const d = new Date(zoned);
  if (Number.isNaN(d.getTime())) throw badRequest(`${name}=${text} is not a valid instant`);
  return d;
}
