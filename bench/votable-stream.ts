/*
 * npx tsx bench/votable-stream.ts [rows] [--rss-rows=N] [--rounds=N]
 *
 * Streams a 10-column table from PostgreSQL the way /tap/sync and /tap/async do (executeQuery
 * in a read-only transaction with an identity, then votable's encode): every format is
 * transcoded from PostgreSQL's own COPY output (binary for BINARY2, BINARY, FITS and Parquet,
 * text for TABLEDATA, CSV, TSV and JSON); the cursor path, still taken when a column type has
 * no COPY transcoding, is measured beside. Each is compared in rows/s with `COPY (same query)
 * TO STDOUT` run by psql into /dev/null, measured in the same run. Then issue 20's acceptance
 * figure: FITS, JSON and BINARY each at least 0.6 of COPY's rows/s, the best of --rounds
 * (default 5) rounds timed in turn with COPY. Then streams N synthetic
 * rows (default 10,000,000) through BINARY2 and TABLEDATA in a child process and reports its
 * peak RSS (process.resourceUsage().maxRSS). Parquet (VOParquet) is decoded from the same
 * binary COPY as BINARY2; its rows/s are also given as a ratio to BINARY2's in this run.
 */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import Cursor from 'pg-cursor';
import { ANONYMOUS, READER_ROLE } from '../src/auth/index.js';
import { ensureDatabase, startEmbeddedPostgres } from '../src/db/embedded.js';
import { applyMigrations } from '../src/db/migrate.js';
import { executeQuery } from '../src/tap/execute.js';
import { ResultSpool, SpoolBudget } from '../src/tap/spool.js';
import { BENCH_FIELDS, syntheticSql } from '../test/votable/memory-child.js';
import { copyFormatFor, encode, type OutputFormat } from '../votable/index.js';

const args = process.argv.slice(2);
const ROWS = Number(args.find((a) => /^\d+$/.test(a)) ?? 1_000_000);
const RSS_ROWS = Number(args.find((a) => a.startsWith('--rss-rows='))?.split('=')[1] ?? 10_000_000);
const BATCH = 10_000;
// Rounds of the acceptance timing (--rounds=N).
const ROUNDS = Number(args.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? 5);
const QUERY = 'SELECT id, ra, dec, mag, err, n, k, flag, name, t FROM bench_votable';

// The same ten columns the memory child streams, made by the same SELECT.
const FIELDS = BENCH_FIELDS;

async function* cursorBatches(client: pg.Client, sql: string): AsyncGenerator<unknown[][]> {
  const cursor = client.query(new Cursor(sql, [], { rowMode: 'array' }));
  try {
    for (;;) {
      const rows = (await cursor.read(BATCH)) as unknown[][];
      if (rows.length === 0) return;
      yield rows;
    }
  } finally {
    await cursor.close();
  }
}

function psqlEnv(url: string): NodeJS.ProcessEnv {
  const u = new URL(url);
  return {
    ...process.env,
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: u.pathname.slice(1),
  };
}

function psqlCopy(url: string, sql: string): Promise<number> {
  const env = psqlEnv(url);
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    execFile(
      '/usr/bin/psql',
      ['-X', '-q', '-c', `\\copy (${sql}) to '/dev/null'`],
      { env },
      (err, _o, stderr) => {
        if (err) reject(new Error(`psql failed: ${stderr || err.message}`));
        else resolve(Number(process.hrtime.bigint() - t0) / 1e9);
      },
    );
  });
}

/** One result through the node's query path: COPY transcoding where the format has it, else a cursor. */
async function timeFormat(
  pool: pg.Pool,
  format: OutputFormat,
  copy: boolean,
  spoolDir?: string,
): Promise<{ seconds: number; bytes: number; viaCopy: boolean }> {
  const t0 = process.hrtime.bigint();
  const result = await executeQuery(pool, async () => ({ sql: QUERY, params: [], columns: FIELDS }), {
    identity: ANONYMOUS,
    maxrec: ROWS,
    timeoutSeconds: 3600,
    copyFormat: copy ? copyFormatFor(format) : undefined,
  });
  let bytes = 0;
  try {
    const body = encode(format, {
      fields: result.fields,
      rows: result.rows,
      copy: result.copy,
      leadingStatus: result.leadingStatus,
      trailingStatus: result.trailingStatus,
    });
    if (spoolDir) bytes = await throughSpool(body, spoolDir);
    else for await (const chunk of body) bytes += chunk.length;
  } finally {
    await result.close();
  }
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, bytes, viaCopy: result.copy !== undefined };
}

