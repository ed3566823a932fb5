import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CatalogueTable, compile, inlineParameters } from '../adql/index.js';
import { publishedTableOf, unpublishTable } from '../src/publish/index.js';
import {
  DEFAULT_LAYOUT,
  type LayoutSettings,
  readLayout,
  rowsFromShards,
  SELF_CROSSMATCH_SETTINGS,
  selfCrossmatchSql,
} from '../src/shards/index.js';
import { catalogueOf } from '../src/tap/catalogue.js';
import { describeTable, publishGenerated, rowOf, STORE, uploadVOTable } from '../test/shards/catalogue.js';
import { testDatabaseUrl } from '../test/support/db.js';
import { startTestNode } from '../test/support/node.js';
import { type ShardServers, startShardServers } from '../test/support/shard-servers.js';

// Issue 22 items 1 and 2: one catalogue published plain, partitioned on this server and
// sharded over 1, 2 and 4 PostgreSQL servers on loopback (postgres_fdw) answers every query
// of the set identically through TAP (TAP-24 uploads, ADQL-14 TOP/ORDER BY, ADQL-30 polygons,
// ADQL-37/39 cones and crossmatches), prunes partitions by the cone's HEALPix ranges, keeps
// row-level security, and names the missing sky when a shard dies (DALI-32).
// SHARDS_ROWS selects the acceptance size (10,000,000); CI runs 20,000.
const ROWS = Number(process.env.SHARDS_ROWS ?? 20_000);
// Six copies of the catalogue are published before the checks: at the acceptance size that
// takes far longer than CI's ten minutes (a millisecond a row allowed, at least ten minutes).
const SET_UP_MS = Math.max(600_000, ROWS);
/** A check's time limit, grown with the catalogue beyond 2,000,000 rows. */
const scaled = (ms: number) => Math.max(ms, (ms * ROWS) / 2_000_000);
const SCHEMA = `shards_${Math.random().toString(36).slice(2, 8)}`;
const PARTS = 8;
// Wide enough that the crossmatch test below finds pairs across partition edges at CI size.
const MARGIN_ARCSEC = 600;

let pool: pg.Pool;
let servers: ShardServers;
let node: Awaited<ReturnType<typeof startTestNode>>;

const layout = (minRows: number, shards: readonly string[] = []): LayoutSettings => ({
  ...DEFAULT_LAYOUT,
  minRows,
  order: 7,
  partitions: PARTS,
  shards,
  marginArcsec: MARGIN_ARCSEC,
});

const TABLES = ['plain', 'part', 's1', 's2', 's4', 'cli'] as const;
const COMPARED = ['plain', 'part', 's1', 's2', 's4'] as const;
const BIN = join(import.meta.dirname, '..', 'bin', 'vonode.js');

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 4 });
  servers = await startShardServers(4);
  const u = servers.urls;
  // At the acceptance size the set-up takes most of an hour: say how it goes.
  const log = ROWS > 1_000_000 ? (line: string) => console.log(`set-up: ${line}`) : undefined;
  await publishGenerated(pool, SCHEMA, 'plain', ROWS, layout(0), log);
  await publishGenerated(pool, SCHEMA, 'part', ROWS, layout(1), log);
  await publishGenerated(pool, SCHEMA, 's1', ROWS, layout(1, u.slice(0, 1)), log);
  await publishGenerated(pool, SCHEMA, 's2', ROWS, layout(1, u.slice(0, 2)), log);
  await publishGenerated(pool, SCHEMA, 's4', ROWS, layout(1, u), log);
  node = await startTestNode({ VONODE_LOG_LEVEL: 'silent' });
}, SET_UP_MS);

afterAll(async () => {
  await node?.stop();
  for (const t of TABLES) await unpublishTable(pool, `${SCHEMA}.${t}`, { store: STORE }).catch(() => {});
  await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
  const hashes = servers?.urls ?? [];
  const ours = await pool.query<{ srvname: string }>(
    "SELECT srvname FROM pg_foreign_server WHERE srvname LIKE 'vonode_s%'",
  );
  if (hashes.length > 0)
    for (const s of ours.rows)
      await pool.query(`DROP SERVER IF EXISTS "${s.srvname}" CASCADE`).catch(() => {});
  await servers?.close();
  await pool?.end();
}, scaled(120_000));

