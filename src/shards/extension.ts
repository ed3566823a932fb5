/**
 * vonode's sky functions (schemas `sky` and `adql`) as the PostgreSQL extension `vonode_adql`.
 *
 * postgres_fdw sends a function call to a shard only when the function is built in or
 * belongs to an extension named in the foreign server's `extensions` option (PostgreSQL
 * docs, postgres_fdw "Remote Execution Options"); otherwise it evaluates the call on the
 * coordinator, after fetching every row it needs. So the coordinator's functions must be
 * members of an extension, and the shards must have functions of the same names.
 *
 * The extension's script is the migrations that define those functions (020, 030, 035,
 * 036, 037, 160, 169, in order), so the two never differ; its version names a hash of that
 * script, and a server holding another version is updated to it (the update script is the
 * same script: every statement in it replaces or adopts). On the coordinator the migrations have
 * already created them: the script's prelude makes each existing function and schema a
 * member before the definitions replace them (PostgreSQL refuses CREATE OR REPLACE in an
 * extension script over an object the extension does not own). On a shard it creates them.
 *
 * CREATE EXTENSION reads the control file and script from the server's
 * `$(pg_config --sharedir)/extension` folder. When a server runs on this machine and that
 * folder is writable (the embedded PostgreSQL under node_modules, or a Debian server whose
 * folder an operator made writable), the layout writes them there; otherwise the operator
 * copies the files `vonode shards --extension DIR` writes (docs/scaling.md). A shard without
 * the files still gets the functions, created plainly from the same script: shipped calls
 * name them by schema, which is all a shard needs.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { MIGRATIONS_DIR } from '../db/migrate.js';

export const EXTENSION = 'vonode_adql';

/** The migrations whose functions make up the extension, in the order they apply. */
const SOURCES = [
  '020_healpix.sql',
  '030_adql.sql',
  '035_adql_region.sql',
  '036_adql_xmatch.sql',
  '037_adql_polygon_filter.sql',
  '160_adql_xmatch_cover.sql',
  '169_adql_xmatch_within.sql',
];

/** `1-<hash>`: the version of the script this vonode ships. */
export function extensionVersion(dir: string = MIGRATIONS_DIR): string {
  return `1-${createHash('sha256').update(functionsSql(dir)).digest('hex').slice(0, 10)}`;
}

/** The function definitions, runnable outside an extension (schemas created if missing). */
export function functionsSql(dir: string = MIGRATIONS_DIR): string {
  return SOURCES.map((f) => `-- from ${f}\n${readFileSync(join(dir, f), 'utf8')}`).join('\n');
}

/**
 * The extension's script: adopt what exists, then the definitions. Schemas are created only
 * where missing (CREATE SCHEMA IF NOT EXISTS would fail on one the extension does not own).
 */
export function extensionScript(dir: string = MIGRATIONS_DIR): string {
  const body = functionsSql(dir).replace(
    /^CREATE SCHEMA IF NOT EXISTS (\w+);/gm,
    (_all, s: string) => `DO $vonode$ BEGIN
  IF to_regnamespace('${s}') IS NULL THEN EXECUTE 'CREATE SCHEMA ${s}'; END IF;
END $vonode$;`,
  );
  return `-- ${EXTENSION}: vonode's HEALPix and ADQL geometry functions (schemas sky, adql).
\\echo Use "CREATE EXTENSION ${EXTENSION}" to load this file. \\quit
DO $vonode$
DECLARE f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname IN ('sky', 'adql')
              AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                                AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE format('ALTER EXTENSION ${EXTENSION} ADD FUNCTION %s', f);
  END LOOP;
END $vonode$;
${body}
`;
}

export function controlFile(): string {
  return `# ${EXTENSION}: vonode's HEALPix and ADQL geometry functions, shippable by postgres_fdw
comment = 'vonode HEALPix and ADQL geometry functions (schemas sky, adql)'
default_version = '${extensionVersion()}'
relocatable = false
`;
}

/**
 * Writes the control file and script into `dir` (and the update script from `fromVersion`,
 * when given); false when that is not possible here.
 */
export function writeExtensionFiles(dir: string, fromVersion?: string): boolean {
  try {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    const version = extensionVersion();
    const files: [string, string][] = [
      [`${EXTENSION}.control`, controlFile()],
      [`${EXTENSION}--${version}.sql`, extensionScript()],
      ...(fromVersion && fromVersion !== version
        ? ([[`${EXTENSION}--${fromVersion}--${version}.sql`, extensionScript()]] as [string, string][])
        : []),
    ];
    for (const [name, text] of files) {
      const path = join(dir, name);
      if (existsSync(path) && readFileSync(path, 'utf8') === text) continue;
      writeFileSync(path, text);
    }
    return true;
  } catch {
    return false;
  }
}

function isLoopback(host: string): boolean {
  return (
    host === 'localhost' ||
    host.startsWith('127.') ||
    host === '::1' ||
    host === '[::1]' ||
    host.startsWith('/')
  );
}

/**
 * Creates (or keeps) the extension on the server `client` is connected to. `host` is where
 * that server runs: only on this machine can its extension folder be written. Returns
 * 'extension' when the extension exists afterwards; 'functions' when the files could not be
 * installed and `plainFallback` created the functions without it; 'none' otherwise.
 */
export async function ensureExtension(
  client: pg.ClientBase,
  host: string,
  plainFallback: boolean,
): Promise<'extension' | 'functions' | 'none'> {
  const version = extensionVersion();
  const have = await client.query<{ v: string }>(
    `SELECT extversion AS v FROM pg_extension WHERE extname = $1`,
    [EXTENSION],
  );
  const installed = have.rows[0]?.v;
  if (installed === version) return 'extension';
  const available = async () =>
    ((
      await client.query('SELECT 1 FROM pg_available_extension_versions WHERE name = $1 AND version = $2', [
        EXTENSION,
        version,
      ])
    ).rowCount ?? 0) > 0;
  if (isLoopback(host)) {
    // pg_config is readable by superusers (and pg_read_all_settings members) only.
    const dir = await client
      .query<{ setting: string }>(`SELECT setting FROM pg_config WHERE name = 'SHAREDIR'`)
      .then((r) => r.rows[0]?.setting)
      .catch(() => undefined);
    if (dir) writeExtensionFiles(join(dir, 'extension'), installed);
  }
  if (await available()) {
    // Creating an extension that is not trusted needs a superuser: a role without that right
    // gets the fallback below, not a failed publish.
    const made = await client
      .query(
        installed === undefined
          ? `CREATE EXTENSION ${EXTENSION} VERSION '${version}'`
          : `ALTER EXTENSION ${EXTENSION} UPDATE TO '${version}'`,
      )
      .then(
        () => true,
        () => false,
      );
    if (made) return 'extension';
  }
  // An older version stays: its functions are still shipped (new ones are not, until updated).
  if (installed !== undefined) return 'extension';
  if (!plainFallback) return 'none';
  await client.query(functionsSql());
  return 'functions';
}
