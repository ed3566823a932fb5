// A catalogue on 1, 2 and 4 shard servers (issue 22, docs/scaling.md "What one machine can
// and cannot show") beside the same rows in one plain table, in one run: a whole-table
// aggregate and an upload crossmatch of U rows (default 10,000) at 2 arcsec, each through the
// SQL adql/ compiles for the TAP query, run as the reader role (row-level security on).
//
//   npx tsx bench/shards.ts [rows=200000] [uploads=10000] [repeats=3]
//
// Every server is an embedded PostgreSQL on loopback started here in a temporary folder. On
// one machine the shards share its cores, so the wall-clock times cannot show a speed-up;
// the bench also reports, per query and layout, the rows and bytes each shard sent to the
// coordinator (EXPLAIN ANALYZE of the foreign scans: actual rows x loops x row width), the
// CPU time of every backend that worked for the query (/proc/<pid>/stat of the coordinator's
// backend and of the shards' postgres_fdw backends) and the coordinator's share of it, and
// projects the time on N machines as coordinator CPU + the busiest shard's CPU (the shards'
// work runs side by side, one machine each; the network time is left out, see the docs).
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type CatalogueTable, compile, inlineParameters } from '../adql/index.js';
import { ensureBuiltinCatalogue } from '../src/catalogue/index.js';
import { ensureDatabase, startEmbeddedPostgres } from '../src/db/embedded.js';
import { applyMigrations } from '../src/db/migrate.js';
import { publishedTableOf } from '../src/publish/index.js';
import {
  DEFAULT_LAYOUT,
  readLayout,
  rowsFromShards,
  SELF_CROSSMATCH_SETTINGS,
  selfCrossmatchSql,
} from '../src/shards/index.js';
import { catalogueOf } from '../src/tap/catalogue.js';
import { describeTable, positionOf, publishGenerated } from '../test/shards/catalogue.js';

const ROWS = Number(process.argv[2] ?? 200_000);
const UPLOADS = Number(process.argv[3] ?? 10_000);
const REPEATS = Number(process.argv[4] ?? 3);
const SCHEMA = 'bench_shards';
const LAYOUTS = [
  { name: 'plain', shards: 0 },
  { name: 's1', shards: 1 },
  { name: 's2', shards: 2 },
  { name: 's4', shards: 4 },
] as const;

const CLK_TCK = 100;
const base = mkdtempSync(join(tmpdir(), 'vonode-bench-shards-'));
chmodSync(base, 0o755);

function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

