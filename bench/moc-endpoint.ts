// bench/moc-endpoint: what /moc/sources costs the node that answers it. Starts a vonode serve
// process on the demo catalogue (VONODE_DEMO_ROWS, default 1,000,000) in a temporary folder
// (DATABASE_URL is honoured, else an embedded PostgreSQL), then for each format at order 10
// (MOC_ORDER) asks for the MOC twice (computed, then cached) while probing /tap/availability
// back to back, and prints the node's RSS growth (from /proc, peak over the call) and the
// probes' latency, beside the probes' latency with the node idle in the same run. Then the
// same MOC computed as vonode did before (every cell through the node's memory into Moc,
// serialised at once), in this process, as the reference: its RSS growth and the longest it
// held the event loop. Loopback only; stops by itself.
//
//   npx tsx bench/moc-endpoint.ts
//
// Targets (issue 20): RSS growth < 50 MB and availability < 50 ms while the MOC is made.
import { spawn } from 'node:child_process';
import { chmodSync, createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { HEALPIX_INDEX_ORDER, Moc, type MocCell } from '../sky/index.js';
import { ensureDatabase, startEmbeddedPostgres } from '../src/db/embedded.js';
import { canonicalCellsSql, copyCellsToFile } from '../src/moc/cells.js';
import { encode } from '../src/moc/encode.js';

const ROWS = process.env.VONODE_DEMO_ROWS ?? '1000000';
const ORDER = Number(process.env.MOC_ORDER ?? 10);
const FORMATS = ['json', 'fits', 'ascii'] as const;
setTimeout(() => {
  console.error('moc-endpoint bench: hard time limit reached');
  process.exit(2);
}, 1_800_000).unref();

const rssMb = (pid: number | 'self'): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};

const quantile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
};

/** /tap/availability checks the database too; /tap/capabilities only the node's event loop. */
async function probeMs(url: string, path = '/tap/availability'): Promise<number> {
  const t = performance.now();
  const res = await fetch(`${url}${path}`);
  await res.text();
  return performance.now() - t;
}

