import type {} from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { AdqlError, type CatalogueTable } from '../../adql/index.js';
import { copyFormatFor, encode, errorDocument, type Info } from '../../votable/index.js';
import { ANONYMOUS } from '../auth/index.js';
import type { CatalogueSource } from '../catalogue/index.js';
import { DaliError, DaliParams } from '../dali/index.js';
import { ServiceBusy } from '../db/acquire.js';
import { malformedBodyMessage, reportInternalError } from '../errors/index.js';
import { queryId } from '../metrics/index.js';
import { resultAnnotations } from './annotations.js';
import type { TapLimits } from './capability.js';
import { adqlErrorInfos, compileAdql } from './compile.js';
import { executeQuery, QueryStopped } from './execute.js';
import { parseTapRequest, type TapQueryRequest } from './request.js';
import { SYNC_RETRY_AFTER_SECONDS, type SyncGate } from './spooled.js';
import { loadUpload, type UploadLimits, UploadSpool } from './upload.js';

export interface SyncOptions {
  readonly pool: pg.Pool;
  /** The node's public URL: DataLink descriptors in results point at its /datalink/links. */
  readonly baseUrl: string;
  readonly limits: TapLimits;
  readonly uploadLimits: UploadLimits;
  /** The published tables; each request compiles against what its caller may see. */
  readonly catalogues: CatalogueSource;
  /** Caps on sync queries in progress, and the spool their results go through. */
  readonly gate: SyncGate;
}

const VOTABLE_ERROR_TYPE = 'application/x-votable+xml;charset=UTF-8';

/**
 * /tap/sync by GET and POST (urlencoded or multipart), answered directly with 200: no
 * redirect, since some clients do not follow one (CLIENTS.md, TAP-7).
 */
export function registerTapSync(app: FastifyInstance, opts: SyncOptions): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const ticket = opts.gate.admit(request);
    if (typeof ticket === 'string')
      return sendError(request, reply, new ServiceBusy(ticket, SYNC_RETRY_AFTER_SECONDS), undefined);
    const spool = new UploadSpool(opts.uploadLimits);
    let tap: TapQueryRequest | undefined;
    try {
      const params = await readParams(request, spool);
      tap = parseTapRequest(params, opts.limits);
      // The log line and the rows counter read these when the response is over.
      let sent: (() => number | undefined) | undefined;
      request.queryFacts = { queryId: queryId(tap.query), service: 'tap', rows: () => sent?.() };
      for (const u of tap.uploads) if (u.source.kind === 'url') await spool.addUrl(u.source.url);
      const abort = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) abort.abort('client-gone');
      });
      ticket.watch(abort);
      const req = tap;
      const identity = request.identity ?? ANONYMOUS;
      const catalogue = opts.catalogues.view(identity).adql;
      // Few results are produced at once, so encoding them cannot starve other requests.
      await ticket.startProducing(abort.signal);
      const catalogueVersion = opts.catalogues.version;
      // Without uploads the query compiles before a connection is taken, and the transaction,
      // the identity and the query then cost two round trips (execute.ts).
      const query =
        req.uploads.length === 0
          ? await compileAdql(req.query, catalogue, [], { maxrec: req.maxrec })
          : async (client: pg.PoolClient) => {
              const uploaded: CatalogueTable[] = [];
              for (const [i, u] of req.uploads.entries()) {
                uploaded.push(await loadUpload(client, u, spool.fileFor(u), opts.uploadLimits, i));
              }
              return compileAdql(req.query, catalogue, uploaded, { maxrec: req.maxrec });
            };
      const result = await executeQuery(opts.pool, query, {
        catalogueVersion,
        identity,
        maxrec: req.maxrec,
        timeoutSeconds: opts.limits.syncTimeoutSeconds,
        signal: abort.signal,
        copyFormat: copyFormatFor(req.format.format),
        statusSpool: () => opts.gate.statusSpool(),
      });
      sent = () => result.rowsSent();
      const body = encode(
        req.format.format,
        {
          fields: result.fields,
          rows: result.rows,
          copy: result.copy,
          leadingStatus: result.leadingStatus,
          trailingStatus: result.trailingStatus,
          ...resultAnnotations(result, req.format.format, opts.baseUrl, opts.limits.mivot),
          infos: requestInfos(req),
        },
        { parquetRowGroupRows: opts.limits.parquetRowGroupRows },
      );
      // The connection is given back as soon as PostgreSQL is done, not when the client is.
      return opts.gate.send({
        reply,
        contentType: req.format.contentType,
        body,
        abort,
        ticket,
        onClose: () => {
          void result.close();
          void spool.dispose();
        },
      });
    } catch (err) {
      ticket.release();
      await spool.dispose();
      return sendError(request, reply, err, tap);
    }
  };
  app.get('/tap/sync', handler);
  app.post('/tap/sync', handler);
}

