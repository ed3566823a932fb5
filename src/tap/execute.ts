import pg from 'pg';
import Cursor from 'pg-cursor';
import { type CompiledQuery, inlineParameters } from '../../adql/index.js';
import { type CopySource, type CopyTextParser, copyTypesFit, type Field } from '../../votable/index.js';
import { checkIdentitySet, type Identity, identityStatements, READER_ROLE } from '../auth/index.js';
import { controlPoolOf } from '../db/acquire.js';
import { shardUnavailable } from '../shards/index.js';
import { BatchCopy } from './batch-copy.js';
import { openCopy, type StatusSpool } from './copy.js';
import { knownResultTypes, resultTypes } from './result-types.js';

/** Why a running query was stopped before its end. */
export type StopReason = 'timeout' | 'client-gone' | 'aborted' | 'spool-full' | 'shutdown';

export class QueryStopped extends Error {
  constructor(
    readonly reason: StopReason,
    message: string,
  ) {
    super(message);
    this.name = 'QueryStopped';
  }
}

export interface ExecuteOptions {
  readonly identity: Identity;
  readonly maxrec: number;
  /** The whole query's time limit, enforced by cancelling the backend (seconds). */
  readonly timeoutSeconds: number;
  /** Rows read before the first byte is written; small enough to answer fast, large enough that most results are complete (DALI-44). */
  readonly readAheadRows?: number;
  /** Rows per FETCH from the cursor afterwards. */
  readonly batchRows?: number;
  /** Aborting stops the query (client gone, UWS abort). */
  readonly signal?: AbortSignal;
  /**
   * The COPY format the output format is transcoded from (votable's copyFormatFor): the
   * result then comes as PostgreSQL's COPY bytes, not as rows, when its column types allow.
   */
  readonly copyFormat?: 'binary' | 'text';
  /** COPY bytes read before the first byte is written: a result that ends within them has its status up front. */
  readonly readAheadBytes?: number;
  /**
   * Beyond the read-ahead, where a COPY result is kept (memory, then disk) until it ends, so
   * its OVERFLOW still leads (DALI-44); a new spool per query, disposed by the query.
   */
  readonly statusSpool?: () => StatusSpool | undefined;
  /**
   * The version of the catalogue the query was compiled against (CatalogueSource.version):
   * with a query compiled beforehand (no uploads), the column types PostgreSQL gives its
   * result are learnt once per SQL text and this version, not planned again per request.
   */
  readonly catalogueVersion?: number;
}

/** An open result: its status may already be known, the rest of the rows stream from a cursor. */
export interface QueryResult {
  readonly fields: Field[];
  /** IDs of the FIELDs whose values the DataLink service resolves (ColumnMetadata.datalink). */
  readonly datalinkFields: readonly string[];
  readonly rows: AsyncIterable<readonly unknown[]>;
  /** Set instead of rows when the result streams as COPY bytes (ExecuteOptions.copyFormat). */
  readonly copy?: CopySource;
  readonly leadingStatus: 'OK' | 'OVERFLOW';
  /** OVERFLOW when a (MAXREC+1)th row was found while streaming (TAP-44, DALI-45). */
  trailingStatus(): 'OVERFLOW' | undefined;
  /**
   * Rows of the result sent (at most MAXREC), once PostgreSQL has given them all; undefined
   * while it still streams, or when it stopped early. For the request log and metrics.
   */
  rowsSent(): number | undefined;
  /** Ends the transaction and returns the connection; safe to call twice. */
  close(): Promise<void>;
}

const DEFAULT_READ_AHEAD = 2000;
// CLIENTS.md: pyvo reads only the leading status, so results of a few thousand rows get it exact.
const DEFAULT_READ_AHEAD_BYTES = 1024 * 1024;
const DEFAULT_BATCH = 5000;

/** Builds the query inside the transaction, with the service's rights: uploads are loaded there first. */
export type QueryBuilder = (client: pg.PoolClient) => Promise<CompiledQuery>;

