/**
 * `vonode publish`: a described catalogue and its data files become published tables.
 *
 * Each table's new version is built beside whatever is served, in vonode_staging: the rows
 * are put in HEALPix order by the loader (healpix-sort.ts) and COPYed once into the new
 * table, created in the same transaction (tables with array or timestamp columns go
 * through an unlogged load table rewritten by ORDER BY instead); it is indexed and
 * analysed there. Only then one transaction, under each table's advisory lock, moves the
 * versions into their schemas, applies their rights and writes the catalogue rows
 * (TAP_SCHEMA follows in the store, and NOTIFY tells every node process). Queries in
 * flight finish on the old version, which is dropped after the commit. A failed or killed
 * load has touched nothing the catalogue references: its tables in vonode_staging are
 * removed by the next publish or start (cleanupPublishing).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { type LayoutSettings, layOutVersion, layoutFor, layoutFromEnv } from '../shards/index.js';
import { CopyBinaryWriter } from './copy-binary.js';
import type {
  CatalogueDescription,
  Datatype,
  SchemaDescription,
  TableDescription,
  ValidationLevel,
} from './description.js';
import { HealpixSorter } from './healpix-sort.js';
import { PublishError, planTable, type RowEncoder, rowEncoder, sqlNameOf, type TablePlan } from './plan.js';
import { publishedTableOf } from './published.js';
import { openDataSource } from './readers/index.js';
import type { CatalogueStore, ToPublished } from './register.js';
import { DataFileError, type DataSource } from './source.js';
import {
  cleanupPublishing,
  dropWithRetry,
  LOCK_KEY_SQL,
  markStaging,
  markVersion,
  plainName,
  quoteIdent,
  STAGING_SCHEMA,
  stagingName,
  versionTableName,
} from './staging.js';
import { DECLINED } from './text-rows.js';
import { type Problem, type Validation, validateDescription } from './validate.js';

export type PublishPhase = 'read' | 'sort' | 'index' | 'analyze' | 'swap';

export interface Progress {
  readonly table: string;
  readonly phase: PublishPhase;
  readonly rows: number;
  readonly bytes: number;
  readonly totalBytes?: number;
  readonly elapsedMs: number;
}

export interface PublishOptions {
  readonly validation?: ValidationLevel;
  readonly onProgress?: (p: Progress) => void;
  /** One line per phase and table, with its timing. */
  readonly log?: (line: string) => void;
  /** The catalogue store's writes (src/catalogue/store.ts), passed in: src/catalogue reads src/publish. */
  readonly store: CatalogueStore;
  /** Opens a data file; default openDataSource (src/publish/readers) with the described types. */
  readonly openSource?: (path: string) => Promise<DataSource>;
  /** Default publishedTableOf (src/publish/published.ts). */
  readonly toPublished?: ToPublished;
  /**
   * Bytes of encoded rows the HEALPix sort holds in memory before it writes a run to a
   * temporary file (default VONODE_PUBLISH_SORT_MEMORY, else 48 MiB).
   */
  readonly sortMemoryBytes?: number;
  /**
   * How tables at least this big are partitioned or placed on shards (src/shards); default
   * the VONODE_PARTITION_* and VONODE_SHARD* settings. A description's `partitioning` overrides it.
   */
  readonly layout?: LayoutSettings;
  /** Default validateDescription (src/publish/validate.ts). */
  readonly validate?: (desc: CatalogueDescription, level: ValidationLevel) => Validation;
}

export interface PublishedVersion {
  readonly tableName: string;
  readonly sqlSchema: string;
  readonly sqlTable: string;
  readonly version: number;
  readonly nrows: number;
  readonly bytes: number;
  /** The version this one replaced, if any. */
  readonly replaced?: number;
}

export interface PublishReport {
  readonly tables: readonly PublishedVersion[];
  /** Metadata problems found by a lax validation. */
  readonly problems: readonly string[];
  readonly seconds: number;
}

interface Built {
  readonly plan: TablePlan;
  readonly schema?: SchemaDescription;
  readonly version: number;
  /** The finished table in vonode_staging (quoted, qualified) and its bare name. */
  readonly staged: string;
  readonly stagedName: string;
  readonly nrows: number;
  readonly bytes: number;
}

/** A data file: a path, or an open DataSource (rows generated in process, e.g. the demo). */
export type DataInput = string | DataSource;

/**
 * Publishes the tables of `description`, table i from `dataFiles[i]`. All tables are
 * swapped in by one transaction: either every table of the file is published or none.
 */
