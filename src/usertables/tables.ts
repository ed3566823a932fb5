/**
 * A user table's life in the database: created (physical table, HEALPix index when it has a
 * position, row-level security, catalogue row and TAP_SCHEMA rows) in one transaction;
 * rows appended by COPY in one transaction per load; dropped with its rows. Each change
 * sends NOTIFY vonode_catalogue, so every node process sees it at once.
 *
 * A load is atomic: the rows go through COPY into a temporary table and then into the user
 * table in the same transaction as the quota checks and the new row count. A bad value, a
 * body cut off, or a quota crossed mid-stream ends the transaction, and none of the load's
 * rows is ever visible; the table stays as it was.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { withMaintenance } from '../auth/index.js';
import { notifyCatalogueChanged, putPublishedTable, removePublishedTable } from '../catalogue/index.js';
import {
  CopyBinaryWriter,
  DataFileError,
  type DataSource,
  PublishError,
  planTable,
  publishedTableOf,
  rowEncoder,
  type TableDescription,
  type TablePlan,
} from '../publish/index.js';
import { LOCK_KEY_SQL, quoteIdent } from '../publish/staging.js';
import { type TableRef, UserTableError } from './names.js';
import { type UserTableGrants, writeUserTablePermissions } from './permissions.js';
import type { UserTableSettings } from './settings.js';

/** The stored row of a user table. */
export interface UserTableRow {
  readonly tableName: string;
  readonly sqlSchema: string;
  readonly sqlTable: string;
  readonly description: TableDescription;
  readonly owner: string;
  readonly writeGroups: readonly string[];
  readonly readGroups: readonly string[];
  readonly public: boolean;
  readonly nrows: number;
}

/** From this many rows, a first load builds the indexes after the rows and analyses the table. */
const BULK_INDEX_ROWS = 10_000;

const qualified = (schema: string, table: string) => `${quoteIdent(schema)}.${quoteIdent(table)}`;

export async function findUserTable(
  client: pg.ClientBase | pg.Pool,
  tableName: string,
): Promise<UserTableRow | undefined> {
  const r = await client.query<{
    table_name: string;
    sql_schema: string;
    sql_table: string;
    description: TableDescription;
    owner_subject: string;
    write_groups: string[];
    read_groups: string[];
    public_read: boolean;
    nrows: string | null;
  }>(
    `SELECT table_name, sql_schema, sql_table, description, owner_subject, write_groups, read_groups,
            public_read, nrows::text
       FROM vonode.published_tables WHERE lower(table_name) = lower($1) AND owner_subject IS NOT NULL`,
    [tableName],
  );
  const x = r.rows[0];
  if (!x) return undefined;
  return {
    tableName: x.table_name,
    sqlSchema: x.sql_schema,
    sqlTable: x.sql_table,
    description: x.description,
    owner: x.owner_subject,
    writeGroups: x.write_groups,
    readGroups: x.read_groups,
    public: x.public_read,
    nrows: Number(x.nrows ?? 0),
  };
}

/** Runs `fn` in a transaction; a connection broken by an aborted COPY is destroyed, not reused. */
async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    // After an aborted COPY the connection may be mid-protocol: it is destroyed, and with it
    // the transaction (PostgreSQL rolls back what a lost connection began).
    if (err instanceof CopyAborted) broken = err;
    else
      try {
        await client.query('ROLLBACK');
      } catch (e) {
        broken = e as Error;
      }
    throw err instanceof CopyAborted ? err.cause : err;
  } finally {
    client.release(broken);
  }
}

/** A COPY that failed on our side: the connection may be mid-protocol, so it is dropped. */
class CopyAborted extends Error {
  constructor(override readonly cause: unknown) {
    super('COPY aborted');
  }
}

export interface CreateInput {
  readonly ref: TableRef;
  readonly description: TableDescription;
  /** The creator's subject: the table's owner. */
  readonly owner: string;
  /** Rows to load with the creation (a VOTable definition may carry them). */
  readonly rows?: DataSource;
  /** Grants asked for with the creation (youcat's x-vosi-* headers), set in the same transaction. */
  readonly grants?: UserTableGrants;
}