async function tap(query: string, upload?: string): Promise<{ status: number; body: string }> {
  const form = new FormData();
  form.set('LANG', 'ADQL');
  form.set('QUERY', query);
  form.set('RESPONSEFORMAT', 'csv');
  form.set('MAXREC', '100000');
  if (upload) {
    form.set('UPLOAD', 'u,param:u');
    form.set('u', new Blob([upload], { type: 'application/x-votable+xml' }), 'u.xml');
  }
  const res = await fetch(`${node.url}/tap/sync`, { method: 'POST', body: form });
  return { status: res.status, body: await res.text() };
}

/** The physical table and ADQL catalogue entry of a published test table. */
async function catalogueTable(name: string): Promise<CatalogueTable> {
  const r = await pool.query<{ sql_schema: string; sql_table: string }>(
    'SELECT sql_schema, sql_table FROM vonode.published_tables WHERE table_name = $1',
    [`${SCHEMA}.${name}`],
  );
  const t = publishedTableOf(describeTable(SCHEMA, name), {
    sqlSchema: r.rows[0].sql_schema,
    sqlTable: r.rows[0].sql_table,
  });
  return {
    schema: t.schema,
    name: t.name,
    sql: { ...t.sql },
    description: t.description,
    columns: t.columns.map((c) => ({ ...c })),
    ...(t.spatialIndex ? { spatialIndex: { ...t.spatialIndex } } : {}),
  } as CatalogueTable;
}

