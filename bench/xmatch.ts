// An upload crossmatch against q3c (ADQL-39): N uploaded positions (default 10,000) joined at
// R arcsec (default 5) with a catalogue of M rows (default 1,000,000), through the SQL that
// adql/ compiles for the TAP query, beside q3c_join's SQL on the same rows in the same run.
//
//   npx tsx bench/xmatch.ts [uploads=10000] [rows=1000000] [radius-arcsec=5] [repeats=5]
//
// q3c is not in the embedded PostgreSQL, so the bench starts Debian's PostgreSQL 15
// (/usr/lib/postgresql/15/bin, override with PG_BIN) with its q3c extension (Debian package
// postgresql-15-q3c, scripts/install-debian-deps.sh) on loopback in a temporary folder,
// applies vonode's migrations there and loads the same rows into two tables: one with
// vonode's order-29 HEALPix column and B-tree (physically ordered by it, as ingest does),
// one with q3c's index (ordered by q3c_ang2ipix, as q3c recommends). The upload is a
// temporary table ANALYZEd as src/tap/upload.ts leaves it. The same ADQL compiled with the
// ranges of before sql/160 (the PL/pgSQL adql.xmatch_ranges per upload row) is timed too.
// All queries must return the same pairs; each is run `repeats` times and the medians are
// compared (the first run of each warms the caches and is not counted).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Catalogue, compile, PostgresDialect } from '../adql/index.js';
import { applyMigrations } from '../src/db/migrate.js';

