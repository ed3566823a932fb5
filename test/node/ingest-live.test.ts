import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { nestedIndex } from '../../sky/index.js';
import { loadMigrations } from '../../src/db/index.js';
import { DEMO_PROPRIETARY, demoPlan } from '../../src/ingest/demo.js';
import { writeDemoImage } from '../../src/ingest/demo-products.js';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { testDatabaseUrl } from '../support/db.js';
import { startTestNode, TEST_BASE_URL } from '../support/node.js';
import { runVonode } from '../support/process.js';

// Issue 17, the ingest traps, against a node that keeps running while a site ingests:
// - an owner group with no release date is never public, on every path (OBS-82);
// - every node process serves new and retracted products at once (SIA, MOC, HiPS), and the
//   HiPS re-renders only the tiles a product touches;
// - VONODE_DEMO_SCALE makes the demo products smaller;
// - access URLs follow the serving node's base URL, not the ingesting shell's.

const AUDIENCE = 'vonode-test';
const SECRET = 'live-secret';
const PUBLIC = 'live-public';
const issuer = new TestIssuer();
let node: Awaited<ReturnType<typeof startTestNode>>;
let db: pg.Client;
let dir: string;
let token: string;

// Sky positions no other test puts an image on (the demo fields lie at Dec -80..+10).
const SECRET_AT = { raDeg: 240, decDeg: 50 };
const NEW_AT = { raDeg: 120, decDeg: 45 };
const KEPT_AT = { raDeg: 60, decDeg: 40 };

const vonode = (args: string[], env: Record<string, string> = {}) =>
  runVonode(args, {
    DATABASE_URL: testDatabaseUrl(),
    VONODE_DATA_DIR: node.dataDir,
    VONODE_BASE_URL: TEST_BASE_URL,
    ...env,
  });

async function image(name: string, at: { raDeg: number; decDeg: number }): Promise<string> {
  const spec = { ...demoPlan(16)[0], ...at, fileName: `${name}.fits`, obsId: name };
  const path = join(dir, `${name}.fits`);
  await writeDemoImage(path, spec, []);
  return path;
}

const get = (path: string, authorization?: string) =>
  fetch(`${node.url}${path}`, { headers: authorization ? { authorization } : {} });

async function tapRows(node: { url: string }, query: string): Promise<string[][]> {
  const body = new URLSearchParams({ LANG: 'ADQL', RESPONSEFORMAT: 'csv', QUERY: query });
  const res = await fetch(`${node.url}/tap/sync`, { method: 'POST', body });
  expect(res.status).toBe(200);
  return (await res.text())
    .trim()
    .split(/\r?\n/)
    .slice(1)
    .map((l) => l.split(','));
}

async function tapCount(collection: string, authorization?: string): Promise<number> {
  const body = new URLSearchParams({
    LANG: 'ADQL',
    RESPONSEFORMAT: 'csv',
    QUERY: `SELECT COUNT(*) AS n FROM ivoa.obscore WHERE obs_collection = '${collection}'`,
  });
  const res = await fetch(`${node.url}/tap/sync`, {
    method: 'POST',
    body,
    headers: authorization ? { authorization } : {},
  });
  expect(res.status).toBe(200);
  return Number((await res.text()).trim().split('\n')[1]);
}

/** The order-3 HiPS tile under a position (order 3 is every survey's lowest order). */
const tileAt = (at: { raDeg: number; decDeg: number }, ext: string) => {
  const index = Number(nestedIndex(3, at.raDeg, at.decDeg));
  return { index, path: `/hips/images/Norder3/Dir0/Npix${index}.${ext}` };
};

/** Whether a MOC (JSON) holds the cell of order 10 under a position, or one of its parents. */
function mocCovers(moc: Record<string, number[]>, at: { raDeg: number; decDeg: number }): boolean {
  const deep = nestedIndex(10, at.raDeg, at.decDeg);
  return Object.entries(moc).some(([k, cells]) =>
    cells.some((c) => BigInt(c) === deep >> BigInt(2 * (10 - Number(k)))),
  );
}