/** The plan of an ADQL query as the node compiles it, and the partitions it reads. */
async function planOf(
  name: string,
  adql: string,
): Promise<{ plan: string; parts: Set<number>; sql: string }> {
  const compiled = compile(
    adql.replaceAll('{t}', `${SCHEMA}.${name}`),
    catalogueOf([await catalogueTable(name)]),
  );
  const sql = inlineParameters(compiled) as string;
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SET LOCAL enable_partitionwise_aggregate = on; SET LOCAL jit = off');
    const r = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (VERBOSE, COSTS OFF) ${sql}`);
    await c.query('ROLLBACK');
    const plan = r.rows.map((x) => x['QUERY PLAN']).join('\n');
    const parts = new Set([...plan.matchAll(/_v\d+_p(\d+)\b/g)].map((m) => Number(m[1])));
    return { plan, parts, sql };
  } finally {
    c.release();
  }
}

/** The partitions whose bounds meet the order-29 ranges of a compiled cone. */
async function partitionsMeeting(name: string, sql: string): Promise<Set<number>> {
  const ranges: [bigint, bigint][] = [];
  for (const m of sql.matchAll(/>= (\d+) AND [\w."]*healpix"? < (\d+)/g))
    ranges.push([BigInt(m[1]), BigInt(m[2])]);
  for (const m of sql.matchAll(/healpix"? = (\d+)/g)) ranges.push([BigInt(m[1]), BigInt(m[1]) + 1n]);
  const layout = await readLayout(pool, `${SCHEMA}.${name}`);
  const rows = await pool.query<{ part: number; lo: string | null; hi: string | null }>(
    'SELECT part, lo::text, hi::text FROM vonode.table_partitions WHERE table_name = $1 AND version = $2',
    [`${SCHEMA}.${name}`, layout[0].version],
  );
  const out = new Set<number>();
  for (const p of rows.rows) {
    const lo = p.lo === null ? -1n : BigInt(p.lo);
    const hi = p.hi === null ? 1n << 62n : BigInt(p.hi);
    if (ranges.some(([a, b]) => a < hi && b > lo)) out.add(p.part);
  }
  return out;
}

const CONE =
  "SELECT source_id, ra, dec, mag FROM {t} WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 150.3, 2.2, 0.4)) ORDER BY source_id";

const QUERIES: Record<string, string> = {
  'cone in the dense field': CONE,
  'cone across ra 0':
    "SELECT source_id, ra, dec FROM {t} WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 0.5, -10, 8)) ORDER BY source_id",
  'cone at the pole':
    "SELECT COUNT(*) AS n FROM {t} WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 30, 89, 5))",
  'polygon (ADQL-30)':
    "SELECT source_id, mag FROM {t} WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), POLYGON('ICRS', 140, -5, 165, -5, 165, 12, 140, 12)) ORDER BY source_id",
  'whole-table aggregate':
    'SELECT COUNT(*) AS n, ROUND(AVG(mag), 6) AS m, MIN(dec) AS lo, MAX(dec) AS hi, SUM(source_id) AS s FROM {t}',
  'grouped aggregate': 'SELECT cls, COUNT(*) AS n, MAX(mag) AS mx FROM {t} GROUP BY cls ORDER BY cls',
  'TOP with ORDER BY (ADQL-14)': 'SELECT TOP 25 source_id, mag FROM {t} ORDER BY mag DESC, source_id',
  join: "SELECT a.cls, COUNT(*) AS n FROM {t} AS a JOIN {t} AS b ON a.source_id = b.source_id + 5 WHERE 1 = CONTAINS(POINT('ICRS', a.ra, a.dec), CIRCLE('ICRS', 150, 2, 1.5)) AND 1 = CONTAINS(POINT('ICRS', b.ra, b.dec), CIRCLE('ICRS', 150, 2, 1.5)) GROUP BY a.cls ORDER BY a.cls",
};

const XMATCH =
  "SELECT u.uid, c.source_id FROM TAP_UPLOAD.u AS u JOIN {t} AS c ON 1 = CONTAINS(POINT('ICRS', c.ra, c.dec), CIRCLE('ICRS', u.ra, u.dec, 0.002)) ORDER BY u.uid, c.source_id";

describe('the same answers from every layout', () => {
  for (const [what, adql] of Object.entries(QUERIES)) {
    it(
      what,
      async () => {
        const reference = await tap(adql.replaceAll('{t}', `${SCHEMA}.plain`));
        expect(reference.status).toBe(200);
        expect(reference.body.trim().split('\n').length).toBeGreaterThan(1);
        for (const t of COMPARED.slice(1)) {
          const r = await tap(adql.replaceAll('{t}', `${SCHEMA}.${t}`));
          expect({ t, status: r.status }).toEqual({ t, status: 200 });
          expect(r.body.replaceAll(`${SCHEMA}.${t}`, 'T')).toBe(
            reference.body.replaceAll(`${SCHEMA}.plain`, 'T'),
          );
        }
      },
      scaled(300_000),
    );
  }

  for (const n of [1000, 10_000]) {
    it(
      `an upload crossmatch of ${n} rows (TAP-24, ADQL-39)`,
      async () => {
        const upload = uploadVOTable(n, ROWS);
        const reference = await tap(XMATCH.replaceAll('{t}', `${SCHEMA}.plain`), upload);
        expect(reference.status).toBe(200);
        // Every upload row sits next to a catalogue row; the proprietary tenth is not seen.
        expect(reference.body.trim().split('\n').length - 1).toBeGreaterThan(n * 0.8);
        for (const t of COMPARED.slice(1)) {
          const r = await tap(XMATCH.replaceAll('{t}', `${SCHEMA}.${t}`), upload);
          expect({ t, status: r.status }).toEqual({ t, status: 200 });
          expect(r.body).toBe(reference.body);
        }
      },
      scaled(600_000),
    );
  }

  it('row-level security holds on every layout: anonymous callers never see the proprietary rows', async () => {
    const all = await pool.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM vonode.published_tables WHERE table_name = $1`,
      [`${SCHEMA}.plain`],
    );
    expect(all.rows[0].n).toBe('1');
    for (const t of COMPARED) {
      const r = await tap(`SELECT COUNT(*) AS n FROM ${SCHEMA}.${t}`);
      expect(r.status).toBe(200);
      // One row in ten belongs to the owner group with no release date.
      expect(Number(r.body.trim().split('\n')[1])).toBe(ROWS - Math.floor((ROWS + 3) / 10));
    }
  });
});

