import pg from 'pg';
import { ConfigError } from '../config/errors.js';
import { NodePool } from './acquire.js';
import { clientClassFor } from './client.js';
import { removeConnectionFile, writeConnectionFile } from './connection-file.js';
import { type EmbeddedDatabase, ensureDatabase, startEmbeddedPostgres } from './embedded.js';
import { DatabaseHealth } from './health.js';
import { applyMigrations } from './migrate.js';

export { controlPoolOf, isServiceBusy, NodePool, ServiceBusy } from './acquire.js';
export { isDatabaseUnavailable } from './client.js';
export { runningNodeDatabase } from './connection-file.js';
export { ensureDatabase, startEmbeddedPostgres } from './embedded.js';
export { DatabaseHealth, type DatabaseStatus } from './health.js';
export {
  applyMigrations,
  loadMigrations,
  MIGRATIONS_DIR,
  type Migration,
  pendingMigrations,
} from './migrate.js';

// Whole bigints, not strings: ids and HEALPix indices are compared and serialised as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v: string) => BigInt(v));

export const MIN_SERVER_VERSION = 150000;

/** The startup `options` of a connection setting each of `settings` (-c name=value, spaces escaped). */
export function connectionOptions(settings: Readonly<Record<string, string>>): string {
  return Object.entries(settings)
    .map(([k, v]) => `-c ${k}=${v.replace(/\\/g, '\\\\').replace(/ /g, '\\ ')}`)
    .join(' ');
}

export interface Database {
  readonly pool: pg.Pool;
  readonly url: string;
  /** True when this process started the PostgreSQL it uses. */
  readonly embedded: boolean;
  /** Whether PostgreSQL answers now; 503s and /availability read it (health.ts). */
  readonly health: DatabaseHealth;
  close(): Promise<void>;
}

export interface OpenOptions {
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly poolSize: number;
  /** How long a request waits for a pooled connection before it is answered 503 (ms); default 5000. */
  readonly acquireTimeoutMs?: number;
  readonly log?: (line: string) => void;
  /** Outages, restarts and recoveries of the database: lines an operator should see. */
  readonly notice?: (line: string) => void;
  /** Write the embedded database's URL to the data folder for commands (the serving node). */
  readonly recordConnection?: boolean;
  /**
   * PostgreSQL settings every connection of the pool carries, e.g. vonode.base_url, which
   * ivoa.node_url() puts in front of the relative access URLs (sql/148).
   */
  readonly settings?: Readonly<Record<string, string>>;
  /** Apply pending migrations on open (default true); `vonode migrate --check` only looks. */
  readonly migrate?: boolean;
}

/**
 * Connects to DATABASE_URL, or starts the embedded PostgreSQL under the data folder,
 * then checks the server version and applies pending migrations.
 */
export async function openDatabase(options: OpenOptions): Promise<Database> {
  let embedded: EmbeddedDatabase | undefined;
  let url = options.databaseUrl;
  let probeUrl = url;
  // Until the database is open, a failure is the start's own error (one line, by the caller).
  let opened = false;
  const health = new DatabaseHealth({
    probe: () => probe(probeUrl),
    log: (line) => (opened ? options.notice?.(line) : undefined),
  });
  if (!url) {
    embedded = await startEmbeddedPostgres({
      dataDir: `${options.dataDir}/pg`,
      onLog: options.log,
      onNotice: options.notice,
      health,
    });
    url = embedded.url;
    probeUrl = url;
    await ensureDatabase(url);
  }
  const acquireMs = options.acquireTimeoutMs ?? 5000;
  const Client = clientClassFor(health);
  // application_name lets operators (and pg_stat_activity) tell the node's connections apart.
  const pool = new NodePool({
    connectionString: url,
    max: options.poolSize,
    connectionTimeoutMillis: acquireMs,
    application_name: 'vonode',
    ...(options.settings ? { options: connectionOptions(options.settings) } : {}),
    retryAfterSeconds: Math.max(1, Math.ceil(acquireMs / 1000)),
    // Every client, the control pool's too, listens for its connection dying (no crash).
    Client,
    control: { Client },
  });
  pool.on('error', (err) => options.log?.(`idle PostgreSQL connection failed: ${err.message}`));
  try {
    const r = await pool.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
    if (Number(r.rows[0].v) < MIN_SERVER_VERSION) {
      throw new ConfigError(
        `the PostgreSQL at DATABASE_URL is version ${r.rows[0].v}, older than 15`,
        'point DATABASE_URL at PostgreSQL 15 or newer, or unset it to use the embedded one',
      );
    }
    if (options.migrate !== false) await applyMigrations(pool);
    // Opened now, not on first need: a cancel or health check under load must not wait for a login.
    await pool.control.query('SELECT 1');
  } catch (err) {
    health.close();
    await pool.end().catch(() => {});
    await embedded?.stop().catch(() => {});
    if (err instanceof ConfigError) throw err;
    throw describeConnectionFailure(err, options.databaseUrl);
  }
  opened = true;
  // `vonode publish` and the other commands find this database through it.
  if (embedded && options.recordConnection) writeConnectionFile(options.dataDir, url);
  return {
    pool,
    url,
    embedded: embedded !== undefined,
    health,
    async close() {
      if (embedded && options.recordConnection) removeConnectionFile(options.dataDir);
      health.close();
      await pool.end().catch(() => {});
      await embedded?.stop();
    },
  };
}

/** One fresh connection and a trivial query, outside the pool (which may be full or broken). */
async function probe(url: string | undefined): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000, query_timeout: 2000 });
  client.on('error', () => {}); // the failure also rejects connect() or the query
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => {});
  }
}

function describeConnectionFailure(err: unknown, databaseUrl: string | undefined): Error {
  const e = err as { code?: string; message?: string };
  const where = databaseUrl ? redact(databaseUrl) : 'the embedded PostgreSQL';
  const message = e.message ?? String(err);
  if (
    e.code === 'ECONNREFUSED' ||
    e.code === 'ENOTFOUND' ||
    e.code === 'EAI_AGAIN' ||
    e.code === 'ETIMEDOUT' ||
    /timeout/i.test(message)
  ) {
    return new ConfigError(
      `cannot reach PostgreSQL at ${where} (${e.code ?? message})`,
      'check DATABASE_URL and that the server is running, or unset DATABASE_URL to use the embedded PostgreSQL',
    );
  }
  if (e.code === '28P01' || e.code === '28000') {
    return new ConfigError(
      `PostgreSQL at ${where} refused the credentials`,
      'fix the user and password in DATABASE_URL',
    );
  }
  if (e.code === '3D000') {
    return new ConfigError(
      `the database named in DATABASE_URL does not exist on ${where}`,
      'create it (createdb) or name an existing one',
    );
  }
  if (/^migration /.test(message)) {
    return new ConfigError(
      message,
      "the database schema could not be brought up to date: check the PostgreSQL log and the user's rights",
    );
  }
  return new ConfigError(
    `PostgreSQL at ${where} failed: ${message}`,
    'check DATABASE_URL and the PostgreSQL log',
  );
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'DATABASE_URL';
  }
}
