// The SQL geometry helpers (sql/030_adql.sql) through ADQL, on shapes whose answers are
// known by construction (margins of tenths of a degree, far above rounding), plus
// non-convex polygons checked against sky's SphericalPolygon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Catalogue, compile } from '../../adql/index.js';
import { SphericalPolygon } from '../../sky/index.js';
import { testPool } from '../support/db.js';
import { prng } from './fixtures.js';

type Pool = Awaited<ReturnType<typeof testPool>>;
let pool: Pool;
let cat: Catalogue;

const square = (lon: number, lat: number, h: number) => [
  lon - h,
  lat - h,
  lon + h,
  lat - h,
  lon + h,
  lat + h,
  lon - h,
  lat + h,
];
const REGIONS: Array<[number, number[]]> = [
  [1, square(10, 10, 1)],
  [2, square(20, 10, 1)],
  [3, [9, 9.9, 11, 9.9, 11, 10.1, 9, 10.1]], // thin horizontal bar
  [4, [0, 0, 4, 0, 4, 1, 1, 1, 1, 4, 0, 4]], // L shape (non-convex)
  [5, [...square(0, 89.5, 0.3)]], // near the pole
  [6, [0, 4, 1, 4, 1, 1, 4, 1, 4, 0, 0, 0]], // the L shape, clockwise
];

beforeAll(async () => {
  pool = await testPool();
  await pool.query('CREATE TABLE regions (id int, s_region float8[], c float8[])');
  for (const [id, poly] of REGIONS)
    await pool.query('INSERT INTO regions VALUES ($1, $2, $3)', [id, poly, [poly[0], poly[1], 0.5]]);
  cat = {
    tables: () => [
      {
        schema: 'ivoa',
        name: 'regions',
        sql: { schema: pool.schema, table: 'regions' },
        columns: [
          { name: 'id', datatype: 'int' },
          { name: 's_region', datatype: 'double', arraysize: '*', xtype: 'polygon', unit: 'deg' },
          { name: 'c', datatype: 'double', arraysize: '3', xtype: 'circle', unit: 'deg' },
        ],
      },
    ],
  };
});

afterAll(async () => {
  await pool?.close();
});

async function ids(where: string): Promise<number[]> {
  const c = compile(`SELECT id FROM ivoa.regions WHERE ${where} ORDER BY id`, cat);
  return (await pool.query({ text: c.sql, values: c.params as unknown[] })).rows.map((r) => r.id);
}

async function value(expr: string): Promise<unknown> {
  const c = compile(`SELECT ${expr} AS v FROM ivoa.regions WHERE id = 1`, cat);
  return (await pool.query({ text: c.sql, values: c.params as unknown[] })).rows[0].v;
}

describe('INTERSECTS and CONTAINS on polygon columns', () => {
  const cases: Array<[string, number[]]> = [
    ['1 = INTERSECTS(s_region, CIRCLE(12, 10, 0.5))', []],
    ['1 = INTERSECTS(s_region, CIRCLE(12, 10, 1.2))', [1, 3]],
    ['1 = INTERSECTS(s_region, CIRCLE(10, 10, 0.1))', [1, 3]],
    ['1 = INTERSECTS(CIRCLE(15, 10, 5.5), s_region)', [1, 2, 3]],
    ['1 = INTERSECTS(s_region, CIRCLE(3, 3, 0.5))', []],
    ['1 = INTERSECTS(s_region, CIRCLE(3, 3, 2.5))', [4, 6]],
    ['1 = INTERSECTS(s_region, CIRCLE(180, 90, 0.5))', [5]],
    ['1 = INTERSECTS(s_region, POLYGON(10, 10, 12, 10, 12, 12, 10, 12))', [1, 3]],
    ['1 = INTERSECTS(s_region, POLYGON(9.9, 5, 10.1, 5, 10.1, 15, 9.9, 15))', [1, 3]],
    ['1 = INTERSECTS(s_region, POLYGON(30, 30, 31, 30, 31, 31))', []],
    ['1 = INTERSECTS(s_region, BOX(10, 10, 0.5, 0.5))', [1, 3]],
    ['1 = INTERSECTS(s_region, POINT(3, 3))', []],
    ['1 = INTERSECTS(POINT(0.5, 3), s_region)', [4, 6]],
    ['1 = CONTAINS(POINT(3, 0.5), s_region)', [4, 6]],
    ['0 = CONTAINS(POINT(3, 3), s_region)', [1, 2, 3, 4, 5, 6]],
    ['1 = CONTAINS(s_region, CIRCLE(10, 10, 3))', [1, 3]],
    ['1 = CONTAINS(s_region, CIRCLE(10, 10, 1.2))', [3]],
    ['1 = CONTAINS(CIRCLE(10, 10, 0.5), s_region)', [1]],
    ['1 = CONTAINS(CIRCLE(10, 10, 0.5), POLYGON(9.6, 9.6, 10.4, 9.6, 10.4, 10.4, 9.6, 10.4))', []],
    ['1 = CONTAINS(CIRCLE(10.5, 10.5, 0.3), s_region)', [1]],
    ['1 = CONTAINS(s_region, POLYGON(8, 8, 12, 8, 12, 12, 8, 12))', [1, 3]],
    ['1 = CONTAINS(s_region, s_region)', [1, 2, 3, 4, 5, 6]],
    ['1 = INTERSECTS(c, CIRCLE(9.5, 9.2, 0.3))', [1]],
    ['1 = CONTAINS(c, CIRCLE(9, 9, 1))', [1]],
  ];
  for (const [where, want] of cases) it(where, async () => expect(await ids(where)).toEqual(want));
});

