/*
 * npx tsx bench/votable-stream.ts [rows] [--rss-rows=N]
 *
 * Streams a 10-column table from PostgreSQL through the votable encoders (pg-cursor, array
 * row mode, batches of 10,000 handed over as ResultDocument.batches) and compares rows/s with `COPY (same query) TO STDOUT` run
 * by psql into /dev/null, measured in the same run. Then streams N synthetic rows
 * (default 10,000,000) through BINARY2 and TABLEDATA in a child process and reports its
 * peak RSS (process.resourceUsage().maxRSS).
 */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { ensureDatabase, startEmbeddedPostgres } from '../src/db/embedded.js';
import { encode, type Field, type OutputFormat, type PgBinaryType } from '../votable/index.js';

const args = process.argv.slice(2);
const ROWS = Number(args.find((a) => /^\d+$/.test(a)) ?? 1_000_000);
const RSS_ROWS = Number(args.find((a) => a.startsWith('--rss-rows='))?.split('=')[1] ?? 10_000_000);
const BATCH = 10_000;
const QUERY = 'SELECT id, ra, dec, mag, err, n, k, flag, name, t FROM bench_votable';

const FIELDS: Field[] = [
  { name: 'id', datatype: 'long' },
  { name: 'ra', datatype: 'double', unit: 'deg' },
  { name: 'dec', datatype: 'double', unit: 'deg' },
  { name: 'mag', datatype: 'float' },
  { name: 'err', datatype: 'float' },
  { name: 'n', datatype: 'int' },
  { name: 'k', datatype: 'short' },
  { name: 'flag', datatype: 'boolean' },
  { name: 'name', datatype: 'char', arraysize: '*' },
  { name: 't', datatype: 'char', arraysize: '*', xtype: 'timestamp' },
];

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

async function timeFormat(url: string, format: OutputFormat): Promise<{ seconds: number; bytes: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const t0 = process.hrtime.bigint();
    let bytes = 0;
    for await (const chunk of encode(format, { fields: FIELDS, batches: cursorBatches(client, QUERY) }))
      bytes += chunk.length;
    return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, bytes };
  } finally {
    await client.end();
  }
}

const COPY_TYPES: PgBinaryType[] = [
  'int8',
  'float8',
  'float8',
  'float4',
  'float4',
  'int4',
  'int2',
  'bool',
  'text',
  'timestamp',
];

/** BINARY2 transcoded from `COPY (query) TO STDOUT (FORMAT binary)`, here read from psql's stdout. */
async function timeCopyTranscode(url: string): Promise<{ seconds: number; bytes: number }> {
  const t0 = process.hrtime.bigint();
  const p = spawn('/usr/bin/psql', ['-X', '-q', '-c', `\\copy (${QUERY}) to stdout with (format binary)`], {
    env: psqlEnv(url),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let bytes = 0;
  const doc = { fields: FIELDS, copy: { stream: p.stdout as AsyncIterable<Buffer>, types: COPY_TYPES } };
  for await (const chunk of encode('votable/binary2', doc)) bytes += chunk.length;
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, bytes };
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

function rssChild(dir: string, rows: number, format: string): Promise<string> {
  // Bundled to plain JavaScript so the RSS is the encoder's, not the TypeScript loader's.
  const childScript = join(dir, 'memory-child.mjs');
  buildSync({
    entryPoints: [fileURLToPath(new URL('../test/votable/memory-child.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: childScript,
  });
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [childScript, String(rows), format], {
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
    await admin.query(`CREATE TABLE bench_votable AS
      SELECT i::bigint AS id, ((i * 0.0001) % 360)::float8 AS ra, (((i * 0.00007) % 180) - 90)::float8 AS dec,
             (15 + (i % 1000) / 100.0)::real AS mag, CASE WHEN i % 7 = 0 THEN NULL ELSE 0.01 END::real AS err,
             i::int AS n, (i % 30000)::smallint AS k, i % 2 = 0 AS flag, 'source ' || i AS name,
             timestamp '2020-01-01' + i * interval '1 second' AS t
      FROM generate_series(1, ${ROWS}) AS i`);
    await admin.query('VACUUM ANALYZE bench_votable');
    await admin.end();
    console.log(`table: ${ROWS} rows x 10 columns`);

    await psqlCopy(url, QUERY); // warm the cache
    const copy = await psqlCopy(url, QUERY);
    const copyRate = ROWS / copy;
    console.log(`COPY TO STDOUT (psql)   ${copyRate.toFixed(0).padStart(9)} rows/s   (${copy.toFixed(2)} s)`);
    const cursorOnly = await timeCursorOnly(url);
    console.log(
      `pg-cursor, no encoding  ${(ROWS / cursorOnly).toFixed(0).padStart(9)} rows/s   ratio to COPY ${(copy / cursorOnly).toFixed(2)}`,
    );
    const cp = await timeCopyTranscode(url);
    console.log(
      `${'binary2 from COPY'.padEnd(22)}  ${(ROWS / cp.seconds).toFixed(0).padStart(9)} rows/s  ${(cp.bytes / 1e6 / cp.seconds).toFixed(1).padStart(7)} MB/s   ratio to COPY ${(copy / cp.seconds).toFixed(2)}`,
    );
    for (const format of [
      'votable/binary2',
      'votable/td',
      'csv',
      'votable/binary',
      'json',
    ] as OutputFormat[]) {
      const { seconds, bytes } = await timeFormat(url, format);
      console.log(
        `${format.padEnd(22)}  ${(ROWS / seconds).toFixed(0).padStart(9)} rows/s  ${(bytes / 1e6 / seconds).toFixed(1).padStart(7)} MB/s   ratio to COPY ${(copy / seconds).toFixed(2)}   to pg-cursor alone ${(cursorOnly / seconds).toFixed(2)}`,
      );
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
