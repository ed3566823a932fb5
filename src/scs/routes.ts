import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { AdqlError } from '../../adql/index.js';
import { copyFormatFor, encode, errorDocument, type Info } from '../../votable/index.js';
import { ANONYMOUS } from '../auth/index.js';
import type { CatalogueSource, CatalogueView } from '../catalogue/index.js';
import { DaliError, DaliParams } from '../dali/index.js';
import { ServiceBusy } from '../db/acquire.js';
import { reportInternalError } from '../errors/index.js';
import { resultAnnotations } from '../tap/annotations.js';
import { compileAdql } from '../tap/compile.js';
import { executeQuery, QueryStopped } from '../tap/execute.js';
import { SYNC_RETRY_AFTER_SECONDS, type SyncGate } from '../tap/spooled.js';
import { type ConeCatalogue, coneAdql, coneCatalogueOf, coneFields } from './query.js';
import { parseConeRequest, type ScsLimits } from './request.js';

export interface ScsDeps {
  readonly pool: pg.Pool;
  /** The published tables; each caller's view decides what its cones may reach. */
  readonly catalogues: CatalogueSource;
  readonly limits: ScsLimits;
  /** The catalogue /scs/query serves (default demo.sources, else the default schema's first). */
  readonly defaultTable?: string;
  /** Shared with /tap/sync: caps on sync queries in progress, and the result spool. */
  readonly gate: SyncGate;
  /** The node's public URL: DataLink descriptors in answers point at its /datalink/links. */
  readonly baseUrl: string;
  /** VONODE_MIVOT: annotate the position with MIVOT as TAP results are. */
  readonly mivot?: boolean;
}

// SCS-10: what 1.03 clients and validators expect when no RESPONSEFORMAT is asked for.
const SCS_CONTENT_TYPE = 'text/xml;content=x-votable;charset=UTF-8';

/** The catalogue /scs/query has always served. */
export const DEFAULT_CONE_TABLE = 'demo.sources';

/** A published table by the name in a URL: as TAP_SCHEMA writes it, delimiting quotes optional. */
export function findPositional(view: CatalogueView, name: string) {
  const direct = view.table(name);
  if (direct?.spatialIndex) return direct;
  const wanted = name.replaceAll('"', '').toLowerCase();
  return view.positional().find((t) => `${t.schema}.${t.name}`.replaceAll('"', '').toLowerCase() === wanted);
}

/**
 * The cone search of `name` as this caller sees it. A table the caller may not see is
 * answered like one that does not exist, so its existence is not disclosed.
 */
function coneFor(view: CatalogueView, name: string | undefined, defaultTable: string): ConeCatalogue {
  if (name === undefined) {
    const t =
      findPositional(view, defaultTable) ??
      view.positional().find((x) => x.schema === view.adql.defaultSchema && coneCatalogueOf(x));
    const cat = t && coneCatalogueOf(t);
    if (!cat)
      throw new DaliError('this node publishes no catalogue for /scs/query; see /scs/capabilities', 404);
    return cat;
  }
  const t = findPositional(view, name);
  if (!t)
    throw new DaliError(
      `no published catalogue with a position is named '${name}'; see /scs/capabilities`,
      404,
    );
  const cat = coneCatalogueOf(t);
  if (!cat)
    throw new DaliError(
      `${name} has no row identifier (a column with UCD meta.id;meta.main or a one-column primary key), which a cone search needs`,
      404,
    );
  return cat;
}

/**
 * Simple Cone Search 1.03 (with the 1.1 draft's MAXREC and RESPONSEFORMAT): one endpoint per
 * published catalogue with a position at /scs/<schema>.<table>/query (SCS-40), and
 * /scs/query for the node's default catalogue.
 */
export function registerScs(app: FastifyInstance, deps: ScsDeps): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const ticket = deps.gate.admit(request);
    if (typeof ticket === 'string')
      return sendError(request, reply, new ServiceBusy(ticket, SYNC_RETRY_AFTER_SECONDS));
    try {
      const identity = request.identity ?? ANONYMOUS;
      const view = deps.catalogues.view(identity);
      const named = (request.params as { table?: string }).table;
      const cat = coneFor(view, named, deps.defaultTable ?? DEFAULT_CONE_TABLE);
      const tables = [...view.adql.tables()];
      const params = new DaliParams().add(request.query);
      if (request.method === 'POST') params.add(request.body);
      const cone = parseConeRequest(params, deps.limits);
      const format = cone.format?.format ?? 'votable/td';
      const abort = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) abort.abort('client-gone');
      });
      ticket.watch(abort);
      // SCS-07: SR=0 asks for the columns alone; the query is compiled (so valid) but not run.
      const maxrec = cone.sr === 0 ? 0 : cone.maxrec;
      await ticket.startProducing(abort.signal);
      const result = await executeQuery(
        deps.pool,
        await compileAdql(coneAdql(cat, cone), tables, [], { maxrec }),
        {
          catalogueVersion: deps.catalogues.version,
          identity,
          maxrec,
          timeoutSeconds: deps.limits.timeoutSeconds,
          signal: abort.signal,
          copyFormat: copyFormatFor(format),
        },
      );
      request.queryFacts = { service: 'scs', rows: () => result.rowsSent() };
      const infos: Info[] = [
        { name: 'standardID', value: 'ivo://ivoa.net/std/ConeSearch' },
        { name: 'RA', value: String(cone.ra) },
        { name: 'DEC', value: String(cone.dec) },
        { name: 'SR', value: String(cone.sr) },
        { name: 'VERB', value: String(cone.verb) },
        { name: 'MAXREC', value: String(cone.maxrec) },
      ];
      // Before coneFields: the MIVOT mapping reads the columns' UCD1+ (coneFields rewrites the
      // main ones to UCD1) and gives the FIELDs the IDs and COOSYS refs it points at.
      const annotations = resultAnnotations(result, format, deps.baseUrl, deps.mivot ?? false);
      const body = encode(format, {
        fields: coneFields(cat, result.fields),
        rows: result.rows,
        copy: result.copy,
        leadingStatus: cone.sr === 0 ? 'OK' : result.leadingStatus,
        trailingStatus: result.trailingStatus,
        infos,
        coosys: annotations.coosys ?? [{ ID: 'icrs', system: 'ICRS' }],
        // DataLink 1.1 §4: a descriptor per column of DataLink identifiers, as in TAP results.
        extraResources: annotations.extraResources,
        ...(annotations.metaResources ? { metaResources: annotations.metaResources } : {}),
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
  app.get('/scs/:table/query', handler);
  app.post('/scs/:table/query', handler);
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
    status = err.reason === 'timeout' || err.reason === 'shutdown' ? 503 : 500;
    if (err.reason === 'shutdown') reply.header('Retry-After', String(SYNC_RETRY_AFTER_SECONDS));
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
