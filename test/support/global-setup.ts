import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { ensureDatabase, startEmbeddedPostgres } from '../../src/db/embedded.js';
import { applyMigrations } from '../../src/db/migrate.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    /** A data folder shared by every test node (demo FITS products live here). */
    dataDir: string;
  }
}

/**
 * One real PostgreSQL for the whole run: DATABASE_URL if given (any PostgreSQL 15+),
 * otherwise an embedded one in a fresh temporary folder, removed afterwards.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const shared = mkdtempSync(join(tmpdir(), 'vonode-testdata-'));
  chmodSync(shared, 0o755);
  project.provide('dataDir', shared);
  if (process.env.VONODE_TEST_DATABASE_URL) {
    await migrate(process.env.VONODE_TEST_DATABASE_URL);
    project.provide('databaseUrl', process.env.VONODE_TEST_DATABASE_URL);
    return async () => {
      rmSync(shared, { recursive: true, force: true });
    };
  }
  // As root the cluster belongs to the postgres user, so the folder must be reachable by it.
  const base = mkdtempSync(join(tmpdir(), 'vonode-test-'));
  chmodSync(base, 0o755);
  const db = await startEmbeddedPostgres({ dataDir: join(base, 'pg') });
  await ensureDatabase(db.url);
  await migrate(db.url);
  project.provide('databaseUrl', db.url);
  return async () => {
    await db.stop();
    rmSync(base, { recursive: true, force: true });
    rmSync(shared, { recursive: true, force: true });
  };
}

async function migrate(url: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    await applyMigrations(pool);
  } finally {
    await pool.end();
  }
}
