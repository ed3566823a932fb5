import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPlan } from '../../src/ingest/demo.js';
import { writeDemoImage } from '../../src/ingest/demo-products.js';
import { testDatabaseUrl, testDataDir } from '../support/db.js';
import { runVonode } from '../support/process.js';

let dir: string;
let db: pg.Client;

const ingest = (args: string[]) =>
  runVonode(['ingest', ...args], { DATABASE_URL: testDatabaseUrl(), VONODE_DATA_DIR: testDataDir() });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vonode-ingest-'));
  chmodSync(dir, 0o755);
  const plan = demoPlan(16);
  await writeDemoImage(join(dir, 'site-a.fits'), { ...plan[0], fileName: 'site-a.fits' }, []);
  await writeDemoImage(join(dir, 'site-b.fits'), { ...plan[4], fileName: 'site-b.fits' }, []);
  writeFileSync(join(dir, 'notes.fits'), 'this is not a FITS file\n');
  // A FITS file cut short in its data.
  const whole = readFileSync(join(dir, 'site-a.fits'));
  writeFileSync(join(dir, 'truncated.fits'), whole.subarray(0, 2880 * 3 + 100));
  db = new pg.Client({ connectionString: testDatabaseUrl() });
  await db.connect();
});

afterAll(async () => {
  // Other tests pick demo products from ivoa.obscore: leave only the demo collection behind.
  await db?.query("DELETE FROM ivoa.obscore WHERE obs_collection IN ('site-test', 'dup-test')");
  await db?.end();
  rmSync(dir, { recursive: true, force: true });
});

describe('vonode ingest (the site ingest path)', () => {
  it('registers good files, reports and skips bad ones, and is idempotent', async () => {
    const first = await ingest(['--collection', 'site-test', dir]);
    expect(first.code, first.out).toBe(1);
    expect(first.out).toMatch(/ingested .*site-a\.fits as ivo:\/\/\S+\/site-test\?site-a/);
    expect(first.out).toMatch(/ingested .*site-b\.fits/);
    expect(first.out).toMatch(/skipped .*notes\.fits: /);
    expect(first.out).toMatch(/skipped .*truncated\.fits: /);
    expect(first.out).toMatch(/2 ingested, 2 skipped/);
    const rows = async () =>
      (
        await db.query(
          "SELECT obs_publisher_did, dataproduct_type, s_region IS NOT NULL AS has_region, em_min > 0 AS has_band FROM ivoa.obscore WHERE obs_collection = 'site-test' ORDER BY 1",
        )
      ).rows;
    const before = await rows();
    expect(before).toHaveLength(2);
    for (const r of before)
      expect(r).toMatchObject({ dataproduct_type: 'image', has_region: true, has_band: true });
    const again = await ingest([
      '--collection',
      'site-test',
      join(dir, 'site-a.fits'),
      join(dir, 'site-b.fits'),
    ]);
    expect(again.code, again.out).toBe(0);
    expect(await rows()).toEqual(before);
  });

  it('keeps a same-named file of another folder apart, reports copies, updates a file in place (issue 17)', async () => {
    const plan = demoPlan(16);
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    await writeDemoImage(join(dir, 'a', 'field.fits'), { ...plan[1], fileName: 'field.fits' }, []);
    await writeDemoImage(join(dir, 'b', 'field.fits'), { ...plan[2], fileName: 'field.fits' }, []);
    copyFileSync(join(dir, 'a', 'field.fits'), join(dir, 'copy.fits'));
    const first = await ingest([
      '--collection',
      'dup-test',
      join(dir, 'a', 'field.fits'),
      join(dir, 'b', 'field.fits'),
      join(dir, 'copy.fits'),
    ]);
    expect(first.code, first.out).toBe(0);
    const rows = async () =>
      (
        await db.query<{ did: string; path: string; sha: string | null; obs_id: string }>(
          "SELECT obs_publisher_did AS did, file_path AS path, file_sha256 AS sha, obs_id FROM ivoa.obscore WHERE obs_collection = 'dup-test' ORDER BY file_path",
        )
      ).rows;
    const stored = await rows();
    // Three products: the second field.fits did not replace the first.
    expect(stored.map((r) => r.path)).toEqual([
      join(dir, 'a', 'field.fits'),
      join(dir, 'b', 'field.fits'),
      join(dir, 'copy.fits'),
    ]);
    expect(new Set(stored.map((r) => r.did)).size).toBe(3);
    expect(stored[0].did).toMatch(/\?field$/);
    expect(stored[1].did).toBe(`${stored[0].did}-2`);
    expect(first.out).toContain(`its name was already the product of ${join(dir, 'a', 'field.fits')}`);
    // The hash is stored, and the copy is reported as one.
    for (const r of stored) expect(r.sha).toMatch(/^[0-9a-f]{64}$/);
    expect(stored[2].sha).toBe(stored[0].sha);
    expect(stored[1].sha).not.toBe(stored[0].sha);
    expect(first.out).toContain(`same content (SHA-256) as ${stored[0].did}`);

    // Ingesting a file again updates its product in place: DID and replicas kept.
    await db.query(
      "INSERT INTO ivoa.obscore_replicas (obs_publisher_did, site, url) VALUES ($1, 'site-x', 'https://x.example/field.fits')",
      [stored[1].did],
    );
    const again = await ingest(['--collection', 'dup-test', join(dir, 'b', 'field.fits')]);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain(`updated ${join(dir, 'b', 'field.fits')} as ${stored[1].did}`);
    expect(await rows()).toEqual(stored);
    const replicas = await db.query('SELECT site FROM ivoa.obscore_replicas WHERE obs_publisher_did = $1', [
      stored[1].did,
    ]);
    expect(replicas.rows).toEqual([{ site: 'site-x' }]);
  });

  it('refuses bad options with one clear line', async () => {
    const r = await ingest(['--release', 'someday', dir]);
    expect(r.code).toBe(2);
    expect(r.out.trim().split('\n')).toHaveLength(1);
    expect(r.out).toMatch(/--release 'someday' is not a date/);
  });
});
