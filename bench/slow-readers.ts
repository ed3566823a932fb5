// bench/slow-readers: /tap/availability latency (a real database check, VOSI-16) with no
// load, with 50 clients reading a large /tap/sync result at 1 byte/s, and with the query
// pool held full. Starts its own node on a small demo catalogue in a temporary folder
// (DATABASE_URL is honoured), runs about 20 s and stops by itself; loopback only.
//
//   npx tsx bench/slow-readers.ts [readers=50]
//
// The readers all come from 127.0.0.1, so the per-client cap is raised to let every one of
// them in (the default, 8, would answer most of them 503 at once: a gentler test), and their
// queries may wait up to a minute for a connection rather than be answered 503 after 5 s.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type pg from 'pg';
import { parseConfig } from '../src/config/index.js';
import { startNode } from '../src/node.js';

const READERS = Number(process.argv[2] ?? 50);
const SAMPLE_MS = 100;
// Whatever happens, the bench ends.
setTimeout(() => {
  console.error('slow-readers bench: hard time limit reached');
  process.exit(2);
}, 240_000).unref();

const dataDir = mkdtempSync(join(tmpdir(), 'vonode-bench-slow-'));
chmodSync(dataDir, 0o755);
const config = parseConfig({
  ...process.env,
  PORT: '0',
  VONODE_DATA_DIR: dataDir,
  VONODE_LOG_LEVEL: 'warn',
  VONODE_DEMO_ROWS: process.env.VONODE_DEMO_ROWS ?? '20000',
  VONODE_DEMO_SCALE: '16',
  VONODE_SYNC_MAX_PER_CLIENT: String(Math.max(8, READERS + 4)),
  VONODE_SYNC_MAX: String(Math.max(64, READERS + 8)),
  VONODE_DB_ACQUIRE_TIMEOUT: process.env.VONODE_DB_ACQUIRE_TIMEOUT ?? '60',
});
const t0 = Date.now();
const node = await startNode(config, () => {});
console.log(
  `node up in ${((Date.now() - t0) / 1000).toFixed(1)} s: pool ${config.dbPoolSize} connections, min read rate ${config.sync?.minReadRate} B/s over ${config.sync?.readGraceSeconds} s`,
);

async function availabilityMs(): Promise<{ ms: number; available: boolean }> {
  const t = performance.now();
  const res = await fetch(`${node.url}/tap/availability`);
  const text = await res.text();
  return { ms: performance.now() - t, available: /<(\w+:)?available>true</.test(text) };
}

async function sample(label: string, seconds: number, until?: () => boolean): Promise<void> {
  const times: number[] = [];
  let down = 0;
  // The node runs in this process: its event loop's delay shows how much of the latency is ours.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end && !until?.()) {
    const r = await availabilityMs();
    times.push(r.ms);
    if (!r.available) down++;
    await new Promise((res) => setTimeout(res, SAMPLE_MS));
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(1);
  console.log(
    `${label.padEnd(44)} n=${String(times.length).padStart(3)}  p50 ${q(0.5).padStart(6)} ms  p95 ${q(0.95).padStart(6)} ms  max ${times[times.length - 1].toFixed(1).padStart(7)} ms  unavailable ${down}`,
  );
  loop.disable();
  console.log(
    `${''.padEnd(44)} event-loop delay p50 ${(loop.percentile(50) / 1e6).toFixed(1)} ms  p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms  max ${(loop.max / 1e6).toFixed(1)} ms`,
  );
}

const inUse = (pool: pg.Pool) => pool.totalCount - pool.idleCount;

// A result far larger than the socket buffers: the readers stay blocked on it.
const QUERY =
  'SELECT TOP 150000 a.source_id, a.ra, a.dec, b.source_id AS other, b.ra AS ra2, b.dec AS dec2 FROM demo.sources AS a, demo.sources AS b';

interface Reader {
  socket: Socket;
  status: Promise<string>;
}

/** Sends the query, then takes one byte a second from what has arrived. */
function slowReader(): Reader {
  const { hostname, port } = new URL(node.url);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {});
  const path = `/tap/sync?${new URLSearchParams({ LANG: 'ADQL', QUERY, MAXREC: '150000', RESPONSEFORMAT: 'csv' })}`;
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`);
  socket.pause();
  const status = new Promise<string>((resolve) => {
    let head = '';
    const tick = setInterval(() => {
      const b = socket.read(1) as Buffer | null;
      if (b) head += b.toString('latin1');
      if (head.length >= 12 || socket.destroyed) {
        clearInterval(tick);
        resolve(head.slice(9, 12) || 'closed');
        // From here on, still one byte a second.
        const slow = setInterval(() => {
          if (socket.destroyed) clearInterval(slow);
          else socket.read(1);
        }, 1000);
        slow.unref();
      }
    }, 1000 / 12);
    tick.unref();
  });
  return { socket, status };
}

try {
  await availabilityMs(); // warm the control connection
  await sample('no load', 5);
  // A fast client still gets its first bytes at once, and the whole result at full speed.
  const rates: number[] = [];
  for (let i = 0; i < 8; i++) {
    const t = performance.now();
    const res = await fetch(
      `${node.url}/tap/sync?${new URLSearchParams({ LANG: 'ADQL', QUERY, MAXREC: '150000', RESPONSEFORMAT: 'csv' })}`,
    );
    const reader = res.body!.getReader();
    let bytes = 0;
    let first = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!first) first = performance.now() - t;
      bytes += value.length;
    }
    const total = (performance.now() - t) / 1000;
    rates.push(bytes / 1e6 / total);
    if (i === 0 || i === 7)
      console.log(
        `fast client, 150000 rows as CSV: first bytes after ${first.toFixed(0)} ms, ${(bytes / 1e6).toFixed(1)} MB in ${total.toFixed(2)} s (${(bytes / 1e6 / total).toFixed(1)} MB/s)`,
      );
  }
  rates.sort((a, b) => a - b);
  console.log(`fast client, 8 runs: median ${rates[4].toFixed(1)} MB/s, best ${rates[7].toFixed(1)} MB/s`);
  const readers = Array.from({ length: READERS }, slowReader);
  let answered = 0;
  for (const r of readers) void r.status.then(() => answered++);
  // While PostgreSQL produces the results and the node encodes them into the spools.
  const t1 = Date.now();
  await sample(
    `${READERS} slow readers, results being produced`,
    60,
    () => answered === READERS && inUse(node.db.pool) === 0,
  );
  console.log(`  all ${READERS} results produced and spooled in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  const statuses = await Promise.all(readers.map((r) => r.status));
  const admitted = statuses.filter((s) => s === '200').length;
  console.log(
    `${READERS} slow readers at 1 byte/s: ${admitted} answered 200, ${statuses.filter((s) => s === '503').length} answered 503`,
  );
  await sample(`${READERS} slow readers at 1 byte/s, all spooled`, 10);
  // Where the connections are: PostgreSQL has produced every result, the readers still read.
  const open = await new Promise<number>((resolve, reject) =>
    node.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
  );
  console.log(
    `  query connections in use: ${inUse(node.db.pool)}, client connections the node holds: ${open}`,
  );
  for (const r of readers) r.socket.destroy();

  // The pool held full, as by long queries: the check still has its own connection.
  const held: pg.PoolClient[] = [];
  for (let i = 0; i < config.dbPoolSize; i++) held.push(await node.db.pool.connect());
  await sample('query pool exhausted', 3);
  for (const c of held) c.release();
} finally {
  await node.close();
  rmSync(dataDir, { recursive: true, force: true });
}
