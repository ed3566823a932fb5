import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../support/db.js';
import { startTestNode } from '../support/node.js';

/*
 * Issue 23 item 6: VONODE_DEMO_ROWS=0 publishes no demo data at all: no demo schema or
 * table in TAP_SCHEMA, no demo product in ObsCore, no demo files in the data folder, and the
 * services that describe data (HiPS, MOC) say there is none. A database and data folder of
 * its own: the shared test database holds the other tests' demo.
 */
const DATABASE = `demo_off_${process.pid}`;
let node: Awaited<ReturnType<typeof startTestNode>>;
let dataDir: string;

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: testDatabaseUrl() });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  await admin(`DROP DATABASE IF EXISTS ${DATABASE}`);
  await admin(`CREATE DATABASE ${DATABASE}`);
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${DATABASE}`;
  dataDir = mkdtempSync(join(tmpdir(), 'vonode-demo-off-'));
  chmodSync(dataDir, 0o755);
  node = await startTestNode({
    DATABASE_URL: url.toString(),
    VONODE_DATA_DIR: dataDir,
    VONODE_DEMO_ROWS: '0',
  });
}, 120_000);

afterAll(async () => {
  await node?.stop();
  await admin(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function csv(query: string): Promise<string[]> {
  const res = await fetch(`${node.url}/tap/sync`, {
    method: 'POST',
    body: new URLSearchParams({ LANG: 'ADQL', RESPONSEFORMAT: 'csv', QUERY: query }),
  });
  expect(res.status).toBe(200);
  return (await res.text()).trim().split(/\r?\n/).slice(1);
}

describe('VONODE_DEMO_ROWS=0', () => {
  it('publishes no demo schema, table or product', async () => {
    const schemas = await csv('SELECT schema_name FROM TAP_SCHEMA.schemas ORDER BY schema_name');
    expect(schemas).not.toContain('demo');
    expect(schemas).toEqual(expect.arrayContaining(['ivoa', 'TAP_SCHEMA']));
    expect(await csv("SELECT table_name FROM TAP_SCHEMA.tables WHERE schema_name = 'demo'")).toEqual([]);
    expect(await csv('SELECT COUNT(*) FROM ivoa.obscore')).toEqual(['0']);
    // The ADQL name is unknown, as any table that does not exist.
    const res = await fetch(
      `${node.url}/tap/sync?LANG=ADQL&QUERY=${encodeURIComponent('SELECT TOP 1 * FROM demo.sources')}`,
    );
    expect(res.status).toBe(400);
  });

  it('writes no demo files and lists no HiPS of images', async () => {
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
      );
    const files = existsSync(dataDir) ? walk(dataDir) : [];
    expect(files.filter((f) => /\.fits(\.gz)?$/i.test(f))).toEqual([]);
    // The list is there, with no survey in it (a node with images lists its image HiPS).
    const list = await fetch(`${node.url}/hips/hipslist`);
    expect(list.status).toBe(200);
    expect(await list.text()).not.toMatch(/hips_service_url/);
  });
});
