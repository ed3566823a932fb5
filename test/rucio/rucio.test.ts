import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { DmApiClient, rucioSettings, syncRucio } from '../../src/rucio/index.js';
import { testDatabaseUrl } from '../support/db.js';
import { startTestNode } from '../support/node.js';
import { DmApiFixture } from './dm-api-fixture.js';

/**
 * Issue 17 item 4: Rucio-managed products through SRCNet's Data Management API, against the
 * DM API contract fixture (dm-api-fixture.ts). A database and data folder of their own, so the
 * other test files' product counts are not disturbed.
 */

const TOKEN = 'dm-api-token-for-vonode';
const SCOPE = 'srcnet_test';
const COLLECTION = 'rucio-test';
const AUTHORITY = 'src.example.org';
const DB = `rucio_${process.pid}`;

let fixture: DmApiFixture;
let admin: pg.Client;
let dir: string;
let node: Awaited<ReturnType<typeof startTestNode>>;
let env: Record<string, string>;

const name = (i: number) => `obs-${String(i).padStart(3, '0')}.fits`;
const did = (n: string) => `ivo://${AUTHORITY}?${SCOPE}/${n}`;

function metadata(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const ra = 10 + i * 0.5;
  const dec = -30 + (i % 10);
  return {
    obs_id: `obs-${i}`,
    calib_level: 2,
    obs_collection: COLLECTION,
    dataproduct_type: 'image',
    target_name: `field-${i}`,
    s_ra: ra,
    s_dec: dec,
    s_fov: 0.2,
    s_region: `POLYGON ICRS ${ra - 0.1} ${dec - 0.1} ${ra + 0.1} ${dec - 0.1} ${ra + 0.1} ${dec + 0.1} ${ra - 0.1} ${dec + 0.1}`,
    s_resolution: 5,
    t_min: 60000 + i,
    t_max: 60000.5 + i,
    em_min: 0.2,
    em_max: 0.22,
    facility_name: 'SKA-Mid',
    instrument_name: 'Band 2',
    content_length: 1_000_000 + i,
    s_resolution_min: 4.5,
    s_resolution_max: 6,
    f_resolution: 26.1,
    ...extra,
  };
}

async function tap(query: string): Promise<string[][]> {
  const body = new URLSearchParams({ LANG: 'ADQL', RESPONSEFORMAT: 'csv', QUERY: query });
  const res = await fetch(`${node.url}/tap/sync`, { method: 'POST', body });
  expect(res.status).toBe(200);
  return (await res.text())
    .trim()
    .split(/\r?\n/)
    .slice(1)
    .map((l) => l.split(','));
}

async function links(id: string) {
  const res = await fetch(`${node.url}/datalink/links?${new URLSearchParams({ ID: id })}`);
  const body = await res.text();
  const rows = [...body.matchAll(/<TR>(.*?)<\/TR>/gs)].map((m) =>
    [...m[1].matchAll(/<TD>(.*?)<\/TD>|<TD\/>/gs)].map((c) => (c[1] ?? '').replace(/&amp;/g, '&')),
  );
  return { status: res.status, body, rows };
}

