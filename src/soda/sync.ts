import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { WcsError } from '../../sky/wcs/index.js';
import { ANONYMOUS } from '../auth/index.js';
import { DaliError, DaliParams } from '../dali/index.js';
import { heldElsewhere, lookupProduct, sendRefusal } from '../datalink/index.js';
import { ServiceBusy } from '../db/acquire.js';
import { malformedBodyMessage, reportInternalError } from '../errors/index.js';
import {
  cutoutByteLength,
  cutoutCards,
  FitsError,
  FitsFile,
  type FitsHdu,
  type FitsSink,
  productHdu,
} from '../fits/index.js';
import { ParamError, POL_LABELS, parseCircle, parseInterval, parsePolygon, parsePos } from '../sia/index.js';
import { planCutout, type SodaFilters } from './plan.js';
import { streamCutout } from './read.js';

export interface SodaLimits {
  /** Largest single read from the file, bytes (bounds memory per request). */
  readonly maxReadBytes: number;
  /** Largest cutout served by sync, bytes; larger ones should use async. */
  readonly maxSyncBytes: number;
}

export const DEFAULT_SODA_LIMITS: SodaLimits = { maxReadBytes: 4 * 1024 * 1024, maxSyncBytes: 4 * 1024 ** 3 };

export interface SodaDeps {
  readonly pool: pg.Pool;
  readonly limits?: Partial<SodaLimits>;
}

/** A SODA failure with its label (SODA-52) and HTTP status. */
export class SodaError extends Error {
  constructor(
    readonly label: 'Error' | 'UsageError' | 'MultiValuedParamNotSupported' | 'ServiceUnavailable',
    message: string,
    readonly status: number,
  ) {
    super(`${label}: ${message}`);
    this.name = 'SodaError';
  }
}

const FAULTS = { authentication: 'AuthenticationError', authorization: 'AuthorizationError' };

/** The SODA parameters of a request (SODA-33/34: one ID, one spatial filter, one BAND/TIME, POL repeatable). */
export function parseSodaParams(params: DaliParams): { id: string; filters: SodaFilters } {
  const single = (name: string): string | undefined => {
    const v = params.all(name);
    if (v.length > 1)
      throw new SodaError('MultiValuedParamNotSupported', `${name} may be given once on /soda/sync`, 400);
    return v[0];
  };
  try {
    const id = single('ID');
    if (id === undefined || id.trim() === '')
      throw new SodaError('UsageError', 'ID is required (the obs_publisher_did of the dataset)', 400);
    const spatial = ['POS', 'CIRCLE', 'POLYGON'].filter((n) => params.all(n).length > 0);
    const count = spatial.reduce((n, name) => n + params.all(name).length, 0);
    if (count > 1) {
      throw new SodaError(
        'MultiValuedParamNotSupported',
        `give one of POS, CIRCLE or POLYGON once (got ${spatial.join(', ')})`,
        400,
      );
    }
    const filters: SodaFilters = {};
    const pos = single('POS');
    const circle = single('CIRCLE');
    const polygon = single('POLYGON');
    if (pos !== undefined) filters.region = parsePos(pos);
    else if (circle !== undefined) filters.region = parseCircle(circle);
    else if (polygon !== undefined) filters.region = parsePolygon(polygon);
    const band = single('BAND');
    if (band !== undefined) filters.band = parseInterval(band, 'BAND');
    const time = single('TIME');
    if (time !== undefined) filters.time = parseInterval(time, 'TIME');
    const pol = params.all('POL');
    for (const p of pol) {
      if (!POL_LABELS.includes(p))
        throw new ParamError(`POL='${p}' is not a polarisation state; use one of ${POL_LABELS.join(', ')}`);
    }
    if (pol.length > 0) filters.pol = pol;
    return { id, filters };
  } catch (err) {
    if (err instanceof ParamError) throw new SodaError('UsageError', err.message, 400);
    throw err;
  }
}

/** The HDU a cutout cuts: the one ingest described (src/fits productHdu). */
export async function imageHdu(file: FitsFile): Promise<FitsHdu> {
  try {
    return await productHdu(file);
  } catch (err) {
    if (err instanceof FitsError) throw new SodaError('Error', 'the dataset has no image to cut', 500);
    throw err;
  }
}

/** A sink writing into an HTTP response with backpressure; fails once the client has gone. */
class ResponseSink implements FitsSink {
  readonly stream = new PassThrough({ highWaterMark: 1024 * 1024 });
  async write(chunk: Uint8Array): Promise<void> {
    if (this.stream.destroyed) throw new Error('client went away');
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }
}