/** Creates a user table (and loads its rows, when given) in one transaction. */
export async function createUserTable(
  pool: pg.Pool,
  input: CreateInput,
  settings: UserTableSettings,
): Promise<{ nrows: number }> {
  const { ref, description } = input;
  let plan: TablePlan;
  try {
    plan = planTable(description);
  } catch (err) {
    if (err instanceof PublishError) throw new UserTableError(400, err.message);
    throw err;
  }
  return inTransaction(pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY_SQL})`, [ref.qualified]);
    const owned = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM vonode.published_tables WHERE owner_subject = $1',
      [input.owner],
    );
    if ((owned.rows[0]?.n ?? 0) >= settings.maxTablesPerUser)
      throw new UserTableError(
        403,
        `you own ${owned.rows[0].n} tables, the most a user may own (VONODE_USER_TABLE_MAX_TABLES=${settings.maxTablesPerUser}); delete one first`,
      );
    const exists = await client.query(
      `SELECT 1 FROM vonode.published_tables WHERE lower(table_name) = lower($1)
       UNION ALL SELECT 1 WHERE to_regclass($2) IS NOT NULL`,
      [ref.qualified, qualified(ref.schema, ref.table)],
    );
    if ((exists.rowCount ?? 0) > 0)
      throw new UserTableError(
        409,
        `the table ${ref.qualified} already exists; DELETE /tap/tables/${ref.qualified} first to replace it`,
      );
    const target = qualified(ref.schema, ref.table);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(ref.schema)}`);
    await client.query(
      `CREATE TABLE ${target} (${plan.columns.map((c) => `${quoteIdent(c.sqlName)} ${c.sqlType}`).join(', ')})`,
    );
    const indexed = [...(plan.healpix ? [plan.healpix] : []), ...plan.indexed];
    for (const col of indexed) await createIndex(client, ref.schema, ref.table, col, false);
    await client.query('SELECT auth.protect_user_table($1::regclass, $2)', [target, ref.qualified]);
    await putPublishedTable(client, {
      table: publishedTableOf(description, { sqlSchema: ref.schema, sqlTable: ref.table }, 0),
      sqlSchema: ref.schema,
      sqlTable: ref.table,
      description,
      nrows: 0,
      bytes: 0,
      version: 1,
      schema: { name: ref.schema, description: `user tables of ${input.owner}` },
    });
    await client.query('UPDATE vonode.published_tables SET owner_subject = $2 WHERE table_name = $1', [
      ref.qualified,
      input.owner,
    ]);
    if (input.grants) await writeUserTablePermissions(client, ref.qualified, input.grants);
    let nrows = 0;
    if (input.rows)
      nrows = await appendRows(client, plan, ref.qualified, input.owner, 0, input.rows, settings);
    await notifyCatalogueChanged(client, ref.qualified);
    return { nrows };
  });
}

/** Appends the rows of `source` to a user table in one transaction; returns the rows added. */
export async function loadUserTable(
  pool: pg.Pool,
  table: UserTableRow,
  source: DataSource,
  settings: UserTableSettings,
): Promise<{ rows: number; nrows: number }> {
  const plan = planTable(table.description);
  return inTransaction(pool, async (client) => {
    // One load of a table at a time: each sees the row count the other committed.
    const locked = await client.query<{ nrows: string | null }>(
      'SELECT nrows::text FROM vonode.published_tables WHERE table_name = $1 FOR UPDATE',
      [table.tableName],
    );
    if (locked.rowCount === 0) throw new UserTableError(404, `the table ${table.tableName} no longer exists`);
    const before = Number(locked.rows[0].nrows ?? 0);
    const rows = await appendRows(client, plan, table.tableName, table.owner, before, source, settings);
    await notifyCatalogueChanged(client, table.tableName);
    return { rows, nrows: before + rows };
  });
}

/**
 * COPY of the source's rows into the table, inside the caller's transaction, then the row
 * count, the byte count and the quotas. Throws (and the caller rolls back) on any problem.
 */
