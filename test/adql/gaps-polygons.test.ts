// Polygon-against-polygon CONTAINS and INTERSECTS (ADQL-37, ADQL-38) with the bounding-cap
// first filter and the faster exact functions of sql/037_adql_polygon_filter.sql: on the
// real PostgreSQL, the compiled queries return exactly the rows of the exact tests as
// 030_adql.sql and 036_adql_xmatch.sql defined them (loaded under this test's schema),
// for joins and for constant polygons, on shapes chosen to stress the filter: touching and
// nested shapes, windings both ways, non-convex ones, the poles, RA 0/360, 30 vertices,
// a shape no cap under 90 degrees holds, antipodal pairs, a NULL and a 2-vertex array.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { polygonCap } from '../../adql/geometry.js';
import { type Catalogue, compile } from '../../adql/index.js';
import { MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { testPool } from '../support/db.js';
import { prng } from './fixtures.js';

type Pool = Awaited<ReturnType<typeof testPool>>;
let pool: Pool;
let cat: Catalogue;

/** A star-shaped polygon of n vertices around (lon, lat), radii between rMin and rMax degrees. */
function blob(
  r: () => number,
  lon: number,
  lat: number,
  n: number,
  rMin: number,
  rMax: number,
  clockwise = false,
): number[] {
  const out: number[] = [];
  const cosLat = Math.max(0.05, Math.cos((lat * Math.PI) / 180));
  for (let i = 0; i < n; i++) {
    const a = ((clockwise ? -i : i) / n) * 2 * Math.PI;
    const rad = rMin + (rMax - rMin) * r();
    const la = Math.max(-89.9, Math.min(89.9, lat + rad * Math.sin(a)));
    out.push((((lon + (rad * Math.cos(a)) / cosLat) % 360) + 360) % 360, la);
  }
  return out;
}

function shapes(seed: number, count: number): number[][] {
  const r = prng(seed);
  const out: number[][] = [
    [10, 10, 12, 10, 12, 12, 10, 12], // shares an edge with the next: touching shapes intersect
    [12, 10, 14, 10, 14, 12, 12, 12],
    [10.5, 10.5, 11.5, 10.5, 11.5, 11.5, 10.5, 11.5], // inside the first
    [0, 0, 4, 0, 4, 1, 1, 1, 1, 4, 0, 4], // L shape
    [359, -1, 1, -1, 1, 1, 359, 1], // across RA 0
    [0, 89, 90, 89, 180, 89, 270, 89], // around the north pole
    // Across the sky from the first two. Not exactly antipodal: the 030 winding test takes
    // a point exactly opposite a vertex for inside (atan2(0, 0) edges), a degenerate case
    // the caps answer correctly and so differently; any offset avoids it.
    [190.3, -10.2, 192.3, -10.2, 192.3, -12.2, 190.3, -12.2],
    [0, 0, 100, 0, 200, 0], // no cap under 90 degrees holds it: the filter passes it
    [0, 0, 90, 0, 0, 90], // an octant: its cap reaches 54.7 degrees
  ];
  while (out.length < count) {
    const near = r() < 0.7;
    const lon = near ? 5 + 12 * r() : 360 * r();
    const lat = near ? 5 + 12 * r() : (Math.asin(2 * r() - 1) * 180) / Math.PI;
    const n = r() < 0.15 ? 30 : 3 + Math.floor(r() * 6);
    const size = r() < 0.1 ? 20 : 0.2 + 3 * r();
    out.push(blob(r, lon, lat, n, size * 0.4, size, r() < 0.5));
  }
  return out;
}

const A = shapes(1, 24);
const B = shapes(2, 24);

beforeAll(async () => {
  pool = await testPool();
  for (const [name, polys] of [
    ['footprints', A],
    ['fields', B],
  ] as const) {
    await pool.query(`CREATE TABLE ${name} (id int, s_region float8[])`);
    await pool.query(
      `INSERT INTO ${name} SELECT i, p FROM unnest($1::text[]) WITH ORDINALITY AS t(p0, i), LATERAL (SELECT p0::float8[] AS p) q`,
      [polys.map((p) => `{${p.join(',')}}`)],
    );
  }
  await pool.query('INSERT INTO footprints VALUES (1000, NULL), (1001, $1)', [[1, 2, 3, 4]]);
  const table = (name: string) => ({
    schema: 'obs',
    name,
    sql: { schema: pool.schema, table: name },
    columns: [
      { name: 'id', datatype: 'int' as const },
      { name: 's_region', datatype: 'double' as const, arraysize: '*', xtype: 'polygon', unit: 'deg' },
    ],
  });
  cat = { tables: () => [table('footprints'), table('fields')] };
  // The 030 definitions, as they were before 037, under this test's schema: the reference.
  for (const file of ['030_adql.sql', '036_adql_xmatch.sql']) {
    const original = readFileSync(join(MIGRATIONS_DIR, file), 'utf8')
      .replace('CREATE SCHEMA IF NOT EXISTS adql;', '')
      .replaceAll('adql.', `"${pool.schema}".`);
    await pool.query(original);
  }
  // Every pair's exact answers once (the slow part), for all the comparisons below.
  await pool.query(
    `CREATE TABLE exact AS SELECT a.id AS a, b.id AS b,
       "${pool.schema}".geom_intersects(a.s_region, 'polygon', b.s_region, 'polygon') AS ab_intersects,
       "${pool.schema}".geom_contains(a.s_region, 'polygon', b.s_region, 'polygon') AS ab_contains,
       "${pool.schema}".geom_contains(b.s_region, 'polygon', a.s_region, 'polygon') AS ba_contains
     FROM footprints a, fields b`,
  );
});

afterAll(async () => {
  await pool?.close();
});

async function pairs(sql: string, params: unknown[] = []): Promise<string[]> {
  const { rows } = await pool.query({ text: sql, values: params, rowMode: 'array' });
  return rows.map((r: unknown[]) => r.join(' ')).sort();
}

async function adqlPairs(adql: string): Promise<string[]> {
  const c = compile(adql, cat);
  return pairs(c.sql, c.params as unknown[]);
}

describe('bounding-cap filter before the exact polygon test (ADQL-37, ADQL-38)', () => {
  for (const [adqlFn, col] of [
    ['INTERSECTS', 'ab_intersects'],
    ['CONTAINS', 'ab_contains'],
  ] as const) {
    it(`a join on ${adqlFn}(a, b) gives the rows of the 030 exact test`, async () => {
      const c = compile(
        `SELECT a.id, b.id FROM obs.footprints AS a JOIN obs.fields AS b ON 1 = ${adqlFn}(a.s_region, b.s_region)`,
        cat,
      );
      expect(c.sql).toContain('adql.caps_meet');
      const want = await pairs(`SELECT a, b FROM exact WHERE ${col}`);
      expect(await pairs(c.sql)).toEqual(want);
      // The shapes were chosen so both answers occur.
      expect(want.length).toBeGreaterThan(adqlFn === 'INTERSECTS' ? 20 : 0);
      expect(want.length).toBeLessThan(A.length * B.length);
    });
  }
  it('the other way round and negated (0 = ...) agree too', async () => {
    expect(
      await adqlPairs(
        'SELECT a.id, b.id FROM obs.fields AS b, obs.footprints AS a WHERE 0 = INTERSECTS(b.s_region, a.s_region)',
      ),
    ).toEqual(await pairs('SELECT a, b FROM exact WHERE NOT ab_intersects'));
    expect(
      await adqlPairs(
        'SELECT a.id, b.id FROM obs.fields AS b, obs.footprints AS a WHERE 1 = CONTAINS(b.s_region, a.s_region)',
      ),
    ).toEqual(await pairs('SELECT a, b FROM exact WHERE ba_contains'));
    expect(
      await adqlPairs(
        'SELECT a.id, b.id FROM obs.fields AS b, obs.footprints AS a WHERE 0 = CONTAINS(a.s_region, b.s_region)',
      ),
    ).toEqual(await pairs('SELECT a, b FROM exact WHERE NOT ab_contains'));
  });

  it('a 30-vertex constant polygon search (the ObsCore case) agrees with the exact test', async () => {
    const r = prng(9);
    for (const [lon, lat] of [
      [11, 11],
      [0, 0],
      [200, -40],
      [45, 88],
    ]) {
      const poly = blob(r, lon, lat, 30, 1, 4);
      for (const [adqlFn, fn] of [
        ['INTERSECTS(s_region, POLYGON', "geom_intersects(s_region, 'polygon', $1, 'polygon')"],
        ['CONTAINS(s_region, POLYGON', "geom_contains(s_region, 'polygon', $1, 'polygon')"],
        ['CONTAINS(POLYGON', "geom_contains($1, 'polygon', s_region, 'polygon')"],
      ]) {
        const adql = adqlFn.startsWith('CONTAINS(POLYGON')
          ? `SELECT id FROM obs.footprints WHERE 1 = CONTAINS(POLYGON(${poly.join(', ')}), s_region)`
          : `SELECT id FROM obs.footprints WHERE 1 = ${adqlFn}(${poly.join(', ')}))`;
        expect(await adqlPairs(adql)).toEqual(
          await pairs(`SELECT id FROM footprints WHERE "${pool.schema}".${fn}`, [poly]),
        );
      }
    }
  });

  it('the SQL cap of a polygon equals the compile-time one and holds every vertex', async () => {
    for (const p of [...A.slice(0, 20), ...B.slice(0, 20)]) {
      const { rows } = await pool.query('SELECT adql.polygon_cap($1::float8[]) AS c', [p]);
      const sql = rows[0].c as number[];
      const verts = Array.from(
        { length: p.length / 2 },
        (_, i) => [p[2 * i], p[2 * i + 1]] as [number, number],
      );
      const ts = polygonCap(verts);
      for (let k = 0; k < 4; k++) expect(Math.abs(sql[k] - ts[k])).toBeLessThan(1e-9);
      for (const [lon, lat] of verts) {
        const v = [lon, lat].map((x) => (x * Math.PI) / 180);
        const dot =
          Math.cos(v[1]) * Math.cos(v[0]) * ts[0] +
          Math.cos(v[1]) * Math.sin(v[0]) * ts[1] +
          Math.sin(v[1]) * ts[2];
        expect(dot).toBeGreaterThanOrEqual(Math.cos((ts[3] * Math.PI) / 180));
      }
    }
    const { rows } = await pool.query(
      `SELECT adql.polygon_cap(NULL) AS a, adql.polygon_cap('{1,2,3,4}') AS b, adql.polygon_cap('{0,0,100,0,200,0}') AS c`,
    );
    expect(rows[0]).toEqual({ a: null, b: [0, 0, 1, 180], c: [0, 0, 1, 180] });
  });
});