export async function publishCatalogue(
  pool: pg.Pool,
  description: CatalogueDescription,
  dataFiles: readonly DataInput[],
  opts: PublishOptions,
): Promise<PublishReport> {
  const t0 = Date.now();
  const log = opts.log ?? (() => {});
  const level = opts.validation ?? description.validation ?? 'strict';
  // Errors refuse at any level, metadata warnings only in strict (validate.ts).
  const checked = (opts.validate ?? validateDescription)(description, level);
  const refused = checked.problems.filter((p) => p.severity === 'error' || level === 'strict');
  if (!checked.ok || refused.length > 0)
    throw new PublishError(
      `the description has ${refused.length} problem(s)${level === 'lax' ? '' : ' (strict)'}: ${refused.map(problemText).join('; ')}`,
    );
  const problems = checked.problems.map(problemText);
  for (const p of problems) log(`warning: ${p}`);
  if (description.tables.length === 0) throw new PublishError('the description declares no table');
  if (dataFiles.length !== description.tables.length)
    throw new PublishError(
      `the description declares ${description.tables.length} table(s) (${description.tables.map((t) => `${t.schema}.${t.name}`).join(', ')}) but ${dataFiles.length} data file(s) were given`,
    );
  const plans = description.tables.map(planTable);
  const names = new Set<string>();
  for (const p of plans) {
    if (names.has(p.tableName.toLowerCase()))
      throw new PublishError(`table ${p.tableName} is declared twice`);
    names.add(p.tableName.toLowerCase());
  }
  await cleanupPublishing(pool, { log });

  // One connection holds every table's lock for the whole publish (sorted: no deadlock
  // between two publishers of overlapping sets); a killed process drops them with it.
  const locker = await pool.connect();
  let lockerBroken = false;
  const built: Built[] = [];
  try {
    for (const name of [...names].sort()) {
      const key = plans.find((p) => p.tableName.toLowerCase() === name)?.tableName ?? name;
      await locker.query(`SELECT pg_advisory_lock(${LOCK_KEY_SQL})`, [key]);
    }
    for (let i = 0; i < plans.length; i++) {
      const b = await buildVersion(pool, plans[i], dataFiles[i], opts, log);
      const schema = description.schemas.find((s) => s.name === plans[i].desc.schema);
      built.push(schema ? { ...b, schema } : b);
    }
    const versions = await swap(locker, built, opts);
    for (const v of versions) {
      if (v.replaced === undefined) continue;
      const old = `${quoteIdent(v.sqlSchema)}.${quoteIdent(v.oldTable ?? '')}`;
      if (v.oldTable) await dropWithRetry(pool, old, { log });
    }
    const report: PublishReport = {
      tables: versions.map(({ oldTable: _, ...v }) => v),
      problems,
      seconds: (Date.now() - t0) / 1000,
    };
    return report;
  } catch (err) {
    for (const b of built) await pool.query(`DROP TABLE IF EXISTS ${b.staged}`).catch(() => {});
    throw asPublishError(err);
  } finally {
    try {
      await locker.query('SELECT pg_advisory_unlock_all()');
    } catch {
      lockerBroken = true;
    }
    locker.release(lockerBroken);
  }
}

function problemText(p: Problem): string {
  return p.where ? `${p.where}: ${p.message}` : p.message;
}

/** Where encodeRows reports each row: the HEALPix sort, or nothing. */
interface RowSink {
  added(start: number, keyAt: number): void;
}

/**
 * Encodes a source's rows into w, batch by batch (yields the rows of each), telling `sort`
 * where each row starts and where its HEALPix key is. CSV lines go through the encoder's
 * text path (text-rows.ts) where it takes them, else through typed values.
 */
async function* encodeRows(
  source: DataSource,
  encoder: RowEncoder,
  w: CopyBinaryWriter,
  sort?: RowSink,
): AsyncGenerator<number> {
  const text = encoder.text;
  if (text && source.textRows) {
    for await (const b of source.textRows()) {
      const { starts, ends } = b;
      for (let i = 0; i < b.count; i++) {
        const start = w.pos;
        let keyAt = starts[i] >= 0 ? text(w, b.text, starts[i], ends[i]) : DECLINED;
        if (keyAt === DECLINED) keyAt = encoder.write(w, b.values(i), b.firstRow + i);
        sort?.added(start, keyAt);
      }
      yield b.count;
    }
    return;
  }
  for await (const batch of source.batches()) {
    let row = batch.firstRow;
    for (const values of batch.rows) {
      const start = w.pos;
      // Not inside sort?.added(...): without a sort its arguments would not be evaluated.
      const keyAt = encoder.write(w, values, row++);
      sort?.added(start, keyAt);
    }
    yield batch.rows.length;
  }
}