async function main(): Promise<void> {
  console.log(
    `bench/shards: ${ROWS} rows, ${UPLOADS}-row upload, ${REPEATS} runs each (median); the machine may be loaded by other work`,
  );
  const coordinator = await startEmbeddedPostgres({ dataDir: join(base, 'coordinator'), supervise: false });
  await ensureDatabase(coordinator.url);
  const shards = [];
  for (let i = 0; i < 4; i++) {
    const s = await startEmbeddedPostgres({ dataDir: join(base, `shard${i + 1}`), supervise: false });
    await ensureDatabase(s.url);
    shards.push(s);
  }
  const pool = new pg.Pool({ connectionString: coordinator.url, max: 4 });
  try {
    await applyMigrations(pool);
    await ensureBuiltinCatalogue(pool);
    for (const l of LAYOUTS) {
      const t = Date.now();
      await publishGenerated(pool, SCHEMA, l.name, ROWS, {
        ...DEFAULT_LAYOUT,
        minRows: l.shards === 0 ? 0 : 1,
        partitions: 8,
        shards: shards.slice(0, l.shards).map((s) => s.url),
      });
      console.log(`published ${l.name} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    await pool.query(`CREATE TABLE ${SCHEMA}.upload (uid bigint, ra float8, dec float8)`);
    const values: string[] = [];
    for (let k = 1; k <= UPLOADS; k++) {
      const [ra, dec] = positionOf(1 + ((k * 7919) % ROWS));
      values.push(`(${k}, ${ra + 0.0003}, ${dec - 0.0002})`);
    }
    await pool.query(`INSERT INTO ${SCHEMA}.upload VALUES ${values.join(',')}`);
    await pool.query(`ANALYZE ${SCHEMA}.upload`);
    await pool.query(
      `GRANT USAGE ON SCHEMA ${SCHEMA} TO vonode_reader; GRANT SELECT ON ${SCHEMA}.upload TO vonode_reader`,
    );

    const queries = {
      aggregate: 'SELECT COUNT(*) AS n, AVG(mag) AS m, MIN(dec) AS lo, MAX(dec) AS hi FROM {t}',
      crossmatch:
        "SELECT u.uid, c.source_id FROM TAP_UPLOAD.u AS u JOIN {t} AS c ON 1 = CONTAINS(POINT('ICRS', c.ra, c.dec), CIRCLE('ICRS', u.ra, u.dec, 0.00056))",
    };
    const results: Record<string, Record<string, { ms: number; projected: number }>> = {};
    for (const [what, adql] of Object.entries(queries)) {
      results[what] = {};
      console.log(`\n${what} (${what === 'crossmatch' ? `${UPLOADS} uploads, 2 arcsec` : 'whole table'})`);
      let answer: string | undefined;
      for (const l of LAYOUTS) {
        const sql = await compiled(pool, l.name, adql);
        const m = await measure(
          pool,
          sql,
          shards.slice(0, l.shards).map((s) => s.url),
          l.name,
        );
        const text = m.answer;
        if (answer === undefined) answer = text;
        else if (text !== answer) throw new Error(`${l.name} answered differently from plain`);
        results[what][l.name] = { ms: m.ms, projected: m.projected };
        const per = m.perShard
          .map(
            (s, i) =>
              `shard ${i + 1}: ${s.rows} rows, ${(s.bytes / 1e6).toFixed(2)} MB sent, ${s.cpu.toFixed(2)} s CPU`,
          )
          .join('; ');
        console.log(
          `  ${l.name.padEnd(5)} ${m.ms.toFixed(0).padStart(7)} ms  coordinator CPU ${m.coordinatorCpu.toFixed(2)} s (${(100 * m.coordinatorShare).toFixed(0)}% of all CPU)${per ? `; ${per}` : ''}`,
        );
      }
      const ref = results[what].s1;
      for (const l of LAYOUTS.slice(1))
        console.log(
          `  ${l.name}: ${(results[what].plain.ms / results[what][l.name].ms).toFixed(2)}x plain measured here; projected on ${l.shards} machine(s) ${(ref.projected / results[what][l.name].projected).toFixed(2)}x one shard`,
        );
    }
    await selfCrossmatch(pool);
  } finally {
    await pool.end();
    for (const s of shards) await s.stop().catch(() => {});
    await coordinator.stop().catch(() => {});
    rmSync(base, { recursive: true, force: true });
  }
}

/**
 * The catalogue crossmatched with itself at a radius below the margin: on the shards it runs
 * as one pushed-down join per partition (src/shards/crossmatch.ts); the rows that cross to
 * the coordinator, from the foreign scans of EXPLAIN ANALYZE, are the matched pairs only.
 * Run as the owner (the crossmatch sides are not in the catalogue, docs/scaling.md).
 */
async function selfCrossmatch(pool: pg.Pool): Promise<void> {
  const radius = DEFAULT_LAYOUT.marginArcsec / 2 / 3600;
  console.log(
    `\nself-crossmatch at ${(radius * 3600).toFixed(1)} arcsec (margin ${DEFAULT_LAYOUT.marginArcsec} arcsec)`,
  );
  const adql = `SELECT a.source_id AS a_source_id, b.source_id AS b_source_id FROM {t} AS a JOIN {t} AS b ON 1 = CONTAINS(POINT('ICRS', b.ra, b.dec), CIRCLE('ICRS', a.ra, a.dec, ${radius}))`;
  const sorted = (rows: unknown[][]) =>
    rows
      .map((r) => `${r[0]} ${r[1]}`)
      .sort()
      .join('\n');
  const c = await pool.connect();
  try {
    await c.query('SET jit = off');
    const t0 = process.hrtime.bigint();
    const reference = await c.query({ text: await compiled(pool, 'plain', adql), rowMode: 'array' });
    const plainMs = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(`  plain ${plainMs.toFixed(0).padStart(7)} ms  ${reference.rowCount} pairs`);
    for (const l of LAYOUTS.slice(1)) {
      const r = await c.query<{ sql_schema: string; sql_table: string }>(
        'SELECT sql_schema, sql_table FROM vonode.published_tables WHERE table_name = $1',
        [`${SCHEMA}.${l.name}`],
      );
      const sql = selfCrossmatchSql({
        sqlSchema: r.rows[0].sql_schema,
        versionTable: r.rows[0].sql_table,
        healpix: 'healpix',
        ra: 'ra',
        dec: 'dec',
        columnsA: ['source_id'],
        columnsB: ['source_id'],
        radiusDeg: radius,
        marginArcsec: DEFAULT_LAYOUT.marginArcsec,
      });
      await c.query(`BEGIN; ${SELF_CROSSMATCH_SETTINGS}`);
      const t = process.hrtime.bigint();
      const got = await c.query({ text: sql, rowMode: 'array' });
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      if (sorted(got.rows) !== sorted(reference.rows))
        throw new Error(`${l.name} matched differently from plain`);
      const plan = await c.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) ${sql}`);
      await c.query('COMMIT');
      const moved = rowsFromShards(plan.rows[0]['QUERY PLAN']);
      console.log(
        `  ${l.name.padEnd(5)} ${ms.toFixed(0).padStart(7)} ms  ${got.rowCount} pairs; rows moved from the shards ${moved.rows} (${moved.pushedJoins} of ${moved.scans} foreign scans are joins run on a shard); ${(plainMs / ms).toFixed(2)}x plain`,
      );
    }
  } finally {
    c.release();
  }
}

