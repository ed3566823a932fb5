import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { angularDistanceDeg, nestedToLonLat } from '../../sky/index.js';
import { parseConfig } from '../../src/config/index.js';
import { ensureDemoData } from '../../src/ingest/demo.js';
import { type RunningNode, startNode } from '../../src/node.js';
import { SERVICES } from '../../src/services.js';
import { testDatabaseUrl, testDataDir } from '../support/db.js';

const DEMO_ROWS = 5000;
let node: RunningNode;
let dataDir: string;
const xml = new XMLParser({ ignoreAttributes: false, removeNSPrefix: true });

beforeAll(async () => {
  dataDir = testDataDir();
  const config = parseConfig({
    DATABASE_URL: testDatabaseUrl(),
    PORT: '0',
    VONODE_DATA_DIR: dataDir,
    VONODE_DEMO_ROWS: String(DEMO_ROWS),
    // The shared test database's demo is full size (see test/support/node.ts).
    VONODE_DEMO_SCALE: '1',
    VONODE_LOG_LEVEL: 'silent',
    VONODE_BASE_URL: 'http://vo.example.test/node',
  });
  node = await startNode(config);
});

afterAll(async () => {
  await node?.close();
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
    // Published like any catalogue: a versioned table, named by the catalogue row.
    const idx = await pool.query(
      `SELECT i.indexdef FROM pg_indexes i JOIN vonode.published_tables p
         ON i.schemaname = p.sql_schema AND i.tablename = p.sql_table
        WHERE p.table_name = 'demo.sources' AND i.indexdef LIKE '%(healpix)%'`,
    );
    expect(idx.rows[0].indexdef).toMatch(/USING btree \(healpix\)/);
    const before = await pool.query("SELECT created_at FROM vonode.demo_state WHERE item = 'catalogue'");
    await ensureDemoData({
      pool,
      dataDir,
      rows: DEMO_ROWS,
      scale: 1,
      log: () => {},
    });
    const after = await pool.query("SELECT created_at FROM vonode.demo_state WHERE item = 'catalogue'");
    expect(after.rows[0].created_at).toEqual(before.rows[0].created_at);
  });

  it('stores the catalogue in HEALPix order, with the index the SQL function computes', async () => {
    const pool = node.db.pool;
    // PostgreSQL's sin/atan2 and V8's may differ in the last bit, which can move a point
    // across the edge of an order-29 pixel (0.4 mas): then the two pixels must touch.
    const mismatch = await pool.query<{ ts: bigint; sql: bigint }>(
      'SELECT healpix AS ts, sky.healpix_nest(29, ra, dec) AS sql FROM demo.sources WHERE healpix <> sky.healpix_nest(29, ra, dec)',
    );
    expect(mismatch.rows.length).toBeLessThan(DEMO_ROWS / 1000);
    for (const { ts, sql } of mismatch.rows) {
      const a = nestedToLonLat(29, ts);
      const b = nestedToLonLat(29, sql);
      expect(angularDistanceDeg(a.lon, a.lat, b.lon, b.lat) * 3.6e6).toBeLessThan(1);
    }
    // Ids run in storage order within each rights partition (public rows, each proprietary field).
    const unordered = await pool.query<{ n: bigint }>(
      `SELECT count(*) AS n FROM (SELECT healpix < lag(healpix) OVER (
         PARTITION BY CASE WHEN owner_group IS NULL THEN '' ELSE field_id END ORDER BY source_id) AS back
       FROM demo.sources) s WHERE back`,
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

  it('numbers public rows 1..N and proprietary rows apart, so public ids reveal no hidden row (issue 13)', async () => {
    const pub = await node.db.pool.query<{ n: bigint; lo: bigint; hi: bigint; islands: bigint }>(
      'SELECT count(*) AS n, min(source_id) AS lo, max(source_id) AS hi, max(island_id) AS islands FROM demo.sources WHERE owner_group IS NULL',
    );
    expect(pub.rows[0].lo).toBe(1n);
    expect(pub.rows[0].hi).toBe(pub.rows[0].n);
    const gaps = await node.db.pool.query<{ n: bigint }>(
      `SELECT count(*) AS n FROM (SELECT island_id - lag(island_id) OVER (ORDER BY source_id) AS step
       FROM demo.sources WHERE owner_group IS NULL) s WHERE step > 1`,
    );
    expect(gaps.rows[0].n).toBe(0n);
    const hidden = await node.db.pool.query<{ lo: bigint; n: bigint; distinct_ids: bigint }>(
      'SELECT min(source_id) AS lo, count(*) AS n, count(DISTINCT source_id) AS distinct_ids FROM demo.sources WHERE owner_group IS NOT NULL',
    );
    expect(hidden.rows[0].lo).toBeGreaterThan(pub.rows[0].n);
    expect(hidden.rows[0].distinct_ids).toBe(hidden.rows[0].n);
  });
});

describe('TAP_SCHEMA and /tap/tables come from one declaration', () => {
  it('TAP_SCHEMA describes itself and every published table (TAP-55..TAP-62)', async () => {
    const pool = node.db.pool;
    // Other test files publish their own schemas into the same database meanwhile.
    const tables = await pool.query<{ table_name: string }>(
      "SELECT table_name FROM tap_schema.tables WHERE schema_name IN ('ivoa', 'demo', 'TAP_SCHEMA') ORDER BY table_index",
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual([
      'ivoa.obscore',
      'ivoa.obscore_radio',
      'demo.sources',
      'TAP_SCHEMA.schemas',
      'TAP_SCHEMA.tables',
      'TAP_SCHEMA.columns',
      'TAP_SCHEMA.keys',
      'TAP_SCHEMA.key_columns',
    ]);
    const size = await pool.query(
      `SELECT column_name, datatype, "size", std FROM tap_schema.columns WHERE table_name = 'TAP_SCHEMA.columns' AND column_name = '"size"'`,
    );
    expect(size.rows).toEqual([{ column_name: '"size"', datatype: 'int', size: null, std: 1 }]);
    const keys = await pool.query(
      "SELECT count(*)::int AS n FROM tap_schema.keys WHERE from_table LIKE 'TAP\\_SCHEMA.%'",
    );
    expect(keys.rows[0].n).toBe(5);
    // Every key column names an existing column of its tables (TAP-61).
    const dangling = await pool.query(`
      SELECT kc.* FROM tap_schema.key_columns kc JOIN tap_schema.keys k USING (key_id)
      WHERE NOT EXISTS (SELECT 1 FROM tap_schema.columns c WHERE c.table_name = k.from_table AND c.column_name = kc.from_column)
         OR NOT EXISTS (SELECT 1 FROM tap_schema.columns c WHERE c.table_name = k.target_table AND c.column_name = kc.target_column)`);
    expect(dangling.rows).toEqual([]);
  });

  it('every published column exists in PostgreSQL', async () => {
    const { loadPublishedSchemas } = await import('../../src/catalogue/index.js');
    const mine = ['ivoa', 'demo', 'TAP_SCHEMA'];
    for (const s of (await loadPublishedSchemas(node.db.pool)).filter((x) => mine.includes(x.name))) {
      for (const t of s.tables) {
        const r = await node.db.pool.query<{ column_name: string }>(
          'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
          [t.sql.schema, t.sql.table],
        );
        const present = new Set(r.rows.map((x) => x.column_name));
        for (const c of t.columns)
          expect(present, `${t.schema}.${t.name}.${c.name}`).toContain(c.sqlName ?? c.name);
      }
    }
  });

  it('serves /tap/tables and /tap/tables/{name} (VOSI-28, VOSI-29)', async () => {
    const all = await fetch(`${node.url}/tap/tables`);
    expect(all.status).toBe(200);
    const text = await all.text();
    expect(text).toContain('<name>demo.sources</name>');
    const min = await (await fetch(`${node.url}/tap/tables?DETAIL=min`)).text();
    expect(min).not.toContain('<column');
    const one = await fetch(`${node.url}/tap/tables/ivoa.ObsCore`);
    expect(one.status).toBe(200);
    expect(await one.text()).toContain('<name>s_region</name>');
    const none = await fetch(`${node.url}/tap/tables/nope.nothing`);
    expect(none.status).toBe(404);
    expect((await fetch(`${node.url}/tap/tables?detail=huge`)).status).toBe(400);
  });
});