describe('partitions on one server (issue 22 item 1)', () => {
  it('are balanced by row count at HEALPix order 7', async () => {
    const parts = await readLayout(pool, `${SCHEMA}.part`);
    expect(parts.length).toBe(PARTS);
    expect(parts.every((p) => p.shard === undefined && p.order === 7)).toBe(true);
    expect(parts.reduce((s, p) => s + p.rows, 0)).toBe(ROWS);
    // Whole cells only: each partition is within a few dense cells of the mean.
    const mean = ROWS / PARTS;
    for (const p of parts) expect(Math.abs(p.rows - mean)).toBeLessThan(mean * 0.25);
  });

  it('a cone reads only the partitions its HEALPix ranges meet (EXPLAIN)', async () => {
    const { parts, sql } = await planOf('part', CONE);
    const expected = await partitionsMeeting('part', sql);
    expect(expected.size).toBeGreaterThan(0);
    expect(parts.size).toBeLessThan(PARTS);
    expect(parts).toEqual(expected);
  });

  it('a whole-table scan runs in parallel over the partitions', async () => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      // The sizes of a CI table are far below PostgreSQL's thresholds for a parallel plan.
      await c.query(
        'SET LOCAL parallel_setup_cost = 0; SET LOCAL parallel_tuple_cost = 0; SET LOCAL min_parallel_table_scan_size = 0',
      );
      const t = await catalogueTable('part');
      const r = await c.query(`EXPLAIN (COSTS OFF) SELECT count(*) FROM "${t.sql.schema}"."${t.sql.table}"`);
      await c.query('ROLLBACK');
      const plan = r.rows.map((x) => x['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/Gather/);
      expect(plan).toMatch(/Parallel (Append|Seq Scan)/);
    } finally {
      c.release();
    }
  });
});

describe('partitions on shard servers (issue 22 item 2)', () => {
  it('each shard holds a contiguous run of partitions, with its margin rows flagged', async () => {
    const parts = await readLayout(pool, `${SCHEMA}.s4`);
    expect(parts.map((p) => p.shard)).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
    expect(parts.reduce((s, p) => s + p.rows, 0)).toBe(ROWS);
    expect(parts.reduce((s, p) => s + p.marginRows, 0)).toBeGreaterThan(0);
    // The rows on each shard are its partitions' own plus their margins, flagged.
    for (let s = 0; s < 4; s++) {
      const c = new pg.Client({ connectionString: servers.urls[s] });
      await c.connect();
      try {
        const mine = parts.filter((p) => p.shard === s + 1);
        let own = 0;
        let margin = 0;
        for (const p of mine) {
          const name = `s4_v1_p${p.part}`;
          const r = await c.query<{ own: string; margin: string }>(
            `SELECT count(*) FILTER (WHERE NOT vonode_margin)::text AS own, count(*) FILTER (WHERE vonode_margin)::text AS margin FROM "${SCHEMA}"."${name}"`,
          );
          own += Number(r.rows[0].own);
          margin += Number(r.rows[0].margin);
        }
        expect(own).toBe(mine.reduce((x, p) => x + p.rows, 0));
        expect(margin).toBe(mine.reduce((x, p) => x + p.marginRows, 0));
      } finally {
        await c.end();
      }
    }
  });

  it('a cone queries only the shards holding the partitions it meets (EXPLAIN)', async () => {
    const { parts, plan, sql } = await planOf('s4', CONE);
    const expected = await partitionsMeeting('s4', sql);
    expect(expected.size).toBeGreaterThan(0);
    expect(parts).toEqual(expected);
    expect(parts.size).toBeLessThan(PARTS);
    expect(plan).toMatch(/Foreign Scan/);
    const layoutRows = await readLayout(pool, `${SCHEMA}.s4`);
    const shardsQueried = new Set([...parts].map((k) => layoutRows[k].shard));
    expect(shardsQueried.size).toBeLessThan(4);
  });

  it('a whole-table aggregate is aggregated per partition, each shard sending only the columns it needs', async () => {
    const { plan } = await planOf('s4', 'SELECT COUNT(*) AS n, SUM(mag) AS s FROM {t}');
    // Partitionwise aggregation: one partial aggregate per partition, finalised once. PostgreSQL
    // 17's postgres_fdw cannot ship a partial aggregate (docs/scaling.md), so each shard sends
    // the one column the aggregate reads, not the rows.
    expect(plan).toMatch(/Finalize Aggregate/);
    expect(plan.match(/Partial Aggregate/g)?.length).toBe(PARTS);
    const remote = [...plan.matchAll(/Remote SQL: (.*)/g)].map((m) => m[1]);
    expect(remote.length).toBe(PARTS);
    for (const sql of remote) expect(sql).toMatch(/^SELECT mag FROM /);
  });
});

