import { resolve } from 'node:path';
import { type CorsSettings, isOrigin } from '../cors/index.js';
import { type LogFormat, type LogLevel, parseLogFormat } from '../log/index.js';
import type { TapLimits } from '../tap/capability.js';
import { type AdqlLimits, adqlLimitsFromEnv } from '../tap/compile.js';
import { ConfigError } from './errors.js';

export { ConfigError } from './errors.js';

/** Everything vonode reads from its environment, parsed once at start-up. */
export interface Config {
  /** TCP port of the HTTP server. */
  readonly port: number;
  /** Interface the HTTP server binds. */
  readonly host: string;
  /** Public base URL written into documents (capabilities, access_url, job URLs). */
  readonly baseUrl: string;
  /** True when VONODE_BASE_URL was set: job URLs then use it rather than the request's host. */
  readonly baseUrlExplicit: boolean;
  /** An external PostgreSQL 15+; undefined means start the embedded one. */
  readonly databaseUrl: string | undefined;
  /** Folder for the embedded PostgreSQL, FITS products, job results. */
  readonly dataDir: string;
  /** Products below it are stored by their path relative to it (sql/170). */
  readonly productsRoot: string;
  /** Rows of the demo source catalogue; 0 disables the demo data. */
  readonly demoRows: number;
  /** 1 for full-size demo FITS products; 2..16 for coarser, smaller ones. */
  readonly demoScale: number;
  /** ADQL schema in which unqualified table names resolve first; undefined: none. */
  readonly defaultSchema: string | undefined;
  /** Pool size of the service's PostgreSQL connections. */
  readonly dbPoolSize: number;
  /** Seconds a request waits for a pooled connection before it is answered 503 with Retry-After. */
  readonly dbAcquireTimeoutSeconds: number;
  /** Seconds a SIGTERM gives responses in progress before the node exits (issue 23). */
  readonly drainSeconds: number;
  /** How synchronous results (/tap/sync, /scs/query) are held and handed to clients. */
  readonly sync: SyncLimits;
  readonly logLevel: LogLevel;
  /** VONODE_LOG_FORMAT: every line of the node in this form on standard error. */
  readonly logFormat: LogFormat;
  /** The environment itself, for modules that read their own variables (auth). */
  readonly env: Env;
  readonly tap: TapLimits;
  /** ADQL text limits (VONODE_ADQL_*), applied by the compiler. */
  readonly adql: AdqlLimits;
  /** Largest SR of a Simple Cone Search, degrees (the capability's maxSR). */
  readonly scsMaxSR: number;
  /** Cross-origin reading of the public endpoints (src/cors). */
  readonly cors: CorsSettings;
  /** Who the registry records say publishes the node. */
  readonly publisher: { readonly authority: string; readonly name: string; readonly email: string };
  readonly uws: {
    /** Jobs this process runs at once. */
    readonly concurrency: number;
    /** Jobs one owner runs at once across all processes; 0 = no cap. */
    readonly perOwnerConcurrency: number;
    /** Seconds between heartbeats of running jobs. */
    readonly heartbeatSeconds: number;
    /** Seconds without a heartbeat after which a running job's process is taken as dead. */
    readonly staleAfterSeconds: number;
    /** Unfinished async jobs one owner (anonymous: one address) may have; 0 = no cap. */
    readonly maxUnfinishedPerClient: number;
    /** Most bytes the inline uploads of all waiting jobs may take on disk; 0 = no cap. */
    readonly uploadSpoolMaxBytes: number;
  };
  readonly upload: {
    readonly maxBytes: number;
    readonly maxRows: number;
    readonly maxTables: number;
    readonly fetchTimeoutSeconds: number;
    readonly allowPrivateUrls: boolean;
    readonly maxRedirects: number;
  };
}

/**
 * Synchronous results are spooled (memory, then a temporary file) so the database connection
 * is free as soon as PostgreSQL has produced the result, whatever the client's pace; these
 * bound what slow or many clients can hold.
 */
