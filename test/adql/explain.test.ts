// The spatial translation must let PostgreSQL use the B-tree on the HEALPix column:
// a cone on a 1,000,000-row table and a 1,000-row upload crossmatched at 5 arcsec.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Catalogue, compile } from '../../adql/index.js';
import { testPool } from '../support/db.js';

type Pool = Awaited<ReturnType<typeof testPool>>;
let pool: Pool;
let catalogue: Catalogue;

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

function indexScans(node: PlanNode, out: PlanNode[] = []): PlanNode[] {
  if (/Index/.test(node['Node Type']) && node['Index Name']) out.push(node);
  for (const p of node.Plans ?? []) indexScans(p, out);
  return out;
}

async function explain(sql: string, params: unknown[]): Promise<PlanNode> {
  const r = await pool.query({ text: `EXPLAIN (FORMAT JSON) ${sql}`, values: params });
  return (r.rows[0]['QUERY PLAN'] as Array<{ Plan: PlanNode }>)[0].Plan;
}

beforeAll(async () => {
  pool = await testPool();
  // Uniform on the sphere; hpx computed in SQL by sky.healpix_nest, as a site would load it.
  await pool.query(`CREATE TABLE big AS
    SELECT i AS id, ra, dec, sky.healpix_nest(29, ra, dec) AS hpx
    FROM (SELECT i, 360 * random() AS ra, degrees(asin(2 * random() - 1)) AS dec
          FROM generate_series(1, 1000000) AS i) AS s`);
  await pool.query('CREATE INDEX big_hpx ON big (hpx)');
  await pool.query(
    'CREATE TABLE upload AS SELECT id, ra + 1e-4 * cosd(dec) AS ra, dec FROM big WHERE id <= 1000',
  );
  await pool.query('ANALYZE big; ANALYZE upload');
  catalogue = {
    tables: () => [
      {
        schema: 'demo',
        name: 'big',
        sql: { schema: pool.schema, table: 'big' },
        spatialIndex: { column: 'hpx', lon: 'ra', lat: 'dec' },
        columns: [
          { name: 'id', datatype: 'int' },
          { name: 'ra', datatype: 'double', unit: 'deg' },
          { name: 'dec', datatype: 'double', unit: 'deg' },
          { name: 'hpx', datatype: 'long' },
        ],
      },
      {
        schema: 'TAP_UPLOAD',
        name: 'upload',
        sql: { schema: pool.schema, table: 'upload' },
        columns: [
          { name: 'id', datatype: 'int' },
          { name: 'ra', datatype: 'double', unit: 'deg' },
          { name: 'dec', datatype: 'double', unit: 'deg' },
        ],
      },
    ],
  };
}, 600_000);

afterAll(async () => {
  await pool?.close();
});

