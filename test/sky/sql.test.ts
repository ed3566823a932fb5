import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nestedIndex } from '../../sky/index.js';
import { testPool } from '../support/db.js';
import { randomPoints, specialPoints } from './points.js';

type Pool = Awaited<ReturnType<typeof testPool>>;
let pool: Pool;

beforeAll(async () => {
  pool = await testPool();
  const { rows } = await pool.query(
    `SELECT to_regprocedure('sky.healpix_nest(integer,double precision,double precision)') AS f`,
  );
  if (rows[0].f === null) {
    // The global setup applies migrations; should it not (yet), the file itself is
    // idempotent (CREATE ... IF NOT EXISTS / OR REPLACE), so apply it here.
    await pool.query(readFileSync(new URL('../../sql/020_healpix.sql', import.meta.url), 'utf8'));
  }
});

afterAll(async () => {
  await pool.close();
});

describe('sky.healpix_nest in SQL (sql/020_healpix.sql) equals nestedIndex (HPX-03, HPX-05)', () => {
  it('gives identical indices at every order 0..29 on random, polar, RA 0/360 and edge points', async () => {
    const pts = randomPoints(1500, 11).concat(specialPoints());
    // Cell centres and corners of low orders sit exactly on other orders' edges.
    for (let lat = -90; lat <= 90; lat += 7.5)
      for (let lon = -45; lon <= 405; lon += 11.25) pts.push([lon, lat]);
    const { rows } = await pool.query(
      `SELECT p.i::int AS i, o AS ord, sky.healpix_nest(o, p.lon, p.lat)::text AS ipix
         FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS p(lon, lat, i),
              generate_series(0, 29) AS o`,
      [pts.map((p) => p[0]), pts.map((p) => p[1])],
    );
    expect(rows.length).toBe(pts.length * 30);
    const mismatches: string[] = [];
    for (const r of rows) {
      const [lon, lat] = pts[r.i - 1]!;
      const mine = nestedIndex(r.ord, lon, lat).toString();
      if (mine !== r.ipix) mismatches.push(`order ${r.ord} (${lon}, ${lat}): ts ${mine} sql ${r.ipix}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('is declared IMMUTABLE, PARALLEL SAFE and STRICT', async () => {
    const { rows } = await pool.query(
      `SELECT provolatile, proparallel, proisstrict FROM pg_proc
        WHERE oid = 'sky.healpix_nest(integer,double precision,double precision)'::regprocedure`,
    );
    expect(rows[0]).toEqual({ provolatile: 'i', proparallel: 's', proisstrict: true });
    const nul = await pool.query('SELECT sky.healpix_nest(5, NULL, 3) AS v');
    expect(nul.rows[0].v).toBeNull();
  });

  it('rejects a bad order, latitude or longitude with an actionable error', async () => {
    await expect(pool.query('SELECT sky.healpix_nest(30, 0, 0)')).rejects.toThrow(/order 30/);
    await expect(pool.query('SELECT sky.healpix_nest(5, 0, 90.5)')).rejects.toThrow(/latitude/);
    await expect(pool.query(`SELECT sky.healpix_nest(5, 'NaN', 0)`)).rejects.toThrow(/longitude/);
    await expect(pool.query(`SELECT sky.healpix_nest(5, 0, 'NaN')`)).rejects.toThrow(/latitude/);
  });
});