describe('non-convex polygons agree with sky SphericalPolygon', () => {
  it('for 400 random points against the L shape, both windings, constant and column forms', async () => {
    const r = prng(5);
    const L: Array<[number, number]> = [
      [0, 0],
      [4, 0],
      [4, 1],
      [1, 1],
      [1, 4],
      [0, 4],
    ];
    const ref = new SphericalPolygon(L);
    const pts: Array<[number, number]> = [];
    for (let i = 0; i < 400; i++) pts.push([-1 + 6 * r(), -1 + 6 * r()]);
    const { rows } = await pool.query(
      `SELECT i, adql.polygon_contains((SELECT s_region FROM regions WHERE id = 4), lon, lat) AS a,
              adql.polygon_contains((SELECT s_region FROM regions WHERE id = 6), lon, lat) AS b
       FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS t(lon, lat, i) ORDER BY i`,
      [pts.map((p) => (p[0] + 360) % 360), pts.map((p) => p[1])],
    );
    let inside = 0;
    rows.forEach((row, i) => {
      const want = ref.contains((pts[i][0] + 360) % 360, pts[i][1]);
      if (want) inside++;
      expect([row.a, row.b, i]).toEqual([want, want, i]);
    });
    expect(inside).toBeGreaterThan(50);
  });
});

describe('AREA and CENTROID', () => {
  it('AREA of a polygon column matches the spherical excess', async () => {
    const want =
      new SphericalPolygon([
        [9, 9],
        [11, 9],
        [11, 11],
        [9, 11],
      ]).area *
      (180 / Math.PI) ** 2;
    expect(Math.abs(((await value('AREA(s_region)')) as number) - want)).toBeLessThan(1e-9);
  });
  it('AREA of a circle is the cap area', async () => {
    const want = 2 * Math.PI * (1 - Math.cos((0.5 * Math.PI) / 180)) * (180 / Math.PI) ** 2;
    expect(Math.abs(((await value('AREA(c)')) as number) - want)).toBeLessThan(1e-9);
  });
  it('CENTROID of a square symmetric about the equator lies on its centre', async () => {
    const c = compile(
      'SELECT CENTROID(POLYGON(9, -1, 11, -1, 11, 1, 9, 1)) AS v FROM ivoa.regions WHERE id = 1',
      cat,
    );
    const v = (await pool.query({ text: c.sql, values: c.params as unknown[] })).rows[0].v as number[];
    expect(Math.abs(v[0] - 10)).toBeLessThan(1e-12);
    expect(Math.abs(v[1])).toBeLessThan(1e-12);
  });
  it('BOX corners in SQL equal the compile-time ones', async () => {
    const c1 = compile('SELECT BOX(30, 60, 10, 4) AS v FROM ivoa.regions WHERE id = 1', cat);
    const k = (await pool.query({ text: c1.sql, values: c1.params as unknown[] })).rows[0].v as number[];
    const { rows } = await pool.query('SELECT adql.box_polygon(30, 60, 10, 4) AS v');
    for (const [i, x] of (rows[0].v as number[]).entries()) expect(Math.abs(x - k[i])).toBeLessThan(1e-9);
  });
  it("CAST('12.3 45.6' AS POINT) reads DALI text", async () => {
    expect(await value("CAST(' 12.3  45.6 ' AS POINT)")).toEqual([12.3, 45.6]);
    expect(await value("CAST('1 2 3' AS CIRCLE)")).toEqual([1, 2, 3]);
  });
});
