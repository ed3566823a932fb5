import { isAbsolute, relative } from 'node:path';
import type pg from 'pg';

/** What a backup records of the database besides its contents. */
export interface DatabaseState {
  readonly serverVersion: string;
  readonly serverMajor: number;
  readonly migrations: number[];
  /** Product files registered in ivoa.obscore that lie outside the data folder. */
  readonly productsOutside: string[];
}

export async function databaseState(client: pg.ClientBase, dataDir: string): Promise<DatabaseState> {
  const v = await client.query<{ v: string; n: string }>(
    "SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n",
  );
  const migrations = (
    await client.query<{ t: string | null }>("SELECT to_regclass('vonode.schema_migrations') AS t")
  ).rows[0].t
    ? (
        await client.query<{ version: number }>(
          'SELECT version FROM vonode.schema_migrations ORDER BY version',
        )
      ).rows.map((r) => r.version)
    : [];
  // Paths below the products root are stored relative (sql/170); before that migration, none.
  const resolved = (await client.query("SELECT to_regprocedure('ivoa.product_file(text)') AS f")).rows[0].f
    ? 'ivoa.product_file(file_path)'
    : 'file_path';
  const files = (await client.query<{ t: string | null }>("SELECT to_regclass('ivoa.obscore') AS t")).rows[0]
    .t
    ? (
        await client.query<{ file_path: string }>(
          `SELECT DISTINCT ${resolved} AS file_path
             FROM ivoa.obscore WHERE file_path IS NOT NULL ORDER BY 1`,
        )
      ).rows.map((r) => r.file_path)
    : [];
  return {
    serverVersion: v.rows[0].v,
    serverMajor: Math.floor(Number(v.rows[0].n) / 10000),
    migrations,
    productsOutside: files.filter((f) => isAbsolute(f) && relative(dataDir, f).startsWith('..')),
  };
}

/**
 * Whether a database holds anything of its own: any schema besides public and the system's,
 * or any relation in public. A restore goes only into an empty one.
 */
export async function isEmptyDatabase(client: pg.ClientBase): Promise<boolean> {
  const r = await client.query<{ n: number }>(`
    SELECT (SELECT count(*) FROM pg_namespace
             WHERE nspname NOT IN ('public', 'information_schema') AND nspname NOT LIKE 'pg\\_%')
         + (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public') AS n`);
  return Number(r.rows[0].n) === 0;
}
