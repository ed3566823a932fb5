/**
 * The youcat table-management routes under /tap (VOSI-33 [1.2-WD], CADC youcat, pyvo's
 * TAPService.create_table / load_table / remove_table):
 *
 *   PUT    /tap/tables/{schema.table}  a VOSI <vosi:table> (text/xml) or a VOTable
 *                                      (application/x-votable+xml, whose rows are loaded) -> 201
 *   POST   /tap/load/{schema.table}    rows as TSV, CSV, FITS binary table, VOTable or Parquet,
 *                                      appended in one transaction -> 200
 *   DELETE /tap/tables/{schema.table}  the table and its rows -> 204
 *
 * (GET /tap/tables/{name} stays the VOSI table document of src/tap/routes.ts.) Bodies are
 * streamed into COPY, never held whole in memory. Refusals are DALI error documents
 * (DALI-43): 400 bad definition or data, 401 anonymous (with the node's challenges), 403
 * someone else's schema or table, 404 no such table (or one the caller may not see), 409
 * exists, 413 over a limit, 415 a format not taken.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import { errorDocument } from '../../votable/index.js';
import { bearerChallenge, type Identity } from '../auth/index.js';
import type { CatalogueSource } from '../catalogue/index.js';
import {
  DataFileError,
  type DataFormat,
  type DataSource,
  type Datatype,
  openStreamSource,
  PublishError,
} from '../publish/index.js';
import { openDataSource } from '../publish/readers/index.js';
import { tableFromFields, tableFromVosi } from './definition.js';
import { ownTable, UserTableError, userSchemaOf } from './names.js';
import { mayRead, mayWrite } from './permissions.js';
import type { UserTableSettings } from './settings.js';
import { type CreateInput, createUserTable, dropUserTable, findUserTable, loadUserTable } from './tables.js';
import { grantsFromHeaders } from './youcat-permissions.js';

export interface UserTableRoutesOptions {
  readonly pool: pg.Pool;
  readonly settings: UserTableSettings;
  /** Where a Parquet body is kept while it is read (Parquet needs its footer first). */
  readonly spoolDir: string;
  /**
   * The node's live catalogue: a change is answered once this process has heard of it, so
   * the client's next request here (pyvo queries right after create_table) sees it.
   */
  readonly catalogues?: CatalogueSource;
}

/** Most milliseconds an answer waits for this process to hear of its own change. */
const HEAR_TIMEOUT_MS = 5000;

/** Resolves when `catalogues` has heard of a change of `name` (or after HEAR_TIMEOUT_MS). */
function expectChange(catalogues: CatalogueSource | undefined, name: string) {
  if (!catalogues) return { wait: async () => {}, cancel: () => {} };
  let off: () => void = () => {};
  let timer: NodeJS.Timeout | undefined;
  const heard = new Promise<void>((resolve) => {
    off = catalogues.onChange((n) => {
      if (n.toLowerCase() === name.toLowerCase() || n === '*') resolve();
    });
    timer = setTimeout(resolve, HEAR_TIMEOUT_MS);
    timer.unref();
  });
  const cancel = () => {
    off();
    clearTimeout(timer);
  };
  return {
    wait: async () => {
      await heard;
      cancel();
    },
    cancel,
  };
}

const VOTABLE_TYPE = 'application/x-votable+xml;charset=UTF-8';
/** A VOSI definition is a small XML document; anything larger is not one. */
const MAX_DEFINITION_BYTES = 16 * 1024 * 1024;

/** Load formats by media type (youcat's and pyvo's names, and the usual aliases). */
const LOAD_FORMATS: Readonly<Record<string, DataFormat>> = {
  'text/tab-separated-values': 'tsv',
  'text/csv': 'csv',
  'application/fits': 'fits',
  'application/x-fits': 'fits',
  'image/fits': 'fits',
  'application/x-votable+xml': 'votable',
  'text/xml': 'votable',
  'application/xml': 'votable',
  'application/vnd.apache.parquet': 'parquet',
  'application/x-parquet': 'parquet',
};