describe('EXPLAIN shows the HEALPix index in use', () => {
  it('for a 0.1-degree cone on 1,000,000 rows', async () => {
    for (const adql of [
      "SELECT id FROM demo.big WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 210.5, -30.2, 0.1))",
      'SELECT id FROM demo.big WHERE DISTANCE(POINT(ra, dec), POINT(210.5, -30.2)) < 0.1',
    ]) {
      const c = compile(adql, catalogue);
      const scans = indexScans(await explain(c.sql, c.params));
      expect(scans.map((s) => s['Index Name'])).toContain('big_hpx');
      const t0 = performance.now();
      const rows = await pool.query({ text: c.sql, values: c.params });
      console.log(
        `cone 0.1 deg on 1e6 rows: ${rows.rowCount} rows in ${(performance.now() - t0).toFixed(1)} ms`,
      );
    }
  });

  it('returns the same rows as a brute-force scan for 1- and 3-degree cones', async () => {
    for (const r of [1, 3]) {
      const c = compile(
        `SELECT id FROM demo.big WHERE DISTANCE(POINT(ra, dec), POINT(210.5, -30.2)) < ${r}`,
        catalogue,
      );
      expect(indexScans(await explain(c.sql, c.params)).map((s) => s['Index Name'])).toContain('big_hpx');
      const got = (await pool.query({ text: c.sql, values: c.params })).rows
        .map((x) => x.id)
        .sort((a, b) => a - b);
      const want = (
        await pool.query(
          `SELECT id FROM big WHERE degrees(2 * asin(sqrt(power(sind((dec + 30.2) / 2), 2) + cosd(dec) * cosd(-30.2) * power(sind((ra - 210.5) / 2), 2)))) < ${r} ORDER BY id`,
        )
      ).rows.map((x) => x.id);
      expect(got.length).toBeGreaterThan(0);
      expect(got).toEqual(want);
    }
  });

  it('for a 1,000-row upload crossmatched at 5 arcsec', async () => {
    for (const adql of [
      'SELECT u.id, b.id FROM TAP_UPLOAD.upload AS u JOIN demo.big AS b ON 1 = CONTAINS(POINT(b.ra, b.dec), CIRCLE(u.ra, u.dec, 5.0 / 3600))',
      'SELECT u.id, b.id FROM demo.big AS b, TAP_UPLOAD.upload AS u WHERE DISTANCE(u.ra, u.dec, b.ra, b.dec) < 0.0013888888',
    ]) {
      const c = compile(adql, catalogue);
      const plan = await explain(c.sql, c.params);
      const scans = indexScans(plan);
      expect(scans.map((s) => s['Index Name'])).toContain('big_hpx');
      const t0 = performance.now();
      const rows = await pool.query({ text: c.sql, values: c.params });
      console.log(
        `crossmatch 1000 x 1e6 at 5 arcsec: ${rows.rowCount} pairs in ${(performance.now() - t0).toFixed(1)} ms`,
      );
      const t1 = performance.now();
      await pool.query('SELECT count(r) FROM upload, adql.xmatch_cover(ra, dec, 5.0 / 3600) AS r');
      console.log(
        `  of which per-row ranges (adql.xmatch_cover x 1000): ${(performance.now() - t1).toFixed(1)} ms`,
      );
      // every upload row sits 0.36 arcsec or less from its source
      expect(rows.rowCount).toBeGreaterThanOrEqual(1000);
    }
  });

  it('for a 16-row upload at 1 arcsec, with and without statistics: one index range scan per range', async () => {
    // The ranges are rows (lo, hi) and the table is scanned per range with parameters as
    // bounds: no Seq Scan of the table whatever its size or the upload's statistics (with
    // bounds as array subscripts, each range was estimated at a ninth of the table).
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('CREATE TEMPORARY TABLE mine (tag text, ra float8, dec float8) ON COMMIT DROP');
      await client.query(
        `INSERT INTO mine SELECT 'near' || id, ra + 1e-4 * cosd(dec), dec FROM big WHERE id <= 12
         UNION ALL SELECT 'far' || i, 97.5 * i, -80 + 40 * i FROM generate_series(1, 4) AS i`,
      );
      const withUpload: Catalogue = {
        tables: () => [
          ...catalogue.tables(),
          {
            schema: 'TAP_UPLOAD',
            name: 'mine',
            sql: { schema: 'pg_temp', table: 'mine' },
            columns: [
              { name: 'tag', datatype: 'char', arraysize: '*' },
              { name: 'ra', datatype: 'double', unit: 'deg' },
              { name: 'dec', datatype: 'double', unit: 'deg' },
            ],
          },
        ],
      };
      const adql =
        "SELECT m.tag, s.id FROM TAP_UPLOAD.mine m JOIN demo.big s ON 1=CONTAINS(POINT('ICRS', s.ra, s.dec), CIRCLE('ICRS', m.ra, m.dec, 1.0/3600))";
      const c = compile(adql, withUpload);
      const j = compile(adql, withUpload, { crossmatch: 'join' });
      for (const stats of ['none', 'ANALYZE']) {
        if (stats === 'ANALYZE') await client.query('ANALYZE pg_temp.mine');
        const r = await client.query({ text: `EXPLAIN (FORMAT JSON) ${c.sql}`, values: c.params });
        const all = nodes((r.rows[0]['QUERY PLAN'] as Array<{ Plan: FullPlan }>)[0].Plan);
        const onBig = all.filter((n) => n['Relation Name'] === 'big');
        expect(onBig.length).toBeGreaterThan(0);
        expect(onBig.map((n) => n['Node Type'])).not.toContain('Seq Scan');
        const scans = all.filter((n) => n['Index Name'] === 'big_hpx');
        expect(scans.map((n) => n['Node Type'])).toEqual([
          expect.stringMatching(/^(Index Scan|Index Only Scan|Bitmap Index Scan)$/),
        ]);
        // one range (one row of the ranges), not the OR of 4 arms
        expect(scans[0]['Index Cond']).toMatch(/^\(\(hpx >= .*\) AND \(hpx < .*\)\)$/);
        expect(scans[0]['Index Cond']).not.toMatch(/ OR /);
        // PostgreSQL's default selectivity of a range between two parameters (0.5%).
        expect((scans[0] as { 'Plan Rows'?: number })['Plan Rows']).toBeLessThanOrEqual(1_000_000 * 0.005);
      }
      const rows = async (q: { sql: string; params: unknown[] }) =>
        (await client.query({ text: q.sql, values: q.params })).rows.map((x) => `${x.tag} ${x.id}`).sort();
      const got = await rows(c);
      expect(got.length).toBeGreaterThanOrEqual(12);
      expect(got).toEqual(await rows(j));
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});

// A self-crossmatch whose circle side is cut down by a constant cone (0.5 deg, ~19 rows of
// 1e6): the cone must reach the circle side's scan, the ranges must be computed once per
// circle row, and the other side read by a parameterised HEALPix index scan (ADQL-37).
interface FullPlan extends PlanNode {
  'Parent Relationship'?: string;
  Alias?: string;
  'Index Cond'?: string;
  Filter?: string;
  'Join Filter'?: string;
  'Recheck Cond'?: string;
  'Actual Loops'?: number;
}

function nodes(node: FullPlan, out: FullPlan[] = []): FullPlan[] {
  out.push(node);
  for (const p of (node.Plans ?? []) as FullPlan[]) nodes(p, out);
  return out;
}

const CONE = "1 = CONTAINS(POINT('ICRS', a.ra, a.dec), CIRCLE('ICRS', 50.67, -37.21, 0.5))";
const SELECT_PAIRS =
  "SELECT TOP 100 a.id, b.id AS neighbour, DISTANCE(POINT('ICRS', a.ra, a.dec), POINT('ICRS', b.ra, b.dec)) * 3600 AS sep_arcsec";
const ON_XMATCH = (r: string) =>
  `ON 1 = CONTAINS(POINT('ICRS', b.ra, b.dec), CIRCLE('ICRS', a.ra, a.dec, ${r}))`;
const selfMatch = (r: string): Array<[string, string]> => [
  [
    'plain table',
    `${SELECT_PAIRS} FROM demo.big AS a JOIN demo.big AS b ${ON_XMATCH(r)} WHERE a.id <> b.id AND ${CONE}`,
  ],
  [
    'derived table',
    `${SELECT_PAIRS} FROM (SELECT id, ra, dec FROM demo.big AS a WHERE ${CONE}) AS a JOIN demo.big AS b ${ON_XMATCH(r)} WHERE a.id <> b.id`,
  ],
  [
    'CTE',
    `WITH a AS (SELECT id, ra, dec FROM demo.big AS a WHERE ${CONE}) ${SELECT_PAIRS} FROM a JOIN demo.big AS b ${ON_XMATCH(r)} WHERE a.id <> b.id`,
  ],
  [
    'LEFT JOIN',
    `${SELECT_PAIRS} FROM demo.big AS a LEFT JOIN demo.big AS b ${ON_XMATCH(r)} AND a.id <> b.id WHERE ${CONE}`,
  ],
  [
    'indexed table written first',
    `${SELECT_PAIRS} FROM demo.big AS b JOIN demo.big AS a ${ON_XMATCH(r)} WHERE a.id <> b.id AND ${CONE}`,
  ],
  [
    'WHERE DISTANCE, comma join',
    `${SELECT_PAIRS} FROM demo.big AS a, demo.big AS b WHERE a.id <> b.id AND DISTANCE(POINT('ICRS', a.ra, a.dec), POINT('ICRS', b.ra, b.dec)) < ${r} AND ${CONE}`,
  ],
];

describe('self-crossmatch behind a constant cone on 1,000,000 rows', () => {
  for (const [shape, adql] of selfMatch('10.0/3600')) {
    it(`${shape}: cone before the join, ranges once per row, HEALPix index scan inside`, async () => {
      const c = compile(adql, catalogue);
      const r = await pool.query({ text: `EXPLAIN (FORMAT JSON) ${c.sql}`, values: c.params });
      const all = nodes((r.rows[0]['QUERY PLAN'] as Array<{ Plan: FullPlan }>)[0].Plan);
      // Bounds from the per-row ranges: the inlined adql.xmatch_cover's output (an InitPlan's
      // column: `$n` before PostgreSQL 17, `(InitPlan n).col1` since), not literals.
      const perRow = (n: FullPlan) =>
        n['Index Name'] === 'big_hpx' && /\(\$\d+\)|\(InitPlan \d+\)|xmatch_/.test(n['Index Cond'] ?? '');
      // A nested loop: the circle side outside, the per-row index scan inside.
      const loop = all.find(
        (n) =>
          n['Node Type'] === 'Nested Loop' &&
          n.Plans?.length === 2 &&
          nodes(n.Plans[1] as FullPlan).some(perRow),
      );
      expect(loop).toBeDefined();
      const [outer, inner] = loop!.Plans as FullPlan[];
      expect(nodes(outer).some(perRow)).toBe(false);
      // The constant cone is applied on the circle side's own scan, by its literal ranges.
      expect(
        nodes(outer).some((n) => n['Index Name'] === 'big_hpx' && /\d{15,}/.test(n['Index Cond'] ?? '')),
      ).toBe(true);
      expect(
        nodes(inner)
          .filter((n) => n['Index Name'] === 'big_hpx')
          .every(perRow),
      ).toBe(true);
      // Ranges computed once per circle row: adql.xmatch_cover is inlined (no call to count),
      // so count the executions of its outermost subquery (alias "cover", sql/160).
      const cone = await pool.query(
        `SELECT count(*)::int AS n FROM big WHERE adql.distance(ra, dec, 50.67, -37.21) <= 0.5`,
      );
      const analyzed = await pool.query({
        text: `EXPLAIN (ANALYZE, FORMAT JSON) ${c.sql}`,
        values: c.params,
      });
      const covers = nodes((analyzed.rows[0]['QUERY PLAN'] as Array<{ Plan: FullPlan }>)[0].Plan).filter(
        (n) => n.Alias === 'cover',
      );
      expect(covers).toHaveLength(1);
      expect(covers[0]['Actual Loops']).toBe(cone.rows[0].n);
      const t0 = performance.now();
      const rows = await pool.query({ text: c.sql, values: c.params });
      console.log(
        `self-crossmatch (${shape}): ${rows.rowCount} rows in ${(performance.now() - t0).toFixed(1)} ms`,
      );
    });
  }
});
