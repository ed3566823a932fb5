import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';

/** The folder of numbered migrations shipped with vonode. */
export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'sql');

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Reads `NNN_name.sql` files in numeric order; anything else in the folder is ignored. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  const found: Migration[] = [];
  for (const file of readdirSync(dir)) {
    const m = /^(\d+)_([\w-]+)\.sql$/.exec(file);
    if (!m) continue;
    found.push({ version: Number(m[1]), name: m[2], sql: readFileSync(join(dir, file), 'utf8') });
  }
  found.sort((a, b) => a.version - b.version);
  for (let i = 1; i < found.length; i++) {
    if (found[i].version === found[i - 1].version) {
      throw new Error(
        `two migrations share number ${found[i].version}: ${found[i - 1].name}, ${found[i].name}`,
      );
    }
  }
  return found;
}

/**
 * The shipped migrations this database has not recorded yet, applying nothing. A database
 * that vonode never opened (no vonode.schema_migrations) has them all pending.
 */
export async function pendingMigrations(
  pool: pg.Pool,
  migrations: Migration[] = loadMigrations(),
): Promise<Migration[]> {
  const table = await pool.query<{ t: string | null }>("SELECT to_regclass('vonode.schema_migrations') AS t");
  if (table.rows[0].t === null) return migrations;
  const done = new Set(
    (await pool.query<{ version: number }>('SELECT version FROM vonode.schema_migrations')).rows.map(
      (r) => r.version,
    ),
  );
  return migrations.filter((m) => !done.has(m.version));
}

// Any fixed 64-bit key: every vonode process agrees on it, so only one applies migrations.
const MIGRATION_LOCK = 7_460_110_001;

/**
 * Applies each migration not yet recorded, each in its own transaction, under a
 * session advisory lock so that processes starting together take turns: the second
 * finds the work done and applies nothing.
 */
export async function applyMigrations(
  pool: pg.Pool,
  migrations: Migration[] = loadMigrations(),
): Promise<string[]> {
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE SCHEMA IF NOT EXISTS vonode');
    await client.query(`CREATE TABLE IF NOT EXISTS vonode.schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set(
      (await client.query<{ version: number }>('SELECT version FROM vonode.schema_migrations')).rows.map(
        (r) => r.version,
      ),
    );
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO vonode.schema_migrations (version, name) VALUES ($1, $2)', [
          m.version,
          m.name,
        ]);
        await client.query('COMMIT');
        applied.push(`${m.version}_${m.name}`);
      } catch (err) {
        await client.query('ROLLBACK');
        const msg = err instanceof Error ? err.message : String(err);
        throw new Error(`migration ${m.version}_${m.name}.sql failed: ${msg}`);
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
  return applied;
}
