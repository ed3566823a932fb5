import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPlan } from '../../src/ingest/demo.js';
import { writeDemoImage } from '../../src/ingest/demo-products.js';
import { testDatabaseUrl, testDataDir } from '../support/db.js';
import { type NodeProcess, runVonode, spawnNode } from '../support/process.js';

// Issue 17 build item 1: products are stored with relative paths. A file below the products
// root (VONODE_PRODUCTS_ROOT) is recorded by its path below it (sql/170), so an archive moved
// to another folder (or mounted elsewhere on another machine) is served by changing the
// setting, with nothing ingested again; a file outside the root keeps its absolute path.

const tag = `root${process.pid}`;
const COLLECTION = `moved-${tag}`;
// A sky position no other test puts an image on.
const AT = { raDeg: 200, decDeg: 55 };

let dir: string;
let db: pg.Client;
let node: NodeProcess | undefined;

const vonode = (args: string[], env: Record<string, string>) =>
  runVonode(args, { DATABASE_URL: testDatabaseUrl(), VONODE_DATA_DIR: testDataDir(), ...env });

async function image(path: string, name: string): Promise<void> {
  const spec = { ...demoPlan(16)[0], ...AT, fileName: `${name}.fits`, obsId: name };
  await writeDemoImage(path, spec, []);
}

const storedPaths = async () =>
  (
    await db.query<{ did: string; file_path: string }>(
      'SELECT obs_publisher_did AS did, file_path FROM ivoa.obscore WHERE obs_collection = $1 ORDER BY file_path',
      [COLLECTION],
    )
  ).rows;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vonode-root-'));
  chmodSync(dir, 0o755);
  db = new pg.Client({ connectionString: testDatabaseUrl() });
  await db.connect();
}, 60_000);

afterAll(async () => {
  await node?.stop();
  await db.query('DELETE FROM ivoa.obscore WHERE obs_collection = $1', [COLLECTION]).catch(() => {});
  await db.end();
  rmSync(dir, { recursive: true, force: true });
});

describe('products below VONODE_PRODUCTS_ROOT are stored relative to it (issue 17)', () => {
  it('an archive moved to another folder is served by changing the root, with no ingest', async () => {
    const before = join(dir, 'archive-before');
    mkdirSync(join(before, 'field'), { recursive: true });
    await image(join(before, 'field', `${tag}-a.fits`), `${tag}-a`);
    // Outside the root: recorded by its absolute path.
    mkdirSync(join(dir, 'elsewhere'));
    const outside = join(dir, 'elsewhere', `${tag}-b.fits`);
    await image(outside, `${tag}-b`);

    const r = await vonode(['ingest', '--collection', COLLECTION, join(before, 'field'), outside], {
      VONODE_PRODUCTS_ROOT: before,
    });
    expect(r.code, r.out).toBe(0);
    const rows = await storedPaths();
    expect(rows.map((x) => x.file_path)).toEqual([outside, `field/${tag}-a.fits`].sort());
    const did = rows.find((x) => !x.file_path.startsWith('/'))?.did as string;

    // `vonode products` shows where the file is, as this root resolves it.
    const listed = await vonode(['products', '--collection', COLLECTION], { VONODE_PRODUCTS_ROOT: before });
    expect(listed.code, listed.out).toBe(0);
    expect(listed.out).toContain(join(before, 'field', `${tag}-a.fits`));

    // The archive moves; the node serves it from the new root at once.
    const after = join(dir, 'archive-after');
    renameSync(before, after);
    node = await spawnNode({ VONODE_PRODUCTS_ROOT: after });
    const id = encodeURIComponent(did);
    const cutout = await fetch(`${node.url}/soda/sync?ID=${id}&CIRCLE=${AT.raDeg}+${AT.decDeg}+0.02`);
    expect(cutout.status, await cutout.clone().text()).toBe(200);
    expect(
      Buffer.from(await cutout.arrayBuffer())
        .subarray(0, 6)
        .toString(),
    ).toBe('SIMPLE');
    const links = await (await fetch(`${node.url}/datalink/links?ID=${id}`)).text();
    expect(links).toContain('#this');
    expect(links).not.toMatch(/NotFoundFault|ServiceFault/);
    // The path stored is the same: nothing was rewritten.
    expect((await storedPaths()).map((x) => x.file_path)).toEqual(rows.map((x) => x.file_path));

    // Retracting by the file's path under the new root finds the product.
    const gone = await vonode(['retract', join(after, 'field', `${tag}-a.fits`)], {
      VONODE_PRODUCTS_ROOT: after,
    });
    expect(gone.code, gone.out).toBe(0);
    expect((await storedPaths()).map((x) => x.file_path)).toEqual([outside]);
  }, 240_000);
});
