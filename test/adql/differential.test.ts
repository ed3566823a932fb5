// Differential test: ADQL compiled by adql/ and run on PostgreSQL versus answers computed
// independently (astropy/numpy in test/adql/reference.py; plain TypeScript arithmetic for
// the non-spatial queries).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Catalogue, compile } from '../../adql/index.js';
import { testPool } from '../support/db.js';
import { prng } from './fixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
type Pool = Awaited<ReturnType<typeof testPool>>;

interface Points {
  id: number[];
  ra: number[];
  dec: number[];
  mag: number[];
  grp: number[];
}

function makePoints(n: number, seed: number): Points {
  const r = prng(seed);
  const p: Points = { id: [], ra: [], dec: [], mag: [], grp: [] };
  const push = (ra: number, dec: number) => {
    p.id.push(p.id.length + 1);
    p.ra.push(((ra % 360) + 360) % 360);
    p.dec.push(Math.max(-90, Math.min(90, dec)));
    p.mag.push(10 + 10 * r());
    p.grp.push(Math.floor(r() * 5));
  };
  for (let i = 0; i < n; i++) {
    const u = r();
    if (u < 0.55) push(360 * r(), (Math.asin(2 * r() - 1) * 180) / Math.PI);
    else if (u < 0.67) push(360 * r(), 90 - 3 * r() ** 2);
    else if (u < 0.79) push(360 * r(), -90 + 3 * r() ** 2);
    else if (u < 0.91) push(359 + 2 * r(), -3 + 6 * r());
    else push(150 + r() - 0.5, 2 + r() - 0.5);
  }
  return p;
}

const N = 20_000;
const pts = makePoints(N, 42);
const upload = (() => {
  const r = prng(7);
  const u = { id: [] as number[], ra: [] as number[], dec: [] as number[] };
  for (let i = 0; i < 400; i++) {
    // near a catalogue point, so there are matches at arcsecond scales
    const j = Math.floor(r() * N);
    const off = (r() * 20) / 3600;
    const pa = r() * 2 * Math.PI;
    const dec = Math.max(-90, Math.min(90, pts.dec[j] + off * Math.cos(pa)));
    const ra =
      (((pts.ra[j] + (off * Math.sin(pa)) / Math.max(0.01, Math.cos((dec * Math.PI) / 180))) % 360) + 360) %
      360;
    u.id.push(i + 1);
    u.ra.push(ra);
    u.dec.push(dec);
  }
  return u;
})();

let pool: Pool;
let catalogue: Catalogue;

beforeAll(async () => {
  pool = await testPool();
  await pool.query(
    'CREATE TABLE pts (id int PRIMARY KEY, ra float8, dec float8, mag float8, grp int, hpx bigint)',
  );
  await pool.query(
    'INSERT INTO pts SELECT id, ra, dec, mag, grp, sky.healpix_nest(29, ra, dec) FROM unnest($1::int[], $2::float8[], $3::float8[], $4::float8[], $5::int[]) AS t(id, ra, dec, mag, grp)',
    [pts.id, pts.ra, pts.dec, pts.mag, pts.grp],
  );
  await pool.query('CREATE INDEX ON pts (hpx)');
  await pool.query('CREATE TABLE up (id int, ra float8, dec float8)');
  await pool.query('INSERT INTO up SELECT * FROM unnest($1::int[], $2::float8[], $3::float8[])', [
    upload.id,
    upload.ra,
    upload.dec,
  ]);
  await pool.query('ANALYZE pts; ANALYZE up');
  catalogue = {
    tables: () => [
      {
        schema: 'test',
        name: 'pts',
        sql: { schema: pool.schema, table: 'pts' },
        spatialIndex: { column: 'hpx', lon: 'ra', lat: 'dec' },
        columns: [
          { name: 'id', datatype: 'int' },
          { name: 'ra', datatype: 'double', unit: 'deg' },
          { name: 'dec', datatype: 'double', unit: 'deg' },
          { name: 'mag', datatype: 'double', unit: 'mag' },
          { name: 'grp', datatype: 'int' },
          { name: 'hpx', datatype: 'long' },
        ],
      },
      {
        schema: 'TAP_UPLOAD',
        name: 'up',
        sql: { schema: pool.schema, table: 'up' },
        columns: [
          { name: 'id', datatype: 'int' },
          { name: 'ra', datatype: 'double', unit: 'deg' },
          { name: 'dec', datatype: 'double', unit: 'deg' },
        ],
      },
    ],
  };
}, 180_000);