/**
 * What /tap/sync does since results are spooled: the encoder writes into a ResultSpool (1 MiB
 * in memory, the rest in a file) while a reader drains it, here as fast as it can.
 */
async function throughSpool(body: AsyncIterable<Buffer>, dir: string): Promise<number> {
  const spool = new ResultSpool(new SpoolBudget(1e12, dir), 1024 * 1024);
  const producing = (async () => {
    for await (const c of body) await spool.write(c);
    spool.end();
  })();
  let bytes = 0;
  for (;;) {
    const c = await spool.read();
    if (!c) break;
    bytes += c.length;
  }
  await producing;
  await spool.dispose();
  return bytes;
}

/** The same COPY read by this process and thrown away: what the transcoders add to it shows beside. */
async function timeNodeCopy(url: string, binary: boolean): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const t0 = process.hrtime.bigint();
    const stream = client.query(copyTo(`COPY (${QUERY}) TO STDOUT${binary ? ' (FORMAT binary)' : ''}`));
    for await (const _ of stream) {
      // discarded
    }
    return Number(process.hrtime.bigint() - t0) / 1e9;
  } finally {
    await client.end();
  }
}

/** Reading the same cursor without encoding: the share of the time node-postgres itself takes. */
async function timeCursorOnly(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const t0 = process.hrtime.bigint();
    let n = 0;
    for await (const batch of cursorBatches(client, QUERY)) n += batch.length;
    if (n !== ROWS) throw new Error(`read ${n} rows, expected ${ROWS}`);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  } finally {
    await client.end();
  }
}

function rssChild(dir: string, rows: number, format: string, extra: string[] = []): Promise<string> {
  // Bundled to plain JavaScript so the RSS is the encoder's, not the TypeScript loader's.
  const childScript = join(dir, 'memory-child.mjs');
  buildSync({
    entryPoints: [fileURLToPath(new URL('../test/votable/memory-child.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // node-postgres is CommonJS: its require() calls need a real require in an ESM bundle.
    banner: {
      js: "import { createRequire as vonodeRequire } from 'node:module'; const require = vonodeRequire(import.meta.url);",
    },
    outfile: childScript,
  });
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [childScript, String(rows), format, ...extra], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`child exited ${code}`))));
  });
}