async function appendRows(
  client: pg.PoolClient,
  plan: TablePlan,
  tableName: string,
  owner: string,
  before: number,
  source: DataSource,
  settings: UserTableSettings,
): Promise<number> {
  checkHeader(plan, tableName, source);
  let encoder: ReturnType<typeof rowEncoder>;
  try {
    encoder = rowEncoder(plan, source);
  } catch (err) {
    throw asLoadError(err);
  }
  const target = qualified(plan.sqlSchema, plan.desc.name);
  const load = quoteIdent(`load_${Math.random().toString(36).slice(2, 10)}`);
  await client.query(
    `CREATE TEMP TABLE ${load} (${plan.columns.map((c) => `${quoteIdent(c.sqlName)} ${c.loadType}`).join(', ')}) ON COMMIT DROP`,
  );
  const allowed = settings.maxRows - before;
  let rows = 0;
  async function* chunks(): AsyncGenerator<Buffer> {
    const w = new CopyBinaryWriter();
    w.header();
    for await (const batch of source.batches()) {
      rows += batch.rows.length;
      if (rows > allowed)
        throw new UserTableError(
          413,
          `the load would take ${tableName} past ${settings.maxRows} rows (VONODE_USER_TABLE_MAX_ROWS); nothing of it was kept`,
        );
      let row = batch.firstRow;
      for (const values of batch.rows) encoder.write(w, values, row++);
      if (w.length >= 1 << 18) yield w.take();
    }
    w.trailer();
    yield w.take();
  }
  const columns = plan.columns.map((c) => quoteIdent(c.sqlName)).join(', ');
  try {
    await pipeline(
      Readable.from(chunks(), { objectMode: false }),
      client.query(copyFrom(`COPY ${load} (${columns}) FROM STDIN (FORMAT binary)`)),
    );
  } catch (err) {
    throw new CopyAborted(asLoadError(err));
  } finally {
    await source.close().catch(() => {});
  }
  const select = plan.columns
    .map((c) => (c.loadType === c.sqlType ? quoteIdent(c.sqlName) : `${quoteIdent(c.sqlName)}::${c.sqlType}`))
    .join(', ');
  await withMaintenance(client);
  // Room to sort and build indexes in memory, for this transaction only (as the publisher has).
  await client.query("SET LOCAL work_mem = '128MB'");
  await client.query("SET LOCAL maintenance_work_mem = '256MB'");
  // The first large load of a table builds its indexes afterwards, in one pass each, rather
  // than entry by entry (bench/user-tables.ts: several times faster); the table is empty, so
  // nobody waits on the lock this takes. Later loads keep the indexes and add to them.
  const rebuild: string[] = [];
  if (before === 0 && rows >= BULK_INDEX_ROWS) {
    const idx = await client.query<{ name: string; def: string }>(
      'SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = $1 AND tablename = $2',
      [plan.sqlSchema, plan.desc.name],
    );
    for (const i of idx.rows) {
      await client.query(`DROP INDEX ${qualified(plan.sqlSchema, i.name)}`);
      rebuild.push(i.def);
    }
  }
  try {
    // In HEALPix order, as the publisher writes catalogues: the index's B-tree is then filled
    // leaf after leaf instead of at random, and a cone's rows lie on few pages.
    await client.query(
      `INSERT INTO ${target} (${columns}) SELECT ${select} FROM ${load}${plan.healpix ? ` ORDER BY ${quoteIdent(plan.healpix)}` : ''}`,
    );
    for (const def of rebuild) await client.query(def);
  } catch (err) {
    throw asLoadError(err);
  }
  await client.query(`DROP TABLE ${load}`);
  // Statistics for the planner at once (cones choose the HEALPix index by them), when the
  // load is most of the table; autovacuum keeps them current after.
  if (rows >= BULK_INDEX_ROWS && rows >= before) await client.query(`ANALYZE ${target}`);
  const size = await client.query<{ table_bytes: string; user_bytes: string }>(
    `SELECT pg_total_relation_size($1::regclass)::text AS table_bytes,
            (SELECT COALESCE(sum(pg_total_relation_size(format('%I.%I', sql_schema, sql_table)::regclass)), 0)
               FROM vonode.published_tables WHERE owner_subject = $2)::text AS user_bytes`,
    [target, owner],
  );
  const userBytes = Number(size.rows[0].user_bytes);
  if (userBytes > settings.maxBytesPerUser)
    throw new UserTableError(
      413,
      `the load would make your tables take ${userBytes} bytes, more than the ${settings.maxBytesPerUser} a user may have (VONODE_USER_TABLE_MAX_BYTES); nothing of it was kept`,
    );
  const nrows = before + rows;
  await client.query('UPDATE vonode.published_tables SET nrows = $2, bytes = $3 WHERE table_name = $1', [
    tableName,
    nrows,
    Number(size.rows[0].table_bytes),
  ]);
  await client.query('UPDATE tap_schema.tables SET nrows = $2 WHERE table_name = $1', [tableName, nrows]);
  return rows;
}