afterAll(async () => {
  await pool?.close();
});

async function run(adql: string): Promise<Record<string, unknown>[]> {
  const c = compile(adql, catalogue);
  const r = await pool.query({ text: c.sql, values: c.params as unknown[] });
  return r.rows;
}

type Case =
  | { kind: 'cone'; ra: number; dec: number; r: number; adql: string }
  | { kind: 'polygon'; lon: number[]; lat: number[]; adql: string }
  | { kind: 'box'; ra: number; dec: number; w: number; h: number; adql: string }
  | { kind: 'xmatch'; r: number; adql: string };

function spatialCases(): Case[] {
  const r = prng(99);
  const cases: Case[] = [];
  const centres: Array<[number, number]> = [
    [0, 90],
    [0, -90],
    [123, 89.9],
    [300, -89.5],
    [0, 0],
    [359.99, 1],
    [0.01, -1],
    [150, 2],
    [180, 45],
    [45, -60],
    [359.5, 0],
    [0.5, 0],
    [90, 88],
    [270, -88],
    [10, 30],
  ];
  for (let i = 0; i < 10; i++) centres.push([360 * r(), (Math.asin(2 * r() - 1) * 180) / Math.PI]);
  const radii = [0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 90];
  centres.forEach(([ra, dec], i) => {
    for (let k = 0; k < 2; k++) {
      const rad = radii[(i * 2 + k) % radii.length];
      const form = (i + k) % 3;
      const adql =
        form === 0
          ? `SELECT id FROM test.pts WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', ${ra}, ${dec}, ${rad}))`
          : form === 1
            ? `SELECT id FROM test.pts WHERE DISTANCE(POINT(ra, dec), POINT(${ra}, ${dec})) <= ${rad}`
            : `SELECT p.id FROM test.pts AS p WHERE CONTAINS(POINT(p.ra, p.dec), CIRCLE(POINT(${ra}, ${dec}), ${rad})) = 1`;
      cases.push({ kind: 'cone', ra, dec, r: rad, adql });
    }
  });
  // convex polygons around chosen centres, both windings
  centres.forEach(([ra, dec], i) => {
    const size = [0.05, 0.5, 2, 8, 20][i % 5];
    const n = 3 + (i % 4);
    const lon: number[] = [];
    const lat: number[] = [];
    for (let k = 0; k < n; k++) {
      const pa = ((i % 2 ? -1 : 1) * (k * 360)) / n + 10;
      const [l, b] = offset(ra, dec, size, pa);
      lon.push(l);
      lat.push(b);
    }
    const coords = lon.map((l, k) => `${l}, ${lat[k]}`).join(', ');
    cases.push({
      kind: 'polygon',
      lon,
      lat,
      adql: `SELECT id FROM test.pts WHERE 1 = CONTAINS(POINT(ra, dec), POLYGON(${coords}))`,
    });
  });
  centres.slice(0, 18).forEach(([ra, dec], i) => {
    const w = [0.1, 1, 4, 10, 30, 2][i % 6];
    const h = [0.2, 0.5, 3, 20, 10, 2][i % 6];
    cases.push({
      kind: 'box',
      ra,
      dec,
      w,
      h,
      adql: `SELECT id FROM test.pts WHERE 1 = CONTAINS(POINT(ra, dec), BOX(${ra}, ${dec}, ${w}, ${h}))`,
    });
  });
  for (const rad of [1 / 3600, 5 / 3600, 15 / 3600, 0.01, 0.2]) {
    cases.push({
      kind: 'xmatch',
      r: rad,
      adql: `SELECT u.id AS uid, p.id AS pid FROM TAP_UPLOAD.up AS u JOIN test.pts AS p ON 1 = CONTAINS(POINT(p.ra, p.dec), CIRCLE(u.ra, u.dec, ${rad}))`,
    });
    cases.push({
      kind: 'xmatch',
      r: rad,
      adql: `SELECT u.id AS uid, p.id AS pid FROM test.pts p, TAP_UPLOAD.up u WHERE DISTANCE(u.ra, u.dec, p.ra, p.dec) <= ${rad}`,
    });
  }
  return cases;
}