/** The data file opened with the described datatypes (CSV/TSV then skip inferring them). */
function openDescribed(path: string, table: TableDescription): Promise<DataSource> {
  const types: Record<string, Datatype> = {};
  for (const c of table.columns) types[plainName(c.source ?? c.name)] = c.datatype;
  // Batches of 2000 rows: measured with bench/publish.ts, larger ones live long enough to be
  // promoted to V8's old space, and the peak RSS of a 10^6-row CSV rose from 185 to 230 MB.
  return openDataSource(path, { types, batchRows: 2000 });
}

/** Errors as one line naming the problem: PostgreSQL and reader errors included. */
function asPublishError(err: unknown): Error {
  if (err instanceof PublishError) return err;
  if (err instanceof DataFileError) {
    const where = [err.row !== undefined ? `row ${err.row}` : '', err.column ? `column ${err.column}` : '']
      .filter(Boolean)
      .join(', ');
    const msg = /^row \d+/.test(err.message)
      ? `${err.path}: ${err.message}`
      : err.message.includes(err.path)
        ? err.message
        : `${err.path}: ${where ? `${where}: ` : ''}${err.message}`;
    return new PublishError(msg);
  }
  const e = err as { code?: string; message?: string; detail?: string };
  if (e?.code === '23505') return new PublishError(`duplicate primary key value: ${e.detail ?? e.message}`);
  if (e?.code === 'ENOENT') return new PublishError(e.message ?? 'no such file');
  return err instanceof Error ? err : new Error(String(err));
}

