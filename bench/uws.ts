/**
 * UWS job system figures: latency from creation with PHASE=RUN to COMPLETED (a front-end
 * process creates and waits, a worker process runs, both woken by NOTIFY) and throughput
 * with 4 workers, each against a reference measured in the same run on the same database:
 * one SQL round trip, and the bare SQL a job needs (insert, claim, finish) from 4 clients.
 *
 *   npx tsx bench/uws.ts            (embedded PostgreSQL in a temporary folder)
 *   DATABASE_URL=postgres://... npx tsx bench/uws.ts
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ensureDatabase, startEmbeddedPostgres } from '../src/db/embedded.js';
import { FINAL_PHASES, FileResultStore, type JobRunner, UwsService } from '../src/uws/index.js';

const LATENCY_JOBS = 300;
const THROUGHPUT_JOBS = 2000;
const WORKERS = 4;

const here = dirname(fileURLToPath(import.meta.url));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'vonode-bench-uws-'));
  chmodSync(base, 0o755);
  let stopDb: (() => Promise<void>) | null = null;
  let url = process.env.DATABASE_URL;
  if (!url) {
    const db = await startEmbeddedPostgres({ dataDir: join(base, 'pg') });
    await ensureDatabase(db.url);
    url = db.url;
    stopDb = () => db.stop();
  }
  // A schema of its own, so that a real node's `uws` schema is never touched.
  const schema = `uws_bench_${process.pid}`;
  const admin = new pg.Pool({ connectionString: url, max: 8 });
  const sql = readFileSync(join(here, '..', 'sql', '040_uws.sql'), 'utf8')
    .replace(/CREATE SCHEMA IF NOT EXISTS uws;/, `CREATE SCHEMA IF NOT EXISTS ${schema};`)
    .replace(/\buws\./g, `${schema}.`);
  await admin.query(sql);

  const frontPool = new pg.Pool({ connectionString: url, max: 8 });
  const workerPool = new pg.Pool({ connectionString: url, max: 8 });
  // Idle clients report the server's shutdown at the end as pool errors: expected here.
  for (const p of [admin, frontPool, workerPool]) p.on('error', () => {});
  const trivial: JobRunner = async () => undefined;
  const common = {
    schema,
    resultStore: new FileResultStore(join(base, 'results')),
    runners: { bench: trivial },
    logger: { warn: () => {}, error: (o: object, m?: string) => console.error(m, o) },
  };
  const front = new UwsService({ ...common, pool: frontPool, runWorkers: false, workerId: 'front' });
  const worker = new UwsService({
    ...common,
    pool: workerPool,
    workerId: 'worker',
    limits: { concurrency: WORKERS, perOwnerConcurrency: 0 },
  });
  await front.start();
  await worker.start();

  try {
    // Reference 1: one SQL round trip.
    for (let i = 0; i < 50; i++) await admin.query('SELECT 1');
    const trips: number[] = [];
    for (let i = 0; i < 500; i++) {
      const t = performance.now();
      await admin.query('SELECT 1');
      trips.push(performance.now() - t);
    }
    const tripP50 = percentile(trips, 50);

    // Reference 2: the three commits a job cannot avoid (insert, claim, finish), in sequence.
    await admin.query(`CREATE TABLE ${schema}.bare (id serial PRIMARY KEY, phase text)`);
    const bareLife: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t = performance.now();
      const r = await admin.query(`INSERT INTO ${schema}.bare (phase) VALUES ('QUEUED') RETURNING id`);
      await admin.query(`UPDATE ${schema}.bare SET phase = 'EXECUTING' WHERE id = $1`, [r.rows[0].id]);
      await admin.query(`UPDATE ${schema}.bare SET phase = 'COMPLETED' WHERE id = $1`, [r.rows[0].id]);
      bareLife.push(performance.now() - t);
    }
    const bareP50 = percentile(bareLife, 50);

    // Latency: create with PHASE=RUN in the front end, wait there for COMPLETED.
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_JOBS; i++) {
      const t = performance.now();
      const job = await front.create({ kind: 'bench', owner: 'bench', parameters: [], run: true });
      let phase = job.phase;
      while (!FINAL_PHASES.has(phase)) {
        await front.waitForChange(job.id, phase, 30);
        phase = (await front.storage.phaseOf(job.id))!.phase;
      }
      if (phase !== 'COMPLETED') throw new Error(`bench job ended ${phase}`);
      latencies.push(performance.now() - t);
    }

    // Reference 3: the same bare SQL from 4 clients at once.
    const bareStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (next < THROUGHPUT_JOBS) {
          next++;
          const r = await admin.query(`INSERT INTO ${schema}.bare (phase) VALUES ('QUEUED') RETURNING id`);
          await admin.query(`UPDATE ${schema}.bare SET phase = 'EXECUTING' WHERE id = $1`, [r.rows[0].id]);
          await admin.query(`UPDATE ${schema}.bare SET phase = 'COMPLETED' WHERE id = $1`, [r.rows[0].id]);
        }
      }),
    );
    const bareRate = THROUGHPUT_JOBS / ((performance.now() - bareStart) / 1000);

    // Reference 4: the same with a pg_notify in each commit, as the job system sends.
    // PostgreSQL serialises the commits of notifying transactions, so this is the ceiling.
    const notifyStart = performance.now();
    next = 0;
    const ch = `${schema}_bare`;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (next < THROUGHPUT_JOBS) {
          next++;
          const r = await admin.query(
            `WITH i AS (INSERT INTO ${schema}.bare (phase) VALUES ('QUEUED') RETURNING id) SELECT id, pg_notify($1, 'QUEUED') FROM i`,
            [ch],
          );
          const id = r.rows[0].id;
          await admin.query(
            `WITH u AS (UPDATE ${schema}.bare SET phase = 'EXECUTING' WHERE id = $1 RETURNING id) SELECT pg_notify($2, 'EXECUTING') FROM u`,
            [id, ch],
          );
          await admin.query(
            `WITH u AS (UPDATE ${schema}.bare SET phase = 'COMPLETED' WHERE id = $1 RETURNING id) SELECT pg_notify($2, 'COMPLETED') FROM u`,
            [id, ch],
          );
        }
      }),
    );
    const notifyRate = THROUGHPUT_JOBS / ((performance.now() - notifyStart) / 1000);

    // Throughput: queue many jobs at once, 4 workers drain them.
    const t0 = performance.now();
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (ids.length < THROUGHPUT_JOBS) {
          ids.push('');
          const job = await front.create({ kind: 'bench', owner: null, parameters: [], run: true });
          ids[ids.indexOf('')] = job.id;
        }
      }),
    );
    for (;;) {
      const r = await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${schema}.jobs WHERE phase = 'COMPLETED' AND owner IS NULL`,
      );
      if (r.rows[0].n >= THROUGHPUT_JOBS) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    const rate = THROUGHPUT_JOBS / ((performance.now() - t0) / 1000);

    const p50 = percentile(latencies, 50);
    console.log(`UWS bench (${url.replace(/:[^:@/]*@/, ':***@')})`);
    console.log(`reference: SQL round trip p50 ${tripP50.toFixed(3)} ms`);
    console.log(`reference: bare insert+claim+finish (3 commits in sequence) p50 ${bareP50.toFixed(2)} ms`);
    console.log(
      `latency create(PHASE=RUN) -> COMPLETED, front end and worker as separate services woken by NOTIFY, ${LATENCY_JOBS} jobs:`,
    );
    console.log(
      `  p50 ${p50.toFixed(2)} ms (${(p50 / bareP50).toFixed(2)} x the bare 3 commits, ${(p50 / tripP50).toFixed(0)} round trips), p90 ${percentile(latencies, 90).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms`,
    );
    console.log(
      `reference: bare insert+claim+finish SQL from ${WORKERS} clients: ${bareRate.toFixed(0)} jobs/s`,
    );
    console.log(`reference: the same with pg_notify in each commit: ${notifyRate.toFixed(0)} jobs/s`);
    console.log(
      `throughput with ${WORKERS} workers, ${THROUGHPUT_JOBS} trivial jobs (creation included): ${rate.toFixed(0)} jobs/s (${((rate / bareRate) * 100).toFixed(0)}% of the bare SQL rate, ${((rate / notifyRate) * 100).toFixed(0)}% of the notifying one)`,
    );
  } finally {
    await front.stop();
    await worker.stop();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await Promise.all([admin.end(), frontPool.end(), workerPool.end()]);
    await stopDb?.();
    rmSync(base, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