/** The point at distance d and position angle pa from (ra, dec), via the local north/east basis (fine at the poles). */
function offset(ra: number, dec: number, d: number, paDeg: number): [number, number] {
  const D = Math.PI / 180;
  const [l, b, dd, pa] = [ra * D, dec * D, d * D, paDeg * D];
  const er = [Math.cos(b) * Math.cos(l), Math.cos(b) * Math.sin(l), Math.sin(b)];
  const north = [-Math.sin(b) * Math.cos(l), -Math.sin(b) * Math.sin(l), Math.cos(b)];
  const east = [-Math.sin(l), Math.cos(l), 0];
  const v = [0, 1, 2].map(
    (k) => Math.cos(dd) * er[k] + Math.sin(dd) * (Math.cos(pa) * north[k] + Math.sin(pa) * east[k]),
  );
  const lon = Math.atan2(v[1], v[0]) / D;
  return [(lon + 360) % 360, Math.asin(Math.max(-1, Math.min(1, v[2]))) / D];
}

describe('spatial queries agree with astropy', () => {
  const cases = spatialCases();
  let reference: Array<{ ids?: number[]; ambiguous: unknown[]; pairs?: number[][] }>;

  beforeAll(() => {
    const job = JSON.stringify({ points: { id: pts.id, ra: pts.ra, dec: pts.dec }, upload, cases });
    const res = spawnSync('/usr/bin/python3', [join(here, 'reference.py')], {
      input: job,
      maxBuffer: 1 << 28,
      encoding: 'utf8',
    });
    if (res.status !== 0) throw new Error(`reference.py failed: ${res.stderr}`);
    reference = JSON.parse(res.stdout);
  }, 120_000);

  it(`has at least 100 queries (${cases.length} spatial)`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
  });

  for (const [i, c] of cases.entries()) {
    it(`${c.kind} #${i}: ${c.adql.slice(0, 140)}`, async () => {
      const rows = await run(c.adql);
      const ref = reference[i];
      if (c.kind === 'xmatch') {
        const amb = new Set((ref.ambiguous as number[][]).map((p) => p.join(',')));
        const got = rows
          .map((r) => `${r.uid},${r.pid}`)
          .filter((k) => !amb.has(k))
          .sort();
        expect(got).toEqual(ref.pairs!.map((p) => p.join(',')).sort());
        return;
      }
      const amb = new Set(ref.ambiguous as number[]);
      const got = rows
        .map((r) => Number(r.id))
        .filter((id) => !amb.has(id))
        .sort((a, b) => a - b);
      expect(got).toEqual(ref.ids);
    });
  }
});