describe('a crossmatch below the margin moves no rows between servers (issue 22 acceptance)', () => {
  // ADQL-39: the catalogue crossmatched with itself at 360 arcsec at CI size (the layout's
  // margin is 600); bigger catalogues at a radius shrunk with their density, so that each row
  // keeps about as many neighbours (at 10,000,000 rows 16 arcsec: 10 million pairs, not 80).
  const RADIUS = 0.1 * Math.min(1, Math.sqrt(20_000 / ROWS));
  // The pairs are compared inside PostgreSQL, by count and a sum of hashes of the pairs: at
  // the acceptance size they would not fit the test's memory.
  const summary = (sql: string, columns: string) =>
    `SELECT count(*)::text AS n, coalesce(sum(hashtextextended(x.a::text || ' ' || x.b::text, 0)::numeric), 0)::text AS h
       FROM (${sql}) AS x(${columns})`;
  const ADQL = `SELECT a.source_id AS a_id, b.source_id AS b_id FROM {t} AS a JOIN {t} AS b ON 1 = CONTAINS(POINT('ICRS', b.ra, b.dec), CIRCLE('ICRS', a.ra, a.dec, ${RADIUS}))`;

  it('the sky functions are the extension vonode_adql on the coordinator and every shard, named on the foreign servers', async () => {
    const here = await pool.query("SELECT 1 FROM pg_extension WHERE extname = 'vonode_adql'");
    expect(here.rowCount).toBe(1);
    const member = await pool.query(
      `SELECT 1 FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
        WHERE e.extname = 'vonode_adql' AND d.deptype = 'e'
          AND d.objid = 'adql.xmatch_within(float8, float8, float8, float8, float8)'::regprocedure`,
    );
    expect(member.rowCount).toBe(1);
    const servers4 = await pool.query<{ opts: string[] }>(
      `SELECT srvoptions AS opts FROM pg_foreign_server WHERE srvname LIKE 'vonode_s%'`,
    );
    expect(servers4.rows.length).toBeGreaterThan(0);
    for (const s of servers4.rows) expect(s.opts).toContain('extensions=vonode_adql');
    for (const url of servers.urls) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        const r = await c.query("SELECT 1 FROM pg_extension WHERE extname = 'vonode_adql'");
        expect(r.rowCount).toBe(1);
      } finally {
        await c.end();
      }
    }
  });

  for (const t of ['s1', 's2', 's4'] as const) {
    it(
      `on ${t}: one join per partition runs on its shard and only the matched pairs travel`,
      async () => {
        const referenceSql = inlineParameters(
          compile(ADQL.replaceAll('{t}', `${SCHEMA}.plain`), catalogueOf([await catalogueTable('plain')])),
        ) as string;
        const reference = (await pool.query<{ n: string; h: string }>(summary(referenceSql, 'a, b'))).rows[0];
        expect(Number(reference.n)).toBeGreaterThan(ROWS);
        const published = await pool.query<{ sql_schema: string; sql_table: string }>(
          'SELECT sql_schema, sql_table FROM vonode.published_tables WHERE table_name = $1',
          [`${SCHEMA}.${t}`],
        );
        const sql = selfCrossmatchSql({
          sqlSchema: published.rows[0].sql_schema,
          versionTable: published.rows[0].sql_table,
          healpix: 'healpix',
          ra: 'ra',
          dec: 'dec',
          columnsA: ['source_id', 'healpix'],
          columnsB: ['source_id', 'healpix'],
          radiusDeg: RADIUS,
          marginArcsec: MARGIN_ARCSEC,
        });
        const c = await pool.connect();
        try {
          await c.query(`BEGIN; SET LOCAL jit = off; ${SELF_CROSSMATCH_SETTINGS}`);
          const verbose = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (VERBOSE, COSTS OFF) ${sql}`);
          const plan = verbose.rows.map((x) => x['QUERY PLAN']).join('\n');
          // Each partition's join is one foreign scan whose remote SQL is the join itself,
          // the distance test included (a member of vonode_adql, so postgres_fdw sends it).
          const remote = [...plan.matchAll(/Remote SQL: (.*)/g)].map((m) => m[1]);
          expect(remote.length).toBe(PARTS);
          for (const r of remote) {
            expect(r).toMatch(/_xo r\d+ INNER JOIN .*_xi r\d+ ON/);
            expect(r).toMatch(/adql\.xmatch_within\(/);
          }
          expect(plan).not.toMatch(/Hash Join|Nested Loop|Merge Join/);
          const analysed = await c.query<{ 'QUERY PLAN': unknown }>(
            `EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) ${sql}`,
          );
          // The partitions' lower bounds: a row's partition is how many of them are at or below it.
          const bounds = (
            await c.query<{ lo: string }>(
              'SELECT lo::text FROM vonode.table_partitions WHERE table_name = $1 AND lo IS NOT NULL AND version = (SELECT version FROM vonode.published_tables WHERE table_name = $1)',
              [`${SCHEMA}.${t}`],
            )
          ).rows.map((r) => r.lo);
          const part = (h: string) => `(SELECT count(*) FROM unnest($1::bigint[]) AS lo WHERE lo <= x.${h})`;
          const got = (
            await c.query<{ n: string; h: string; across: string }>(
              summary(sql, 'a, ha, b, hb').replace(
                ' AS h',
                ` AS h, (count(*) FILTER (WHERE ${part('ha')} <> ${part('hb')}))::text AS across`,
              ),
              [bounds],
            )
          ).rows[0];
          await c.query('ROLLBACK');
          // The same pairs as on the plain table, and the rows moved are exactly those pairs.
          expect({ n: got.n, h: got.h }).toEqual(reference);
          const moved = rowsFromShards(analysed.rows[0]['QUERY PLAN']);
          expect(moved).toEqual({ rows: Number(got.n), scans: PARTS, pushedJoins: PARTS });
          // Some pairs cross a partition's edge: their second row came from the margin.
          expect(Number(got.across)).toBeGreaterThan(0);
        } finally {
          await c.query('ROLLBACK').catch(() => {});
          c.release();
        }
      },
      scaled(300_000),
    );
  }

  it('a radius beyond the margin is refused rather than answered short', () => {
    expect(() =>
      selfCrossmatchSql({
        sqlSchema: 's',
        versionTable: 't_v1',
        healpix: 'healpix',
        ra: 'ra',
        dec: 'dec',
        columnsA: ['source_id'],
        columnsB: ['source_id'],
        radiusDeg: (2 * MARGIN_ARCSEC) / 3600,
        marginArcsec: MARGIN_ARCSEC,
      }),
    ).toThrow(`beyond the layout's margin of ${MARGIN_ARCSEC} arcsec`);
  });
});

