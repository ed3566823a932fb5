import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.js';
import { type OwnDatabase, ownDatabase } from '../support/own-database.js';

/*
 * Issue 23 item 6: VONODE_DEMO_ROWS=0 publishes no demo data at all: no demo schema or
 * table in TAP_SCHEMA, no demo product in ObsCore, no demo files in the data folder, and the
 * services that describe data (HiPS, MOC) say there is none. A database and data folder of
 * its own: the shared test database holds the other tests' demo.
 */
let own: OwnDatabase;
let node: Awaited<ReturnType<typeof startTestNode>>;
let dataDir: string;

beforeAll(async () => {
  own = await ownDatabase('demo_off', 0);
  dataDir = own.env.VONODE_DATA_DIR as string;
  node = await startTestNode(own.env);
}, 120_000);

afterAll(async () => {
  await node?.stop();
  await own?.drop();
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