async function nextVersion(client: pg.ClientBase, plan: TablePlan): Promise<number> {
  const r = await client
    .query<{ v: number | null }>(
      'SELECT max(version)::int AS v FROM vonode.published_tables WHERE table_name = $1',
      [plan.tableName],
    )
    .catch(() => ({ rows: [{ v: null }] }));
  // Versions a failed drop left behind keep their numbers taken.
  const left = await client.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND obj_description(c.oid, 'pg_class') = $2`,
    [plan.sqlSchema, `vonode published version of ${plan.tableName}`],
  );
  let v = r.rows[0]?.v ?? 0;
  for (const row of left.rows) {
    const m = /_v(\d+)$/.exec(row.relname);
    if (m) v = Math.max(v, Number(m[1]));
  }
  return v + 1;
}

function columnDdl(plan: TablePlan, constraints: boolean): string {
  return plan.columns
    .map((c) => `${quoteIdent(c.sqlName)} ${c.sqlType}${constraints && c.notNull ? ' NOT NULL' : ''}`)
    .join(', ');
}

/** Loads, sorts, indexes and analyses one table's new version inside vonode_staging. */
async function buildVersion(
  pool: pg.Pool,
  plan: TablePlan,
  input: DataInput,
  opts: PublishOptions,
  log: (line: string) => void,
): Promise<Built> {
  const source =
    typeof input === 'string'
      ? await (opts.openSource ? opts.openSource(input) : openDescribed(input, plan.desc))
      : input;
  const client = await pool.connect();
  let broken = false;
  const table = plan.tableName;
  const made: string[] = [];
  const progress = (phase: PublishPhase, rows: number, start: number) =>
    opts.onProgress?.({
      table,
      phase,
      rows,
      bytes: source.bytesRead(),
      totalBytes: source.totalBytes,
      elapsedMs: Date.now() - start,
    });
  try {
    const encoder = rowEncoder(plan, source);
    const version = await nextVersion(client, plan);
    const staging = quoteIdent(STAGING_SCHEMA);
    const finalName = stagingName(table, version, 'v');
    const final = `${staging}.${quoteIdent(finalName)}`;
    made.push(final);
    await client.query(`SET maintenance_work_mem = '256MB'`);
    await client.query(`SET work_mem = '128MB'`);
    const columnList = plan.columns.map((c) => quoteIdent(c.sqlName)).join(', ');

    let t = Date.now();
    let rows = 0;
    const readProgress = () => {
      let lastReport = 0;
      return () => {
        if (Date.now() - lastReport > 200) {
          lastReport = Date.now();
          progress('read', rows, t);
        }
      };
    };
    const logRead = () =>
      log(`${table}: read ${rows} rows (${(source.bytesRead() / 1e6).toFixed(1)} MB) in ${secs(t)} s`);
    const copy = async (sql: string, chunks: AsyncIterable<Buffer> | Iterable<Buffer>) => {
      try {
        await pipeline(Readable.from(chunks, { objectMode: false }), client.query(copyFrom(sql)));
      } catch (err) {
        broken = true;
        throw err;
      } finally {
        await source.close().catch(() => {});
      }
    };

    if (plan.columns.every((c) => c.loadType === c.sqlType)) {
      // Every column is written in its final binary form: the rows go straight into the
      // new version, in HEALPix order (healpix-sort.ts), created in the same transaction
      // so COPY FREEZE spares the index builds and ANALYZE the hint-bit writes.
      const sorter = plan.healpix ? new HealpixSorter({ memoryBytes: sortMemoryBytes(opts) }) : undefined;
      const tick = readProgress();
      async function* chunks(): AsyncGenerator<Buffer> {
        const w = sorter ? sorter.run : new CopyBinaryWriter();
        if (!sorter) w.header();
        for await (const count of encodeRows(source, encoder, w, sorter)) {
          if (!sorter && w.length >= 1 << 18) yield w.take();
          rows += count;
          tick();
        }
        progress('read', rows, t);
        logRead();
        if (!sorter) {
          w.trailer();
          yield w.take();
          return;
        }
        t = Date.now();
        progress('sort', rows, t);
        yield* sorter.sorted();
      }
      try {
        await client.query('BEGIN');
        await client.query(`CREATE TABLE ${final} (${columnDdl(plan, true)})`);
        await markStaging(client, final, table);
        await copy(`COPY ${final} (${columnList}) FROM STDIN (FORMAT binary, FREEZE)`, chunks());
        await client.query('COMMIT');
      } finally {
        sorter?.close();
      }
      if (sorter)
        log(
          `${table}: written in HEALPix order in ${secs(t)} s${sorter.spilledRows > 0 ? ` (${sorter.spilledRows} rows through temporary files)` : ''}`,
        );
    } else {
      // Arrays and timestamps go as text into an unlogged table, then the rows are written
      // again in HEALPix order with their final types (PostgreSQL sorts on disk).
      const loadName = stagingName(table, version, 'load');
      const load = `${staging}.${quoteIdent(loadName)}`;
      made.push(load);
      await client.query(`BEGIN`);
      await client.query(
        `CREATE UNLOGGED TABLE ${load} (${plan.columns.map((c) => `${quoteIdent(c.sqlName)} ${c.loadType}`).join(', ')})`,
      );
      await markStaging(client, load, table);
      await client.query('COMMIT');
      const tick = readProgress();
      async function* chunks(): AsyncGenerator<Buffer> {
        const w = new CopyBinaryWriter();
        w.header();
        for await (const count of encodeRows(source, encoder, w)) {
          rows += count;
          if (w.length >= 1 << 18) yield w.take();
          tick();
        }
        w.trailer();
        yield w.take();
      }
      await copy(`COPY ${load} (${columnList}) FROM STDIN (FORMAT binary)`, chunks());
      progress('read', rows, t);
      logRead();

      t = Date.now();
      progress('sort', rows, t);
      const select = plan.columns
        .map((c) =>
          c.loadType === c.sqlType ? quoteIdent(c.sqlName) : `${quoteIdent(c.sqlName)}::${c.sqlType}`,
        )
        .join(', ');
      await client.query('BEGIN');
      await client.query(`CREATE TABLE ${final} (${columnDdl(plan, true)})`);
      await markStaging(client, final, table);
      await client.query(
        `INSERT INTO ${final} SELECT ${select} FROM ${load}${plan.healpix ? ` ORDER BY ${quoteIdent(plan.healpix)}` : ''}`,
      );
      await client.query(`DROP TABLE ${load}`);
      await client.query('COMMIT');
      if (plan.healpix) log(`${table}: sorted in HEALPix order in ${secs(t)} s`);
    }

    t = Date.now();
    progress('index', rows, t);
    if (plan.primaryKey.length > 0)
      await client.query(
        `ALTER TABLE ${final} ADD CONSTRAINT ${quoteIdent(`${finalName}_pkey`)} PRIMARY KEY (${plan.primaryKey.map(quoteIdent).join(', ')})`,
      );
    const indexCols = [...(plan.healpix ? [plan.healpix] : []), ...plan.indexed];
    for (let i = 0; i < indexCols.length; i++)
      await client.query(
        `CREATE INDEX ${quoteIdent(`${finalName}_i${i}`)} ON ${final} (${quoteIdent(indexCols[i])})`,
      );
    log(`${table}: indexed in ${secs(t)} s`);

    t = Date.now();
    progress('analyze', rows, t);
    await client.query(`ANALYZE ${final}`);
    log(`${table}: analysed in ${secs(t)} s`);
    await layOut(client, plan, version, finalName, rows, opts, log);
    // A partitioned version's size is its partitions' (foreign ones hold nothing here).
    const size = await client.query<{ bytes: string }>(
      `SELECT coalesce(sum(pg_total_relation_size(relid)), 0)::text AS bytes FROM pg_partition_tree($1::regclass)`,
      [final],
    );
    return {
      plan,
      version,
      staged: final,
      stagedName: finalName,
      nrows: rows,
      bytes: Number(size.rows[0].bytes),
    };
  } catch (err) {
    if (!broken) await client.query('ROLLBACK').catch(() => {});
    // Under this table's advisory lock: no one else uses these names.
    for (const t of made) await pool.query(`DROP TABLE IF EXISTS ${t}`).catch(() => {});
    throw err;
  } finally {
    if (!broken) {
      await client.query('RESET maintenance_work_mem').catch(() => {});
      await client.query('RESET work_mem').catch(() => {});
    }
    client.release(broken);
  }
}

/**
 * Partitions a big version on its HEALPix column, on this server or on the shard servers
 * (src/shards), replacing the staged table by a partitioned one of the same name.
 */
async function layOut(
  client: pg.PoolClient,
  plan: TablePlan,
  version: number,
  stagedName: string,
  rows: number,
  opts: PublishOptions,
  log: (line: string) => void,
): Promise<void> {
  const pos = plan.desc.position;
  if (!plan.healpix || !pos) return;
  const column = (name: string) => {
    const c = plan.desc.columns.find(
      (x) => plainName(x.name).toLowerCase() === plainName(name).toLowerCase(),
    );
    return c ? sqlNameOf(c) : plainName(name);
  };
  const settings = layoutFor(opts.layout ?? layoutFromEnv(), plan.desc.partitioning);
  await layOutVersion(
    client,
    {
      tableName: plan.tableName,
      version,
      sqlSchema: plan.sqlSchema,
      versionTable: versionTableName(plan.desc.name, version),
      stagingSchema: STAGING_SCHEMA,
      stagedName,
      healpix: plan.healpix,
      ra: column(pos.ra),
      dec: column(pos.dec),
      primaryKey: plan.primaryKey,
      indexed: plan.indexed,
      rows,
      async servedVersion() {
        const r = await client
          .query<{ v: number }>('SELECT version AS v FROM vonode.published_tables WHERE table_name = $1', [
            plan.tableName,
          ])
          .catch(() => ({ rows: [] as { v: number }[] }));
        return r.rows[0]?.v;
      },
    },
    settings,
    log,
  );
}

/** Memory of the HEALPix sort's runs: the option, else VONODE_PUBLISH_SORT_MEMORY, else 48 MiB. */
function sortMemoryBytes(opts: PublishOptions): number {
  // Row offsets in a run are 32-bit: a run stays far below 4 GiB.
  const most = 1 << 30;
  if (opts.sortMemoryBytes !== undefined)
    return Math.min(most, Math.max(1 << 16, Math.floor(opts.sortMemoryBytes)));
  const env = process.env.VONODE_PUBLISH_SORT_MEMORY?.trim();
  if (!env) return 48 * 1024 * 1024;
  const bytes = Number(env);
  if (!Number.isSafeInteger(bytes) || bytes < 1 << 16 || bytes > most)
    throw new PublishError(
      `VONODE_PUBLISH_SORT_MEMORY is '${env}': give a number of bytes from 65536 to ${most}`,
    );
  return bytes;
}

function secs(t: number): string {
  return ((Date.now() - t) / 1000).toFixed(1);
}

type Swapped = PublishedVersion & { oldTable?: string };

/** The one transaction that makes every new version the served one. */
async function swap(
  client: pg.ClientBase,
  built: readonly Built[],
  opts: PublishOptions,
): Promise<Swapped[]> {
  const t = Date.now();
  try {
    await client.query('BEGIN');
    const out: Swapped[] = [];
    for (const b of [...built].sort((x, y) => (x.plan.tableName < y.plan.tableName ? -1 : 1))) {
      await client.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY_SQL})`, [b.plan.tableName]);
    }
    for (const b of built) {
      const { plan } = b;
      const desc = plan.desc;
      opts.onProgress?.({ table: plan.tableName, phase: 'swap', rows: b.nrows, bytes: 0, elapsedMs: 0 });
      const old = await client
        .query<{ sql_table: string; version: number; sql_schema: string }>(
          'SELECT sql_schema, sql_table, version FROM vonode.published_tables WHERE table_name = $1',
          [plan.tableName],
        )
        .catch(() => ({ rows: [] }));
      const sqlTable = versionTableName(desc.name, b.version);
      const schema = quoteIdent(plan.sqlSchema);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query(`ALTER TABLE ${b.staged} SET SCHEMA ${schema}`);
      const target = `${schema}.${quoteIdent(sqlTable)}`;
      await client.query(
        `ALTER TABLE ${schema}.${quoteIdent(b.stagedName)} RENAME TO ${quoteIdent(sqlTable)}`,
      );
      await markVersion(client, target, plan.tableName);
      await applyRights(client, target, desc);
      await opts.store.putPublishedTable(client, {
        table: (opts.toPublished ?? publishedTableOf)(desc, { sqlSchema: plan.sqlSchema, sqlTable }, b.nrows),
        sqlSchema: plan.sqlSchema,
        sqlTable,
        description: desc,
        nrows: b.nrows,
        bytes: b.bytes,
        version: b.version,
        ...(b.schema ? { schema: b.schema } : {}),
      });
      await opts.store.notifyCatalogueChanged(client, plan.tableName);
      const prev = old.rows[0];
      out.push({
        tableName: plan.tableName,
        sqlSchema: plan.sqlSchema,
        sqlTable,
        version: b.version,
        nrows: b.nrows,
        bytes: b.bytes,
        ...(prev ? { replaced: prev.version, oldTable: prev.sql_table } : {}),
      });
      // The old version may live in another schema if the description moved it.
      if (prev && prev.sql_schema !== plan.sqlSchema) out[out.length - 1].oldTable = undefined;
    }
    await client.query('COMMIT');
    opts.log?.(
      `swapped ${out.map((o) => `${o.tableName} (version ${o.version})`).join(', ')} in ${secs(t)} s`,
    );
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** Rights as RLS policies (sql/115_publish_rights.sql); no owner group: readable by all. */
async function applyRights(client: pg.ClientBase, target: string, desc: TableDescription): Promise<void> {
  const r = desc.rights;
  const col = (name: string | undefined) => {
    if (!name) return null;
    const c = desc.columns.find((x) => x.name.toLowerCase() === name.toLowerCase());
    return c ? (c.sqlName ?? c.name.replace(/^"|"$/g, '')) : name;
  };
  await client.query('SELECT auth.protect_published_table($1::regclass, $2, $3, $4, $5::timestamptz)', [
    target,
    col(r?.ownerGroupColumn),
    col(r?.releaseColumn),
    r?.ownerGroup ?? null,
    r?.releaseDate ?? null,
  ]);
}

