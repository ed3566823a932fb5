import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { HEALPIX_INDEX_ORDER, Moc, type MocCell, SkyError } from '../../sky/index.js';
import { ANONYMOUS, withReadOnlyIdentity } from '../auth/index.js';
import { ServiceBusy } from '../db/acquire.js';
import { reportInternalError } from '../errors/index.js';

/** How deep and how long a coverage request may go. */
export interface MocLimits {
  /** Deepest order of the source catalogue's MOC (cells come from its HEALPix index). */
  readonly maxSourcesOrder: number;
  /** Deepest order of the data products' MOC (each footprint polygon is covered at it). */
  readonly maxProductsOrder: number;
  /** statement_timeout of the query behind one MOC, ms. */
  readonly timeoutMs: number;
}

export const DEFAULT_MOC_LIMITS: MocLimits = { maxSourcesOrder: 12, maxProductsOrder: 14, timeoutMs: 60_000 };

const DEFAULT_SOURCES_ORDER = 8;
const DEFAULT_PRODUCTS_ORDER = 10;

export interface MocDeps {
  readonly pool: pg.Pool;
  readonly baseUrl: string;
  readonly limits?: Partial<MocLimits>;
}

type MocFormat = 'fits' | 'json' | 'ascii';

const CONTENT_TYPE: Record<MocFormat, string> = {
  fits: 'application/fits',
  json: 'application/json',
  ascii: 'text/plain; charset=utf-8',
};

class MocRequestError extends Error {}

function one(query: unknown, name: string): string | undefined {
  const v = (query as Record<string, unknown>)[name];
  if (Array.isArray(v)) {
    if (new Set(v).size > 1)
      throw new MocRequestError(`${name} was given ${v.length} different values; give it once`);
    return v[0] === undefined ? undefined : String(v[0]);
  }
  return v === undefined ? undefined : String(v);
}

function parseOrder(raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const t = raw.trim();
  if (!/^\d{1,2}$/.test(t) || Number(t) > max)
    throw new MocRequestError(
      `order='${raw}' is not a HEALPix order from 0 to ${max}, the deepest this service gives`,
    );
  return Number(t);
}

function parseFormat(raw: string | undefined): MocFormat {
  if (raw === undefined || raw.trim() === '') return 'fits';
  const t = raw.trim().toLowerCase();
  if (t === 'fits' || t === 'json' || t === 'ascii') return t;
  throw new MocRequestError(
    `format='${raw}' is not offered; use fits (MOC 2.0 FITS, the default), json or ascii`,
  );
}

function send(reply: FastifyReply, moc: Moc, format: MocFormat, mocType: 'IMAGE' | 'CATALOG') {
  const body = format === 'fits' ? moc.toFits({ mocType }) : format === 'json' ? moc.toJson() : moc.toAscii();
  return reply.status(200).type(CONTENT_TYPE[format]).send(body);
}

/**
 * Sky coverage as MOC 2.0 (FITS, JSON or ASCII) of what the caller may see: the source
 * catalogue (from its order-29 HEALPix index) and the data products (from their ObsCore
 * footprints). Row-level security applies, so a proprietary field is in a MOC only for its
 * owners.
 */
export function registerMoc(app: FastifyInstance, deps: MocDeps): void {
  const limits: MocLimits = { ...DEFAULT_MOC_LIMITS, ...deps.limits };
  const fail = (reply: FastifyReply, err: unknown, request: FastifyRequest) => {
    if (err instanceof MocRequestError || err instanceof SkyError)
      return reply.status(400).type('text/plain; charset=utf-8').send(`${err.message}\n`);
    if (err instanceof ServiceBusy) throw err; // 503 + Retry-After by the app's error handler
    return reply
      .status(500)
      .type('text/plain; charset=utf-8')
      .send(`${reportInternalError(request.log, err, 'MOC request failed')}\n`);
  };

  app.get('/moc', async (_request, reply) =>
    reply.type('application/json').send({
      mocs: [
        {
          url: `${deps.baseUrl}/moc/sources`,
          description: 'the source catalogue demo.sources (one cell per source at the order asked)',
          parameters: {
            order: `0..${limits.maxSourcesOrder}, default ${DEFAULT_SOURCES_ORDER}`,
            format: 'fits|json|ascii',
          },
        },
        {
          url: `${deps.baseUrl}/moc/products`,
          description: 'the footprints of the images and cubes in ivoa.obscore',
          parameters: {
            order: `0..${limits.maxProductsOrder}, default ${DEFAULT_PRODUCTS_ORDER}`,
            collection: 'obs_collection to restrict to',
            id: 'obs_publisher_did of one product',
            format: 'fits|json|ascii',
          },
        },
      ],
    }),
  );

  app.get('/moc/sources', async (request, reply) => {
    try {
      const order = parseOrder(one(request.query, 'order'), DEFAULT_SOURCES_ORDER, limits.maxSourcesOrder);
      const format = parseFormat(one(request.query, 'format'));
      const shift = 2 * (HEALPIX_INDEX_ORDER - order);
      const cells = await withReadOnlyIdentity(
        deps.pool,
        request.identity ?? ANONYMOUS,
        async (client) => {
          const r = await client.query<{ cell: bigint }>(
            'SELECT DISTINCT healpix >> $1 AS cell FROM demo.sources',
            [shift],
          );
          return r.rows.map((row): MocCell => ({ order, index: BigInt(row.cell) }));
        },
        { statementTimeoutMs: limits.timeoutMs },
      );
      return send(reply, Moc.fromCells(cells, order), format, 'CATALOG');
    } catch (err) {
      return fail(reply, err, request);
    }
  });

  app.get('/moc/products', async (request, reply) => {
    try {
      const order = parseOrder(one(request.query, 'order'), DEFAULT_PRODUCTS_ORDER, limits.maxProductsOrder);
      const format = parseFormat(one(request.query, 'format'));
      const collection = one(request.query, 'collection');
      const id = one(request.query, 'id');
      const regions = await withReadOnlyIdentity(
        deps.pool,
        request.identity ?? ANONYMOUS,
        async (client) => {
          const r = await client.query<{ region: number[] }>(
            `SELECT s_region AS region FROM ivoa.obscore
             WHERE s_region IS NOT NULL AND ($1::text IS NULL OR obs_collection = $1) AND ($2::text IS NULL OR obs_publisher_did = $2)`,
            [collection ?? null, id ?? null],
          );
          return r.rows.map((row) => row.region);
        },
        { statementTimeoutMs: limits.timeoutMs },
      );
      let moc = Moc.empty(order);
      for (const region of regions) {
        const vertices: Array<[number, number]> = [];
        for (let i = 0; i + 1 < region.length; i += 2) vertices.push([region[i], region[i + 1]]);
        moc = moc.union(Moc.fromPolygon(vertices, order));
      }
      return send(reply, moc, format, 'IMAGE');
    } catch (err) {
      return fail(reply, err, request);
    }
  });
}
