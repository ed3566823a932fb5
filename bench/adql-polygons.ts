// Polygon-against-polygon INTERSECTS (ADQL-38) on the demo fields: a join of 100
// footprints with 100 search polygons, and a 30-vertex ObsCore-style search, compiled by
// adql/ (bounding caps of sql/037_adql_polygon_filter.sql, then the exact test) beside
// the plain exact test alone (adql.geom_intersects, the SQL compiled before 037) on the
// same tables in the same run. Both must return the same pairs; the bench says so.
//
//   npx tsx bench/adql-polygons.ts [limit-seconds=600]
//
// The exact test alone takes minutes on the join; it is stopped after limit-seconds and
// then reported as "over" that time.
// DATABASE_URL to use an existing PostgreSQL (the migrations are applied); otherwise an
// embedded one is started in a temporary folder and removed afterwards.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Catalogue, compile } from '../adql/index.js';
import { ensureDatabase, startEmbeddedPostgres } from '../src/db/embedded.js';
import { applyMigrations } from '../src/db/migrate.js';
import { demoPlan } from '../src/ingest/demo.js';
import { SeededRandom } from '../src/ingest/random.js';

const DEG = Math.PI / 180;
const LIMIT_S = Number(process.argv[2] ?? 600);

/** (lon, lat) at offset (dx east, dy north) degrees from (lon0, lat0) on the tangent plane. */
function offset(lon0: number, lat0: number, dx: number, dy: number): [number, number] {
  const x = dx * DEG;
  const y = dy * DEG;
  const d = Math.atan(Math.hypot(x, y));
  const theta = Math.atan2(x, y);
  const lat = Math.asin(
    Math.sin(lat0 * DEG) * Math.cos(d) + Math.cos(lat0 * DEG) * Math.sin(d) * Math.cos(theta),
  );
  const lon =
    lon0 * DEG +
    Math.atan2(
      Math.sin(theta) * Math.sin(d) * Math.cos(lat0 * DEG),
      Math.cos(d) - Math.sin(lat0 * DEG) * Math.sin(lat),
    );
  return [(((lon / DEG) % 360) + 360) % 360, lat / DEG];
}

const rng = new SeededRandom(37);
// 100 footprints: 10 pointings on each of the 10 demo fields (the images of the demo
// ObsCore), each the field's square rotated and shifted a little, as repeated observations are.
const footprints: number[][] = [];
for (const spec of demoPlan()) {
  const half = ((Math.min(spec.nx, spec.ny) / 2) * spec.pixelArcsec) / 3600;
  for (let k = 0; k < 10; k++) {
    const [lon, lat] = offset(spec.raDeg, spec.decDeg, rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5));
    const rot = rng.uniform(0, 90) * DEG;
    const poly: number[] = [];
    for (const [sx, sy] of [
      [1, 1],
      [-1, 1],
      [-1, -1],
      [1, -1],
    ]) {
      const dx = half * (sx * Math.cos(rot) - sy * Math.sin(rot));
      const dy = half * (sx * Math.sin(rot) + sy * Math.cos(rot));
      poly.push(...offset(lon, lat, dx, dy));
    }
    footprints.push(poly);
  }
}

/** A star-shaped search polygon of n vertices and radius about r degrees. */
function searchPolygon(lon: number, lat: number, n: number, r: number): number[] {
  const poly: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = (i / n) * 2 * Math.PI;
    const rad = r * rng.uniform(0.6, 1);
    poly.push(...offset(lon, lat, rad * Math.sin(a), rad * Math.cos(a)));
  }
  return poly;
}

// 100 search polygons of 4 to 30 vertices over the sky south of +30 (where the demo fields
// are), a fifth of them aimed at a demo field so that the join has matches.
const fields = demoPlan();
const polygons: number[][] = [];
for (let i = 0; i < 100; i++) {
  const aimed = i % 5 === 0;
  const f = fields[i % fields.length];
  const [lon, lat] = aimed
    ? offset(f.raDeg, f.decDeg, rng.uniform(-2, 2), rng.uniform(-2, 2))
    : [rng.uniform(0, 360), Math.asin(rng.uniform(-1, 0.5)) / DEG];
  polygons.push(searchPolygon(lon, lat, 4 + Math.floor(rng.uniform(0, 27)), rng.uniform(0.5, 3)));
}
const search30 = searchPolygon(fields[0].raDeg, fields[0].decDeg, 30, 2.5);