describe('non-spatial queries agree with TypeScript arithmetic', () => {
  const rows = pts.id.map((id, i) => ({
    id,
    ra: pts.ra[i],
    dec: pts.dec[i],
    mag: pts.mag[i],
    grp: pts.grp[i],
  }));
  const near = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
  type Check = [string, (got: Record<string, unknown>[]) => void];
  const checks: Check[] = [
    ['SELECT COUNT(*) AS n FROM test.pts', (g) => expect(Number(g[0].n)).toBe(N)],
    [
      'SELECT COUNT(*) AS n FROM test.pts WHERE mag BETWEEN 12 AND 13',
      (g) => expect(Number(g[0].n)).toBe(rows.filter((r) => r.mag >= 12 && r.mag <= 13).length),
    ],
    [
      'SELECT MIN(mag) AS lo, MAX(mag) AS hi, AVG(mag) AS av, SUM(grp) AS s FROM test.pts',
      (g) => {
        expect(near(g[0].lo as number, Math.min(...rows.map((r) => r.mag)))).toBe(true);
        expect(near(g[0].hi as number, Math.max(...rows.map((r) => r.mag)))).toBe(true);
        expect(near(g[0].av as number, rows.reduce((s, r) => s + r.mag, 0) / N)).toBe(true);
        expect(Number(g[0].s)).toBe(rows.reduce((s, r) => s + r.grp, 0));
      },
    ],
    [
      'SELECT grp, COUNT(*) AS n FROM test.pts GROUP BY grp ORDER BY grp',
      (g) => {
        const want = [0, 1, 2, 3, 4].map((k) => rows.filter((r) => r.grp === k).length);
        expect(g.map((r) => Number(r.n))).toEqual(want);
      },
    ],
    [
      'SELECT grp AS g, COUNT(DISTINCT grp) AS n FROM test.pts GROUP BY g HAVING COUNT(*) > 10 ORDER BY 1 DESC',
      (g) => expect(g.map((r) => r.g)).toEqual([4, 3, 2, 1, 0]),
    ],
    [
      'SELECT TOP 5 id, mag FROM test.pts ORDER BY mag DESC',
      (g) => {
        const want = [...rows]
          .sort((a, b) => b.mag - a.mag)
          .slice(0, 5)
          .map((r) => r.id);
        expect(g.map((r) => r.id)).toEqual(want);
      },
    ],
    [
      'SELECT id FROM test.pts WHERE id <= 20 ORDER BY id OFFSET 15',
      (g) => expect(g.map((r) => r.id)).toEqual([16, 17, 18, 19, 20]),
    ],
    [
      'SELECT TOP 3 id FROM test.pts ORDER BY id OFFSET 2',
      (g) => expect(g.map((r) => r.id)).toEqual([3, 4, 5]),
    ],
    [
      'SELECT id FROM test.pts WHERE id < 10 UNION SELECT id FROM test.pts WHERE id BETWEEN 5 AND 12 ORDER BY 1',
      (g) => expect(g.map((r) => r.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
    ],
    [
      'SELECT grp FROM test.pts WHERE id < 100 UNION ALL SELECT grp FROM test.pts WHERE id < 50',
      (g) => expect(g.length).toBe(99 + 49),
    ],
    [
      'SELECT id FROM test.pts WHERE id < 10 INTERSECT SELECT id FROM test.pts WHERE id > 5 ORDER BY id',
      (g) => expect(g.map((r) => r.id)).toEqual([6, 7, 8, 9]),
    ],
    [
      'SELECT id FROM test.pts WHERE id < 10 EXCEPT SELECT id FROM test.pts WHERE id > 5 ORDER BY id DESC',
      (g) => expect(g.map((r) => r.id)).toEqual([5, 4, 3, 2, 1]),
    ],
    [
      'SELECT id, ROUND(mag, 2) AS r2, TRUNCATE(mag, 1) AS t1, ROUND(mag) AS r0, LOG(mag) AS ln, LOG10(mag) AS lg, SQRT(mag) AS sq, POWER(mag, 2) AS p2, EXP(mag / 10) AS ex FROM test.pts WHERE id <= 50',
      (g) => {
        for (const row of g) {
          const m = rows[(row.id as number) - 1].mag;
          expect(near(row.r2 as number, Math.round(m * 100) / 100)).toBe(true);
          expect(near(row.t1 as number, Math.trunc(m * 10) / 10)).toBe(true);
          expect(row.r0).toBe(Math.round(m));
          expect(near(row.ln as number, Math.log(m))).toBe(true);
          expect(near(row.lg as number, Math.log10(m))).toBe(true);
          expect(near(row.sq as number, Math.sqrt(m))).toBe(true);
          expect(near(row.p2 as number, m * m)).toBe(true);
          expect(near(row.ex as number, Math.exp(m / 10))).toBe(true);
        }
      },
    ],
    [
      'SELECT id, SIN(RADIANS(ra)) AS s, COS(RADIANS(dec)) AS c, TAN(RADIANS(dec) / 2) AS t, COT(RADIANS(mag)) AS ct, DEGREES(ATAN2(dec, ra)) AS a2, DEGREES(ASIN(dec / 90)) AS asn, ACOS(dec / 90) AS acs, ATAN(mag) AS atn FROM test.pts WHERE id <= 50',
      (g) => {
        for (const row of g) {
          const p = rows[(row.id as number) - 1];
          const D = Math.PI / 180;
          expect(near(row.s as number, Math.sin(p.ra * D))).toBe(true);
          expect(near(row.c as number, Math.cos(p.dec * D))).toBe(true);
          expect(near(row.t as number, Math.tan((p.dec * D) / 2))).toBe(true);
          expect(near(row.ct as number, 1 / Math.tan(p.mag * D))).toBe(true);
          expect(near(row.a2 as number, Math.atan2(p.dec, p.ra) / D)).toBe(true);
          expect(near(row.asn as number, Math.asin(p.dec / 90) / D)).toBe(true);
          expect(near(row.acs as number, Math.acos(p.dec / 90))).toBe(true);
          expect(near(row.atn as number, Math.atan(p.mag))).toBe(true);
        }
      },
    ],
    [
      'SELECT id, MOD(id, 7) AS m, MOD(-id, 7) AS mn, id / 3 AS q, ABS(-id) AS a, CEILING(mag) AS ce, FLOOR(mag) AS fl, PI() AS p FROM test.pts WHERE id <= 30',
      (g) => {
        for (const row of g) {
          const id = row.id as number;
          expect(row.m).toBe(id % 7);
          expect(row.mn).toBe(-id % 7 || 0);
          expect(row.q).toBe(Math.trunc(id / 3));
          expect(row.a).toBe(id);
          expect(row.ce).toBe(Math.ceil(rows[id - 1].mag));
          expect(row.fl).toBe(Math.floor(rows[id - 1].mag));
          expect(row.p).toBe(Math.PI);
        }
      },
    ],
    [
      'SELECT DISTANCE(POINT(ra, dec), POINT(0, 90)) AS d, id FROM test.pts WHERE id <= 40',
      (g) => {
        for (const row of g)
          expect(Math.abs((row.d as number) - (90 - rows[(row.id as number) - 1].dec))).toBeLessThan(1e-9);
      },
    ],
    [
      'SELECT COUNT(*) AS n FROM test.pts WHERE id IN (SELECT id FROM TAP_UPLOAD.up)',
      (g) => expect(Number(g[0].n)).toBe(upload.id.length),
    ],
    [
      'SELECT COUNT(*) AS n FROM test.pts AS p WHERE EXISTS (SELECT 1 FROM TAP_UPLOAD.up AS u WHERE u.id = p.id)',
      (g) => expect(Number(g[0].n)).toBe(upload.id.length),
    ],
    [
      'WITH bright AS (SELECT id, mag FROM test.pts WHERE mag < 11) SELECT COUNT(*) AS n FROM bright',
      (g) => expect(Number(g[0].n)).toBe(rows.filter((r) => r.mag < 11).length),
    ],
    [
      'SELECT q.g, q.n FROM (SELECT grp AS g, COUNT(*) AS n FROM test.pts GROUP BY grp) AS q WHERE q.g = 2',
      (g) => expect(Number(g[0].n)).toBe(rows.filter((r) => r.grp === 2).length),
    ],
    [
      'SELECT COUNT(*) AS n FROM test.pts WHERE COALESCE(NULL, mag) > 15 AND NOT (grp = 1 OR grp = 2)',
      (g) => expect(Number(g[0].n)).toBe(rows.filter((r) => r.mag > 15 && r.grp !== 1 && r.grp !== 2).length),
    ],
    [
      'SELECT COUNT(*) AS n FROM test.pts WHERE CAST(mag AS INTEGER) = 12',
      (g) => expect(Number(g[0].n)).toBe(rows.filter((r) => Math.round(r.mag) === 12).length),
    ],
    [
      "SELECT id, IN_UNIT(ra, 'arcmin') AS am, COORD1(POINT(ra, dec)) AS c1, COORD2(POINT(ra, dec)) AS c2 FROM test.pts WHERE id <= 10",
      (g) => {
        for (const row of g) {
          const p = rows[(row.id as number) - 1];
          expect(near(row.am as number, p.ra * 60)).toBe(true);
          expect(row.c1).toBe(p.ra);
          expect(row.c2).toBe(p.dec);
        }
      },
    ],
    [
      "SELECT 'a' || 'b' AS s, LOWER('AbC') AS lo, UPPER('AbC') AS up, CASE WHEN id = 1 THEN 'one' ELSE 'other' END AS c FROM test.pts WHERE id = 1",
      (g) => expect(g[0]).toEqual({ s: 'ab', lo: 'abc', up: 'ABC', c: 'one' }),
    ],
    [
      "SELECT COUNT(*) AS n FROM test.pts WHERE 'x_y' LIKE 'x\\_y' OR 'Francis' ILIKE 'francis'",
      (g) => expect(Number(g[0].n)).toBe(N),
    ],
    [
      "SELECT COUNT(*) AS n FROM test.pts WHERE 'Francis' LIKE 'francis'",
      (g) => expect(Number(g[0].n)).toBe(0),
    ],
    [
      'SELECT COUNT(*) AS n FROM test.pts AS a JOIN TAP_UPLOAD.up AS b USING (id)',
      (g) => expect(Number(g[0].n)).toBe(upload.id.length),
    ],
    [
      'SELECT COUNT(*) AS n FROM test.pts AS a NATURAL JOIN TAP_UPLOAD.up AS b',
      (g) => expect(Number(g[0].n)).toBe(0),
    ],
    [
      'SELECT COUNT(*) AS n FROM TAP_UPLOAD.up AS b LEFT OUTER JOIN test.pts AS a ON a.id = b.id + 100000',
      (g) => expect(Number(g[0].n)).toBe(upload.id.length),
    ],
    [
      'SELECT AREA(CIRCLE(0, 0, 1)) AS a, AREA(POINT(1, 2)) AS z FROM test.pts WHERE id = 1',
      (g) => {
        expect(
          near(g[0].a as number, 2 * Math.PI * (1 - Math.cos(Math.PI / 180)) * (180 / Math.PI) ** 2),
        ).toBe(true);
        expect(g[0].z).toBe(0);
      },
    ],
  ];
  for (const [adql, check] of checks) {
    it(adql.slice(0, 160), async () => {
      check(await run(adql));
    });
  }
});

// The LATERAL crossmatch translation against the range join of earlier versions, on every
// crossmatch shape: circle side as table, derived table, CTE or upload; ON or WHERE; LEFT
// JOIN; CONTAINS and DISTANCE in both argument orders (ADQL-37, ADQL-39).
describe('crossmatch shapes return what the range-join translation returns', () => {
  const selfShapes = (ra: number, dec: number, cone: number, r: number): string[] => {
    const inCone = `1 = CONTAINS(POINT(a.ra, a.dec), CIRCLE(${ra}, ${dec}, ${cone}))`;
    const pairs = 'SELECT a.id AS aid, b.id AS bid';
    const on = `ON 1 = CONTAINS(POINT(b.ra, b.dec), CIRCLE(a.ra, a.dec, ${r}))`;
    const sub = `SELECT id, ra, dec FROM test.pts AS a WHERE ${inCone}`;
    return [
      `${pairs} FROM test.pts AS a JOIN test.pts AS b ${on} WHERE a.id <> b.id AND ${inCone}`,
      `${pairs} FROM (${sub}) AS a JOIN test.pts AS b ${on} WHERE a.id <> b.id`,
      `WITH a AS (${sub}) ${pairs} FROM a JOIN test.pts AS b ${on} WHERE a.id <> b.id`,
      `${pairs} FROM test.pts AS a LEFT JOIN test.pts AS b ${on} AND a.id <> b.id WHERE ${inCone}`,
      `${pairs} FROM test.pts AS a, test.pts AS b WHERE DISTANCE(POINT(a.ra, a.dec), POINT(b.ra, b.dec)) < ${r} AND ${inCone}`,
      `${pairs} FROM test.pts AS a, test.pts AS b WHERE ${r} > DISTANCE(POINT(b.ra, b.dec), POINT(a.ra, a.dec)) AND ${inCone}`,
      `${pairs} FROM test.pts AS a JOIN test.pts AS b ON DISTANCE(a.ra, a.dec, b.ra, b.dec) <= ${r} WHERE ${inCone} AND b.mag < 15`,
      `${pairs} FROM test.pts AS b JOIN test.pts AS a ${on} WHERE ${inCone}`,
    ];
  };
  const uploadShapes = (r: number): string[] => [
    `SELECT a.id AS aid, b.id AS bid FROM TAP_UPLOAD.up AS a JOIN test.pts AS b ON 1 = CONTAINS(POINT(b.ra, b.dec), CIRCLE(a.ra, a.dec, ${r})) WHERE a.id < 200`,
    `SELECT a.id AS aid, b.id AS bid FROM TAP_UPLOAD.up AS a LEFT JOIN test.pts AS b ON DISTANCE(POINT(b.ra, b.dec), POINT(a.ra, a.dec)) < ${r}`,
    `SELECT a.id AS aid, b.id AS bid FROM (SELECT id, ra, dec FROM TAP_UPLOAD.up WHERE id > 100) AS a, test.pts AS b WHERE DISTANCE(a.ra, a.dec, b.ra, b.dec) < ${r}`,
    `WITH a AS (SELECT * FROM TAP_UPLOAD.up) SELECT a.id AS aid, b.id AS bid FROM a JOIN test.pts AS b ON 1 = CONTAINS(POINT(b.ra, b.dec), CIRCLE(a.ra, a.dec, ${r}))`,
    `SELECT a.id AS aid, b.id AS bid FROM test.pts AS b, TAP_UPLOAD.up AS a WHERE DISTANCE(a.ra, a.dec, b.ra, b.dec) < ${r}`,
    // The indexed table first in a comma list of three: it is moved last to be read per row.
    `SELECT a.id AS aid, b.id AS bid FROM test.pts AS b, TAP_UPLOAD.up AS a, TAP_UPLOAD.up AS c WHERE 1 = CONTAINS(POINT(b.ra, b.dec), CIRCLE(a.ra, a.dec, ${r})) AND c.id = a.id AND c.id < 300`,
  ];
  const cases = [
    ...selfShapes(150, 2, 0.2, 60 / 3600), // the dense cluster: many pairs
    // The range join is slow on these (the point of the change): a few shapes each.
    ...selfShapes(0, 89.5, 1, 0.05).filter((_, i) => i === 1 || i === 4), // the north pole
    ...selfShapes(359.9, 0.5, 0.5, 0.02).filter((_, i) => i === 2 || i === 3), // across RA 0/360
    ...uploadShapes(10 / 3600),
    ...uploadShapes(0.02),
  ];
  const key = (rows: Record<string, unknown>[]) => rows.map((x) => `${x.aid},${x.bid}`).sort();
  for (const [i, adql] of cases.entries()) {
    it(`#${i}: ${adql.slice(0, 200)}`, async () => {
      const lateral = compile(adql, catalogue);
      const join = compile(adql, catalogue, { crossmatch: 'join' });
      expect(lateral.columns).toEqual(join.columns);
      // Every shape here is read per row of the circle's side, with the HEALPix index.
      expect(lateral.sql).toContain('LATERAL');
      const got = key((await pool.query({ text: lateral.sql, values: lateral.params as unknown[] })).rows);
      const want = key((await pool.query({ text: join.sql, values: join.params as unknown[] })).rows);
      expect(got.length).toBeGreaterThan(0);
      expect(got).toEqual(want);
    });
  }
});
