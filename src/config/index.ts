import { resolve } from 'node:path';
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
  /** An external PostgreSQL 15+; undefined means start the embedded one. */
  readonly databaseUrl: string | undefined;
  /** Folder for the embedded PostgreSQL, FITS products, job results. */
  readonly dataDir: string;
  /** Rows of the demo source catalogue; 0 disables the demo data. */
  readonly demoRows: number;
  /** Pool size of the service's PostgreSQL connections. */
  readonly dbPoolSize: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

type Env = Readonly<Record<string, string | undefined>>;

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
    name: 'VONODE_DEMO_ROWS',
    meaning: 'rows of the demo source catalogue (0: no demo data)',
    default: '1000000',
  },
  { name: 'VONODE_DB_POOL', meaning: 'PostgreSQL connections per process', default: '20' },
  { name: 'VONODE_LOG_LEVEL', meaning: 'pino log level', default: 'info' },
];

export function parseConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const port = integer(env, 'PORT', 8080, 0, 65535);
  const host = env.VONODE_HOST?.trim() || '127.0.0.1';
  const baseUrl = parseBaseUrl(env.VONODE_BASE_URL, host, port);
  const databaseUrl = parseDatabaseUrl(env.DATABASE_URL);
  const dataDir = resolve(cwd, env.VONODE_DATA_DIR?.trim() || 'var');
  const demoRows = integer(env, 'VONODE_DEMO_ROWS', 1_000_000, 0, 1_000_000_000);
  const dbPoolSize = integer(env, 'VONODE_DB_POOL', 20, 2, 1000);
  const level = (env.VONODE_LOG_LEVEL?.trim() || 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(level)) {
    throw new ConfigError(
      `VONODE_LOG_LEVEL='${env.VONODE_LOG_LEVEL}' is not a log level`,
      `use one of ${LOG_LEVELS.join(', ')}`,
    );
  }
  return { port, host, baseUrl, databaseUrl, dataDir, demoRows, dbPoolSize, logLevel: level };
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
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
