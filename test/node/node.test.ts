import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { ensureDemoData } from '../../src/ingest/demo.js';
import { type RunningNode, startNode } from '../../src/node.js';
import { SERVICES } from '../../src/services.js';
import { testDatabaseUrl } from '../support/db.js';

const DEMO_ROWS = 5000;
let node: RunningNode;
let dataDir: string;
const xml = new XMLParser({ ignoreAttributes: false, removeNSPrefix: true });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'vonode-node-'));
  const config = parseConfig({
    DATABASE_URL: testDatabaseUrl(),
    PORT: '0',
    VONODE_DATA_DIR: dataDir,
    VONODE_DEMO_ROWS: String(DEMO_ROWS),
    VONODE_LOG_LEVEL: 'silent',
    VONODE_BASE_URL: 'http://vo.example.test/node',
  });
  node = await startNode(config);
});

afterAll(async () => {
  await node?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a started node', () => {
  it('answers VOSI availability for every service with a real database check (VOSI-15, VOSI-16)', async () => {
    for (const s of SERVICES) {
      const res = await fetch(`${node.url}/${s.path}/availability`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/xml/);
      const doc = xml.parse(await res.text());
      expect(doc.availability.available).toBe(true);
      expect(String(doc.availability.upSince)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
  });

  it('lists its own VOSI endpoints and its protocol in /capabilities (VOSI-6, VOSI-12)', async () => {
    const tap = xml.parse(await (await fetch(`${node.url}/tap/capabilities`)).text());
    const caps = [tap.capabilities.capability].flat();
    const ids = caps.map((c: Record<string, string>) => c['@_standardID']);
    expect(ids).toContain('ivo://ivoa.net/std/TAP');
    expect(ids).toContain('ivo://ivoa.net/std/VOSI#capabilities');
    expect(ids).toContain('ivo://ivoa.net/std/VOSI#availability');
    const tapCap = caps.find((c: Record<string, string>) => c['@_standardID'] === 'ivo://ivoa.net/std/TAP');
    // The configured public URL, not the address the test reached, goes into documents.
    expect(tapCap.interface.accessURL['#text']).toBe('http://vo.example.test/node/tap');
    expect(tapCap.interface['@_version']).toBe('1.1');
    for (const s of SERVICES) {
      const res = await fetch(`${node.url}/${s.path}/capabilities`);
      expect(res.status).toBe(200);
      const doc = xml.parse(await res.text());
      for (const c of [doc.capabilities.capability].flat()) expect(c['@_standardID']).toMatch(/^ivo:\/\//);
    }
  });

  it('serves a landing page that links every service', async () => {
    const res = await fetch(`${node.url}/`);
    expect(res.status).toBe(200);
    const html = await res.text();
    for (const s of SERVICES) expect(html).toContain(`http://vo.example.test/node/${s.path}/capabilities`);
  });

  it('answers unknown paths with 404 and a plain message', async () => {
    const res = await fetch(`${node.url}/nothing/here`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('/nothing/here');
  });

  it('generated the demo catalogue once, with a HEALPix index, and reuses it', async () => {
    const pool = node.db.pool;
    const count = await pool.query<{ n: bigint }>('SELECT count(*) AS n FROM demo.sources');
    expect(count.rows[0].n).toBe(BigInt(DEMO_ROWS));
    const idx = await pool.query(
      "SELECT indexdef FROM pg_indexes WHERE schemaname = 'demo' AND indexname = 'sources_healpix'",
    );
    expect(idx.rows[0].indexdef).toMatch(/USING btree \(healpix\)/);
    const before = await pool.query("SELECT created_at FROM vonode.demo_state WHERE item = 'catalogue'");
    await ensureDemoData({ pool, dataDir, baseUrl: 'http://x', rows: DEMO_ROWS, log: () => {} });
    const after = await pool.query("SELECT created_at FROM vonode.demo_state WHERE item = 'catalogue'");
    expect(after.rows[0].created_at).toEqual(before.rows[0].created_at);
  });

  it('stores the catalogue in HEALPix order, with the index the SQL function computes', async () => {
    const pool = node.db.pool;
    const mismatch = await pool.query<{ n: bigint }>(
      'SELECT count(*) AS n FROM demo.sources WHERE healpix <> sky.healpix_nest(29, ra, dec)',
    );
    expect(mismatch.rows[0].n).toBe(0n);
    const unordered = await pool.query<{ n: bigint }>(
      'SELECT count(*) AS n FROM (SELECT healpix < lag(healpix) OVER (ORDER BY source_id) AS back FROM demo.sources) s WHERE back',
    );
    expect(unordered.rows[0].n).toBe(0n);
  });

  it('has both public and proprietary rows, the latter owned by a named group', async () => {
    const r = await node.db.pool.query<{ owner_group: string | null; n: bigint }>(
      'SELECT owner_group, count(*) AS n FROM demo.sources GROUP BY owner_group ORDER BY owner_group NULLS FIRST',
    );
    expect(r.rows.map((x) => x.owner_group)).toEqual([null, 'team-a', 'team-b']);
    for (const row of r.rows) expect(row.n).toBeGreaterThan(0n);
  });
});
