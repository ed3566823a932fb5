/**
 * `vonode init-db`: prepares an existing PostgreSQL (DATABASE_URL, 15 or newer) for the node
 * and exits: checks the rights of the connecting role first and, when one is missing, prints
 * the exact SQL an administrator runs (issue 23); then creates the reader role the row-level
 * security expects (sql/050), applies every pending migration and the built-in catalogue.
 * Idempotent: a second run changes nothing. Kubernetes runs it as a Job before the
 * Deployment, a plain server as ExecStartPre (docs/deploy.md).
 */
import pg from 'pg';
import { ensureBuiltinCatalogue } from '../catalogue/index.js';
import { ConfigError, parseConfig } from '../config/index.js';
import { loadMigrations, MIN_SERVER_VERSION, openDatabase } from '../db/index.js';

const USAGE = `usage: vonode init-db

Creates or upgrades what vonode needs in the PostgreSQL at DATABASE_URL (15 or newer):
the role vonode_reader (row-level security), the schemas, tables and functions of every
migration, and the built-in catalogue entries; then exits. Safe to run again and while
nodes run. The connecting role needs: CONNECT and CREATE on its database (or to own it),
and either CREATEROLE or an administrator who ran the SQL it prints when that is missing.`;

/** The role the node switches to for every query (SET LOCAL ROLE, sql/050_auth.sql). */
export const READER_ROLE = 'vonode_reader';

