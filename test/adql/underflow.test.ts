// Coordinates near 1e-300: the geometry helpers must not raise PostgreSQL's
// "value out of range: underflow" when a product of two tiny numbers rounds to zero
// (float8 multiplication and power() refuse that instead of returning 0).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Catalogue, compile } from '../../adql/index.js';
import { testPool } from '../support/db.js';

type Pool = Awaited<ReturnType<typeof testPool>>;
let pool: Pool;
let cat: Catalogue;

beforeAll(async () => {
  pool = await testPool();
  await pool.query('CREATE TABLE tiny (id int, ra float8, dec float8, hpx bigint)');
  await pool.query(
    `INSERT INTO tiny SELECT id, ra, dec, sky.healpix_nest(29, ra, dec) FROM (VALUES
       (1, 1e-300::float8, 1e-300::float8), (2, 0, -1e-300), (3, 1e-300, 0), (4, 2e-308, 3e-310), (5, 1e-160, 1e-160)
     ) AS v(id, ra, dec)`,
  );
  cat = {
    tables: () => [
      {
        schema: 'test',
        name: 'tiny',
        sql: { schema: pool.schema, table: 'tiny' },
        spatialIndex: { column: 'hpx', lon: 'ra', lat: 'dec' },
        columns: [
          { name: 'id', datatype: 'int' },
          { name: 'ra', datatype: 'double', unit: 'deg' },
          { name: 'dec', datatype: 'double', unit: 'deg' },
          { name: 'hpx', datatype: 'long' },
        ],
      },
    ],
  };
});

afterAll(async () => {
  await pool?.close();
});

async function run(adql: string): Promise<Record<string, unknown>[]> {
  const c = compile(adql, cat);
  return (await pool.query({ text: c.sql, values: c.params as unknown[] })).rows;
}

describe('geometry near 1e-300 degrees', () => {
  it('DISTANCE between tiny coordinates is tiny, not an error', async () => {
    const rows = await run(
      'SELECT a.id, b.id AS bid, DISTANCE(POINT(a.ra, a.dec), POINT(b.ra, b.dec)) AS d FROM test.tiny AS a, test.tiny AS b',
    );
    expect(rows).toHaveLength(25);
    for (const r of rows) {
      expect(Number.isFinite(r.d as number)).toBe(true);
      expect(r.d as number).toBeGreaterThanOrEqual(0);
      expect(r.d as number).toBeLessThan(1e-150);
    }
  });

  it('a tiny point is in a circle and a polygon around the origin, and a crossmatch finds every pair', async () => {
    const inCircle = await run(
      'SELECT id FROM test.tiny WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(0, 0, 1)) ORDER BY id',
    );
    expect(inCircle.map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
    const inPoly = await run(
      'SELECT id FROM test.tiny WHERE 1 = CONTAINS(POINT(ra, dec), POLYGON(-1, -1, 1, -1, 1, 1, -1, 1)) ORDER BY id',
    );
    expect(inPoly.map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
    const pairs = await run(
      'SELECT a.id, b.id AS bid FROM test.tiny AS a JOIN test.tiny AS b ON 1 = CONTAINS(POINT(b.ra, b.dec), CIRCLE(a.ra, a.dec, 1e-3))',
    );
    expect(pairs).toHaveLength(25);
  });

  it('circle, polygon and box functions on tiny shapes', async () => {
    const rows = await run(
      `SELECT AREA(CIRCLE(a.ra, a.dec, 1e-300)) AS ar,
              CONTAINS(CIRCLE(a.ra, a.dec, 1e-300), CIRCLE(0, 0, 1)) AS cc,
              INTERSECTS(CIRCLE(a.ra, a.dec, 1e-300), POLYGON(-1, -1, 1, -1, 1, 1, -1, 1)) AS cp,
              COORD1(CENTROID(POLYGON(a.ra, a.dec, 1, 0, 0, 1))) AS cx
       FROM test.tiny AS a`,
    );
    for (const r of rows) {
      expect(r.ar as number).toBeGreaterThanOrEqual(0);
      expect(r.cc).toBe(1);
      expect(r.cp).toBe(1);
      expect(Number.isFinite(r.cx as number)).toBe(true);
    }
  });
});
