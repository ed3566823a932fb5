// An upload crossmatch against a large published table (ADQL-39): 16 uploaded positions
// joined at 1 arcsec with a table of N rows (default 10,000,000) carrying an order-29
// HEALPix column and its B-tree, compiled by adql/ as the node compiles a TAP query, beside
// a single indexed 1-arcsec cone on the same table in the same run (the reference).
// The upload is a temporary table, timed before and after ANALYZE (src/tap/upload.ts runs it).
//
//   npx tsx bench/xmatch-large.ts [rows=10000000] [limit-seconds=300] [row-padding-bytes=0]
//
// Prints the plan (EXPLAIN) of the crossmatch, its time and the cone's, and their ratio;
// the crossmatch is stopped after limit-seconds (the TAP sync limit) and reported as over.
// DATABASE_URL to use an existing PostgreSQL (the migrations are applied; the generated
// table bench_xmatch.components_<rows> is kept there and reused by the next run, since
// building 10,000,000 rows takes minutes); otherwise an embedded one is started in a
// temporary folder and removed afterwards.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Catalogue, compile } from '../adql/index.js';
import { ensureDatabase, startEmbeddedPostgres } from '../src/db/embedded.js';
import { applyMigrations } from '../src/db/migrate.js';

const ROWS = Number(process.argv[2] ?? 10_000_000);
const LIMIT_S = Number(process.argv[3] ?? 300);
// Bytes of other columns per row (a published table is seldom 4 columns wide): wider rows
// make a sequential scan relatively cheaper than many random heap reads.
const PAD = Number(process.argv[4] ?? 0);
const TABLE = `components_${ROWS}${PAD ? `_w${PAD}` : ''}`;

