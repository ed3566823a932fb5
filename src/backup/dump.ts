/**
 * Backup of a node on an external PostgreSQL (DATABASE_URL): pg_dump in custom format, restored
 * with pg_restore into an empty database. pg_dump must be at least as new as the server (it
 * refuses a newer one); VONODE_PG_BIN names the folder of the right client programs when the
 * ones on PATH are older, e.g. /usr/lib/postgresql/17/bin.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** A client program from VONODE_PG_BIN, else from PATH. */
export function pgProgram(name: 'pg_dump' | 'pg_restore', env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.VONODE_PG_BIN?.trim();
  return dir ? join(dir, name) : name;
}

/** The major version of a client program, with a clear error when it is missing. */
export async function programMajor(program: string): Promise<number> {
  let out: string;
  try {
    out = (await run(program, ['--version'])).stdout;
  } catch {
    throw new Error(
      `cannot run ${program}: install PostgreSQL's client programs (Debian: postgresql-client) or set VONODE_PG_BIN to their folder`,
    );
  }
  const m = /\(PostgreSQL\)\s+(\d+)/.exec(out);
  if (!m) throw new Error(`cannot read the version of ${program} from '${out.trim()}'`);
  return Number(m[1]);
}

/** Connection settings as libpq's environment, so that the password is not on a command line. */
export function libpqEnv(url: string): NodeJS.ProcessEnv {
  const u = new URL(url);
  const env: NodeJS.ProcessEnv = { ...process.env, PGHOST: u.hostname, PGPORT: u.port || '5432' };
  if (u.username) env.PGUSER = decodeURIComponent(u.username);
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  const db = decodeURIComponent(u.pathname.slice(1));
  if (db) env.PGDATABASE = db;
  const sslmode = u.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  return env;
}

export async function dumpDatabase(url: string, serverMajor: number, out: string): Promise<void> {
  const program = pgProgram('pg_dump');
  const major = await programMajor(program);
  if (major < serverMajor) {
    throw new Error(
      `${program} is PostgreSQL ${major}, older than the server (${serverMajor}), and pg_dump refuses a newer server: install postgresql-client-${serverMajor} or set VONODE_PG_BIN to its folder (e.g. /usr/lib/postgresql/${serverMajor}/bin)`,
    );
  }
  try {
    await run(program, ['--format=custom', '--file', out], { env: libpqEnv(url), maxBuffer: 16 << 20 });
  } catch (err) {
    throw new Error(`pg_dump failed: ${firstLine(err)}`);
  }
}

/**
 * The node's query role (sql/050_auth.sql) exists once per server, not per database, so a dump
 * does not carry it: it is created here, as the migration would, before the grants to it.
 */
export async function ensureReaderRole(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(`DO $$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vonode_reader') THEN
          CREATE ROLE vonode_reader NOLOGIN NOSUPERUSER NOINHERIT NOCREATEDB NOCREATEROLE NOBYPASSRLS;
        END IF;
        IF NOT pg_has_role(current_user, 'vonode_reader', 'MEMBER') THEN
          EXECUTE format('GRANT vonode_reader TO %I', current_user);
        END IF;
      END $$`);
  } catch (err) {
    const user = new URL(url).username || 'the node user';
    throw new Error(
      `the role vonode_reader is missing and could not be created (${firstLine(err)}): ask a database administrator to run: CREATE ROLE vonode_reader NOLOGIN; GRANT vonode_reader TO ${user};`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

export async function restoreDump(url: string, dump: string): Promise<void> {
  const program = pgProgram('pg_restore');
  await programMajor(program);
  await ensureReaderRole(url);
  try {
    // Objects belong to the restoring user (the node's), whoever owned them before.
    await run(
      program,
      [
        '--no-owner',
        '--exit-on-error',
        '--single-transaction',
        '--dbname',
        decodeURIComponent(new URL(url).pathname.slice(1)) || 'postgres',
        dump,
      ],
      {
        env: libpqEnv(url),
        maxBuffer: 16 << 20,
      },
    );
  } catch (err) {
    throw new Error(`pg_restore failed: ${firstLine(err)}`);
  }
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  const text = e.stderr?.trim() || e.message || String(err);
  return text.split('\n').find((l) => l.trim()) ?? text;
}