const UPLOADS = Number(process.argv[2] ?? 10_000);
const ROWS = Number(process.argv[3] ?? 1_000_000);
const RADIUS_ARCSEC = Number(process.argv[4] ?? 5);
const REPEATS = Number(process.argv[5] ?? 5);
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** The ranges as vonode computed them before sql/160: adql.xmatch_ranges, PL/pgSQL, per row. */
class PlpgsqlRangesDialect extends PostgresDialect {
  override xmatchRanges(lon: string, lat: string, r: string): string {
    return `adql.xmatch_ranges(${lon}, ${lat}, ${r})`;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** initdb and pg_ctl as the cluster's owner: `postgres` when run as root (initdb refuses root). */
function asOwner(cmd: string, args: string[]): void {
  const root = process.getuid?.() === 0;
  execFileSync(root ? 'runuser' : cmd, root ? ['-u', 'postgres', '--', cmd, ...args] : args, {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

if (!existsSync(join(PG_BIN, 'initdb'))) {
  console.error(
    `no PostgreSQL at ${PG_BIN}: install postgresql-15 and postgresql-15-q3c (scripts/install-debian-deps.sh)`,
  );
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'vonode-bench-xmatch-'));
chmodSync(dir, 0o755);
const data = join(dir, 'pg');
if (process.getuid?.() === 0) {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
  chownSync(dir, uid, gid);
}
const port = await freePort();
asOwner(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'vonode', '--auth=trust', '--encoding=UTF8', '--no-sync']);
asOwner(join(PG_BIN, 'pg_ctl'), [
  '-D',
  data,
  '-l',
  join(dir, 'log'),
  '-w',
  '-o',
  `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c shared_buffers=256MB -c fsync=off -c max_wal_size=2GB`,
  'start',
]);
const stopCluster = () => {
  try {
    asOwner(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
process.on('SIGINT', () => {
  stopCluster();
  process.exit(130);
});

const url = `postgres://vonode@127.0.0.1:${port}/postgres`;
const pool = new pg.Pool({ connectionString: url, max: 1 });
try {
  await applyMigrations(pool);
  const client = await pool.connect();
  try {
    const t0 = performance.now();
    await client.query('CREATE EXTENSION q3c SCHEMA public');
    const version = (await client.query('SHOW server_version')).rows[0].server_version;
    // The same rows in both tables: uniform on the sphere, fixed seed.
    await client.query('CREATE SCHEMA bench');
    await client.query('SET search_path = bench, public');
    await client.query('SELECT setseed(0.42)');
    await client.query(`CREATE TABLE rows_src AS
      SELECT i AS id, 360 * random() AS ra, degrees(asin(2 * random() - 1)) AS dec
      FROM generate_series(1, ${ROWS}) AS i`);
    await client.query(`CREATE TABLE cat_hpx AS
      SELECT id, ra, dec, sky.healpix_nest(29, ra, dec) AS hpx FROM rows_src ORDER BY 4`);
    await client.query('CREATE INDEX cat_hpx_hpx ON cat_hpx (hpx)');
    await client.query(
      'CREATE TABLE cat_q3c AS SELECT id, ra, dec FROM rows_src ORDER BY q3c_ang2ipix(ra, dec)',
    );
    await client.query('CREATE INDEX cat_q3c_ipix ON cat_q3c (q3c_ang2ipix(ra, dec))');
    await client.query('VACUUM ANALYZE cat_hpx');
    await client.query('VACUUM ANALYZE cat_q3c');
    // Uploads: half within 2 arcsec of a catalogue row, half anywhere (as loaded by upload.ts:
    // a temporary table, then ANALYZE).
    await client.query('CREATE TEMPORARY TABLE upload (tag bigint, ra float8, dec float8)');
    await client.query(`INSERT INTO upload
      SELECT id, ra + (2.0 / 3600) * (2 * random() - 1) * 0.7, greatest(-90, least(90, dec + (2.0 / 3600) * (2 * random() - 1) * 0.7))
      FROM rows_src WHERE id <= ${Math.floor(UPLOADS / 2)}
      UNION ALL SELECT ${ROWS} + i, 360 * random(), degrees(asin(2 * random() - 1))
      FROM generate_series(1, ${UPLOADS - Math.floor(UPLOADS / 2)}) AS i`);
    await client.query('ANALYZE pg_temp.upload');
    console.log(
      `PostgreSQL ${version}; loaded ${ROWS} rows and ${UPLOADS} uploads in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );

    const catalogue: Catalogue = {
      tables: () => [
        {
          schema: 'cat',
          name: 'sources',
          sql: { schema: 'bench', table: 'cat_hpx' },
          spatialIndex: { column: 'hpx', lon: 'ra', lat: 'dec' },
          columns: [
            { name: 'id', datatype: 'long' },
            { name: 'ra', datatype: 'double', unit: 'deg' },
            { name: 'dec', datatype: 'double', unit: 'deg' },
            { name: 'hpx', datatype: 'long' },
          ],
        },
        {
          schema: 'TAP_UPLOAD',
          name: 'mine',
          sql: { schema: 'pg_temp', table: 'upload' },
          columns: [
            { name: 'tag', datatype: 'long' },
            { name: 'ra', datatype: 'double', unit: 'deg' },
            { name: 'dec', datatype: 'double', unit: 'deg' },
          ],
        },
      ],
    };
    const r = `${RADIUS_ARCSEC}/3600.0`;
    const adql = `SELECT m.tag, s.id FROM TAP_UPLOAD.mine AS m JOIN cat.sources AS s
       ON 1 = CONTAINS(POINT('ICRS', s.ra, s.dec), CIRCLE('ICRS', m.ra, m.dec, ${r}))`;
    const vonode = compile(adql, catalogue);
    const before = compile(adql, catalogue, {}, new PlpgsqlRangesDialect());
    const q3c = {
      sql: `SELECT m.tag, s.id FROM pg_temp.upload AS m JOIN bench.cat_q3c AS s
            ON q3c_join(m.ra, m.dec, s.ra, s.dec, ${r})`,
      params: [] as unknown[],
    };
    const run = async (q: { sql: string; params: unknown[] }) => {
      const t = performance.now();
      const res = await client.query({ text: q.sql, values: q.params, rowMode: 'array' });
      return { ms: performance.now() - t, pairs: res.rows as [string, string][] };
    };
    const key = (rows: [string, string][]) =>
      rows
        .map(([a, b]) => `${a} ${b}`)
        .sort()
        .join('\n');
    const a0 = await run(vonode);
    const b0 = await run(q3c);
    const c0 = await run(before);
    if (key(a0.pairs) !== key(b0.pairs) || key(c0.pairs) !== key(b0.pairs))
      throw new Error(
        `different pairs: vonode ${a0.pairs.length}, q3c ${b0.pairs.length}, PL/pgSQL ranges ${c0.pairs.length}`,
      );
    console.log(
      `${UPLOADS} uploads x ${ROWS} rows at ${RADIUS_ARCSEC} arcsec: ${a0.pairs.length} pairs (same in all three)`,
    );
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    // jit = off first: the embedded PostgreSQL has no JIT provider, and JIT's compile time is
    // a per-query constant (all plans' estimated costs are far above jit_above_cost). Then
    // as Debian's server runs by default, with JIT (when LLVM is there).
    for (const jit of ['off', 'on']) {
      await client.query(`SET jit = ${jit}`);
      const times = { vonode: [] as number[], q3c: [] as number[], before: [] as number[] };
      for (let i = 0; i < REPEATS; i++) {
        times.vonode.push((await run(vonode)).ms);
        times.q3c.push((await run(q3c)).ms);
        times.before.push((await run(before)).ms);
      }
      const v = median(times.vonode);
      const q = median(times.q3c);
      const b = median(times.before);
      console.log(`jit = ${jit} (medians of ${REPEATS}):`);
      console.log(`  q3c_join SQL                          ${q.toFixed(0).padStart(6)} ms`);
      console.log(
        `  vonode, inlined adql.xmatch_cover     ${v.toFixed(0).padStart(6)} ms  ratio to q3c ${(v / q).toFixed(2)}`,
      );
      console.log(
        `  vonode before, PL/pgSQL xmatch_ranges ${b.toFixed(0).padStart(6)} ms  ratio to q3c ${(b / q).toFixed(2)}`,
      );
    }
    await client.query('SET jit = off');
    if (process.env.BENCH_EXPLAIN) {
      const plan = await client.query({ text: `EXPLAIN ANALYZE ${vonode.sql}`, values: vonode.params });
      for (const row of plan.rows) console.log(`  ${row['QUERY PLAN']}`);
      const qplan = await client.query(`EXPLAIN ANALYZE ${q3c.sql}`);
      for (const row of qplan.rows) console.log(`  ${row['QUERY PLAN']}`);
    }
  } finally {
    client.release();
  }
} finally {
  await pool.end();
  stopCluster();
}
