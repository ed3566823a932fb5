import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { AdqlError, type CatalogueTable } from '../../adql/index.js';
import { copyFormatFor, encode, errorDocument, type Info } from '../../votable/index.js';
import { ANONYMOUS } from '../auth/index.js';
import { DaliError, DaliParams } from '../dali/index.js';
import { ServiceBusy } from '../db/acquire.js';
import { reportInternalError } from '../errors/index.js';
import { compileAdql } from '../tap/compile.js';
import { executeQuery, QueryStopped } from '../tap/execute.js';
import { SYNC_RETRY_AFTER_SECONDS, type SyncGate } from '../tap/spooled.js';
import { type ConeCatalogue, coneAdql, coneFields, DEMO_CONE_CATALOGUE } from './query.js';
import { parseConeRequest, type ScsLimits } from './request.js';

export interface ScsDeps {
  readonly pool: pg.Pool;
  readonly catalogue: readonly CatalogueTable[];
  readonly limits: ScsLimits;
  readonly cone?: ConeCatalogue;
  /** Shared with /tap/sync: caps on sync queries in progress, and the result spool. */
  readonly gate: SyncGate;
}

// SCS-10: what 1.03 clients and validators expect when no RESPONSEFORMAT is asked for.
const SCS_CONTENT_TYPE = 'text/xml;content=x-votable;charset=UTF-8';

/** Simple Cone Search 1.03 (with the 1.1 draft's MAXREC and RESPONSEFORMAT) at /scs/query. */
export function registerScs(app: FastifyInstance, deps: ScsDeps): void {
  const cat = deps.cone ?? DEMO_CONE_CATALOGUE;
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const ticket = deps.gate.admit(request);
    if (typeof ticket === 'string')
      return sendError(request, reply, new ServiceBusy(ticket, SYNC_RETRY_AFTER_SECONDS));
    try {
      const params = new DaliParams().add(request.query);
      if (request.method === 'POST') params.add(request.body);
      const cone = parseConeRequest(params, deps.limits);
      const format = cone.format?.format ?? 'votable/td';
      const abort = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) abort.abort('client-gone');
      });
      // SCS-07: SR=0 asks for the columns alone; the query is compiled (so valid) but not run.
      const maxrec = cone.sr === 0 ? 0 : cone.maxrec;
      await ticket.startProducing(abort.signal);
      const result = await executeQuery(
        deps.pool,
        () => compileAdql(coneAdql(cat, cone), deps.catalogue, [], { maxrec }),
        {
          identity: request.identity ?? ANONYMOUS,
          maxrec,
          timeoutSeconds: deps.limits.timeoutSeconds,
          signal: abort.signal,
          copyFormat: copyFormatFor(format),
        },
      );
      const infos: Info[] = [
        { name: 'standardID', value: 'ivo://ivoa.net/std/ConeSearch' },
        { name: 'RA', value: String(cone.ra) },
        { name: 'DEC', value: String(cone.dec) },
        { name: 'SR', value: String(cone.sr) },
        { name: 'VERB', value: String(cone.verb) },
        { name: 'MAXREC', value: String(cone.maxrec) },
      ];
      const body = encode(format, {
        fields: coneFields(cat, result.fields),
        rows: result.rows,
        copy: result.copy,
        leadingStatus: cone.sr === 0 ? 'OK' : result.leadingStatus,
        trailingStatus: result.trailingStatus,
        infos,
        coosys: [{ ID: 'icrs', system: 'ICRS' }],
        tableName: 'results',
      });
      return deps.gate.send({
        reply,
        contentType: cone.format?.contentType ?? SCS_CONTENT_TYPE,
        body,
        abort,
        ticket,
        onClose: () => void result.close(),
      });
    } catch (err) {
      ticket.release();
      return sendError(request, reply, err);
    }
  };
  app.get('/scs/query', handler);
  app.post('/scs/query', handler);
}

function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown) {
  let status = 400;
  let message: string;
  if (err instanceof DaliError) {
    status = err.status;
    message = err.message;
  } else if (err instanceof ServiceBusy) {
    status = 503;
    message = err.message;
    reply.header('Retry-After', String(err.retryAfterSeconds));
  } else if (err instanceof QueryStopped) {
    if (err.reason === 'client-gone') return reply;
    status = err.reason === 'timeout' ? 503 : 500;
    message = err.message;
  } else if (err instanceof AdqlError) {
    // The cone is built here from checked numbers: a compile error is the service's fault.
    status = 500;
    message = reportInternalError(request.log, err, 'SCS cone did not compile');
  } else {
    status = 500;
    message = reportInternalError(request.log, err, 'SCS query failed');
  }
  // SCS-21/22: INFO name="Error" under VOTABLE for 1.03 clients, QUERY_STATUS for DALI ones.
  return reply
    .status(status)
    .type(SCS_CONTENT_TYPE)
    .send(errorDocument(message, [], [{ ID: 'Error', name: 'Error', value: message }]));
}
