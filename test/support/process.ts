import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { testDatabaseUrl, testDataDir } from './db.js';
import { TEST_DEMO_ROWS } from './node.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'vonode.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Everything a child writes to stdout and stderr, so far. */
function captureOutput(child: ChildProcess): () => string {
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  return () => out;
}

/**
 * A vonode command (ingest, products, publish...) run to its end as an operator runs it, with
 * `env` as its whole environment besides PATH and HOME; stdout and stderr together.
 */
export function runVonode(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = captureOutput(child);
    child.on('close', (code) => resolve({ code, out: out() }));
  });
}

/** A vonode serve process on the test database, as an operator would run it. */
export interface NodeProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly log: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function spawnNode(env: Record<string, string> = {}, port?: number): Promise<NodeProcess> {
  const p = port ?? (await freePort());
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      DATABASE_URL: testDatabaseUrl(),
      VONODE_DATA_DIR: testDataDir(),
      VONODE_DEMO_ROWS: String(TEST_DEMO_ROWS),
      // Full size, as every test node on the shared database (test/support/node.ts).
      VONODE_DEMO_SCALE: '1',
      VONODE_LOG_LEVEL: 'warn',
      PORT: String(p),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = captureOutput(child);
  const url = `http://127.0.0.1:${p}`;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`vonode exited with ${child.exitCode}: ${out()}`);
    try {
      const res = await fetch(`${url}/tap/availability`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    child,
    log: out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}
