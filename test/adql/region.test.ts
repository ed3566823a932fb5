// OBS-62: a DALI polygon column published as STC-S (CatalogueColumn.region). The STC-S
// text must read back to the stored doubles exactly, and every spatial predicate on the
// region column must select the same rows as on the plain polygon column over the same
// stored array (the fixture's `footprint` and `s_region` are one physical column).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, parseStcsPolygon, StcsError } from '../../adql/index.js';
import { testPool } from '../support/db.js';
import { demoCatalogue, prng } from './fixtures.js';

type Pool = Awaited<ReturnType<typeof testPool>>;

let pool: Pool;
let cat: ReturnType<typeof demoCatalogue>;
const stored = new Map<string, number[]>();

/** Footprints all over the sky, with coordinates whose shortest text needs 17 digits. */
function footprints(): Array<[string, number[]]> {
  const rnd = prng(35);
  const out: Array<[string, number[]]> = [];
  for (let i = 0; i < 400; i++) {
    const ra = rnd() * 360;
    const dec = Math.asin(2 * rnd() - 1) * (180 / Math.PI);
    const half = 0.05 + rnd() * 3;
    const n = 3 + Math.floor(rnd() * 5);
    const verts: number[] = [];
    for (let k = 0; k < n; k++) {
      const a = (2 * Math.PI * k) / n + rnd() * 0.3;
      const lat = Math.max(-89.9, Math.min(89.9, dec + half * Math.sin(a)));
      const lon =
        (((ra + (half * Math.cos(a)) / Math.max(0.05, Math.cos((dec * Math.PI) / 180))) % 360) + 360) % 360;
      verts.push(lon, lat);
    }
    out.push([`r${i}`, verts]);
  }
  // Printing corner cases: thirds, tiny and negative values, 360 - ulp, next to a pole.
  out.push(['thirds', [1 / 3, 2 / 3, 10 / 3, 1 / 3, 2 / 3, 11 / 3]]);
  out.push(['tiny', [1e-7, -1e-7, 2.5e-5, 0, 1.5e-20, 3e-5]]);
  out.push(['edge', [359.99999999999994, 0, 0.1, -89.99999999999999, 0.2, 0.30000000000000004]]);
  return out;
}

beforeAll(async () => {
  pool = await testPool();
  cat = demoCatalogue(pool.schema);
  const s = `"${pool.schema}"`;
  await pool.query(
    `CREATE TABLE ${s}.obscore (obs_id text, s_ra float8, s_dec float8, s_region float8[], t_min float8)`,
  );
  for (const [id, verts] of footprints()) {
    stored.set(id, verts);
    await pool.query(`INSERT INTO ${s}.obscore (obs_id, s_ra, s_dec, s_region) VALUES ($1, $2, $3, $4)`, [
      id,
      verts[0],
      verts[1],
      verts,
    ]);
  }
  await pool.query(`INSERT INTO ${s}.obscore (obs_id, s_region) VALUES ('none', NULL)`);
});

afterAll(async () => {
  await pool?.close();
});

async function run(adql: string): Promise<{ rows: Array<Record<string, unknown>>; columns: unknown[] }> {
  const q = compile(adql, cat);
  const r = await pool.query({ text: q.sql, values: q.params as unknown[] });
  return { rows: r.rows, columns: q.columns };
}

describe('STC-S output of a polygon-array region column', () => {
  it('reads back to the stored polygon bit for bit, even when the session rounds floats', async () => {
    // extra_float_digits = 0 would print 15 significant digits; polygon_stcs sets its own.
    const client = await pool.connect();
    try {
      await client.query('SET extra_float_digits = 0');
      const q = compile('SELECT obs_id, footprint FROM ivoa.obscore ORDER BY obs_id', cat);
      const r = await client.query({ text: q.sql, values: q.params as unknown[] });
      expect(r.rows.length).toBe(stored.size + 1);
      let checked = 0;
      for (const row of r.rows) {
        // node-pg sends each double as its shortest round-trip text, so `stored` is what the table holds.
        const verts = stored.get(row.obs_id as string);
        if (!verts) {
          expect(row.footprint).toBeNull();
          continue;
        }
        expect(row.footprint).toMatch(/^Polygon ICRS /);
        const p = parseStcsPolygon(row.footprint as string);
        expect(p.frame).toBe('ICRS');
        const back = p.vertices.flat();
        expect(back.length).toBe(verts.length);
        for (let i = 0; i < verts.length; i++) expect(Object.is(back[i], verts[i])).toBe(true);
        checked++;
      }
      expect(checked).toBe(stored.size);
    } finally {
      client.release();
    }
  });

  it('publishes char / * / adql:REGION without a unit, through *, subqueries, WITH and UNION', async () => {
    const queries = [
      'SELECT obs_id, footprint FROM ivoa.obscore',
      'SELECT * FROM ivoa.obscore',
      'SELECT obs_id, f AS footprint FROM (SELECT obs_id, footprint AS f FROM ivoa.obscore) AS x',
      'WITH w AS (SELECT obs_id, footprint FROM ivoa.obscore) SELECT * FROM w',
      "SELECT obs_id, footprint FROM ivoa.obscore WHERE obs_id < 'r2' UNION ALL SELECT obs_id, footprint FROM ivoa.obscore WHERE obs_id >= 'r2'",
    ];
    for (const adql of queries) {
      const { rows, columns } = await run(adql);
      const col = (columns as Array<Record<string, unknown>>).find((c) => c.name === 'footprint');
      expect(col, adql).toMatchObject({ datatype: 'char', arraysize: '*', xtype: 'adql:REGION' });
      expect(col?.unit, adql).toBeUndefined();
      expect(rows.length, adql).toBe(stored.size + 1);
      for (const row of rows) {
        const verts = stored.get(row.obs_id as string);
        if (verts) expect(parseStcsPolygon(row.footprint as string).vertices.flat(), adql).toEqual(verts);
      }
    }
  });

  it('gives NULL for what is not a polygon rather than a wrong shape', async () => {
    const r = await pool.query(
      `SELECT adql.polygon_stcs(NULL) AS a, adql.polygon_stcs('{1,2,3,4}') AS b,
              adql.polygon_stcs('{1,2,3,4,5}') AS c, adql.polygon_stcs('{1,2,3,NULL,5,6}') AS d,
              adql.polygon_stcs('{10,20,11,20,11,21.5}') AS e`,
    );
    expect(r.rows[0]).toEqual({ a: null, b: null, c: null, d: null, e: 'Polygon ICRS 10 20 11 20 11 21.5' });
  });
});