export interface SyncLimits {
  /** Sync queries running or being read at once, all clients. */
  readonly maxConcurrent: number;
  /** Sync queries at once for one client (identity, else remote address). */
  readonly maxPerClient: number;
  /**
   * Sync results produced (read from PostgreSQL and encoded) at once; the others wait for a
   * place before taking a database connection. Encoding runs on the event loop, so this bounds
   * how long any other request waits for its turn.
   */
  readonly maxProducing: number;
  /** Bytes of one response held in memory before the rest goes to a temporary file. */
  readonly spoolMemoryBytes: number;
  /** Bytes all responses together may hold in temporary files; a result beyond it is cut with an error. */
  readonly spoolDiskBytes: number;
  /**
   * COPY bytes of a result beyond the read-ahead kept until it ends, so OVERFLOW leads the
   * document where pyvo 1.2 reads it (0: off; larger results say it after the table).
   */
  readonly statusSpoolBytes: number;
  /** A client reading slower than this (bytes/s) ... */
  readonly minReadRate: number;
  /** ... over this many seconds is disconnected and its spool deleted. */
  readonly readGraceSeconds: number;
}

export type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The configuration table of the README, as code: name, meaning, default. */
export const CONFIG_VARIABLES: ReadonlyArray<{ name: string; meaning: string; default: string }> = [
  { name: 'PORT', meaning: 'HTTP port', default: '8080' },
  { name: 'VONODE_HOST', meaning: 'interface to bind', default: '127.0.0.1' },
  { name: 'VONODE_BASE_URL', meaning: 'public URL written into documents', default: 'http://localhost:PORT' },
  {
    name: 'DATABASE_URL',
    meaning: 'PostgreSQL 15+ to use instead of the embedded one',
    default: '(embedded)',
  },
  { name: 'VONODE_DATA_DIR', meaning: 'data folder (embedded PostgreSQL, FITS, results)', default: './var' },
  {
    name: 'VONODE_PRODUCTS_ROOT',
    meaning:
      'folder products below it are recorded relative to (move the archive, change this, ingest nothing again); files elsewhere keep absolute paths',
    default: 'the data folder',
  },
  {
    name: 'VONODE_DEMO_ROWS',
    meaning: 'rows of the demo source catalogue (0: no demo data)',
    default: '1000000',
  },
  {
    name: 'VONODE_DEMO_SCALE',
    meaning: 'demo FITS products this many times coarser per axis (1: 2048² images)',
    default: '1',
  },
  {
    name: 'VONODE_DEFAULT_SCHEMA',
    meaning: 'ADQL schema where unqualified table names (FROM sources) resolve first; "none" for none',
    default: 'demo with demo data, else none',
  },
  { name: 'VONODE_DB_POOL', meaning: 'PostgreSQL connections per process', default: '20' },
  {
    name: 'VONODE_DB_ACQUIRE_TIMEOUT',
    meaning: 'seconds a request waits for a free PostgreSQL connection before a 503 with Retry-After',
    default: '5',
  },
  { name: 'VONODE_LOG_LEVEL', meaning: 'pino log level', default: 'info' },
  {
    name: 'VONODE_LOG_FORMAT',
    meaning: 'json (one record a line) or console (readable), on standard error',
    default: 'console on a terminal, else json',
  },
  { name: 'VONODE_METRICS', meaning: 'Prometheus metrics at /metrics (on|off)', default: 'on' },
  { name: 'VONODE_TAP_MAXREC', meaning: 'rows returned when a query gives no MAXREC', default: '100000' },
  {
    name: 'VONODE_TAP_MAXREC_HARD',
    meaning: 'most rows any query returns (a larger MAXREC overflows here)',
    default: '50000000',
  },
  { name: 'VONODE_TAP_SYNC_TIMEOUT', meaning: 'seconds a /tap/sync query may run', default: '300' },
  {
    name: 'VONODE_MIVOT',
    meaning:
      'on: TAP VOTable results with a main position carry a MIVOT annotation (a RESOURCE type="meta" before the TABLE, which STILTS 3.4 and older read as the result and then find no TABLE)',
    default: 'off',
  },
  {
    name: 'VONODE_PARQUET_ROW_GROUP_ROWS',
    meaning:
      'rows per row group of a Parquet result (memory per result grows with it; a group also ends at 64 MiB)',
    default: '100000',
  },
  {
    name: 'VONODE_SYNC_MAX',
    meaning: 'synchronous queries (/tap/sync, /scs/query) running or being read at once; more get 503',
    default: '64',
  },
  {
    name: 'VONODE_SYNC_MAX_PER_CLIENT',
    meaning: 'synchronous queries at once per client (token subject, else remote address); more get 503',
    default: '8',
  },
  {
    name: 'VONODE_SYNC_SPOOL_MEMORY',
    meaning: 'bytes of one synchronous result held in memory before the rest goes to a temporary file',
    default: '1048576',
  },
  {
    name: 'VONODE_SYNC_SPOOL_DISK',
    meaning:
      'bytes all synchronous results may hold in temporary files (data folder); a result beyond it ends with an ERROR status',
    default: '4294967296',
  },
  {
    name: 'VONODE_SYNC_STATUS_SPOOL',
    meaning:
      'bytes of one synchronous result (as PostgreSQL sends it) read to its end before the first byte goes out, so an OVERFLOW status leads the document where every client reads it; a larger result says OVERFLOW after the table (0: only the first MiB)',
    default: '67108864',
  },
  {
    name: 'VONODE_SYNC_MIN_RATE',
    meaning:
      'bytes/s a client must read a synchronous result at (measured over VONODE_SYNC_RATE_GRACE) or be disconnected',
    default: '1024',
  },
  {
    name: 'VONODE_SYNC_PRODUCERS',
    meaning: 'synchronous results read from PostgreSQL and encoded at once; the others wait for a place',
    default: '6',
  },
  {
    name: 'VONODE_SYNC_RATE_GRACE',
    meaning: 'seconds over which the minimum read rate is measured',
    default: '30',
  },
  {
    name: 'VONODE_PUBLISH_SORT_MEMORY',
    meaning:
      'bytes of rows vonode publish holds to put them in HEALPix order; more go through temporary files (TMPDIR); 65536 to 1073741824',
    default: '50331648',
  },
  {
    name: 'VONODE_PARTITION_MIN_ROWS',
    meaning:
      "rows from which `vonode publish` range-partitions a table on its HEALPix index (0: never; a description's partitioning.minRows overrides it)",
    default: '50000000',
  },
  {
    name: 'VONODE_PARTITION_ORDER',
    meaning: 'HEALPix order of the partition boundaries, 1 to 12',
    default: '7',
  },
  {
    name: 'VONODE_PARTITIONS',
    meaning: 'partitions of a partitioned table (at least one per shard)',
    default: '16',
  },
  {
    name: 'VONODE_SHARDS',
    meaning:
      'PostgreSQL URLs (comma-separated) of the servers that hold the partitions of big tables through postgres_fdw; empty: this database holds them',
    default: '',
  },
  {
    name: 'VONODE_SHARD_MARGIN',
    meaning:
      'arcsec: rows this close to a partition edge are also stored, flagged, beside the neighbour partition',
    default: '10',
  },
  {
    name: 'VONODE_SHARD_CONNECT_TIMEOUT',
    meaning: 'seconds the database waits to connect to a shard before the query fails naming the missing sky',
    default: '5',
  },
  { name: 'VONODE_SCS_MAX_SR', meaning: 'largest cone radius /scs/query accepts, degrees', default: '10' },
  {
    name: 'VONODE_CORS_ORIGINS',
    meaning:
      'web origins (https://host[:port], comma-separated) whose pages may call the public endpoints with credentials (tokens, cookies); every other origin may read public answers only',
    default: 'none',
  },
  {
    name: 'VONODE_CORS_MAX_AGE',
    meaning: 'seconds a browser may keep a CORS preflight answer',
    default: '600',
  },
  {
    name: 'VONODE_AUTHORITY',
    meaning: 'IVOA naming authority of the registry records (ivo://AUTHORITY/tap ...)',
    default: 'vonode.demo',
  },
  {
    name: 'VONODE_PUBLISHER',
    meaning: 'publisher named in the registry records',
    default: 'vonode demo node',
  },
  {
    name: 'VONODE_CONTACT_EMAIL',
    meaning: 'contact and OAI-PMH admin e-mail of the registry records',
    default: 'vo-admin@ + VONODE_AUTHORITY',
  },
  {
    name: 'VONODE_TAP_ASYNC_DURATION',
    meaning: 'default and most seconds an async job may run',
    default: '3600,14400',
  },
  {
    name: 'VONODE_TAP_RETENTION',
    meaning: 'default and most seconds a job is kept',
    default: '604800,2592000',
  },
  {
    name: 'VONODE_DRAIN_SECONDS',
    meaning:
      'on SIGTERM: seconds to finish responses in progress (the rest end with QUERY_STATUS ERROR) before exiting; async jobs go back to the queue at once',
    default: '25',
  },
  { name: 'VONODE_UWS_CONCURRENCY', meaning: 'async jobs this process runs at once', default: '4' },
  {
    name: 'VONODE_UWS_OWNER_CONCURRENCY',
    meaning: 'async jobs one owner runs at once, all processes (0: no cap)',
    default: '2',
  },
  { name: 'VONODE_UWS_HEARTBEAT', meaning: 'seconds between heartbeats of running jobs', default: '5' },
  {
    name: 'VONODE_UWS_STALE_AFTER',
    meaning: 'seconds without heartbeat before a job of a dead process is re-queued',
    default: '30',
  },
  {
    name: 'VONODE_UWS_MAX_UNFINISHED',
    meaning: 'unfinished async jobs one owner, or one address if anonymous, may have (0: no cap)',
    default: '500',
  },
  {
    name: 'VONODE_UPLOAD_SPOOL_MAX_BYTES',
    meaning: 'most bytes all async jobs waiting to run may keep as uploads (0: no cap)',
    default: '4294967296',
  },
  { name: 'VONODE_UPLOAD_MAX_BYTES', meaning: 'largest upload (bytes)', default: '536870912' },
  { name: 'VONODE_UPLOAD_MAX_ROWS', meaning: 'most rows of one uploaded table', default: '10000000' },
  { name: 'VONODE_UPLOAD_TIMEOUT', meaning: 'seconds to fetch an http(s) upload', default: '60' },
  {
    name: 'VONODE_UPLOAD_ALLOW_PRIVATE',
    meaning: 'fetch upload URLs on loopback/private networks (on/off)',
    default: 'off',
  },
  {
    name: 'VONODE_ADQL_MAX_LENGTH',
    meaning: 'longest ADQL query, characters',
    default: '262144',
  },
  { name: 'VONODE_ADQL_MAX_DEPTH', meaning: 'deepest nesting of an ADQL query', default: '100' },
  {
    name: 'VONODE_ADQL_COMPILE_TIMEOUT',
    meaning: 'seconds a long query may take to compile before it is refused',
    default: '10',
  },
  {
    name: 'VONODE_UPLOAD_MAX_REDIRECTS',
    meaning: 'redirects an upload URL fetch follows, each checked again',
    default: '5',
  },
];

