import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { testDatabaseUrl } from './db.js';

/**
 * A database and data folder of a test's own, on the test server. Tests whose nodes run
 * async jobs need one: on the shared test database every other file's node claims jobs from
 * the same UWS queue, so a test cannot know which process runs what, or when.
 */
export interface OwnDatabase {
  /** DATABASE_URL and VONODE_DATA_DIR for a node on it, with a small coarse demo. */
  readonly env: Record<string, string>;
  /** A client connected to it. */
  readonly db: pg.Client;
  /** Drops the database (connections ended by force) and removes the folder. */
  drop(): Promise<void>;
}

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: testDatabaseUrl() });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

export async function ownDatabase(prefix: string, demoRows = 2000): Promise<OwnDatabase> {
  const name = `${prefix}_${process.pid}`;
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;
  const dataDir = mkdtempSync(join(tmpdir(), `vonode-${prefix}-`));
  chmodSync(dataDir, 0o755);
  const db = new pg.Client({ connectionString: url.toString() });
  await db.connect();
  return {
    env: {
      DATABASE_URL: url.toString(),
      VONODE_DATA_DIR: dataDir,
      VONODE_DEMO_ROWS: String(demoRows),
      VONODE_DEMO_SCALE: '16',
    },
    db,
    async drop() {
      await db.end().catch(() => {});
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
