/**
 * Where a new version of a published table is built, what its physical names are, and
 * how what a killed load left behind is found and removed.
 *
 * A version is built in schema vonode_staging (invisible to the catalogue) and moved to
 * its published schema under its versioned name `<table>_v<N>` in the swap transaction.
 * Every physical table the loader makes carries a COMMENT naming the published table it
 * belongs to, so leftovers are recognised without guessing from names.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';

export const STAGING_SCHEMA = 'vonode_staging';

/** Marks tables made by the loader: `<prefix><qualified ADQL name>`. */
const STAGING_MARK = 'vonode staging of ';
const VERSION_MARK = 'vonode published version of ';

export function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

export function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** The ADQL name without the double quotes of a delimited identifier. */
export function plainName(name: string): string {
  return name.startsWith('"') && name.endsWith('"') && name.length >= 2
    ? name.slice(1, -1).replace(/""/g, '"')
    : name;
}

/** PostgreSQL identifiers are at most 63 bytes; longer names end in a hash to stay unique. */
export function fitIdentifier(name: string, suffix = ''): string {
  const max = 63 - Buffer.byteLength(suffix);
  if (Buffer.byteLength(name) <= max) return name + suffix;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  let head = name;
  while (Buffer.byteLength(head) > max - 9) head = head.slice(0, -1);
  return `${head}_${hash}${suffix}`;
}

/** The physical name of version N of a published table. */
export function versionTableName(table: string, version: number): string {
  return fitIdentifier(plainName(table), `_v${version}`);
}

/** A short name unique to (table, version, purpose) for objects in the staging schema. */
export function stagingName(tableName: string, version: number, purpose: string): string {
  const hash = createHash('sha256').update(tableName).digest('hex').slice(0, 12);
  return `${purpose}_${hash}_v${version}`;
}

/**
 * The advisory lock key of a published table: one publisher (or unpublisher, or cleaner)
 * at a time per table, across every process on the database.
 */
export const LOCK_KEY_SQL = "hashtextextended('vonode.publish:' || $1, 0)";

export async function markStaging(client: pg.ClientBase, sqlName: string, tableName: string): Promise<void> {
  await client.query(`COMMENT ON TABLE ${sqlName} IS ${quoteLiteral(STAGING_MARK + tableName)}`);
}

export async function markVersion(client: pg.ClientBase, sqlName: string, tableName: string): Promise<void> {
  await client.query(`COMMENT ON TABLE ${sqlName} IS ${quoteLiteral(VERSION_MARK + tableName)}`);
}

export interface DropOptions {
  readonly attempts?: number;
  readonly lockTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

/**
 * Drops a table no longer referenced by the catalogue. Queries that started on it may
 * still be reading it; a short lock_timeout keeps the DROP from queueing ahead of them
 * for long, and it is retried with backoff. False when it is still there (the next
 * publish or start removes it).
 */
export async function dropWithRetry(
  pool: pg.Pool,
  qualified: string,
  opts: DropOptions = {},
): Promise<boolean> {
  const attempts = opts.attempts ?? 6;
  let delay = 200;
  for (let i = 1; i <= attempts; i++) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL lock_timeout = '${opts.lockTimeoutMs ?? 1000}ms'`);
      await client.query(`DROP TABLE IF EXISTS ${qualified}`);
      await client.query('COMMIT');
      return true;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      if ((err as { code?: string }).code !== '55P03') throw err;
    } finally {
      client.release();
    }
    if (i < attempts) await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5000);
  }
  opts.log?.(`${qualified} is still in use; it will be removed at the next publish or start`);
  return false;
}

interface Leftover {
  readonly nsp: string;
  readonly rel: string;
  readonly qualified: string;
  readonly tableName: string;
}

/**
 * Removes what failed or killed loads left: every table of vonode_staging, and every
 * published version the catalogue no longer references. A table whose publisher is still
 * running (its advisory lock is held) is left alone. Called by every publish and at node
 * start. Returns the tables removed.
 */
export async function cleanupPublishing(
  pool: pg.Pool,
  opts: { readonly log?: (line: string) => void } = {},
): Promise<string[]> {
  const found = await pool.query<{ nsp: string; rel: string; note: string | null }>(
    `SELECT n.nspname AS nsp, c.relname AS rel, obj_description(c.oid, 'pg_class') AS note
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p')
        AND (n.nspname = $1 OR obj_description(c.oid, 'pg_class') LIKE $2)`,
    [STAGING_SCHEMA, `${VERSION_MARK}%`],
  );
  if (found.rowCount === 0) return [];
  const referenced = new Set<string>();
  const published = await pool
    .query<{ s: string; t: string }>('SELECT sql_schema AS s, sql_table AS t FROM vonode.published_tables')
    .catch(() => ({ rows: [] as { s: string; t: string }[] }));
  for (const r of published.rows) referenced.add(`${r.s}\u0000${r.t}`);
  const leftovers: Leftover[] = [];
  for (const r of found.rows) {
    const qualified = `${quoteIdent(r.nsp)}.${quoteIdent(r.rel)}`;
    if (r.nsp === STAGING_SCHEMA) {
      const tableName = r.note?.startsWith(STAGING_MARK) ? r.note.slice(STAGING_MARK.length) : '';
      leftovers.push({ nsp: r.nsp, rel: r.rel, qualified, tableName });
    } else if (!referenced.has(`${r.nsp}\u0000${r.rel}`)) {
      leftovers.push({
        nsp: r.nsp,
        rel: r.rel,
        qualified,
        tableName: (r.note ?? '').slice(VERSION_MARK.length),
      });
    }
  }
  const removed: string[] = [];
  for (const l of leftovers) {
    const client = await pool.connect();
    let locked = false;
    try {
      // A publisher of this table holds the lock for its whole load: its tables are not leftovers.
      const r = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${LOCK_KEY_SQL}) AS ok`, [
        l.tableName,
      ]);
      locked = r.rows[0].ok;
      if (!locked) continue;
      // Checked again under the lock: a publish may have just made it the served version.
      if (l.nsp !== STAGING_SCHEMA) {
        const still = await client.query(
          'SELECT 1 FROM vonode.published_tables WHERE sql_schema = $1 AND sql_table = $2',
          [l.nsp, l.rel],
        );
        if ((still.rowCount ?? 0) > 0) continue;
      }
      await client.query("SET lock_timeout = '1s'");
      await client.query(`DROP TABLE IF EXISTS ${l.qualified}`);
      removed.push(l.qualified);
    } catch (err) {
      if ((err as { code?: string }).code !== '55P03') throw err;
      opts.log?.(`${l.qualified} is still in use; it will be removed later`);
    } finally {
      await client.query('RESET lock_timeout').catch(() => {});
      if (locked)
        await client.query(`SELECT pg_advisory_unlock(${LOCK_KEY_SQL})`, [l.tableName]).catch(() => {});
      client.release();
    }
  }
  if (removed.length > 0) opts.log?.(`removed ${removed.length} table(s) left by earlier loads`);
  return removed;
}