/** SODA 1.0 `{sync}` at /soda/sync (GET and POST). */
export function registerSodaSync(app: FastifyInstance, deps: SodaDeps): void {
  const limits = { ...DEFAULT_SODA_LIMITS, ...deps.limits };
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const text = (status: number, message: string) =>
      reply.status(status).type('text/plain; charset=utf-8').send(`${message}\n`);
    let file: FitsFile | undefined;
    try {
      const params = new DaliParams().add(request.query);
      if (request.method === 'POST') {
        if (request.isMultipart()) {
          for await (const part of request.parts()) {
            if (part.type === 'field') params.push(part.fieldname, String(part.value));
            else part.file.resume();
          }
        } else params.add(request.body);
      }
      const { id, filters } = parseSodaParams(params);
      const found = await lookupProduct(deps.pool, request.identity ?? ANONYMOUS, id);
      if (found.status === 'not-found') return text(404, `UsageError: no dataset has ID ${id}`);
      if (found.status === 'forbidden') return sendRefusal(request, reply, id, FAULTS);
      const product = found.product;
      if (filters.pol) {
        const unknown = filters.pol.filter((p) => !product.polStates.includes(p));
        if (unknown.length === filters.pol.length) {
          // SODA-21: labels must come from the dataset's pol_states.
          return text(
            400,
            `UsageError: POL ${unknown.join(', ')} not in this dataset; it has ${product.polStates.join(', ') || 'no polarisation axis'}`,
          );
        }
      }
      const elsewhere = heldElsewhere(product);
      if (elsewhere) return text(400, `UsageError: this SODA cannot cut it: ${elsewhere}`);
      try {
        file = await FitsFile.open(product.filePath);
      } catch (err) {
        request.log.error({ err, did: id }, 'product file cannot be opened');
        return text(503, `ServiceUnavailable: the file of ${id} cannot be read on this node at the moment`);
      }
      const hdu = await imageHdu(file);
      const plan = planCutout(hdu, product, filters);
      if ('empty' in plan) {
        await file.close();
        // SODA-51: nothing matches → 204, empty body; the reason goes in a header for people.
        return reply.status(204).header('X-SODA-Reason', plan.empty).send();
      }
      const cards = cutoutCards(hdu, plan.box, plan.history);
      const length = cutoutByteLength(hdu, plan.box, cards);
      if (length > limits.maxSyncBytes) {
        await file.close();
        return text(
          400,
          `UsageError: the cutout would be ${length} bytes, more than the ${limits.maxSyncBytes} /soda/sync serves; narrow it or use /soda/async`,
        );
      }
      const sink = new ResponseSink();
      const opened = file;
      file = undefined;
      const name = `${product.did.replace(/^.*[/?]/, '') || 'dataset'}-cutout.fits`;
      reply
        .status(200)
        .type('application/fits')
        .header('Content-Length', String(length))
        .header('Content-Disposition', `inline; filename="${name.replace(/"/g, '')}"`);
      void streamCutout(opened, hdu, plan.box, sink, {
        history: plan.history,
        maxReadBytes: limits.maxReadBytes,
      })
        .then(() => sink.stream.end())
        .catch((err) => {
          request.log.warn({ err }, 'SODA cutout stream stopped');
          sink.stream.destroy(err instanceof Error ? err : new Error(String(err)));
        })
        .finally(() => opened.close());
      return reply.send(sink.stream);
    } catch (err) {
      if (file) await file.close().catch(() => undefined);
      if (err instanceof SodaError) {
        if (err.status >= 500)
          return text(err.status, `Error: ${reportInternalError(request.log, err, 'SODA request failed')}`);
        return text(err.status, err.message);
      }
      if (err instanceof DaliError && err.status < 500) return text(400, `UsageError: ${err.message}`);
      const malformed = malformedBodyMessage(err);
      if (malformed) return text(400, `UsageError: ${malformed}`);
      if (err instanceof WcsError) return text(400, `UsageError: ${err.message}`);
      // A FitsError's message starts with the file's path, which no client may read.
      if (err instanceof FitsError && err.code === 'LIMIT')
        return text(400, `UsageError: ${withoutPath(err)}`);
      if (err instanceof ServiceBusy) throw err; // 503 + Retry-After by the app's error handler
      return text(500, `Error: ${reportInternalError(request.log, err, 'SODA cutout failed')}`);
    }
  };
  app.get('/soda/sync', handler);
  app.post('/soda/sync', handler);
}

/** A FitsError's text without the file path that FitsError puts in front of it. */
function withoutPath(err: FitsError): string {
  return err.path && err.message.startsWith(`${err.path}: `)
    ? err.message.slice(err.path.length + 2)
    : err.message;
}