describe('geometry on a region column uses the stored polygon', () => {
  // Each predicate written on `s_region` (DALI polygon, the earlier path) and on `footprint`.
  const predicates = [
    '1 = INTERSECTS(REG, CIRCLE(180, 0, 40))',
    '1 = INTERSECTS(CIRCLE(45, 30, 20), REG)',
    '1 = INTERSECTS(REG, POLYGON(10, -30, 120, -30, 120, 40, 10, 40))',
    'INTERSECTS(REG, BOX(200, 10, 60, 50)) = 1',
    '1 = INTERSECTS(REG, POINT(s_ra + 0.001, s_dec))',
    '1 = CONTAINS(POINT(s_ra + 0.3, s_dec), REG)',
    '1 = CONTAINS(CIRCLE(COORD1(CENTROID(REG)), COORD2(CENTROID(REG)), 0.5), REG)',
    '1 = CONTAINS(REG, CIRCLE(s_ra, s_dec, 3))',
    '1 = CONTAINS(REG, CIRCLE(90, 0, 80))',
    'CONTAINS(POINT(0.2, 0.1), REG) = 0',
    'AREA(REG) > 2',
    'COORD2(CENTROID(REG)) > 30',
  ];
  for (const p of predicates) {
    it(p.replaceAll('REG', 'footprint'), async () => {
      const ids = async (col: string) =>
        (
          await run(`SELECT obs_id FROM ivoa.obscore WHERE ${p.replaceAll('REG', col)} ORDER BY obs_id`)
        ).rows.map((r) => r.obs_id);
      const before = await ids('s_region');
      const after = await ids('footprint');
      expect(after).toEqual(before);
      // Every predicate must discriminate: some rows in, some out.
      expect(before.length).toBeGreaterThan(0);
      expect(before.length).toBeLessThan(stored.size);
    });
  }

  it('AREA and CENTROID values equal those of the polygon path', async () => {
    const a = await run(
      'SELECT obs_id, AREA(s_region) AS a, CENTROID(s_region) AS c FROM ivoa.obscore ORDER BY obs_id',
    );
    const b = await run(
      'SELECT obs_id, AREA(footprint) AS a, CENTROID(footprint) AS c FROM ivoa.obscore ORDER BY obs_id',
    );
    expect(b.rows).toEqual(a.rows);
  });

  it('EXPLAIN accepts the compiled SQL', async () => {
    const q = compile(
      'SELECT TOP 10 footprint, AREA(footprint) FROM ivoa.obscore WHERE 1 = INTERSECTS(footprint, CIRCLE(10, 20, 5)) AND 1 = CONTAINS(POINT(s_ra, s_dec), footprint)',
      cat,
    );
    const r = await pool.query({ text: `EXPLAIN ${q.sql}`, values: q.params as unknown[] });
    expect(r.rows.length).toBeGreaterThan(0);
  });
});

describe('parseStcsPolygon', () => {
  it('reads frame words, refpos and exponents', () => {
    expect(parseStcsPolygon('polygon icrs geocenter 1 2 3e0 4 -5 .5')).toEqual({
      frame: 'ICRS',
      vertices: [
        [1, 2],
        [3, 4],
        [-5, 0.5],
      ],
    });
    expect(parseStcsPolygon('Polygon 1 2 3 4 5 6').frame).toBe('ICRS');
    expect(parseStcsPolygon('Polygon GALACTIC 1 2 3 4 5 6').frame).toBe('GALACTIC');
  });

  it('refuses what is not a polygon with a StcsError', () => {
    for (const bad of [
      'Circle ICRS 1 2 3',
      'Polygon ICRS 1 2 3 4',
      'Polygon ICRS 1 2 3 4 5',
      'Polygon ICRS 1 2 x 4 5 6',
      '',
    ]) {
      expect(() => parseStcsPolygon(bad), bad).toThrow(StcsError);
    }
  });
});