/** Probes back to back while `work` runs; the node's RSS sampled every 5 ms. */
async function during<T>(
  url: string,
  pid: number,
  work: () => Promise<T>,
): Promise<{ result: T; ms: number; probes: number[]; loop: number[]; rssGrowth: number }> {
  const base = rssMb(pid);
  let peak = base;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(pid));
  }, 5);
  let done = false;
  const probes: number[] = [];
  const loop: number[] = [];
  const prober = (async () => {
    while (!done) probes.push(await probeMs(url));
  })();
  const loopProber = (async () => {
    while (!done) loop.push(await probeMs(url, '/tap/capabilities'));
  })();
  const t = performance.now();
  const result = await work();
  const ms = performance.now() - t;
  done = true;
  await prober;
  await loopProber;
  clearInterval(sampler);
  peak = Math.max(peak, rssMb(pid));
  return { result, ms, probes, loop, rssGrowth: peak - base };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vonode-bench-moc-'));
  chmodSync(dir, 0o755);
  let url = process.env.DATABASE_URL;
  let stopDb: (() => Promise<void>) | undefined;
  if (!url) {
    const db = await startEmbeddedPostgres({ dataDir: join(dir, 'pg') });
    url = db.url;
    stopDb = () => db.stop();
    await ensureDatabase(url);
  }
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'bin', 'vonode.js'), 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      DATABASE_URL: url,
      VONODE_DATA_DIR: join(dir, 'node'),
      VONODE_DEMO_ROWS: ROWS,
      VONODE_DEMO_SCALE: '16',
      VONODE_LOG_LEVEL: 'warn',
      PORT: String(port),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const node = `http://127.0.0.1:${port}`;
  try {
    const t0 = Date.now();
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`vonode exited with ${child.exitCode ?? child.signalCode}`);
      try {
        if ((await fetch(`${node}/tap/availability`)).ok) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    const pid = child.pid as number;
    console.log(
      `node up in ${((Date.now() - t0) / 1000).toFixed(0)} s with ${ROWS} demo rows; MOC order ${ORDER}`,
    );
    // The machine is shared: figures are ratios to the idle probe of this same run.
    const idle: number[] = [];
    for (let i = 0; i < 50; i++) idle.push(await probeMs(node));
    const idleP50 = quantile(idle, 0.5);
    const idleCaps: number[] = [];
    for (let i = 0; i < 50; i++) idleCaps.push(await probeMs(node, '/tap/capabilities'));
    console.log(
      `node idle: /tap/availability p50 ${idleP50.toFixed(1)} ms, max ${Math.max(...idle).toFixed(1)} ms; /tap/capabilities p50 ${quantile(idleCaps, 0.5).toFixed(1)} ms, max ${Math.max(...idleCaps).toFixed(1)} ms`,
    );
    for (const format of FORMATS)
      for (const pass of ['computed', 'cached']) {
        const r = await during(node, pid, async () => {
          const res = await fetch(`${node}/moc/sources?order=${ORDER}&format=${format}`);
          let bytes = 0;
          for await (const c of res.body as AsyncIterable<Uint8Array>) bytes += c.length;
          if (res.status !== 200) throw new Error(`/moc/sources answered ${res.status}`);
          return bytes;
        });
        const max = Math.max(...r.probes);
        console.log(
          `/moc/sources ${format.padEnd(5)} ${pass.padEnd(8)} ${(r.result / 1e6).toFixed(1).padStart(6)} MB in ${r.ms.toFixed(0).padStart(6)} ms | node RSS +${r.rssGrowth.toFixed(1).padStart(5)} MB (target < 50) | availability n=${String(r.probes.length).padStart(4)} p50 ${quantile(r.probes, 0.5).toFixed(1).padStart(5)} ms max ${max.toFixed(1).padStart(6)} ms (target < 50; ${(max / idleP50).toFixed(1)}x idle p50) | capabilities max ${Math.max(...r.loop).toFixed(1)} ms`,
        );
      }

    // The node's own share, apart from a loaded machine's scheduling: the same SQL and
    // encoders run here, with this process's event-loop delay measured.
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    {
      const client = await pool.connect();
      const cellsPath = join(dir, 'cells');
      try {
        await client.query('BEGIN READ ONLY');
        await client.query("SELECT set_config('vonode.maintenance', 'on', true)");
        const loop = monitorEventLoopDelay({ resolution: 1 });
        loop.enable();
        const t = performance.now();
        const rows = await copyCellsToFile(
          client,
          canonicalCellsSql('demo', 'sources', 'healpix', ORDER),
          cellsPath,
        );
        const sqlMs = performance.now() - t;
        loop.disable();
        await client.query('ROLLBACK');
        console.log(
          `cells in PostgreSQL, COPY to a file: ${rows} cells in ${sqlMs.toFixed(0)} ms, event-loop delay max ${(loop.max / 1e6).toFixed(1)} ms`,
        );
        for (const format of FORMATS) {
          const l = monitorEventLoopDelay({ resolution: 1 });
          l.enable();
          const t1 = performance.now();
          await pipeline(
            Readable.from(
              encode(
                format,
                createReadStream(cellsPath, { highWaterMark: 16 * 1024 }),
                ORDER,
                rows,
                'CATALOG',
              ),
            ),
            createWriteStream(`${cellsPath}.${format}`),
          );
          l.disable();
          console.log(
            `encode ${format.padEnd(5)} from the cells file: ${(performance.now() - t1).toFixed(0)} ms, event-loop delay max ${(l.max / 1e6).toFixed(1)} ms`,
          );
        }
      } finally {
        client.release();
      }
    }

    // The reference: the MOC as vonode made it before, all in one process's memory.
    const base = rssMb('self');
    const t = performance.now();
    const client = await pool.connect();
    let blocked = 0;
    let distinctMs = 0;
    try {
      await client.query('BEGIN READ ONLY');
      await client.query("SELECT set_config('vonode.maintenance', 'on', true)");
      const q = performance.now();
      const r = await client.query<{ cell: string }>(
        'SELECT DISTINCT healpix >> $1 AS cell FROM demo.sources WHERE healpix IS NOT NULL',
        [2 * (HEALPIX_INDEX_ORDER - ORDER)],
      );
      distinctMs = performance.now() - q;
      await client.query('ROLLBACK');
      const s = performance.now();
      const cells = r.rows.map((row): MocCell => ({ order: ORDER, index: BigInt(row.cell) }));
      const moc = Moc.fromCells(cells, ORDER);
      moc.toJson();
      blocked = performance.now() - s;
    } finally {
      client.release();
    }
    console.log(
      `reference (in-memory Moc, json): ${(performance.now() - t).toFixed(0)} ms, RSS +${(rssMb('self') - base).toFixed(1)} MB, event loop held ${blocked.toFixed(0)} ms at once after the rows came (its SELECT DISTINCT alone: ${distinctMs.toFixed(0)} ms)`,
    );
    await pool.end();
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await stopDb?.();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