/** The cached files of one order-3 tile, wherever the cache files them, with their times. */
function cachedTile(index: number, ext: string): string[] {
  const root = join(node.dataDir, 'hips', 'images');
  let names: string[] = [];
  try {
    names = readdirSync(root, { recursive: true, encoding: 'utf8' });
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith(join('Norder3', 'Dir0', `Npix${index}.${ext}`)))
    .map((n) => `${n}@${statSync(join(root, n)).mtimeMs}`)
    .sort();
}

beforeAll(async () => {
  await issuer.start();
  issuer.keys = [await signingKey()];
  node = await startTestNode({ VONODE_OIDC_ISSUER: issuer.url, VONODE_OIDC_AUDIENCE: AUDIENCE });
  token = `Bearer ${await issuer.token({ sub: 'xavier', groups: ['team-x'] }, { aud: AUDIENCE })}`;
  dir = mkdtempSync(join(tmpdir(), 'vonode-live-'));
  chmodSync(dir, 0o755);
  db = new pg.Client({ connectionString: testDatabaseUrl() });
  await db.connect();
}, 240_000);

afterAll(async () => {
  await db?.query('DELETE FROM ivoa.obscore WHERE obs_collection = ANY($1)', [[SECRET, PUBLIC]]);
  await db?.end();
  await node?.stop();
  await issuer.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('vonode ingest into a running node', () => {
  it('--owner-group without --release is never public: TAP, SIA, DataLink, SODA, preview, MOC, HiPS', async () => {
    const path = await image('secret-field', SECRET_AT);
    const r = await vonode(['ingest', '--collection', SECRET, '--owner-group', 'team-x', path]);
    expect(r.code, r.out).toBe(0);
    const did = /ingested .* as (\S+)/.exec(r.out)?.[1] as string;
    expect(did).toMatch(/^ivo:\/\//);
    const id = encodeURIComponent(did);

    // Anonymous: nothing on any path.
    expect(await tapCount(SECRET)).toBe(0);
    const sia = await (await get(`/sia/query?COLLECTION=${SECRET}`)).text();
    expect(sia).toMatch(/<VOTABLE/);
    expect(sia).not.toContain(did);
    expect(await (await get(`/datalink/links?ID=${id}`)).text()).toMatch(/NotFoundFault/);
    expect((await get(`/soda/sync?ID=${id}&CIRCLE=240+50+0.01`)).status).toBe(404);
    expect((await get(`/preview/${id}.png`)).status).toBe(404);
    const moc = (await (await get(`/moc/products?id=${id}&format=json`)).json()) as Record<string, number[]>;
    expect(Object.values(moc).flat()).toHaveLength(0);
    expect((await get(tileAt(SECRET_AT, 'png').path)).status).toBe(404);

    // A member of another group: nothing either.
    const other = `Bearer ${await issuer.token({ sub: 'yves', groups: ['team-y'] }, { aud: AUDIENCE })}`;
    expect(await tapCount(SECRET, other)).toBe(0);
    expect((await get(`/preview/${id}.png`, other)).status).toBe(404);

    // The owner group reads it.
    expect(await tapCount(SECRET, token)).toBe(1);
    expect((await get(`/preview/${id}.png`, token)).status).toBe(200);
    expect(await (await get(`/datalink/links?ID=${id}`, token)).text()).toMatch(/#this/);

    // The operator's list says so.
    const list = await vonode(['products', '--collection', SECRET]);
    expect(list.code, list.out).toBe(0);
    expect(list.out).toMatch(/team-x \(never public\)/);
  });

  it('serves a new product at once (SIA, MOC, HiPS), re-renders only its tiles, and retracts it', async () => {
    // SIA's self-description lists the collections present (SIA-63): read once, cached.
    const described = async () => (await get('/sia/query?MAXREC=0')).text();
    expect(await described()).not.toContain(`value="${PUBLIC}"`);
    // A public image whose HiPS tile is rendered and cached before the new one arrives.
    const kept = await image('kept-field', KEPT_AT);
    expect((await vonode(['ingest', '--collection', PUBLIC, kept])).code).toBe(0);
    await vi.waitFor(async () => expect(await described()).toContain(`value="${PUBLIC}"`), {
      timeout: 30_000,
      interval: 200,
    });
    const keptTile = tileAt(KEPT_AT, 'fits');
    await vi.waitFor(async () => expect((await get(keptTile.path)).status).toBe(200), {
      timeout: 30_000,
      interval: 200,
    });
    const keptBefore = cachedTile(keptTile.index, 'fits');
    expect(keptBefore).toHaveLength(1);

    const newTile = tileAt(NEW_AT, 'png');
    expect((await get(newTile.path)).status).toBe(404);
    const path = await image('new-field', NEW_AT);
    const r = await vonode(['ingest', '--collection', PUBLIC, path]);
    expect(r.code, r.out).toBe(0);
    const did = /ingested .*new-field\.fits as (\S+)/.exec(r.out)?.[1] as string;

    // SIA and the products MOC read the table: at once.
    const sia = await (await get(`/sia/query?POS=CIRCLE+${NEW_AT.raDeg}+${NEW_AT.decDeg}+0.1`)).text();
    expect(sia).toContain(did);
    const moc = (await (
      await get(`/moc/products?collection=${PUBLIC}&order=10&format=json`)
    ).json()) as Record<string, number[]>;
    expect(mocCovers(moc, NEW_AT)).toBe(true);
    // The HiPS hears of it through the node's NOTIFY channel, with no restart.
    await vi.waitFor(async () => expect((await get(newTile.path)).status).toBe(200), {
      timeout: 30_000,
      interval: 200,
    });
    const hipsMoc = await get('/hips/images/Moc.fits');
    expect(hipsMoc.status).toBe(200);
    // The tile the new image does not touch is served from the cache as it was.
    expect((await get(keptTile.path)).status).toBe(200);
    expect(cachedTile(keptTile.index, 'fits')).toEqual(keptBefore);

    // Retracted: gone from SIA at once, from the HiPS once the node has heard.
    const gone = await vonode(['retract', did]);
    expect(gone.code, gone.out).toBe(0);
    expect(gone.out).toContain(`retracted ${did}`);
    expect(
      await (await get(`/sia/query?POS=CIRCLE+${NEW_AT.raDeg}+${NEW_AT.decDeg}+0.1`)).text(),
    ).not.toContain(did);
    await vi.waitFor(async () => expect((await get(newTile.path)).status).toBe(404), {
      timeout: 30_000,
      interval: 200,
    });
    const again = await vonode(['retract', did]);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/0 retracted/);
  });

  it('builds access URLs from the serving node, not the ingesting shell; DIDs use VONODE_AUTHORITY', async () => {
    const path = await image('moved-field', { raDeg: 300, decDeg: 60 });
    // The shell that ingests has another idea of the node's address.
    const r = await vonode(['ingest', '--collection', PUBLIC, path], {
      VONODE_BASE_URL: 'http://127.0.0.1:1/elsewhere',
      VONODE_AUTHORITY: 'src.example.org',
    });
    expect(r.code, r.out).toBe(0);
    const did = /ingested .*moved-field\.fits as (\S+)/.exec(r.out)?.[1] as string;
    expect(did).toBe(`ivo://src.example.org/${PUBLIC}?moved-field`);
    const link = `datalink/links?ID=${encodeURIComponent(did)}`;
    const stored = await db.query('SELECT access_url FROM ivoa.obscore WHERE obs_publisher_did = $1', [did]);
    expect(stored.rows).toEqual([{ access_url: link }]);
    const query = `SELECT access_url FROM ivoa.obscore WHERE obs_publisher_did = '${did}'`;
    expect(await tapRows(node, query)).toEqual([[`${TEST_BASE_URL}/${link}`]]);
    const sia = await (await get('/sia/query?POS=CIRCLE+300+60+0.1')).text();
    expect(sia).toContain(`${TEST_BASE_URL}/${link}`);
    // Another node on the same database, at another address, gives its own.
    const other = await startTestNode({ VONODE_BASE_URL: 'http://moved.example.test:8443/vo' });
    try {
      expect(await tapRows(other, query)).toEqual([[`http://moved.example.test:8443/vo/${link}`]]);
    } finally {
      await other.stop();
    }
  });

  it('migration 148 turns the access URLs frozen at ingest into relative ones', async () => {
    const did = `ivo://vonode.demo/${PUBLIC}?frozen`;
    const frozen = `http://127.0.0.1:8080/datalink/links?ID=${encodeURIComponent(did)}`;
    await db.query(
      `INSERT INTO ivoa.obscore (calib_level, obs_collection, obs_id, obs_publisher_did, access_url, file_path)
       VALUES (2, $1, 'frozen', $2, $3, '/nowhere/frozen.fits'),
              (2, $1, 'remote', $4, 'https://archive.example.org/data/remote.fits', '/nowhere/remote.fits')`,
      [PUBLIC, did, frozen, `${did}-remote`],
    );
    const m = loadMigrations().find((x) => x.version === 148);
    expect(m?.name).toBe('access_url_at_query_time');
    await db.query('BEGIN');
    await db.query(m?.sql as string);
    await db.query('COMMIT');
    const rows = await db.query(
      'SELECT obs_id, access_url FROM ivoa.obscore WHERE obs_publisher_did = ANY($1) ORDER BY obs_id',
      [[did, `${did}-remote`]],
    );
    expect(rows.rows).toEqual([
      { obs_id: 'frozen', access_url: `datalink/links?ID=${encodeURIComponent(did)}` },
      { obs_id: 'remote', access_url: 'https://archive.example.org/data/remote.fits' },
    ]);
    const query = `SELECT obs_id, access_url FROM ivoa.obscore WHERE obs_collection = '${PUBLIC}' AND obs_id IN ('frozen', 'remote') ORDER BY obs_id`;
    expect(await tapRows(node, query)).toEqual([
      ['frozen', `${TEST_BASE_URL}/datalink/links?ID=${encodeURIComponent(did)}`],
      ['remote', 'https://archive.example.org/data/remote.fits'],
    ]);
  });

  it('honours VONODE_DEMO_SCALE: the demo products are made that many times coarser', async () => {
    // A database and data folder of its own: the shared test node keeps the full-size demo
    // that the other tests' expectations are computed on.
    const name = `scale_${process.pid}`;
    await db.query(`DROP DATABASE IF EXISTS ${name}`);
    await db.query(`CREATE DATABASE ${name}`);
    const url = new URL(testDatabaseUrl());
    url.pathname = `/${name}`;
    const scaled = await startTestNode({
      DATABASE_URL: url.toString(),
      VONODE_DATA_DIR: join(dir, 'scaled'),
      VONODE_DEMO_ROWS: '500',
      VONODE_DEMO_SCALE: '8',
    });
    try {
      const rows = await tapRows(
        scaled,
        "SELECT obs_id, s_xel1, s_xel2 FROM ivoa.obscore WHERE obs_collection = 'ska-demo' ORDER BY obs_id",
      );
      const full = demoPlan(1);
      const plan = demoPlan(8);
      // Anonymous TAP: the proprietary demo fields are not listed.
      expect(rows).toHaveLength(plan.length - Object.keys(DEMO_PROPRIETARY).length);
      for (const [obsId, nx, ny] of rows) {
        const spec = plan.find((p) => p.obsId === obsId);
        expect(spec, obsId).toBeDefined();
        expect([Number(nx), Number(ny)]).toEqual([spec?.nx, spec?.ny]);
        expect(Number(nx)).toBeLessThan(full.find((p) => p.obsId === obsId)?.nx as number);
      }
    } finally {
      await scaled.stop();
      await db.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });
});
