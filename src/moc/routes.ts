import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { Moc, SkyError } from '../../sky/index.js';
import { ANONYMOUS, type Identity, withReadOnlyIdentity } from '../auth/index.js';
import type { CatalogueSource } from '../catalogue/index.js';
import { ServiceBusy } from '../db/acquire.js';
import { reportInternalError } from '../errors/index.js';
import { type CachedFile, FileCache } from './cache.js';
import { canonicalCellsSql, copyCellsToFile } from './cells.js';
import { encode, type MocFormat } from './encode.js';

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
  /** The published tables: each one with a position has a MOC at /moc/<schema>.<table>. */
  readonly catalogues: CatalogueSource;
  readonly limits?: Partial<MocLimits>;
  /** Where computed MOCs are kept (emptied at start and on close). */
  readonly cacheDir: string;
}

/** The catalogue /moc/sources has always described. */
const SOURCES_TABLE = 'demo.sources';

/** MOCs computed, at most this many kept. */
const CACHE_ENTRIES = 64;
/**
 * A cached MOC is reused for at most this long even when nothing was published: a row's
 * release date passing changes what a caller may see without any change to the catalogue.
 */
const CACHE_TTL_MS = 10 * 60_000;

const CONTENT_TYPE: Record<MocFormat, string> = {
  fits: 'application/fits',
  json: 'application/json',
  ascii: 'text/plain; charset=utf-8',
};

class MocRequestError extends Error {}
class MocNotFound extends Error {}

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

function serialise(moc: Moc, format: MocFormat, mocType: 'IMAGE' | 'CATALOG'): Buffer {
  return format === 'fits'
    ? moc.toFits({ mocType })
    : Buffer.from(format === 'json' ? moc.toJson() : moc.toAscii());
}

/** A cached MOC streamed from its file. */
function sendFile(reply: FastifyReply, file: CachedFile<number>, format: MocFormat) {
  return reply
    .status(200)
    .type(CONTENT_TYPE[format])
    .header('content-length', file.meta)
    .send(file.handle.createReadStream());
}

/**
 * Sky coverage as MOC 2.0 (FITS, JSON or ASCII) of what the caller may see: the source
 * catalogue (from its order-29 HEALPix index) and the data products (from their ObsCore
 * footprints). Row-level security applies, so a proprietary field is in a MOC only for its
 * owners.
 */