async function main(): Promise<void> {
  let url = process.env.DATABASE_URL;
  let stop: (() => Promise<void>) | undefined;
  let dataDir: string | undefined;
  if (!url) {
    dataDir = mkdtempSync(join(tmpdir(), 'vonode-bench-'));
    // mkdtemp makes a 0700 folder; as root the cluster belongs to the postgres user, who must enter it.
    chmodSync(dataDir, 0o755);
    const db = await startEmbeddedPostgres({ dataDir: join(dataDir, 'pg') });
    url = db.url;
    stop = () => db.stop();
    await ensureDatabase(url);
  }
  try {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query('DROP TABLE IF EXISTS bench_votable');
    await admin.query(`CREATE TABLE bench_votable AS ${syntheticSql(ROWS)}`);
    await admin.query('VACUUM ANALYZE bench_votable');
    await admin.end();
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    // The reader role and identity settings every TAP query runs with.
    await applyMigrations(pool);
    await pool.query(`GRANT SELECT ON bench_votable TO ${READER_ROLE}`);
    console.log(`table: ${ROWS} rows x 10 columns`);

    await psqlCopy(url, QUERY); // warm the cache
    // The fastest of three: on a shared machine one slow reference would flatter every ratio.
    let copy = Number.POSITIVE_INFINITY;
    for (let k = 0; k < 3; k++) copy = Math.min(copy, await psqlCopy(url, QUERY));
    const copyRate = ROWS / copy;
    console.log(`COPY TO STDOUT (psql)   ${copyRate.toFixed(0).padStart(9)} rows/s   (${copy.toFixed(2)} s)`);
    for (const binary of [false, true]) {
      const t = await timeNodeCopy(url, binary);
      console.log(
        `COPY${binary ? ' binary' : ''} read by node, no encoding ${(ROWS / t).toFixed(0).padStart(9)} rows/s   ratio to COPY ${(copy / t).toFixed(2)}`,
      );
    }
    const cursorOnly = await timeCursorOnly(url);
    console.log(
      `pg-cursor, no encoding  ${(ROWS / cursorOnly).toFixed(0).padStart(9)} rows/s   ratio to COPY ${(copy / cursorOnly).toFixed(2)}`,
    );
    const runs: Array<[OutputFormat, boolean]> = [
      ['votable/binary2', true],
      ['parquet', true],
      ['votable/td', true],
      ['csv', true],
      ['tsv', true],
      ['votable/binary', true],
      ['json', true],
      ['fits', true],
      // The cursor path, still used when a column type has no COPY transcoding.
      ['votable/binary', false],
      ['json', false],
      ['fits', false],
      ['votable/binary2', false],
      ['votable/td', false],
      ['csv', false],
      ['parquet', false],
    ];
    const spoolDir = mkdtempSync(join(tmpdir(), 'vonode-bench-spool-'));
    const spooled: Array<[OutputFormat, boolean, string]> = [
      ['votable/binary2', true, spoolDir],
      ['csv', true, spoolDir],
      ['json', true, spoolDir],
    ];
    const seconds = new Map<string, number>();
    for (const [format, viaCopy, dir] of [...runs.map(([f, c]) => [f, c, undefined] as const), ...spooled]) {
      const r = await timeFormat(pool, format, viaCopy, dir);
      const label = `${format} from ${r.viaCopy ? 'COPY' : 'cursor'}${dir ? ' +spool' : ''}`;
      seconds.set(label, r.seconds);
      console.log(
        `${label.padEnd(28)}  ${(ROWS / r.seconds).toFixed(0).padStart(9)} rows/s  ${(r.bytes / 1e6 / r.seconds).toFixed(1).padStart(7)} MB/s   ratio to COPY ${(copy / r.seconds).toFixed(2)}`,
      );
    }
    const b2 = seconds.get('votable/binary2 from COPY');
    const pq = seconds.get('parquet from COPY');
    if (b2 && pq)
      console.log(
        `parquet rows/s as a share of BINARY2's (both from COPY, this run): ${(b2 / pq).toFixed(2)} (target 0.8)`,
      );
    // Issue 20's acceptance: on a shared machine a single timing moves by tens of percent with
    // whatever else runs, so COPY and the three formats are timed in turn, ROUNDS rounds, and
    // the fastest of each is compared (the reference gets the same chance as the formats).
    const accepted: OutputFormat[] = ['fits', 'json', 'votable/binary'];
    let bestCopy = copy;
    const best = new Map<OutputFormat, number>();
    for (let round = 0; round < ROUNDS; round++) {
      bestCopy = Math.min(bestCopy, await psqlCopy(url, QUERY));
      for (const f of accepted) {
        const r = await timeFormat(pool, f, true);
        if (!r.viaCopy) throw new Error(`${f} did not take the COPY path`);
        best.set(f, Math.min(best.get(f) ?? Number.POSITIVE_INFINITY, r.seconds));
      }
    }
    const shares = accepted.map((f) => `${f} ${(bestCopy / (best.get(f) as number)).toFixed(2)}`);
    console.log(
      `best of ${ROUNDS} interleaved rounds, rows/s as a share of psql COPY's (${(ROWS / bestCopy).toFixed(0)} rows/s; target >= 0.6 each): ${shares.join(', ')}`,
    );
    rmSync(spoolDir, { recursive: true, force: true });
    await pool.end();
    if (RSS_ROWS > 0) {
      // The acceptance figure: the node's own path, PostgreSQL's COPY through the transcoders.
      for (const format of ['votable/binary2', 'votable/td', 'parquet']) {
        const childDir = mkdtempSync(join(tmpdir(), 'vonode-bench-child-'));
        const r = JSON.parse(await rssChild(childDir, RSS_ROWS, format, ['copy', url]));
        rmSync(childDir, { recursive: true, force: true });
        console.log(
          `peak RSS streaming ${r.rows} rows x 10 columns from PostgreSQL as ${format} (COPY path): ${r.maxRssMB.toFixed(0)} MB (${(r.bytes / 1e9).toFixed(2)} GB written)`,
        );
      }
    }
  } finally {
    await stop?.();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
  if (RSS_ROWS > 0) {
    for (const format of ['votable/binary2', 'votable/td']) {
      const childDir = mkdtempSync(join(tmpdir(), 'vonode-bench-child-'));
      const r = JSON.parse(await rssChild(childDir, RSS_ROWS, format));
      rmSync(childDir, { recursive: true, force: true });
      console.log(
        `peak RSS streaming ${r.rows} synthetic rows as ${format}: ${r.maxRssMB.toFixed(0)} MB (${(r.bytes / 1e9).toFixed(2)} GB written)`,
      );
    }
  }
}

await main();