async function compiled(pool: pg.Pool, name: string, adql: string): Promise<string> {
  const r = await pool.query<{ sql_schema: string; sql_table: string }>(
    'SELECT sql_schema, sql_table FROM vonode.published_tables WHERE table_name = $1',
    [`${SCHEMA}.${name}`],
  );
  const t = publishedTableOf(describeTable(SCHEMA, name), {
    sqlSchema: r.rows[0].sql_schema,
    sqlTable: r.rows[0].sql_table,
  });
  const table = { ...t, sql: { ...t.sql } } as unknown as CatalogueTable;
  const upload = {
    schema: 'TAP_UPLOAD',
    name: 'u',
    sql: { schema: SCHEMA, table: 'upload' },
    description: '',
    columns: [
      { name: 'uid', datatype: 'long', description: '' },
      { name: 'ra', datatype: 'double', unit: 'deg', description: '' },
      { name: 'dec', datatype: 'double', unit: 'deg', description: '' },
    ],
  } as unknown as CatalogueTable;
  const c = compile(adql.replaceAll('{t}', `${SCHEMA}.${name}`), catalogueOf([table], [upload]));
  return inlineParameters(c) as string;
}

interface Measured {
  ms: number;
  answer: string;
  coordinatorCpu: number;
  coordinatorShare: number;
  perShard: { rows: number; bytes: number; cpu: number }[];
  projected: number;
}

/** Median time of REPEATS runs, CPU of every backend involved, rows and bytes per shard. */
async function measure(
  pool: pg.Pool,
  sql: string,
  urls: readonly string[],
  table: string,
): Promise<Measured> {
  const client = await pool.connect();
  const admins = await Promise.all(
    urls.map(async (u) => {
      const c = new pg.Client({ connectionString: u });
      await c.connect();
      return c;
    }),
  );
  try {
    const begin =
      "BEGIN READ ONLY; SET LOCAL ROLE vonode_reader; SELECT set_config('vonode.user', '', true), set_config('vonode.groups', '{}', true); " +
      'SET LOCAL jit = off; SET LOCAL enable_partitionwise_aggregate = on; SET LOCAL enable_partitionwise_join = on';
    const run = async (q: string) => {
      await client.query(begin);
      try {
        return await client.query({ text: q, rowMode: 'array' });
      } finally {
        await client.query('ROLLBACK');
      }
    };
    const first = await run(sql); // warms caches and opens the postgres_fdw connections
    const answer = JSON.stringify(
      first.rows
        .map((r: unknown[]) => r.map((v) => (typeof v === 'number' ? Number(v.toPrecision(12)) : v)))
        .sort(),
    );
    const pid = (await client.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0].p;
    const fdwPids = await Promise.all(
      admins.map(async (a) =>
        (
          await a.query<{ pid: number }>(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'postgres_fdw' AND backend_type = 'client backend'",
          )
        ).rows.map((r) => r.pid),
      ),
    );
    const times: number[] = [];
    const cpu0 = cpuSeconds(pid);
    const shardCpu0 = fdwPids.map((ps) => ps.reduce((s, p) => s + cpuSeconds(p), 0));
    for (let i = 0; i < REPEATS; i++) {
      const t = process.hrtime.bigint();
      await run(sql);
      times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const coordinatorCpu = (cpuSeconds(pid) - cpu0) / REPEATS;
    const shardCpu = fdwPids.map(
      (ps, i) => (ps.reduce((s, p) => s + cpuSeconds(p), 0) - shardCpu0[i]) / REPEATS,
    );
    // What each shard sent: the foreign scans' actual rows (x loops) and row width.
    await client.query(begin);
    const plan = await client.query<{ 'QUERY PLAN': unknown }>(
      `EXPLAIN (ANALYZE, VERBOSE, FORMAT JSON) ${sql}`,
    );
    await client.query('ROLLBACK');
    const layout = urls.length > 0 ? await readLayout(pool, `${SCHEMA}.${table}`) : [];
    const perShard = urls.map((_, i) => ({ rows: 0, bytes: 0, cpu: shardCpu[i] }));
    const walk = (n: Record<string, unknown>) => {
      if (typeof n['Relation Name'] === 'string' && String(n['Node Type']).includes('Foreign Scan')) {
        const m = /_p(\d+)$/.exec(n['Relation Name'] as string);
        const shard = m ? layout[Number(m[1])]?.shard : undefined;
        if (shard) {
          const rows = Number(n['Actual Rows']) * Number(n['Actual Loops']);
          perShard[shard - 1].rows += rows;
          perShard[shard - 1].bytes += rows * Number(n['Plan Width']);
        }
      }
      for (const c of (n.Plans as Record<string, unknown>[] | undefined) ?? []) walk(c);
    };
    walk((plan.rows[0]['QUERY PLAN'] as { Plan: Record<string, unknown> }[])[0].Plan);
    const all = coordinatorCpu + shardCpu.reduce((s, x) => s + x, 0);
    times.sort((a, b) => a - b);
    return {
      ms: times[Math.floor(times.length / 2)],
      answer,
      coordinatorCpu,
      coordinatorShare: all > 0 ? coordinatorCpu / all : 1,
      perShard,
      projected: coordinatorCpu + Math.max(0, ...shardCpu),
    };
  } finally {
    client.release();
    for (const a of admins) await a.end().catch(() => {});
  }
}

await main();