/** The load's columns must be the table's (in any order, names compared without case). */
function checkHeader(plan: TablePlan, tableName: string, source: DataSource): void {
  const wanted = plan.desc.columns.map((c) => c.name);
  const have = source.columns.map((c) => c.name);
  const lower = (xs: readonly string[]) => new Set(xs.map((x) => x.toLowerCase()));
  const wantedSet = lower(wanted);
  const haveSet = lower(have);
  const missing = wanted.filter((n) => !haveSet.has(n.toLowerCase()));
  const unknown = have.filter((n) => !wantedSet.has(n.toLowerCase()));
  if (missing.length === 0 && unknown.length === 0 && have.length === haveSet.size) return;
  const parts = [
    missing.length ? `missing ${missing.join(', ')}` : '',
    unknown.length ? `not in the table: ${unknown.join(', ')}` : '',
    have.length !== haveSet.size ? 'a column is given twice' : '',
  ].filter(Boolean);
  throw new UserTableError(
    400,
    `the load's columns (${have.join(', ')}) do not match the columns of ${tableName} (${wanted.join(', ')}): ${parts.join('; ')}`,
  );
}

/** A reader, encoder or PostgreSQL error as the 400 a client can act on; ours pass through. */
function asLoadError(err: unknown): unknown {
  if (err instanceof UserTableError) return err;
  if (err instanceof PublishError) return new UserTableError(400, err.message);
  if (err instanceof DataFileError) {
    const where = [err.row !== undefined ? `row ${err.row}` : '', err.column ? `column ${err.column}` : '']
      .filter(Boolean)
      .join(', ');
    const msg = /^row \d+/.test(err.message) || !where ? err.message : `${where}: ${err.message}`;
    return new UserTableError(400, `the load could not be read: ${msg}; nothing of it was kept`);
  }
  const e = err as { code?: string; message?: string };
  // Data exceptions and integrity violations (SQLSTATE classes 22 and 23) are the data's fault.
  if (typeof e?.code === 'string' && (e.code.startsWith('22') || e.code.startsWith('23')))
    return new UserTableError(
      400,
      `the load was refused by the database: ${e.message}; nothing of it was kept`,
    );
  return err;
}

/** Drops a user table with its rows and catalogue rows; only its owner may. */
export async function dropUserTable(pool: pg.Pool, table: UserTableRow): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY_SQL})`, [table.tableName]);
    // Queries reading the table hold it; wait a little for them rather than queue forever.
    await client.query("SET LOCAL lock_timeout = '10s'");
    await removePublishedTable(client, table.tableName);
    try {
      await client.query(`DROP TABLE IF EXISTS ${qualified(table.sqlSchema, table.sqlTable)}`);
    } catch (err) {
      if ((err as { code?: string }).code === '55P03')
        throw new UserTableError(409, `the table ${table.tableName} is being read; try again in a moment`);
      throw err;
    }
    await notifyCatalogueChanged(client, table.tableName);
  });
}

/** CREATE [UNIQUE] INDEX on one column of a user table, named after it. */
export async function createIndex(
  client: pg.ClientBase,
  schema: string,
  table: string,
  column: string,
  unique: boolean,
): Promise<void> {
  const name = `${table}_${column}${unique ? '_key' : '_idx'}`.slice(0, 63);
  await client.query(
    `CREATE ${unique ? 'UNIQUE ' : ''}INDEX IF NOT EXISTS ${quoteIdent(name)} ON ${qualified(schema, table)} (${quoteIdent(column)})`,
  );
}