const mediaType = (request: FastifyRequest) =>
  String(request.headers['content-type'] ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase();

export async function userTableRoutes(app: FastifyInstance, opts: UserTableRoutesOptions): Promise<void> {
  const { pool, settings } = opts;
  // Bodies are read by the routes as streams: no parser buffers them (or applies the node's
  // 16 MB form limit); the request-size limit is counted while streaming.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  app.setErrorHandler(async (err: unknown, request, reply) => {
    discardRest(request.raw, settings.maxRequestBytes);
    const e = asHttpError(err);
    if (e) return dali(reply, e.status, e.message);
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return dali(reply, status, (err as Error).message);
    throw err;
  });

  /** The caller and its schema; anonymous callers get 401 with the node's challenges. */
  const caller = (
    request: FastifyRequest,
    reply: FastifyReply,
  ): { identity: Identity; schema: string } | undefined => {
    const identity = request.identity;
    const schema = identity ? userSchemaOf(identity, settings.claim) : undefined;
    if (!identity || identity.sub === null || !schema) {
      const challenges = bearerChallenge(app.authChallenge);
      reply.header('WWW-Authenticate', challenges.length === 1 ? challenges[0] : challenges);
      dali(
        reply,
        401,
        'Unauthorized: creating, loading and deleting tables needs a token: send Authorization: Bearer <token>',
      );
      return undefined;
    }
    return { identity, schema };
  };

  const body = (request: FastifyRequest, limit: number): AsyncIterable<Buffer> => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
    return limited(request.raw, limit);
  };

  app.put<{ Params: { name: string } }>('/tap/tables/:name', async (request, reply) => {
    const who = caller(request, reply);
    if (!who) return reply;
    const ref = ownTable(request.params.name, who.schema);
    const { grants } = grantsFromHeaders(request.headers, who.identity.sub);
    const type = mediaType(request);
    // The table is answered only once this process's catalogue has it, so the caller's next
    // query finds it (the NOTIFY could otherwise arrive after the answer).
    const create = async (input: CreateInput): Promise<{ nrows: number }> => {
      const change = expectChange(opts.catalogues, ref.qualified);
      const made = await createUserTable(pool, input, settings).catch((err) => {
        change.cancel();
        throw err;
      });
      await change.wait();
      return made;
    };
    const created = (text: string) =>
      reply
        .code(201)
        .header('location', `${request.protocol}://${request.host}/tap/tables/${ref.qualified}`)
        .type('text/plain; charset=utf-8')
        .send(text);
    if (type === 'application/x-votable+xml') {
      const source = await openStreamSource(
        'the VOTable',
        body(request, settings.maxRequestBytes),
        'votable',
      );
      try {
        const description = tableFromFields(source.columns, ref, source.meta.description, settings);
        const { nrows } = await create({ ref, description, owner: who.identity.sub!, rows: source, grants });
        return created(`created ${ref.qualified} with ${nrows} rows\n`);
      } finally {
        await source.close().catch(() => {});
      }
    }
    if (type === 'text/xml' || type === 'application/xml' || type === '') {
      const xml = await readText(body(request, Math.min(settings.maxRequestBytes, MAX_DEFINITION_BYTES)));
      const description = tableFromVosi(xml, ref, settings);
      await create({ ref, description, owner: who.identity.sub!, grants });
      return created(`created ${ref.qualified}\n`);
    }
    return dali(
      reply,
      415,
      `a table definition is a VOSI table document (text/xml) or a VOTable (application/x-votable+xml), not ${type}`,
    );
  });

  app.delete<{ Params: { name: string } }>('/tap/tables/:name', async (request, reply) => {
    const who = caller(request, reply);
    if (!who) return reply;
    const table = await visibleTable(pool, request.params.name, who.identity);
    if (table.owner !== who.identity.sub)
      throw new UserTableError(403, `only the owner of ${table.tableName} may delete it`);
    const change = expectChange(opts.catalogues, table.tableName);
    await dropUserTable(pool, table).catch((err) => {
      change.cancel();
      throw err;
    });
    await change.wait();
    return reply.code(204).send();
  });

  app.post<{ Params: { name: string } }>('/tap/load/:name', async (request, reply) => {
    const who = caller(request, reply);
    if (!who) return reply;
    const table = await visibleTable(pool, request.params.name, who.identity);
    if (!mayWrite(table, who.identity))
      throw new UserTableError(
        403,
        `you may read ${table.tableName} but not load rows into it: its owner or a write group may`,
      );
    const type = mediaType(request);
    const format = LOAD_FORMATS[type];
    if (!format)
      return dali(
        reply,
        415,
        `rows are loaded as ${Object.keys(LOAD_FORMATS).join(', ')}; not as '${type || 'no Content-Type'}'`,
      );
    const stream = body(request, settings.maxRequestBytes);
    const types: Record<string, Datatype> = {};
    for (const c of table.description.columns) {
      types[c.name] = c.datatype;
      types[c.name.toLowerCase()] = c.datatype;
      types[c.name.toUpperCase()] = c.datatype;
    }
    let spooled: string | undefined;
    let source: DataSource;
    if (format === 'parquet') {
      await mkdir(opts.spoolDir, { recursive: true });
      spooled = join(opts.spoolDir, `load-${process.pid}-${Math.random().toString(36).slice(2)}.parquet`);
      try {
        await pipeline(stream, createWriteStream(spooled));
        source = await openDataSource(spooled, { format: 'parquet' });
      } catch (err) {
        await unlink(spooled).catch(() => {});
        throw err;
      }
    } else {
      source = await openStreamSource('the body', stream, format, { types });
    }
    try {
      const change = expectChange(opts.catalogues, table.tableName);
      const { rows, nrows } = await loadUserTable(pool, table, source, settings).catch((err) => {
        change.cancel();
        throw err;
      });
      await change.wait();
      return reply
        .type('text/plain; charset=utf-8')
        .send(`loaded ${rows} rows into ${table.tableName}, which now has ${nrows} rows\n`);
    } finally {
      await source.close().catch(() => {});
      if (spooled) await unlink(spooled).catch(() => {});
    }
  });
}