/**
 * The PostgreSQL settings every connection of the node and of its commands carries: stored
 * access URLs (sql/148) and product paths (sql/170) are resolved against them when read.
 */
export function connectionSettings(config: Config): Record<string, string> {
  return { 'vonode.base_url': config.baseUrl, 'vonode.products_root': config.productsRoot };
}

export function parseConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const port = integerSetting(env, 'PORT', 8080, 0, 65535);
  const host = env.VONODE_HOST?.trim() || '127.0.0.1';
  const baseUrl = parseBaseUrl(env.VONODE_BASE_URL, host, port);
  const databaseUrl = parseDatabaseUrl(env.DATABASE_URL);
  const dataDir = resolve(cwd, env.VONODE_DATA_DIR?.trim() || 'var');
  const productsRoot = resolve(cwd, env.VONODE_PRODUCTS_ROOT?.trim() || dataDir);
  const demoRows = integerSetting(env, 'VONODE_DEMO_ROWS', 1_000_000, 0, 1_000_000_000);
  const dbPoolSize = integerSetting(env, 'VONODE_DB_POOL', 20, 2, 1000);
  const level = (env.VONODE_LOG_LEVEL?.trim() || 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(level)) {
    throw new ConfigError(
      `VONODE_LOG_LEVEL='${env.VONODE_LOG_LEVEL}' is not a log level`,
      `use one of ${LOG_LEVELS.join(', ')}`,
    );
  }
  const logFormat = parseLogFormat(env.VONODE_LOG_FORMAT, Boolean(process.stderr.isTTY));
  if (!logFormat) {
    throw new ConfigError(
      `VONODE_LOG_FORMAT='${env.VONODE_LOG_FORMAT}' is not a log format`,
      'use json or console',
    );
  }
  const maxrecDefault = integerSetting(env, 'VONODE_TAP_MAXREC', 100_000, 0, 1_000_000_000);
  const maxrecHard = integerSetting(env, 'VONODE_TAP_MAXREC_HARD', 50_000_000, 1, 2_000_000_000);
  if (maxrecDefault > maxrecHard) {
    throw new ConfigError(
      `VONODE_TAP_MAXREC (${maxrecDefault}) is above VONODE_TAP_MAXREC_HARD (${maxrecHard})`,
      'lower the default or raise the hard limit',
    );
  }
  const [durationDefault, durationHard] = pair(env, 'VONODE_TAP_ASYNC_DURATION', [3600, 14_400]);
  const [retentionDefault, retentionHard] = pair(env, 'VONODE_TAP_RETENTION', [604_800, 2_592_000]);
  const uploadMaxBytes = integerSetting(env, 'VONODE_UPLOAD_MAX_BYTES', 512 * 1024 * 1024, 1024, 1e12);
  const uploadMaxRows = integerSetting(env, 'VONODE_UPLOAD_MAX_ROWS', 10_000_000, 1, 1e10);
  // The compile worker reads the same variables; reading them here makes a bad value a
  // one-line start error like every other setting.
  const adql = adqlLimitsFromEnv(env);
  return {
    port,
    host,
    baseUrl,
    baseUrlExplicit: Boolean(env.VONODE_BASE_URL?.trim()),
    databaseUrl,
    dataDir,
    productsRoot,
    demoRows,
    demoScale: integerSetting(env, 'VONODE_DEMO_SCALE', 1, 1, 16),
    defaultSchema: parseDefaultSchema(env.VONODE_DEFAULT_SCHEMA, demoRows > 0),
    dbPoolSize,
    dbAcquireTimeoutSeconds: integerSetting(env, 'VONODE_DB_ACQUIRE_TIMEOUT', 5, 1, 600),
    drainSeconds: integerSetting(env, 'VONODE_DRAIN_SECONDS', 25, 1, 3600),
    sync: syncSettings(env),
    logLevel: level,
    logFormat,
    env,
    tap: {
      maxrecDefault,
      maxrecHard,
      syncTimeoutSeconds: integerSetting(env, 'VONODE_TAP_SYNC_TIMEOUT', 300, 1, 86_400),
      parquetRowGroupRows: integerSetting(env, 'VONODE_PARQUET_ROW_GROUP_ROWS', 100_000, 1000, 10_000_000),
      mivot: flag(env, 'VONODE_MIVOT', false),
      asyncDurationDefault: durationDefault,
      asyncDurationHard: durationHard,
      retentionDefault,
      retentionHard,
      uploadMaxBytes,
      uploadMaxRows,
    },
    adql,
    scsMaxSR: integerSetting(env, 'VONODE_SCS_MAX_SR', 10, 1, 180),
    cors: corsSettings(env),
    publisher: publisherSettings(env),
    uws: uwsSettings(env),
    upload: {
      maxBytes: uploadMaxBytes,
      maxRows: uploadMaxRows,
      maxTables: 16,
      fetchTimeoutSeconds: integerSetting(env, 'VONODE_UPLOAD_TIMEOUT', 60, 1, 3600),
      allowPrivateUrls: flag(env, 'VONODE_UPLOAD_ALLOW_PRIVATE', false),
      maxRedirects: integerSetting(env, 'VONODE_UPLOAD_MAX_REDIRECTS', 5, 0, 20),
    },
  };
}

