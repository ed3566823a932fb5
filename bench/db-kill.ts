/**
 * How long a node takes to answer again after its embedded PostgreSQL is killed with
 * SIGKILL, and what clients get meanwhile. A real `vonode serve` on a fresh data folder
 * (demo catalogue of VONODE_DEMO_ROWS rows, default 2000), a client polling /tap/sync every
 * 100 ms, ROUNDS kills (default 3) each after SETTLE_S seconds of quiet (default 10, so
 * the freshly written cluster is not all dirty in the page cache). Bounded: each round
 * gives up after 60 s; the node is stopped and the folder removed at the end.
 *
 *   npx tsx bench/db-kill.ts
 *   ROUNDS=5 SETTLE_S=30 npx tsx bench/db-kill.ts
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SETTLE_S = Number(process.env.SETTLE_S ?? 10);
const GIVE_UP_MS = 60_000;
const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'vonode.js');
const QUERY = 'SELECT TOP 1 table_name FROM TAP_SCHEMA.tables';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function status(url: string): Promise<number> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return -1; // connection refused or reset: the node itself is down
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vonode-bench-dbkill-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const sync = `${base}/tap/sync?REQUEST=doQuery&LANG=ADQL&QUERY=${encodeURIComponent(QUERY)}`;
  let log = '';
  const node: ChildProcess = spawn(process.execPath, [BIN, 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      VONODE_DATA_DIR: dir,
      VONODE_DEMO_ROWS: process.env.VONODE_DEMO_ROWS ?? '2000',
      VONODE_DEMO_SCALE: '8',
      VONODE_LOG_LEVEL: 'warn',
      PORT: String(port),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  node.stderr?.on('data', (d) => {
    log += d;
  });
  try {
    const t = Date.now();
    while ((await status(`${base}/tap/availability`)) !== 200) {
      if (node.exitCode !== null || Date.now() - t > 300_000)
        throw new Error(`the node did not start: ${log}`);
      await sleep(200);
    }
    const figures: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      await sleep(SETTLE_S * 1000);
      const pid = Number(readFileSync(join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
      const counts = new Map<number, number>();
      const t0 = Date.now();
      process.kill(pid, 'SIGKILL');
      let back: number | undefined;
      while (Date.now() - t0 < GIVE_UP_MS) {
        const s = await status(sync);
        counts.set(s, (counts.get(s) ?? 0) + 1);
        if (s === 200) {
          back = (Date.now() - t0) / 1000;
          break;
        }
        await sleep(100);
      }
      const seen = [...counts].map(([s, n]) => `${n}x${s === -1 ? 'no-answer' : s}`).join(' ');
      console.log(
        `round ${round}: postmaster ${pid} SIGKILLed; ${back === undefined ? `no 200 within ${GIVE_UP_MS / 1000} s` : `answered again after ${back.toFixed(1)} s`}; responses meanwhile: ${seen}; node alive: ${node.exitCode === null}`,
      );
      if (back !== undefined) figures.push(back);
    }
    if (figures.length > 0) {
      const sorted = [...figures].sort((a, b) => a - b);
      console.log(
        `recovery after SIGKILL of the embedded PostgreSQL: median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} s, max ${sorted.at(-1)?.toFixed(1)} s over ${figures.length} rounds`,
      );
    }
    console.log(
      log
        .split('\n')
        .filter((l) => /PostgreSQL|database/.test(l))
        .join('\n'),
    );
  } finally {
    node.kill('SIGTERM');
    await new Promise((r) => (node.exitCode !== null ? r(null) : node.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