/** A user table the caller may see; one it may not see is answered as one that does not exist. */
async function visibleTable(pool: pg.Pool, name: string, identity: Identity) {
  const table = await findUserTable(pool, name);
  if (!table || !mayRead(table, identity))
    throw new UserTableError(
      404,
      `no user table ${name} of yours; GET /tap/tables lists the tables you can see`,
    );
  return table;
}

/**
 * Reads and drops what is left of a refused request's body, at most `limit` bytes (past that
 * the connection is closed), so a client that sends everything before reading gets its
 * answer.
 */
function discardRest(raw: Readable, limit: number): void {
  if (raw.readableEnded || raw.destroyed) return;
  let n = 0;
  raw.on('data', (chunk: Buffer) => {
    n += chunk.length;
    if (n > limit) raw.destroy();
  });
  raw.on('error', () => {});
  raw.resume();
}

function dali(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type(VOTABLE_TYPE).send(errorDocument(message));
}

function tooLarge(limit: number): UserTableError {
  return new UserTableError(
    413,
    `the request body is larger than ${limit} bytes (VONODE_USER_TABLE_MAX_REQUEST_BYTES); nothing of it was kept`,
  );
}

/**
 * The body, counted against the limit. Read without destroying the request when reading
 * stops early (a refusal mid-stream): clients such as requests (pyvo) send the whole body
 * before they read any answer, so the rest must still be taken (discardRest) for them to
 * see the refusal rather than a reset connection.
 */
async function* limited(stream: Readable, limit: number): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > limit) throw tooLarge(limit);
    yield chunk;
  }
}

async function readText(stream: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts).toString('utf8');
}

/** Errors a client caused, with their status; undefined for the node's own failures. */
function asHttpError(err: unknown): { status: number; message: string } | undefined {
  if (err instanceof UserTableError) return { status: err.status, message: err.message };
  if (err instanceof PublishError) return { status: 400, message: err.message };
  if (err instanceof DataFileError) {
    const where = [err.row !== undefined ? `row ${err.row}` : '', err.column ? `column ${err.column}` : '']
      .filter(Boolean)
      .join(', ');
    const msg = /^row \d+/.test(err.message) || !where ? err.message : `${where}: ${err.message}`;
    return { status: 400, message: `the body could not be read: ${msg}` };
  }
  // The client went away in the middle of its body: whatever it sent is dropped.
  const code = (err as { code?: unknown }).code;
  if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (err as Error)?.message === 'aborted')
    return { status: 400, message: 'the request body ended before it was complete; nothing of it was kept' };
  return undefined;
}