interface Rights {
  user: string;
  database: string;
  version: number;
  superuser: boolean;
  createrole: boolean;
  canCreateSchemas: boolean;
  readerExists: boolean;
  readerUsable: boolean;
  applied: number;
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The SQL an administrator runs so that `rights.user` can initialise the node's database. */
export function missingRightsSql(r: Rights): string[] {
  const sql: string[] = [];
  if (!r.canCreateSchemas)
    sql.push(`GRANT CONNECT, CREATE ON DATABASE ${ident(r.database)} TO ${ident(r.user)};`);
  if (!r.readerExists && !r.createrole && !r.superuser)
    sql.push(`CREATE ROLE ${READER_ROLE} NOLOGIN NOSUPERUSER NOINHERIT NOCREATEDB NOCREATEROLE NOBYPASSRLS;`);
  if (!r.readerUsable && !r.superuser && !(r.createrole && !r.readerExists))
    // 16 added per-membership INHERIT and SET: the node needs SET ROLE only (sql/050_auth.sql).
    sql.push(
      r.version >= 160000
        ? `GRANT ${READER_ROLE} TO ${ident(r.user)} WITH INHERIT FALSE, SET TRUE;`
        : `GRANT ${READER_ROLE} TO ${ident(r.user)};`,
    );
  return sql;
}

async function readRights(client: pg.Client): Promise<Rights> {
  const r = await client.query<{
    user: string;
    database: string;
    version: string;
    superuser: boolean;
    createrole: boolean;
    create_schemas: boolean;
    reader_exists: boolean;
  }>(
    `SELECT current_user AS user, current_database() AS database,
            current_setting('server_version_num') AS version,
            r.rolsuper AS superuser, r.rolcreaterole AS createrole,
            has_database_privilege(current_database(), 'CREATE') AS create_schemas,
            EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS reader_exists
       FROM pg_roles r WHERE r.rolname = current_user`,
    [READER_ROLE],
  );
  const row = r.rows[0];
  const version = Number(row.version);
  let readerUsable = false;
  if (row.reader_exists) {
    const how = version >= 160000 ? 'SET' : 'MEMBER';
    readerUsable = (
      await client.query<{ ok: boolean }>('SELECT pg_has_role(current_user, $1, $2) AS ok', [
        READER_ROLE,
        how,
      ])
    ).rows[0].ok;
  }
  const migrated = (
    await client.query<{ t: string | null }>("SELECT to_regclass('vonode.schema_migrations') AS t")
  ).rows[0].t;
  const applied = migrated
    ? Number(
        (await client.query<{ n: string }>('SELECT count(*) AS n FROM vonode.schema_migrations')).rows[0].n,
      )
    : 0;
  return {
    user: row.user,
    database: row.database,
    version,
    superuser: row.superuser,
    createrole: row.createrole,
    canCreateSchemas: row.create_schemas,
    readerExists: row.reader_exists,
    readerUsable,
    applied,
  };
}

export async function runInitDbCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (argv.length > 0) throw new ConfigError(`unexpected argument '${argv[0]}'`, USAGE.split('\n')[0]);
  const config = parseConfig();
  if (!config.databaseUrl)
    throw new ConfigError(
      'init-db prepares an existing PostgreSQL and DATABASE_URL is not set',
      'set DATABASE_URL=postgres://user:password@host:5432/database (the embedded PostgreSQL is prepared by vonode serve itself)',
    );
  const say = (line: string) => process.stderr.write(`vonode: ${line}\n`);
  // The rights are read on a plain connection first: a migration failing halfway for want of
  // a right would tell less than the SQL that grants it.
  const client = new pg.Client({ connectionString: config.databaseUrl, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  let rights: Rights;
  try {
    await client.connect();
    rights = await readRights(client);
  } catch (err) {
    await client.end().catch(() => {});
    throw connectionProblem(err);
  }
  await client.end().catch(() => {});
  if (rights.version < MIN_SERVER_VERSION)
    throw new ConfigError(
      `the PostgreSQL at DATABASE_URL is version ${rights.version}, older than 15`,
      'point DATABASE_URL at PostgreSQL 15 or newer',
    );
  const grants = missingRightsSql(rights);
  if (grants.length > 0) {
    say(
      `the role ${rights.user} lacks rights init-db needs on database ${rights.database}; ask a database administrator to run (e.g. psql -U postgres -d ${rights.database}):`,
    );
    for (const line of grants) process.stderr.write(`  ${line}\n`);
    say('then run vonode init-db again');
    return 2;
  }
  if (rights.superuser)
    say(
      `${rights.user} is a superuser: fine for init-db, but serve with a role that is not (docs/deploy.md), so that a mistake in the node cannot reach beyond its database`,
    );
  const known = loadMigrations().length;
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: 2,
    log: () => {},
  });
  try {
    await ensureBuiltinCatalogue(db.pool);
    const now = (await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM vonode.schema_migrations'))
      .rows[0].n;
    const done = Number(now) - rights.applied;
    say(
      `database ${rights.database} is ready for vonode: ${now} of ${known} migrations applied (${done > 0 ? `${done} now` : 'nothing to do'}), role ${READER_ROLE} usable by ${rights.user}`,
    );
  } finally {
    await db.close();
  }
  return 0;
}

function connectionProblem(err: unknown): Error {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  if (e.code === '28P01' || e.code === '28000')
    return new ConfigError('PostgreSQL refused the credentials in DATABASE_URL', 'fix the user and password');
  if (e.code === '3D000')
    return new ConfigError(
      'the database named in DATABASE_URL does not exist',
      'an administrator creates it: CREATE DATABASE vonode OWNER <role>;',
    );
  if (e.code === '42501')
    return new ConfigError(
      `PostgreSQL refused: ${message}`,
      'an administrator grants CONNECT on the database to the role in DATABASE_URL',
    );
  if (
    e.code === 'ECONNREFUSED' ||
    e.code === 'ENOTFOUND' ||
    e.code === 'EAI_AGAIN' ||
    /timeout/i.test(message)
  )
    return new ConfigError(
      `cannot reach the PostgreSQL at DATABASE_URL (${e.code ?? message})`,
      'check DATABASE_URL and that the server runs and accepts this host (pg_hba.conf)',
    );
  return new Error(`PostgreSQL failed: ${message}`);
}