let url = process.env.DATABASE_URL;
const keep = Boolean(url);
let stop: (() => Promise<void>) | undefined;
let dataDir: string | undefined;
if (!url) {
  dataDir = mkdtempSync(join(tmpdir(), 'vonode-bench-'));
  // mkdtemp makes a 0700 folder; as root the cluster belongs to the postgres user, who must enter it.
  chmodSync(dataDir, 0o755);
  const db = await startEmbeddedPostgres({ dataDir: join(dataDir, 'pg') });
  url = db.url;
  stop = () => db.stop();
  await ensureDatabase(url);
}
const pool = new pg.Pool({ connectionString: url, max: 1 });
await applyMigrations(pool);
const client = await pool.connect();
try {
  await client.query('CREATE SCHEMA IF NOT EXISTS bench_xmatch');
  const have = await client.query(
    `SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'bench_xmatch' AND c.relname = $1`,
    [TABLE],
  );
  if (!have.rowCount || Number(have.rows[0].reltuples) < ROWS * 0.99) {
    const t0 = performance.now();
    await client.query(`DROP TABLE IF EXISTS bench_xmatch.${TABLE}`);
    // Uniform on the sphere; healpix computed in SQL by sky.healpix_nest, as the loader does.
    await client.query(`CREATE TABLE bench_xmatch.${TABLE} AS
      SELECT i AS component_id, ra_deg, dec_deg, sky.healpix_nest(29, ra_deg, dec_deg) AS healpix,
        repeat('x', ${PAD}) AS other_columns
      FROM (SELECT i, 360 * random() AS ra_deg, degrees(asin(2 * random() - 1)) AS dec_deg
            FROM generate_series(1, ${ROWS}) AS i) AS s`);
    await client.query(`CREATE INDEX ${TABLE}_healpix ON bench_xmatch.${TABLE} (healpix)`);
    await client.query(`ANALYZE bench_xmatch.${TABLE}`);
    console.log(`built ${ROWS} rows in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  // 16 uploaded positions: 12 within 0.5 arcsec of a catalogue row, 4 anywhere.
  await client.query('BEGIN');
  await client.query('CREATE TEMPORARY TABLE mine (tag text, my_ra float8, my_dec float8) ON COMMIT DROP');
  await client.query(`INSERT INTO mine
    SELECT 'near' || component_id, ra_deg + 1e-4 * cosd(dec_deg), dec_deg
    FROM bench_xmatch.${TABLE} WHERE component_id <= 12
    UNION ALL SELECT 'random' || i, 360 * random(), degrees(asin(2 * random() - 1))
    FROM generate_series(1, 4) AS i`);
  const catalogue: Catalogue = {
    tables: () => [
      {
        schema: 'allsky',
        name: 'components',
        sql: { schema: 'bench_xmatch', table: TABLE },
        spatialIndex: { column: 'healpix', lon: 'ra_deg', lat: 'dec_deg' },
        columns: [
          { name: 'component_id', datatype: 'long' },
          { name: 'ra_deg', datatype: 'double', unit: 'deg' },
          { name: 'dec_deg', datatype: 'double', unit: 'deg' },
          { name: 'healpix', datatype: 'long' },
        ],
      },
      {
        schema: 'TAP_UPLOAD',
        name: 'mine',
        sql: { schema: 'pg_temp', table: 'mine' },
        columns: [
          { name: 'tag', datatype: 'char', arraysize: '*' },
          { name: 'my_ra', datatype: 'double', unit: 'deg' },
          { name: 'my_dec', datatype: 'double', unit: 'deg' },
        ],
      },
    ],
  };
  const xmatch = compile(
    `SELECT m.tag, s.component_id FROM TAP_UPLOAD.mine m JOIN allsky.components s
     ON 1=CONTAINS(POINT('ICRS', s.ra_deg, s.dec_deg), CIRCLE('ICRS', m.my_ra, m.my_dec, 1.0/3600))`,
    catalogue,
  );
  const [ra, dec] = (
    await client.query(`SELECT ra_deg, dec_deg FROM bench_xmatch.${TABLE} WHERE component_id = 1`)
  ).rows.map((r) => [r.ra_deg as number, r.dec_deg as number])[0];
  const cone = compile(
    `SELECT s.component_id FROM allsky.components s
     WHERE 1=CONTAINS(POINT('ICRS', s.ra_deg, s.dec_deg), CIRCLE('ICRS', ${ra}, ${dec}, 1.0/3600))`,
    catalogue,
  );
  const time = async (sql: string, params: unknown[]): Promise<{ ms: number; rows: number } | null> => {
    await client.query('SAVEPOINT q');
    await client.query(`SET LOCAL statement_timeout = ${LIMIT_S * 1000}`);
    const t0 = performance.now();
    try {
      const r = await client.query({ text: sql, values: params });
      await client.query('RELEASE SAVEPOINT q');
      return { ms: performance.now() - t0, rows: r.rowCount ?? 0 };
    } catch (e) {
      if ((e as { code?: string }).code !== '57014') throw e;
      await client.query('ROLLBACK TO SAVEPOINT q');
      return null;
    }
  };
  const fmt = (t: { ms: number; rows: number } | null) =>
    t ? `${t.ms.toFixed(1)} ms (${t.rows} rows)` : `over ${LIMIT_S} s (cancelled)`;
  const c = await time(cone.sql, cone.params);
  console.log(`rows in table:                ${ROWS}`);
  console.log(`1-arcsec cone (reference):    ${fmt(c)}`);
  // First with the upload as PostgreSQL sees a fresh temporary table (no statistics), then
  // ANALYZEd as src/tap/upload.ts leaves it: the plan must not depend on either.
  for (const stats of ['no statistics', 'ANALYZEd']) {
    if (stats === 'ANALYZEd') await client.query('ANALYZE pg_temp.mine');
    const plan = await client.query({ text: `EXPLAIN ${xmatch.sql}`, values: xmatch.params });
    console.log(`EXPLAIN of the crossmatch, upload with ${stats} (conditions left out):`);
    for (const r of plan.rows)
      if (!/^\s*(Index Cond|Recheck Cond|Filter|Join Filter):/.test(r['QUERY PLAN']))
        console.log(`  ${r['QUERY PLAN']}`);
    const x = await time(xmatch.sql, xmatch.params);
    console.log(`crossmatch 16 x ${ROWS} (${stats}): ${fmt(x)}`);
    if (c && x) console.log(`crossmatch / cone:            ${(x.ms / c.ms).toFixed(1)}`);
  }
  await client.query('COMMIT');
} finally {
  client.release();
  if (!keep) await pool.query('DROP SCHEMA IF EXISTS bench_xmatch CASCADE').catch(() => {});
  await pool.end();
  await stop?.();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
