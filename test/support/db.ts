import pg from 'pg';
import { inject } from 'vitest';

/** The URL of the run's one real PostgreSQL (see global-setup.ts). */
export function testDatabaseUrl(): string {
  return inject('databaseUrl');
}

/** The data folder every test node of this run shares. */
export function testDataDir(): string {
  return inject('dataDir');
}

/**
 * A pool on the test database, inside a schema of its own so that test files running
 * in parallel do not see each other's tables. Call `close()` in afterAll.
 */
export async function testPool(
  schema?: string,
): Promise<pg.Pool & { schema: string; close(): Promise<void> }> {
  const name = schema ?? `t_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: testDatabaseUrl() });
  await admin.connect();
  await admin.query(`CREATE SCHEMA IF NOT EXISTS ${admin.escapeIdentifier(name)}`);
  await admin.end();
  const pool = new pg.Pool({
    connectionString: testDatabaseUrl(),
    max: 4,
    options: `-c search_path=${name},public`,
  });
  return Object.assign(pool, {
    schema: name,
    async close() {
      await pool.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`).catch(() => {});
      await pool.end();
    },
  }) as pg.Pool & { schema: string; close(): Promise<void> };
}