/**
 * Withdraws a published table: its catalogue row goes in one transaction (every node
 * process is told), then its physical table is dropped once no query reads it.
 */
export async function unpublishTable(
  pool: pg.Pool,
  tableName: string,
  opts: { readonly store: CatalogueStore; readonly log?: (line: string) => void },
): Promise<void> {
  const client = await pool.connect();
  let found: { sql_schema: string; sql_table: string; table_name: string } | undefined;
  try {
    await client.query('BEGIN');
    const r = await client.query<{
      sql_schema: string;
      sql_table: string;
      table_name: string;
      builtin: boolean;
    }>(
      'SELECT table_name, sql_schema, sql_table, builtin FROM vonode.published_tables WHERE lower(table_name) = lower($1)',
      [tableName],
    );
    found = r.rows[0];
    if (!found) throw new PublishError(`no published table ${tableName}; 'vonode tables' lists them`);
    if (r.rows[0].builtin)
      throw new PublishError(`${found.table_name} is built into vonode and cannot be unpublished`);
    await client.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY_SQL})`, [found.table_name]);
    await opts.store.removePublishedTable(client, found.table_name);
    await opts.store.notifyCatalogueChanged(client, found.table_name);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
  await dropWithRetry(pool, `${quoteIdent(found.sql_schema)}.${quoteIdent(found.sql_table)}`, {
    log: opts.log,
  });
}