let url = process.env.DATABASE_URL;
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
const pool = new pg.Pool({ connectionString: url, max: 2 });
try {
  await applyMigrations(pool);
  await pool.query('DROP SCHEMA IF EXISTS bench_polygons CASCADE; CREATE SCHEMA bench_polygons');
  for (const [name, rows] of [
    ['footprints', footprints],
    ['polygons', polygons],
  ] as const) {
    await pool.query(`CREATE TABLE bench_polygons.${name} (id int PRIMARY KEY, s_region float8[])`);
    await pool.query(
      `INSERT INTO bench_polygons.${name} SELECT i, p::float8[] FROM unnest($1::text[]) WITH ORDINALITY AS t(p, i)`,
      [rows.map((p) => `{${p.join(',')}}`)],
    );
  }
  await pool.query('ANALYZE bench_polygons.footprints; ANALYZE bench_polygons.polygons');
  const table = (name: string) => ({
    schema: 'bench',
    name,
    sql: { schema: 'bench_polygons', table: name },
    columns: [
      { name: 'id', datatype: 'int' as const },
      { name: 's_region', datatype: 'double' as const, arraysize: '*', xtype: 'polygon', unit: 'deg' },
    ],
  });
  const cat: Catalogue = { tables: () => [table('footprints'), table('polygons')] };

  type Run = { label: string; s: number; rows?: string[] };
  async function run(label: string, sql: string, params: unknown[] = []): Promise<Run> {
    const client = await pool.connect();
    const t0 = performance.now();
    try {
      await client.query(`SET statement_timeout = ${Math.round(LIMIT_S * 1000)}`);
      const { rows } = await client.query({ text: sql, values: params, rowMode: 'array' });
      const r = {
        label,
        s: (performance.now() - t0) / 1000,
        rows: rows.map((x: unknown[]) => x.join(' ')).sort(),
      };
      show(r);
      return r;
    } catch (e) {
      if ((e as { code?: string }).code !== '57014') throw e; // query_canceled: over the limit
      const r = { label, s: LIMIT_S };
      show(r);
      return r;
    } finally {
      client.release();
    }
  }
  function show(r: Run) {
    const time = r.rows ? `${r.s.toFixed(3).padStart(8)} s` : `> ${LIMIT_S} s (stopped)`;
    console.log(`${r.label.padEnd(44)} ${time}  ${r.rows ? `${r.rows.length} rows` : ''}`);
  }
  function report(a: Run, b: Run) {
    const ratio = `${b.rows ? '' : 'over '}×${(b.s / a.s).toFixed(1)}`;
    if (!a.rows || !b.rows) {
      console.log(`  speed-up ${ratio}`);
      return;
    }
    const same = a.rows.length === b.rows.length && a.rows.every((r, i) => r === b.rows?.[i]);
    console.log(`  speed-up ${ratio}; same rows: ${same ? 'yes' : 'NO'}`);
    if (!same) process.exitCode = 1;
  }

  console.log(
    `${footprints.length} footprints (4 vertices) on the ${fields.length} demo fields; ${polygons.length} search polygons (4-30 vertices)`,
  );
  const join1 = compile(
    'SELECT f.id, p.id FROM bench.footprints AS f JOIN bench.polygons AS p ON 1 = INTERSECTS(f.s_region, p.s_region)',
    cat,
  );
  const filtered = await run('join, bounding caps + exact (compiled)', join1.sql, join1.params as unknown[]);
  const plain = await run(
    'join, exact test alone',
    `SELECT f.id, p.id FROM bench_polygons.footprints f JOIN bench_polygons.polygons p
       ON adql.geom_intersects(f.s_region, 'polygon', p.s_region, 'polygon')`,
  );
  report(filtered, plain);

  const s30 = compile(
    `SELECT id FROM bench.footprints WHERE 1 = INTERSECTS(s_region, POLYGON(${search30.join(', ')}))`,
    cat,
  );
  report(
    await run('30-vertex search, caps + exact (compiled)', s30.sql, s30.params as unknown[]),
    await run(
      '30-vertex search, exact test alone',
      `SELECT id FROM bench_polygons.footprints WHERE adql.geom_intersects(s_region, 'polygon', $1, 'polygon')`,
      [search30],
    ),
  );
} finally {
  await pool.query('DROP SCHEMA IF EXISTS bench_polygons CASCADE').catch(() => {});
  await pool.end();
  await stop?.();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