describe('vonode publish and vonode shards', () => {
  it('publish places a described table on the shards of VONODE_SHARDS; shards shows its layout and balance', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vonode-shards-cli-'));
    try {
      const desc = join(dir, 'cli.yaml');
      writeFileSync(
        desc,
        `validation: lax\nschema: {name: ${SCHEMA}, description: sharding tests}\ntables:\n  - name: cli\n    description: published by the command\n    primaryKey: source_id\n    position: {ra: ra, dec: dec}\n    partitioning: {minRows: 100, partitions: 4, marginArcsec: 30}\n    columns:\n      - {name: source_id, datatype: long, description: id, nullable: false}\n      - {name: ra, datatype: double, unit: deg, description: ra}\n      - {name: dec, datatype: double, unit: deg, description: dec}\n      - {name: mag, datatype: double, unit: mag, description: mag}\n`,
      );
      const data = join(dir, 'cli.csv');
      const lines = ['source_id,ra,dec,mag'];
      for (let i = 1; i <= 3000; i++) {
        const r = rowOf(i);
        lines.push(`${r[0]},${r[1]},${r[2]},${r[3]}`);
      }
      writeFileSync(data, `${lines.join('\n')}\n`);
      const env = {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        DATABASE_URL: testDatabaseUrl(),
        VONODE_SHARDS: servers.urls.slice(0, 2).join(','),
      };
      const run = (...args: string[]) =>
        spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
      // Twice: the second version is built beside the first on the same shards and replaces it.
      for (let i = 0; i < 2; i++) {
        const published = run('publish', desc, data);
        expect(published.stderr).not.toMatch(/Error|at .*\.ts/);
        expect(published.status).toBe(0);
      }
      const served = await pool.query<{ version: number }>(
        'SELECT version FROM vonode.published_tables WHERE table_name = $1',
        [`${SCHEMA}.cli`],
      );
      expect(served.rows[0].version).toBe(2);
      // The node hears of the new version by NOTIFY: poll for it, with a deadline.
      const deadline = Date.now() + 30_000;
      let counted = await tap(`SELECT COUNT(*) AS n FROM ${SCHEMA}.cli`);
      while (counted.status !== 200 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        counted = await tap(`SELECT COUNT(*) AS n FROM ${SCHEMA}.cli`);
      }
      expect(counted.status).toBe(200);
      expect(counted.body.trim().split('\n')[1]).toBe('3000');
      const shown = run('shards', `${SCHEMA}.cli`);
      expect(shown.status).toBe(0);
      const rows = shown.stdout.split('\n').filter((l) => l.startsWith(`${SCHEMA}.cli `));
      expect(rows.length).toBe(4);
      expect(rows.filter((l) => / shard 1 /.test(l)).length).toBe(2);
      expect(rows.filter((l) => / shard 2 /.test(l)).length).toBe(2);
      // No password in the output.
      expect(shown.stdout).not.toMatch(/:vonode@/);
      expect(shown.stdout).toMatch(
        new RegExp(`${SCHEMA}.cli: 3000 rows in 4 partitions; balance \\d\\.\\d\\d`),
      );
      expect(shown.stdout).toMatch(/shard 1: \d+ rows \([\d.]+%\), \d+ margin rows, 2 partitions/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('a shard server killed (issue 22 acceptance)', () => {
  it('queries needing it fail naming the missing sky; the others still answer', async () => {
    const parts = await readLayout(pool, `${SCHEMA}.s4`);
    const centreOf = async (part: number) => {
      const p = await pool.query<{ lo: string | null; hi: string | null }>(
        'SELECT lo::text, hi::text FROM vonode.table_partitions WHERE table_name = $1 AND version = $2 AND part = $3',
        [`${SCHEMA}.s4`, parts[0].version, part],
      );
      const lo = BigInt(p.rows[0].lo ?? '0');
      const hi = BigInt(p.rows[0].hi ?? String(12n << 58n));
      const t = await catalogueTable('plain');
      const mid = (lo + hi) / 2n;
      const r = await pool.query<{ ra: number; dec: number }>(
        `SELECT ra, dec FROM "${t.sql.schema}"."${t.sql.table}" WHERE healpix >= $1 AND healpix < $2 ORDER BY abs(healpix - $3::bigint) LIMIT 1`,
        [lo.toString(), hi.toString(), mid.toString()],
      );
      return r.rows[0];
    };
    const cone = (p: { ra: number; dec: number }, t: string) =>
      `SELECT source_id FROM ${SCHEMA}.${t} WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', ${p.ra}, ${p.dec}, 0.01)) ORDER BY source_id`;
    const onFirst = await centreOf(0);
    const onLast = await centreOf(PARTS - 1);
    // Before: the first shard's cone reads no partition of shard 4.
    const { parts: read } = await planOf('s4', cone(onFirst, '{t}').replace(`${SCHEMA}.{t}`, '{t}'));
    expect([...read].every((k) => parts[k].shard === 1)).toBe(true);
    const expected = await tap(cone(onFirst, 'plain'));
    expect(expected.status).toBe(200);

    servers.kill(3);

    const dead = await tap(cone(onLast, 's4'));
    expect(dead.status).toBe(503);
    expect(dead.body).toMatch(/QUERY_STATUS/);
    expect(dead.body).toMatch(/HEALPix order 7 NESTED cells \d+ to \d+ \(shard 4\) is unavailable/);
    const all = await tap(`SELECT COUNT(*) AS n FROM ${SCHEMA}.s4`);
    expect(all.status).toBe(503);
    expect(all.body).toMatch(/shard 4\) is unavailable/);
    const alive = await tap(cone(onFirst, 's4'));
    expect(alive.status).toBe(200);
    expect(alive.body).toBe(expected.body.replaceAll(`${SCHEMA}.plain`, `${SCHEMA}.s4`));
    // Tables on the other layouts do not depend on shard 4 at all.
    const two = await tap(`SELECT COUNT(*) AS n FROM ${SCHEMA}.s2`);
    expect(two.status).toBe(200);
  }, 120_000);
});