/**
 * Runs a query the way every TAP path does (DESIGN.md, "the path of one query"): a
 * read-only transaction with the caller's identity set for row-level security, a statement
 * timeout, and a cursor or a COPY read in batches so memory stays flat. MAXREC+1 rows are
 * asked for so overflow is known exactly (TAP-44).
 *
 * `query` is either compiled already (no uploads), and then the transaction, its settings
 * and the identity go in one round trip before the query's own; or built by a function
 * that first loads uploads into the transaction, and then the settings go before it and the
 * identity after it, one round trip each. The ROLLBACK of a result read whole is not
 * awaited: the answer goes out while the connection finishes.
 */
export async function executeQuery(
  pool: pg.Pool,
  query: CompiledQuery | QueryBuilder,
  opts: ExecuteOptions,
): Promise<QueryResult> {
  const maxrec = opts.maxrec;
  const client = await pool.connect();
  let released = false;
  let stop: StopReason | undefined;
  let backendPid = 0;
  const timeoutMs = Math.max(1, opts.timeoutSeconds) * 1000;

  let cancelling: Promise<unknown> | undefined;
  // pg_cancel_backend runs on another connection: the one running the query is busy, and the
  // pool may be full, so it goes through the control connections that never queue behind
  // queries; should that fail, through the pool.
  const sendCancel = () => {
    if (!backendPid || released) return;
    const sql = 'SELECT pg_cancel_backend($1)';
    const control = controlPoolOf(pool);
    cancelling = control
      .query(sql, [backendPid])
      .catch(() => (control === pool ? undefined : pool.query(sql, [backendPid])))
      .catch(() => undefined);
  };
  const cancelBackend = (reason: StopReason) => {
    if (stop || released) return;
    stop = reason;
    sendCancel();
  };
  const timer = setTimeout(() => cancelBackend('timeout'), timeoutMs);
  const onAbort = () => {
    const why = opts.signal?.reason;
    cancelBackend(why === 'client-gone' || why === 'spool-full' || why === 'shutdown' ? why : 'aborted');
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  let cursor: Cursor | undefined;
  let copy: Awaited<ReturnType<typeof openCopy>> | undefined;
  let batch: BatchCopy | undefined;
  // Every path that ends the query calls close, sometimes at once (a result stream destroyed
  // by a failed write runs its own finally while the caller closes too): the first call does
  // the work and later calls share its promise, so the client is released exactly once.
  let closing: Promise<void> | undefined;
  const close = (err?: Error): Promise<void> => {
    closing ??= closeOnce(err);
    return closing;
  };
  const closeOnce = async (err?: Error) => {
    if (released) return;
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    try {
      if (cursor) await cursor.close().catch(() => {});
      // A COPY left mid-stream must still run to its end before the connection can be used.
      if (
        copy &&
        !(await copy.finish(() => {
          // Still running after the drain: cancel it (again, if an earlier cancel was lost).
          stop ??= 'aborted';
          sendCancel();
        }))
      )
        throw new Error('the COPY stream did not end after its backend was cancelled');
      // A cancel still on its way would hit whatever runs next on this connection: let it land
      // first. At worst it cancels the ROLLBACK, and the connection is then discarded.
      await cancelling;
      // A batch that ran to its end closed its transaction itself (its last statement).
      await batch?.settled;
      if (!batch?.transactionEnded) await client.query('ROLLBACK');
      released = true;
      client.release();
    } catch (e) {
      released = true;
      // A connection that failed mid-protocol is not given back to the pool.
      client.release(err ?? (e instanceof Error ? e : new Error(String(e))));
    }
  };

  const describe = (err: unknown): Error => {
    // PostgreSQL's statement_timeout (the backstop) if the timer could not fire in time.
    const pgTimeout =
      (err as { code?: string }).code === '57014' && /statement timeout/.test(String((err as Error).message));
    if (stop === 'timeout' || (!stop && pgTimeout)) {
      return new QueryStopped(
        'timeout',
        `the query ran longer than the ${opts.timeoutSeconds} s limit of this endpoint and was stopped; ` +
          'run it as an asynchronous job (/tap/async), which allows more time, or make it more selective',
      );
    }
    if (stop === 'spool-full')
      return new QueryStopped(
        stop,
        'the result is larger than this node holds for synchronous clients (VONODE_SYNC_SPOOL_DISK); ' +
          'the rows before this point were sent; ask for fewer rows (MAXREC) or run the query as an asynchronous job (/tap/async)',
      );
    // DALI-46: the rows sent stay and QUERY_STATUS ERROR follows them, saying why (issue 23).
    if (stop === 'shutdown')
      return new QueryStopped(
        stop,
        'the service is shutting down: the rows before this point were sent; run the query again, or as an asynchronous job (/tap/async), which is handed to another process',
      );
    if (stop)
      return new QueryStopped(
        stop,
        stop === 'client-gone' ? 'the client went away' : 'the query was aborted',
      );
    // A shard server that does not answer: the part of the sky it holds is named (src/shards).
    return shardUnavailable(err) ?? (err instanceof Error ? err : new Error(String(err)));
  };

  try {
    // The backend's process id came with the connection (BackendKeyData): no query needed.
    backendPid =
      (client as unknown as { processID?: number }).processID ??
      (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    if (opts.signal?.aborted) onAbort();
    // PostgreSQL's own limit is a backstop a little after the timer, whose cancel says why.
    // The rest is the text every COPY and row parser expects, whatever the server's defaults:
    // ISO dates in UTC, floats in their shortest exact form, no JIT. Simple-protocol batches (no
    // parameters: the only values are this number and identityStatements' quoted literals).
    const settings =
      `SELECT set_config('statement_timeout', '${Math.floor(timeoutMs + 2000)}', true), ` +
      "set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true), " +
      "set_config('extra_float_digits', '1', true), " +
      // A server with JIT (Debian's PostgreSQL) compiles an upload crossmatch's inlined SQL
      // for 0.5-1.2 s before running it for 0.2 s (bench/xmatch.ts): TAP's short queries lose.
      "set_config('jit', 'off', true), " +
      // Partitioned catalogues (src/shards): aggregates and joins per partition, so that
      // postgres_fdw can push them down to the shard holding each partition.
      "set_config('enable_partitionwise_aggregate', 'on', true), set_config('enable_partitionwise_join', 'on', true)";
    const begin = `BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; ${settings}; ${identityStatements(opts.identity)}`;
    let compiled: CompiledQuery;
    let fields: Field[];
    // With the result's types known (a shape seen before), the whole query is one batch:
    // transaction, settings, identity, COPY and ROLLBACK in one round trip (batch-copy.ts).
    let batched: CopyPlan | undefined;
    if (typeof query === 'function') {
      await client.query(`BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ; ${settings}`);
      // Uploads are written here, with the service's rights; the query itself only reads.
      compiled = await query(client);
      fields = compiled.columns.map(toField);
      checkIdentitySet(await client.query(`SET TRANSACTION READ ONLY; ${identityStatements(opts.identity)}`));
    } else {
      compiled = query;
      fields = compiled.columns.map(toField);
      const known =
        maxrec > 0 && opts.copyFormat && opts.catalogueVersion !== undefined
          ? knownResultTypes(compiled.sql, opts.catalogueVersion)
          : undefined;
      if (known && opts.copyFormat) batched = copyPlanFor(compiled, fields, opts.copyFormat, known);
      if (!batched) checkIdentitySet(await client.query(begin));
    }
    const datalinkFields = identifyDataLinkFields(fields, compiled.columns);
    if (maxrec === 0) {
      // TAP-22: metadata only; the query was compiled (so it is valid) but need not run.
      void close();
      return {
        fields,
        datalinkFields,
        rows: (async function* () {})(),
        leadingStatus: 'OVERFLOW',
        trailingStatus: () => undefined,
        rowsSent: () => 0,
        close: async () => {},
      };
    }
    // Result types are cached only for queries over published tables (no uploads).
    const typesVersion = typeof query === 'function' ? undefined : opts.catalogueVersion;
    const copyPlan =
      batched ??
      (opts.copyFormat && (await planCopy(client, compiled, fields, opts.copyFormat, typesVersion)));
    if (copyPlan) {
      if (batched)
        batch = new BatchCopy(`${begin}; ${batched.sql}; ROLLBACK`, { column: 'role', expect: READER_ROLE });
      copy = await openCopy(
        client,
        batch ?? copyPlan.sql,
        opts.readAheadBytes ?? DEFAULT_READ_AHEAD_BYTES,
        opts.statusSpool?.(),
      );
      const opened = copy;
      // Ended in the status spool: the SQL asked for MAXREC+1 rows, so their count is the status.
      const leadingStatus =
        !opened.complete && opened.rowCount !== undefined && opened.rowCount > maxrec ? 'OVERFLOW' : 'OK';
      // A result that ended within the read-ahead needs the connection no longer; its
      // ROLLBACK need not delay the answer.
      if (opened.complete) void close();
      const source: CopySource = {
        format: opts.copyFormat!,
        stream: (async function* () {
          try {
            for await (const chunk of opened.chunks()) {
              // A stop (spool full, client gone) ends the stream at once, not when PostgreSQL notices the cancel.
              if (stop) throw new Error('stopped');
              yield chunk;
            }
          } catch (err) {
            throw describe(err);
          } finally {
            await close();
          }
        })(),
        types: copyPlan.types,
        parsers: copyPlan.parsers,
        maxRecords: maxrec,
        complete: opened.complete,
      };
      return {
        fields,
        datalinkFields,
        rows: (async function* () {})(),
        copy: source,
        leadingStatus,
        trailingStatus: () => undefined,
        // The COPY's command tag counts the MAXREC+1 rows it was asked for at most.
        rowsSent: () => {
          const n = opened.rowsCopied();
          return n === undefined ? undefined : Math.min(n, maxrec);
        },
        close: () => close(),
      };
    }
    cursor = client.query(new Cursor(compiled.sql, compiled.params, { rowMode: 'array' }));
    const readAhead = Math.min(maxrec + 1, opts.readAheadRows ?? DEFAULT_READ_AHEAD);
    const first = (await cursor.read(readAhead)) as unknown[][];
    if (first.length < readAhead || first.length === maxrec + 1) {
      // The whole answer is in hand: the status goes up front, where every client reads it.
      const overflow = first.length > maxrec;
      void close();
      const rows = overflow ? first.slice(0, maxrec) : first;
      return {
        fields,
        datalinkFields,
        rows: (async function* () {
          yield* rows;
        })(),
        leadingStatus: overflow ? 'OVERFLOW' : 'OK',
        trailingStatus: () => undefined,
        rowsSent: () => rows.length,
        close: async () => {},
      };
    }
    let overflow = false;
    let streamed: number | undefined;
    const batchRows = opts.batchRows ?? DEFAULT_BATCH;
    const open = cursor;
    async function* stream(): AsyncGenerator<readonly unknown[]> {
      let sent = 0;
      try {
        for (const row of first) {
          if (stop) throw describe(new Error('stopped'));
          yield row;
          sent++;
        }
        while (sent < maxrec) {
          const want = Math.min(batchRows, maxrec + 1 - sent);
          let rows: unknown[][];
          try {
            rows = (await open.read(want)) as unknown[][];
          } catch (err) {
            throw describe(err);
          }
          if (rows.length === 0) return;
          for (const row of rows) {
            if (sent === maxrec) {
              overflow = true;
              return;
            }
            if (stop) throw describe(new Error('stopped'));
            yield row;
            sent++;
          }
          if (rows.length < want) return;
        }
        // Exactly MAXREC rows sent: one more row means overflow (never flag an exact fit).
        const extra = (await open.read(1)) as unknown[][];
        overflow = extra.length > 0;
      } finally {
        if (!stop) streamed = sent;
        await close();
      }
    }
    return {
      fields,
      datalinkFields,
      rows: stream(),
      leadingStatus: 'OK',
      trailingStatus: () => (overflow ? 'OVERFLOW' : undefined),
      rowsSent: () => streamed,
      close: () => close(),
    };
  } catch (err) {
    const described = describe(err);
    await close(described);
    throw described;
  }
}

// PostgreSQL type OIDs with a COPY fast path, by the names votable's transcoders use. Binary
// timestamptz is the same UTC microsecond count as timestamp; the character types are text.
const COPY_TYPE_NAMES: Record<number, string> = {
  16: 'bool',
  21: 'int2',
  23: 'int4',
  20: 'int8',
  700: 'float4',
  701: 'float8',
  25: 'text',
  1043: 'text',
  1042: 'text',
  19: 'text',
  1114: 'timestamp',
  1184: 'timestamptz',
  1005: 'int2[]',
  1007: 'int4[]',
  1016: 'int8[]',
  1021: 'float4[]',
  1022: 'float8[]',
};

interface CopyPlan {
  sql: string;
  types: string[];
  parsers?: (CopyTextParser | undefined)[];
}

/**
 * Whether this result can stream as COPY: the column types PostgreSQL will really produce
 * (asked by planning the query with LIMIT 0, once per shape: result-types.ts) must fit the FIELDs the compiler declared, and
 * every string must be writable as a literal, as COPY takes no parameters.
 */
async function planCopy(
  client: pg.PoolClient,
  compiled: CompiledQuery,
  fields: Field[],
  format: 'binary' | 'text',
  catalogueVersion: number | undefined,
): Promise<CopyPlan | undefined> {
  if (inlineParameters(compiled) === undefined) return undefined;
  return copyPlanFor(compiled, fields, format, await resultTypes(client, compiled, catalogueVersion));
}

/** The COPY of `compiled` and its transcoders' types, if `oids` fit the FIELDs (planCopy). */
function copyPlanFor(
  compiled: CompiledQuery,
  fields: Field[],
  format: 'binary' | 'text',
  oids: readonly number[],
): CopyPlan | undefined {
  const sql = inlineParameters(compiled);
  if (sql === undefined) return undefined;
  let types = oids.map((oid) => COPY_TYPE_NAMES[oid] ?? `oid ${oid}`);
  let parsers: (CopyTextParser | undefined)[] | undefined;
  if (format === 'binary') types = types.map((t) => (t === 'timestamptz' ? 'timestamp' : t));
  else parsers = oids.map((oid) => pg.types.getTypeParser(oid, 'text') as CopyTextParser);
  if (!copyTypesFit(fields, format, types, parsers)) return undefined;
  return { sql: `COPY (${sql}) TO STDOUT${format === 'binary' ? ' (FORMAT binary)' : ''}`, types, parsers };
}

/**
 * Gives each FIELD carrying DataLink identifiers an XML ID, which a service descriptor's ID
 * parameter refs (DataLink 1.1 §4, OBS-86). The ID is the column's name where that names no
 * other FIELD (pyvo looks a ref up as a name first), else the name with its position.
 */
function identifyDataLinkFields(fields: Field[], columns: CompiledQuery['columns']): string[] {
  const ids: string[] = [];
  const names = new Map<string, number>();
  for (const f of fields) names.set(f.name, (names.get(f.name) ?? 0) + 1);
  for (const [i, c] of columns.entries()) {
    if (!c.datalink) continue;
    const stem = xmlId(c.name);
    let id = stem === c.name && names.get(c.name) === 1 ? stem : `${stem}_${i + 1}`;
    while (ids.includes(id) || (id !== c.name && names.has(id))) id = `${id}_`;
    fields[i].ID = id;
    ids.push(id);
  }
  return ids;
}

/** A name made an XML NCName: other characters become '_', and it starts with a letter or '_'. */
function xmlId(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  return /^[A-Za-z_]/.test(s) ? s : `_${s}`;
}

function toField(c: CompiledQuery['columns'][number]): Field {
  const f: Field = { name: c.name, datatype: c.datatype };
  if (c.arraysize) f.arraysize = c.arraysize;
  if (c.xtype) f.xtype = c.xtype;
  if (c.unit) f.unit = c.unit;
  if (c.ucd) f.ucd = c.ucd;
  if (c.utype) f.utype = c.utype;
  if (c.description) f.description = c.description;
  return f;
}