/** The demo catalogue's ADQL schema (catalogues/demo.yaml). */
export const DEMO_SCHEMA_NAME = 'demo';

// An ADQL regular identifier (ADQL 2.1 §2.1.3): a letter, then letters, digits, underscores.
const REGULAR_IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * VONODE_DEFAULT_SCHEMA: a schema name as TAP_SCHEMA lists it. Unset: the demo schema
 * when the demo data are generated, else none; 'none' turns it off explicitly. Whether
 * the schema is published is not known here (it may be published later): an unknown
 * schema simply resolves nothing.
 */
function parseDefaultSchema(raw: string | undefined, demo: boolean): string | undefined {
  const text = raw?.trim();
  if (!text) return demo ? DEMO_SCHEMA_NAME : undefined;
  if (text.toLowerCase() === 'none') return undefined;
  if (!REGULAR_IDENTIFIER.test(text) || text.length > 128)
    throw new ConfigError(
      `VONODE_DEFAULT_SCHEMA='${raw}' is not a schema name`,
      'give a schema name as TAP_SCHEMA.schemas lists it (letters, digits, underscores, starting with a letter), or none',
    );
  return text;
}

// REG-1: an IVOID authority is at least three characters from this set, starting alphanumeric.
const AUTHORITY = /^[A-Za-z0-9][\w\-.~*'()]{2,}$/;

function corsSettings(env: Env): CorsSettings {
  const origins = (env.VONODE_CORS_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim().replace(/\/$/, ''))
    .filter((o) => o.length > 0);
  const bad = origins.find((o) => !isOrigin(o));
  if (bad !== undefined)
    throw new ConfigError(
      `VONODE_CORS_ORIGINS has '${bad}', which is not a web origin`,
      'list origins like https://portal.example.org or http://localhost:3000, comma-separated, without a path',
    );
  return {
    allowedOrigins: origins,
    maxAgeSeconds: integerSetting(env, 'VONODE_CORS_MAX_AGE', 600, 0, 86_400),
  };
}

/** The OAI-PMH 2.0 schema's emailType pattern, \S+@(\S+\.)+\S+, anchored as XML Schema patterns are. */
export const OAI_EMAIL = /^\S+@(\S+\.)+\S+$/;

/** Without VONODE_CONTACT_EMAIL: an address at the naming authority (a domain name by custom). */
function defaultContact(authority: string): string {
  return `vo-admin@${authority.includes('.') ? authority : `${authority}.invalid`}`;
}

function publisherSettings(env: Env): Config['publisher'] {
  const authority = env.VONODE_AUTHORITY?.trim() || 'vonode.demo';
  if (!AUTHORITY.test(authority))
    throw new ConfigError(
      `VONODE_AUTHORITY='${env.VONODE_AUTHORITY}' is not an IVOA naming authority`,
      'give a name like ska-src.example.org, without ivo:// and without a path',
    );
  const email = env.VONODE_CONTACT_EMAIL?.trim() || defaultContact(authority);
  // OAI-PMH 2.0's schema (emailType) wants a dot in the domain: Identify's adminEmail with
  // an address like vo-admin@localhost is invalid and harvesters refuse it.
  if (!OAI_EMAIL.test(email))
    throw new ConfigError(
      `VONODE_CONTACT_EMAIL='${env.VONODE_CONTACT_EMAIL}' is not an e-mail address a registry accepts`,
      'give one like vo@example.org (OAI-PMH needs a domain with a dot)',
    );
  return { authority, name: env.VONODE_PUBLISHER?.trim() || 'vonode demo node', email };
}

function syncSettings(env: Env): SyncLimits {
  const maxConcurrent = integerSetting(env, 'VONODE_SYNC_MAX', 64, 1, 100_000);
  return {
    maxConcurrent,
    maxPerClient: integerSetting(env, 'VONODE_SYNC_MAX_PER_CLIENT', Math.min(8, maxConcurrent), 1, 100_000),
    maxProducing: integerSetting(env, 'VONODE_SYNC_PRODUCERS', 6, 1, 10_000),
    spoolMemoryBytes: integerSetting(env, 'VONODE_SYNC_SPOOL_MEMORY', 1024 * 1024, 4096, 1e10),
    spoolDiskBytes: integerSetting(env, 'VONODE_SYNC_SPOOL_DISK', 4 * 1024 ** 3, 0, 1e15),
    statusSpoolBytes: integerSetting(env, 'VONODE_SYNC_STATUS_SPOOL', 64 * 1024 ** 2, 0, 1e12),
    minReadRate: integerSetting(env, 'VONODE_SYNC_MIN_RATE', 1024, 0, 1e10),
    readGraceSeconds: integerSetting(env, 'VONODE_SYNC_RATE_GRACE', 30, 1, 86_400),
  };
}

function uwsSettings(env: Env): Config['uws'] {
  const heartbeatSeconds = integerSetting(env, 'VONODE_UWS_HEARTBEAT', 5, 1, 3600);
  const staleAfterSeconds = integerSetting(env, 'VONODE_UWS_STALE_AFTER', 30, 2, 86_400);
  if (staleAfterSeconds < 2 * heartbeatSeconds) {
    throw new ConfigError(
      `VONODE_UWS_STALE_AFTER (${staleAfterSeconds}) is less than two heartbeats (VONODE_UWS_HEARTBEAT=${heartbeatSeconds})`,
      'make it at least twice the heartbeat, or live jobs would be taken for dead',
    );
  }
  return {
    concurrency: integerSetting(env, 'VONODE_UWS_CONCURRENCY', 4, 1, 1000),
    perOwnerConcurrency: integerSetting(env, 'VONODE_UWS_OWNER_CONCURRENCY', 2, 0, 1000),
    heartbeatSeconds,
    staleAfterSeconds,
    maxUnfinishedPerClient: integerSetting(env, 'VONODE_UWS_MAX_UNFINISHED', 500, 0, 1_000_000),
    uploadSpoolMaxBytes: integerSetting(env, 'VONODE_UPLOAD_SPOOL_MAX_BYTES', 4 * 1024 ** 3, 0, 1e15),
  };
}

function pair(env: Env, name: string, fallback: [number, number]): [number, number] {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const m = /^(\d+)\s*,\s*(\d+)$/.exec(raw);
  if (!m || Number(m[1]) > Number(m[2]) || Number(m[1]) === 0) {
    throw new ConfigError(
      `${name}='${raw}' is not 'default,hard' in seconds with default <= hard`,
      `e.g. ${name}=${fallback.join(',')}`,
    );
  }
  return [Number(m[1]), Number(m[2])];
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (['on', 'true', '1', 'yes'].includes(raw)) return true;
  if (['off', 'false', '0', 'no'].includes(raw)) return false;
  throw new ConfigError(`${name}='${env[name]}' is not on or off`, `set ${name}=on or ${name}=off`);
}

/** A whole-number setting within [min, max], its default when unset; a ConfigError otherwise. */
export function integerSetting(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(
      `${name}='${raw}' is not a whole number from ${min} to ${max}`,
      `set ${name} to such a number or unset it (default ${fallback})`,
    );
  }
  return Number(raw);
}

function parseBaseUrl(raw: string | undefined, host: string, port: number): string {
  const text = raw?.trim();
  if (!text) return `http://${host === '0.0.0.0' || host === '::' ? 'localhost' : host}:${port}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(
      `VONODE_BASE_URL='${text}' is not a URL`,
      'give the public URL clients reach, e.g. https://src.example.org/vo',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`VONODE_BASE_URL='${text}' is not http(s)`, 'give an http:// or https:// URL');
  }
  return text.replace(/\/+$/, '');
}

function parseDatabaseUrl(raw: string | undefined): string | undefined {
  const text = raw?.trim();
  if (!text) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(
      'DATABASE_URL is not a URL',
      'use the form postgres://user:password@host:5432/database, or unset it to use the embedded PostgreSQL',
    );
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(
      `DATABASE_URL has scheme '${url.protocol}'`,
      'use postgres://user:password@host:5432/database',
    );
  }
  return text;
}