export function registerMoc(app: FastifyInstance, deps: MocDeps): void {
  const limits: MocLimits = { ...DEFAULT_MOC_LIMITS, ...deps.limits };
  const cache = new FileCache<number>(deps.cacheDir, CACHE_ENTRIES, CACHE_TTL_MS);
  app.addHook('onClose', async () => cache.close());
  const fail = (reply: FastifyReply, err: unknown, request: FastifyRequest) => {
    if (err instanceof MocNotFound)
      return reply.status(404).type('text/plain; charset=utf-8').send(`${err.message}\n`);
    if (err instanceof MocRequestError || err instanceof SkyError)
      return reply.status(400).type('text/plain; charset=utf-8').send(`${err.message}\n`);
    if (err instanceof ServiceBusy) throw err; // 503 + Retry-After by the app's error handler
    return reply
      .status(500)
      .type('text/plain; charset=utf-8')
      .send(`${reportInternalError(request.log, err, 'MOC request failed')}\n`);
  };

  app.get('/moc', async (request, reply) =>
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
        // Each published catalogue with a position the caller may see.
        ...deps.catalogues
          .view(request.identity ?? ANONYMOUS)
          .positional()
          .filter((t) => `${t.schema}.${t.name}`.toLowerCase() !== SOURCES_TABLE)
          .map((t) => ({
            url: `${deps.baseUrl}/moc/${encodeURIComponent(`${t.schema}.${t.name}`)}`,
            description: `the catalogue ${t.schema}.${t.name}${t.title ? ` (${t.title})` : ''}, one cell per row at the order asked`,
            parameters: {
              order: `0..${limits.maxSourcesOrder}, default ${DEFAULT_SOURCES_ORDER}`,
              format: 'fits|json|ascii',
            },
          })),
      ],
    }),
  );

  // Keyed on the catalogue's version, the table, the order and the caller's groups (RLS
  // decides on groups alone); a publish bumps the version, so a new table version is never
  // answered from the old one's cells. The cells are one file, each format made from it
  // another, so a MOC is computed once per data version and then only read from disk.
  const catalogueFile = async (identity: Identity, table: string, order: number, format: MocFormat) => {
    const view = deps.catalogues.view(identity);
    const t =
      view.table(table) ??
      view
        .positional()
        .find(
          (x) =>
            `${x.schema}.${x.name}`.replaceAll('"', '').toLowerCase() ===
            table.replaceAll('"', '').toLowerCase(),
        );
    // A table the caller may not see is answered like one that does not exist.
    if (!t?.spatialIndex)
      throw new MocNotFound(
        `no published catalogue with a position is named '${table}'; see ${deps.baseUrl}/moc`,
      );
    const column = t.columns.find((c) => c.name === t.spatialIndex?.column);
    const sqlColumn = column?.sqlName ?? t.spatialIndex.column.replace(/^"(.*)"$/, '$1');
    const cellsKey = [
      deps.catalogues.version,
      `${t.schema}.${t.name}`,
      order,
      [...identity.groups].sort().join(','),
    ].join('|');
    return cache.get(`${cellsKey}|${format}`, async (path) => {
      const cells = await cache.get(cellsKey, (cellsPath) =>
        // Computed as the caller: row-level security leaves out the rows it may not read.
        withReadOnlyIdentity(
          deps.pool,
          identity,
          (client) =>
            copyCellsToFile(
              client,
              canonicalCellsSql(t.sql.schema, t.sql.table, sqlColumn, order),
              cellsPath,
            ),
          { statementTimeoutMs: limits.timeoutMs },
        ),
      );
      try {
        // Small chunks: each is one turn of the event loop (parsing, encoding); 16 KiB is ~1,500 cells.
        const input = cells.handle.createReadStream({ autoClose: false, highWaterMark: 16 * 1024 });
        const out = createWriteStream(path);
        await pipeline(Readable.from(encode(format, input, order, cells.meta, 'CATALOG')), out);
        return out.bytesWritten;
      } finally {
        await cells.handle.close();
      }
    });
  };
  const catalogueMoc = async (request: FastifyRequest, reply: FastifyReply, table: string) => {
    try {
      const order = parseOrder(one(request.query, 'order'), DEFAULT_SOURCES_ORDER, limits.maxSourcesOrder);
      const format = parseFormat(one(request.query, 'format'));
      const file = await catalogueFile(request.identity ?? ANONYMOUS, table, order, format);
      return sendFile(reply, file, format);
    } catch (err) {
      return fail(reply, err, request);
    }
  };
  app.get('/moc/sources', (request, reply) => catalogueMoc(request, reply, SOURCES_TABLE));
  app.get('/moc/:table', (request, reply) =>
    catalogueMoc(request, reply, (request.params as { table: string }).table),
  );

  app.get('/moc/products', async (request, reply) => {
    try {
      const order = parseOrder(one(request.query, 'order'), DEFAULT_PRODUCTS_ORDER, limits.maxProductsOrder);
      const format = parseFormat(one(request.query, 'format'));
      const collection = one(request.query, 'collection');
      const id = one(request.query, 'id');
      // The footprints are read at every request (a small, indexed table), and the MOC is
      // kept under a hash of them: a product ingested, retracted or released changes the
      // footprints the caller gets, and so the key, at once. Only the coverage, the costly
      // part, is cached.
      const regions = await withReadOnlyIdentity(
        deps.pool,
        request.identity ?? ANONYMOUS,
        async (client) => {
          const r = await client.query<{ region: number[] }>(
            `SELECT s_region AS region FROM ivoa.obscore
             WHERE s_region IS NOT NULL AND ($1::text IS NULL OR obs_collection = $1) AND ($2::text IS NULL OR obs_publisher_did = $2)
             ORDER BY obs_publisher_did`,
            [collection ?? null, id ?? null],
          );
          return r.rows.map((row) => row.region);
        },
        { statementTimeoutMs: limits.timeoutMs },
      );
      const hash = createHash('sha256').update(`${order}|${format}`);
      for (const region of regions) hash.update(`|${region.join(',')}`);
      const file = await cache.get(`products|${hash.digest('hex')}`, async (path) => {
        let moc = Moc.empty(order);
        for (const region of regions) {
          const vertices: Array<[number, number]> = [];
          for (let i = 0; i + 1 < region.length; i += 2) vertices.push([region[i], region[i + 1]]);
          moc = moc.union(Moc.fromPolygon(vertices, order));
        }
        const bytes = serialise(moc, format, 'IMAGE');
        await writeFile(path, bytes);
        return bytes.length;
      });
      return sendFile(reply, file, format);
    } catch (err) {
      return fail(reply, err, request);
    }
  });
}
