// bench/tap-cone: 0.1-degree cone searches at random positions through /tap/sync on the
// demo catalogue, sequential, 4 and 16 concurrent, beside the same compiled SQL run
// directly on PostgreSQL in the same run (the ratio is the service's overhead). Two
// references: "bare", the SQL alone through a pg client whose login already carries the
// reader role (one round trip: the floor), and "txn", the same wrapped in the
// transaction a careful client would use (BEGIN, SET ROLE, query, COMMIT). The HTTP
// requests come from a client process of their own (bench/http-load.mjs), as real clients'
// do, so the node's event loop does only the server's work; the SQL references run here.
//
//   npx tsx bench/tap-cone.ts [queries=400] [dataDir]
//
// With no dataDir a temporary one is used and the demo data is generated first (about a
// minute); pass the folder of an earlier run to reuse it. DATABASE_URL is honoured.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { compile } from '../adql/index.js';
import { loadPublishedSchemas } from '../src/catalogue/index.js';
import { parseConfig } from '../src/config/index.js';
import { SeededRandom } from '../src/ingest/random.js';
import { startNode } from '../src/node.js';
import { catalogueOf, publishedCatalogue } from '../src/tap/catalogue.js';

const queries = Number(process.argv[2] ?? 400);
const dataDir = process.argv[3] ?? mkdtempSync(join(tmpdir(), 'vonode-bench-'));
chmodSync(dataDir, 0o755);
const config = parseConfig({
  // 16 clients on one address: the per-client cap (8 by default) would answer half of them 503.
  VONODE_SYNC_MAX_PER_CLIENT: '32',
  ...process.env,
  PORT: '0',
  VONODE_DATA_DIR: dataDir,
  VONODE_LOG_LEVEL: 'warn',
});
const node = await startNode(config, (l) => console.error(l));
// What the node serves: the published rows (the demo catalogue's version table included).
const catalogue = catalogueOf(publishedCatalogue(await loadPublishedSchemas(node.db.pool)));

const rng = new SeededRandom(42);
const positions = Array.from({ length: queries }, () => {
  const ra = rng.next() * 360;
  const dec = (Math.asin(rng.uniform(-1, 0.5)) * 180) / Math.PI;
  return [ra, dec] as const;
});
const adqlFor = ([ra, dec]: readonly [number, number]) =>
  `SELECT source_id, ra, dec, flux_int FROM demo.sources WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', ${ra}, ${dec}, 0.1))`;

/** The TAP requests from a client process of their own (bench/http-load.mjs). */
async function measureTap(concurrency: number) {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./http-load.mjs', import.meta.url))], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const bodies = positions.map((p) => ({ LANG: 'ADQL', QUERY: adqlFor(p), MAXREC: '100000' }));
  child.stdin.end(JSON.stringify({ url: `${node.url}/tap/sync`, concurrency, bodies }));
  let out = '';
  for await (const chunk of child.stdout) out += chunk;
  const code = await new Promise((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`the HTTP client failed (exit ${code})`);
  const { times, wall } = JSON.parse(out) as { times: number[]; wall: number };
  return summary(times, wall);
}

const direct = new pg.Pool({ connectionString: node.db.url, max: 16 });
// The reader role from the start (a startup option), so one statement is one round trip.
const bare = new pg.Pool({ connectionString: node.db.url, max: 16, options: '-c role=vonode_reader' });
async function viaBareSql(pos: readonly [number, number]): Promise<number> {
  const c = compile(adqlFor(pos), catalogue, { maxrec: 100000 });
  const t0 = performance.now();
  await bare.query({ text: c.sql, values: c.params, rowMode: 'array' });
  return performance.now() - t0;
}
async function viaSql(pos: readonly [number, number]): Promise<number> {
  const c = compile(adqlFor(pos), catalogue, { maxrec: 100000 });
  const t0 = performance.now();
  // The same rights as the service: the reader role under row-level security.
  const client = await direct.connect();
  try {
    await client.query('BEGIN READ ONLY');
    await client.query('SET LOCAL ROLE vonode_reader');
    await client.query({ text: c.sql, values: c.params, rowMode: 'array' });
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  return performance.now() - t0;
}

async function measure(run: (p: readonly [number, number]) => Promise<number>, concurrency: number) {
  for (const p of positions.slice(0, 10)) await run(p); // warm the caches
  const times: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < positions.length) times.push(await run(positions[next++]));
    }),
  );
  return summary(times, (performance.now() - t0) / 1000);
}

function summary(times: number[], wall: number) {
  times.sort((a, b) => a - b);
  return {
    p50: times[Math.floor(times.length * 0.5)],
    p95: times[Math.floor(times.length * 0.95)],
    qps: times.length / wall,
  };
}

const rows: string[] = [];
for (const concurrency of [1, 4, 16]) {
  const bareSql = await measure(viaBareSql, concurrency);
  const sql = await measure(viaSql, concurrency);
  const tap = await measureTap(concurrency);
  const f = (x: number) => x.toFixed(2).padStart(7);
  rows.push(
    `${String(concurrency).padStart(11)} | ${f(tap.p50)} ${f(tap.p95)} ${f(tap.qps)} | ${f(bareSql.p50)} ${f(bareSql.qps)} | ${f(sql.p50)} ${f(sql.qps)} | ${(tap.p50 / bareSql.p50).toFixed(2).padStart(6)}x ${(tap.p50 / sql.p50).toFixed(2).padStart(6)}x | ${(bareSql.qps / tap.qps).toFixed(2).padStart(6)}x`,
  );
}
console.log(
  `0.1-degree cones on demo.sources (${queries} random positions); load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} on ${cpus().length} cores`,
);
console.log(
  'concurrency | /tap/sync p50, p95 ms, q/s | bare SQL p50 ms, q/s | txn SQL p50 ms, q/s | p50 ratio to bare, txn | q/s ratio bare:tap',
);
for (const r of rows) console.log(r);
await direct.end();
await bare.end();
await node.close();