/** `vonode rucio sync` as an operator runs it: exit code and output. */
function runCli(
  args: string[],
  extra: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  const bin = join(import.meta.dirname, '..', '..', 'bin', 'vonode.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env, ...extra },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

const sync = () => {
  const settings = rucioSettings(env);
  if (!settings) throw new Error('no settings');
  return syncRucio(node.db.pool, new DmApiClient(settings), {
    authority: AUTHORITY,
    namespaces: settings.namespaces,
  });
};

const soda = (host: string, port: number) => ({
  type: 'soda_sync' as const,
  prefix: 'https',
  host,
  port,
  path: '/soda/sync',
  other_attributes: { resourceIdentifier: { value: `ivo://skao.src/${host}-soda` } },
});

beforeAll(async () => {
  fixture = await new DmApiFixture(TOKEN).start();
  // Three storages: A nearest with a synchronous SODA, B with none, C farthest with only an
  // asynchronous one. The node prefers C.
  fixture.storages.set('SITE_A_XRD', {
    identifier: 'SITE_A_XRD',
    associated_storage_area_id: '2a73d212-8793-4011-a687-cad99841c269',
    distance: 1,
    colocated_services: [soda('soda.site-a.example', 443)],
  });
  fixture.storages.set('SITE_B_XRD', {
    identifier: 'SITE_B_XRD',
    associated_storage_area_id: 'ce04d165-4d5f-4380-a674-2a9ae4aba75e',
    distance: 2,
    colocated_services: [],
  });
  fixture.storages.set('SITE_C_XRD', {
    identifier: 'SITE_C_XRD',
    associated_storage_area_id: '12345678-90ab-cdef-1234-567890abcdef',
    distance: 3,
    colocated_services: [{ ...soda('soda.site-c.example', 8443), type: 'soda_async' }],
  });
  const dids = new Map<string, { metadata: Record<string, unknown>; replicas: Record<string, string[]> }>();
  for (let i = 1; i <= 100; i++) {
    dids.set(name(i), {
      metadata: metadata(i),
      replicas: { SITE_B_XRD: [`davs://xrootd.site-b.example:1094/skadata/${SCOPE}/${name(i)}`] },
    });
  }
  // One DID at three sites (listed by the fixture in no particular order).
  dids.get(name(1))!.replicas = {
    SITE_C_XRD: [`davs://xrootd.site-c.example:1094/skadata/${SCOPE}/${name(1)}`],
    SITE_A_XRD: [`https://webdav.site-a.example/skadata/${SCOPE}/${name(1)}`],
    SITE_B_XRD: [`davs://xrootd.site-b.example:1094/skadata/${SCOPE}/${name(1)}`],
  };
  // Owner group without release date: never public. And a DID without ObsCore metadata.
  dids.set('private.fits', { metadata: metadata(900, { owner_group: 'team-x' }), replicas: {} });
  dids.set('calibration.ms', { metadata: { size: 12 }, replicas: {} });
  fixture.namespaces.set(SCOPE, dids);

  admin = new pg.Client({ connectionString: testDatabaseUrl() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
  await admin.query(`CREATE DATABASE ${DB}`);
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${DB}`;
  dir = mkdtempSync(join(tmpdir(), 'vonode-rucio-'));
  env = {
    DATABASE_URL: url.toString(),
    VONODE_DATA_DIR: dir,
    VONODE_DEMO_ROWS: '500',
    VONODE_DEMO_SCALE: '16',
    VONODE_AUTHORITY: AUTHORITY,
    VONODE_RUCIO_DM_API: fixture.url,
    VONODE_RUCIO_TOKEN: TOKEN,
    VONODE_RUCIO_NAMESPACES: SCOPE,
    // The test runs each sync itself (the same function the node's poll runs).
    VONODE_RUCIO_SYNC_INTERVAL: '0',
    VONODE_RUCIO_SITE_PREFERENCE: 'SITE_C_XRD',
  };
  node = await startTestNode(env);
}, 180_000);

afterAll(async () => {
  await node?.stop();
  await fixture?.stop();
  await admin?.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`).catch(() => {});
  await admin?.end();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Rucio products through the Data Management API (issue 17 item 4)', () => {
  test('the configuration is read and checked', () => {
    expect(() => rucioSettings({ VONODE_RUCIO_DM_API: 'ftp://x' })).toThrow(/not http\(s\)/);
    expect(() =>
      rucioSettings({ VONODE_RUCIO_DM_API: fixture.url, VONODE_RUCIO_LOCATE_SORT: 'closest' }),
    ).toThrow(/nearest_by_ip or random/);
    expect(rucioSettings({})).toBeUndefined();
    expect(parseConfig(env).publisher.authority).toBe(AUTHORITY);
  });

  test('a sync makes 100 DIDs with ObsCore metadata ObsCore rows, found through TAP with their radio rows', async () => {
    const report = await sync();
    expect(report).toMatchObject({ added: 101, updated: 0, removed: 0, notObsCore: 1, errors: [] });
    // Every request carried the configured token.
    expect(fixture.requests.length).toBeGreaterThan(100);
    expect(new Set(fixture.requests.map((r) => r.authorization))).toEqual(new Set([`Bearer ${TOKEN}`]));
    const [[n]] = await tap(`SELECT COUNT(*) AS n FROM ivoa.obscore WHERE obs_collection = '${COLLECTION}'`);
    expect(Number(n)).toBe(100);
    const [[radio]] = await tap(
      `SELECT COUNT(*) AS n FROM ivoa.obscore JOIN ivoa.obscore_radio USING (obs_publisher_did) WHERE obs_collection = '${COLLECTION}' AND f_resolution = 26.1 AND s_resolution_min = 4.5`,
    );
    expect(Number(radio)).toBe(100);
    const rows = await tap(
      `SELECT obs_publisher_did, target_name, access_url, access_format FROM ivoa.obscore WHERE obs_id = 'obs-7'`,
    );
    expect(rows).toEqual([
      [
        did(name(7)),
        'field-7',
        `http://vo.example.test/node/datalink/links?ID=${encodeURIComponent(did(name(7)))}`,
        'application/x-votable+xml;content=datalink',
      ],
    ]);
  });

  test('an owner group without a release date is never public: not in TAP, not in DataLink', async () => {
    expect(await tap(`SELECT obs_id FROM ivoa.obscore WHERE obs_id = 'obs-900'`)).toEqual([]);
    const hidden = await links(`${SCOPE}:private.fits`);
    const unknown = await links(`${SCOPE}:nothing.fits`);
    const without = (rows: string[][], id: string) =>
      rows.map((r) => r.slice(1).map((c) => c.replaceAll(id, '<ID>')));
    expect(without(hidden.rows, `${SCOPE}:private.fits`)).toEqual(
      without(unknown.rows, `${SCOPE}:nothing.fits`),
    );
    expect(hidden.rows[0][3]).toMatch(/^NotFoundFault/);
  });

  test("#this lists the three sites' replicas in preference order, then the DM API's nearest first", async () => {
    const r = await links(did(name(1)));
    expect(r.status).toBe(200);
    const self = r.rows.filter((x) => x[5] === '#this');
    expect(self.map((x) => x[1])).toEqual([
      `davs://xrootd.site-c.example:1094/skadata/${SCOPE}/${name(1)}`,
      `https://webdav.site-a.example/skadata/${SCOPE}/${name(1)}`,
      `davs://xrootd.site-b.example:1094/skadata/${SCOPE}/${name(1)}`,
    ]);
    // The first is the one to use, the others alternatives; the size is the DID's.
    expect(self.map((x) => x[9])).toEqual(['', 'alternative', 'alternative']);
    expect(self.map((x) => x[7])).toEqual(['1000001', '1000001', '1000001']);
    // The DM API was asked to sort by nearness and to say which services run beside each copy.
    const locate = fixture.requests.filter((q) => q.path.endsWith(`/data/locate/${SCOPE}/${name(1)}`)).at(-1);
    expect(locate?.query.get('sort')).toBe('nearest_by_ip');
    expect(locate?.query.get('colocated_services')).toContain('soda_sync');
  });

  test('#cutout is offered only for the replica with a synchronous SODA beside it', async () => {
    const r = await links(did(name(1)));
    const cutouts = r.rows.filter((x) => x[5] === '#cutout');
    expect(cutouts).toHaveLength(1);
    expect(cutouts[0][4]).toContain('SITE_A_XRD');
    const desc =
      new RegExp(`<RESOURCE[^>]*ID="${cutouts[0][2]}"[^>]*>([\\s\\S]*?)</RESOURCE>`).exec(r.body)?.[1] ?? '';
    expect(desc).toContain('value="https://soda.site-a.example:443/soda/sync"');
    expect(desc).toContain('value="ivo://ivoa.net/std/SODA#sync-1.0"');
    expect(desc).toMatch(new RegExp(`name="ID"[^>]*value="ivo://${AUTHORITY}\\?${SCOPE}/${name(1)}"`));
    // A DID at site B only (no SODA there) has no cutout at all.
    const b = await links(did(name(2)));
    expect(b.rows.filter((x) => x[5] === '#this')).toHaveLength(1);
    expect(b.rows.filter((x) => x[5] === '#cutout')).toHaveLength(0);
  });

  test("DataLink answers ID=scope:name as SRCNet's DataLink does, with the same links", async () => {
    const byName = await links(`${SCOPE}:${name(1)}`);
    const byDid = await links(did(name(1)));
    expect(byName.rows.map((x) => x[0])).toEqual(byName.rows.map(() => `${SCOPE}:${name(1)}`));
    expect(byName.rows.map((x) => x.slice(1, 6))).toEqual(byDid.rows.map((x) => x.slice(1, 6)));
  });

  test("this node's SODA and previews say a Rucio product's file is not here, never a 500", async () => {
    const id = encodeURIComponent(did(name(1)));
    const cut = await fetch(`${node.url}/soda/sync?ID=${id}&CIRCLE=10.5+-29+0.05`);
    expect(cut.status).toBe(400);
    expect(await cut.text()).toMatch(
      /^UsageError: this SODA cannot cut it: .* is held in Rucio, not on this node's storage/,
    );
    const png = await fetch(`${node.url}/preview/${id}.png`);
    expect(png.status).toBe(404);
    expect(await png.text()).toMatch(/^UsageError: no preview: .* is held in Rucio/);
  });

  test('a DID whose metadata changes is updated by the next sync, the others left as they are', async () => {
    fixture.namespaces.get(SCOPE)!.get(name(3))!.metadata = metadata(3, { target_name: 'renamed field' });
    const report = await sync();
    expect(report).toMatchObject({ added: 0, updated: 1, unchanged: 100, removed: 0, errors: [] });
    expect(await tap(`SELECT target_name FROM ivoa.obscore WHERE obs_id = 'obs-3'`)).toEqual([
      ['renamed field'],
    ]);
  });

  test('a DID removed from Rucio disappears from ObsCore and DataLink', async () => {
    fixture.namespaces.get(SCOPE)!.delete(name(4));
    const report = await sync();
    expect(report).toMatchObject({ removed: 1, errors: [] });
    expect(await tap(`SELECT obs_id FROM ivoa.obscore WHERE obs_id = 'obs-4'`)).toEqual([]);
    const [[n]] = await tap(`SELECT COUNT(*) AS n FROM ivoa.obscore WHERE obs_collection = '${COLLECTION}'`);
    expect(Number(n)).toBe(99);
    expect((await links(did(name(4)))).rows[0][3]).toMatch(/^NotFoundFault/);
  });

  test('a token the DM API refuses is said plainly', async () => {
    const settings = rucioSettings({ ...env, VONODE_RUCIO_TOKEN: 'wrong' });
    await expect(new DmApiClient(settings!).listNames(SCOPE)).rejects.toThrow(
      /refused the node's token \(HTTP 401\).*VONODE_RUCIO_TOKEN/,
    );
  });

  test('`vonode rucio sync` runs a round from the command line and says what it did', async () => {
    fixture.namespaces.get(SCOPE)!.set('cli.fits', {
      metadata: metadata(500),
      replicas: { SITE_A_XRD: [`https://webdav.site-a.example/skadata/${SCOPE}/cli.fits`] },
    });
    const r = await runCli(['rucio', 'sync']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe('1 added, 0 updated, 100 unchanged, 0 removed, 1 without ObsCore metadata\n');
    expect(await tap(`SELECT obs_id FROM ivoa.obscore WHERE obs_id = 'obs-500'`)).toEqual([['obs-500']]);
    const bad = await runCli(['rucio', 'sync'], { VONODE_RUCIO_NAMESPACES: 'no_such_scope' });
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(
      /namespace no_such_scope not listed, its products kept: the Data Management API knows no namespace/,
    );
    const unset = await runCli(['rucio', 'sync'], { VONODE_RUCIO_DM_API: '' });
    expect(unset.code).not.toBe(0);
    expect(unset.err).toMatch(/VONODE_RUCIO_DM_API is not set/);
  });

  test('a node with VONODE_RUCIO_SYNC_INTERVAL polls by itself', async () => {
    fixture.namespaces.get(SCOPE)!.set('polled.fits', {
      metadata: metadata(501),
      replicas: { SITE_B_XRD: [`davs://xrootd.site-b.example:1094/skadata/${SCOPE}/polled.fits`] },
    });
    // A second process on the same database, as a site runs several: its poll starts at once.
    const second = await startTestNode({ ...env, VONODE_DEMO_ROWS: '0', VONODE_RUCIO_SYNC_INTERVAL: '3600' });
    try {
      const deadline = Date.now() + 60_000;
      let rows: string[][] = [];
      while (Date.now() < deadline) {
        rows = await tap(`SELECT obs_id FROM ivoa.obscore WHERE obs_id = 'obs-501'`);
        if (rows.length > 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(rows).toEqual([['obs-501']]);
    } finally {
      await second.stop();
    }
  });

  test('the DM API down: local products keep their links, Rucio ones say why, a sync removes nothing', async () => {
    await fixture.stop();
    const demo = await tap(
      "SELECT TOP 1 obs_publisher_did FROM ivoa.obscore WHERE obs_collection = 'ska-demo' ORDER BY obs_publisher_did",
    );
    const localDid = demo[0]?.[0] ?? '';
    expect(localDid).not.toBe('');
    const ok = await links(localDid);
    expect(ok.status).toBe(200);
    expect(ok.rows.find((x) => x[5] === '#this')?.[1]).toContain('/datalink/files?ID=');
    const remote = await links(did(name(1)));
    expect(remote.status).toBe(200);
    expect(remote.rows).toHaveLength(1);
    expect(remote.rows[0][3]).toMatch(
      /^FatalFault: the replicas of srcnet_test:obs-001\.fits could not be located: cannot reach the Data Management API/,
    );
    const report = await sync();
    expect(report.removed).toBe(0);
    expect(report.errors[0]).toMatch(/namespace srcnet_test not listed, its products kept: cannot reach/);
    const [[n]] = await tap(`SELECT COUNT(*) AS n FROM ivoa.obscore WHERE obs_collection = '${COLLECTION}'`);
    expect(Number(n)).toBe(101);
  });
});