/** The request echoed as INFOs after QUERY_STATUS (DALI-48). */
function requestInfos(req: TapQueryRequest): Info[] {
  const infos: Info[] = [
    { name: 'standardID', value: 'ivo://ivoa.net/std/TAP' },
    { name: 'QUERY', value: req.query },
    { name: 'MAXREC', value: String(req.maxrec) },
  ];
  if (req.runId !== undefined) infos.push({ name: 'RUNID', value: req.runId });
  return infos;
}

/** Query string, then the body: urlencoded fields or multipart fields and file parts. */
async function readParams(request: FastifyRequest, spool: UploadSpool): Promise<DaliParams> {
  const params = new DaliParams().add(request.query);
  if (request.method !== 'POST') return params;
  if (request.isMultipart()) {
    for await (const part of request.parts()) {
      if (part.type === 'file') await spool.addPart(part.fieldname, part.file);
      else params.push(part.fieldname, String(part.value));
    }
  } else {
    params.add(request.body);
  }
  return params;
}

function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  err: unknown,
  tap: TapQueryRequest | undefined,
) {
  // The query is echoed (DALI-48) up to a bound: a refused 1 MB query must not cost a 1 MB
  // escaped answer on the event loop.
  const infos: Info[] = tap ? [{ name: 'QUERY', value: echoed(tap.query) }] : [];
  let status: number;
  let message: string;
  if (err instanceof DaliError) {
    status = err.status;
    message = err.message;
  } else if (err instanceof ServiceBusy) {
    // Pool or sync places exhausted: not the client's fault nor the service's; come back later.
    status = 503;
    message = err.message;
    reply.header('Retry-After', String(err.retryAfterSeconds));
  } else if (err instanceof AdqlError) {
    status = 400;
    message = err.message;
    infos.push(...adqlErrorInfos(err));
  } else if (err instanceof QueryStopped) {
    if (err.reason === 'client-gone') return reply;
    status = err.reason === 'timeout' || err.reason === 'shutdown' ? 503 : 500;
    if (err.reason === 'shutdown') reply.header('Retry-After', String(SYNC_RETRY_AFTER_SECONDS));
    message = err.message;
  } else if (isMultipartLimit(err)) {
    status = 413;
    message = (err as Error).message;
  } else if (malformedBodyMessage(err)) {
    status = 400;
    message = malformedBodyMessage(err) as string;
  } else if (isDatabaseUserError(err)) {
    // A valid query that PostgreSQL could not evaluate: division by zero, a bad cast...
    status = 400;
    message = `the query failed in the database: ${(err as Error).message}`;
  } else {
    status = 500;
    message = reportInternalError(request.log, err, 'TAP sync query failed');
  }
  return reply.status(status).type(VOTABLE_ERROR_TYPE).send(errorDocument(message, infos));
}

const ECHO_CHARS = 4096;
const echoed = (query: string) =>
  query.length <= ECHO_CHARS ? query : `${query.slice(0, ECHO_CHARS)}... (${query.length} characters)`;

function isMultipartLimit(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code.startsWith('FST_') && /LIMIT|TOO_LARGE|FILES/i.test(code);
}

// SQLSTATE classes caused by the query's values rather than by the service.
function isDatabaseUserError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return typeof code === 'string' && /^(22|42|2F|54)/.test(code);
}
