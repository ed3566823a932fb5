/**
 * `vonode publish`, `vonode unpublish` and `vonode tables`: publishing a centre's
 * catalogues from a description file (docs/publishing.md) into the node's database.
 *
 * The database is DATABASE_URL, else the embedded PostgreSQL of the node running on the
 * data folder (it records its URL there, src/db/connection-file.ts), else the embedded
 * PostgreSQL started for the duration of the command.
 */
import { basename } from 'node:path';
import {
  notifyCatalogueChanged,
  putPublishedTable,
  readPublishedTables,
  removePublishedTable,
} from '../catalogue/index.js';
import { ConfigError, connectionSettings, parseConfig } from '../config/index.js';
import { type Database, openDatabase, runningNodeDatabase } from '../db/index.js';
import {
  type CatalogueDescription,
  type CatalogueStore,
  DataFileError,
  type DataInput,
  type DataSource,
  DescriptionError,
  PublishError,
  parseDescriptionFile,
  publishCatalogue,
  type TableDescription,
  unpublishTable,
  type ValidationLevel,
} from '../publish/index.js';
import { progressDisplay } from './progress.js';

const PUBLISH_USAGE = `usage: vonode publish DESCRIPTION [DATA...] [--table TABLE=FILE]... [--lax|--strict]

Loads the tables of DESCRIPTION (YAML or Felis; docs/publishing.md) from their data files
(FITS binary table, VOTable, CSV/TSV, Parquet; gzip accepted) and publishes them at once on
every protocol. DATA files go to the tables in the file's order, or by name when every
file is named after a table (Object.csv -> table Object; tables without a file are then
published empty). --table names the table of one file explicitly. Publishing a table again
replaces it atomically; queries running on the old version finish on it.
--lax publishes despite metadata warnings (listed); --strict (default) refuses them.`;

const UNPUBLISH_USAGE = 'usage: vonode unpublish SCHEMA.TABLE';

const STORE: CatalogueStore = { putPublishedTable, removePublishedTable, notifyCatalogueChanged };

interface PublishArgs {
  description: string;
  data: string[];
  named: Map<string, string>;
  validation?: ValidationLevel;
}

function usageError(problem: string, usage: string): ConfigError {
  return new ConfigError(problem, usage.split('\n')[0]);
}

function parsePublishArgs(argv: readonly string[]): PublishArgs {
  const args: PublishArgs = { description: '', data: [], named: new Map() };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--lax') args.validation = 'lax';
    else if (a === '--strict') args.validation = 'strict';
    else if (a === '--table' || a.startsWith('--table=')) {
      const v = a === '--table' ? argv[++i] : a.slice('--table='.length);
      const eq = v?.indexOf('=') ?? -1;
      if (!v || eq <= 0 || eq === v.length - 1) throw usageError('--table needs TABLE=FILE', PUBLISH_USAGE);
      args.named.set(v.slice(0, eq).toLowerCase(), v.slice(eq + 1));
    } else if (a.startsWith('--')) throw usageError(`unknown option ${a}`, PUBLISH_USAGE);
    else positional.push(a);
  }
  if (positional.length === 0) throw usageError('no description file given', PUBLISH_USAGE);
  [args.description, ...args.data] = positional;
  return args;
}

/** A file's name without its extensions: Object.csv.gz -> object. */
function stem(path: string): string {
  return basename(path).replace(/\..*$/, '').toLowerCase();
}

const tableKeys = (t: TableDescription) => [t.name.toLowerCase(), `${t.schema}.${t.name}`.toLowerCase()];

/**
 * Which file feeds which table: --table first, then by name when every remaining file is
 * named after a table (the other tables get no rows), else in order (the counts must agree).
 */
export function assignDataFiles(
  tables: readonly TableDescription[],
  data: readonly string[],
  named: ReadonlyMap<string, string>,
): (string | null)[] {
  const out: (string | null)[] = tables.map(() => null);
  for (const [key, file] of named) {
    const i = tables.findIndex((t) => tableKeys(t).includes(key));
    if (i < 0) throw new PublishError(`--table ${key}: the description has no such table`);
    out[i] = file;
  }
  const free = tables.map((_, i) => i).filter((i) => out[i] === null);
  if (data.length === 0) {
    if (named.size > 0) return out;
    throw new PublishError(
      `no data files: give one per table (${tables.map((t) => `${t.schema}.${t.name}`).join(', ')})`,
    );
  }
  const byName = data.map((f) => free.find((i) => tableKeys(tables[i]).includes(stem(f))));
  if (byName.every((i) => i !== undefined) && new Set(byName).size === data.length) {
    byName.forEach((i, k) => {
      out[i as number] = data[k];
    });
    return out;
  }
  if (data.length !== free.length)
    throw new PublishError(
      `${data.length} data file(s) for ${free.length} table(s) (${free.map((i) => `${tables[i].schema}.${tables[i].name}`).join(', ')}): give one per table in order, name each file after its table, or use --table TABLE=FILE`,
    );
  free.forEach((i, k) => {
    out[i] = data[k];
  });
  return out;
}

/** A table with no data file: published with its columns and no rows. */
function emptySource(t: TableDescription): DataSource {
  return {
    path: `(no data file for ${t.schema}.${t.name})`,
    format: 'csv',
    columns: t.columns.map((c) => ({
      name: c.source ?? c.name,
      datatype: c.datatype,
      arraysize: c.arraysize,
    })),
    meta: {},
    totalBytes: 0,
    bytesRead: () => 0,
    async *batches() {},
    async close() {},
  };
}

/** The node's database as a command sees it (see the file comment). */
export async function openCommandDatabase(log: (line: string) => void): Promise<Database> {
  const config = parseConfig();
  const running = config.databaseUrl ? undefined : runningNodeDatabase(config.dataDir);
  if (!config.databaseUrl && !running)
    log(`no node is running on ${config.dataDir}: starting its embedded PostgreSQL for this command`);
  return openDatabase({
    databaseUrl: config.databaseUrl ?? running,
    dataDir: config.dataDir,
    poolSize: 4,
    // Product paths are stored relative to the same root as the node's (sql/170).
    settings: connectionSettings(config),
  });
}

/** One line for any failure a person can act on. */
function oneLine(err: unknown): Error {
  if (err instanceof DescriptionError) {
    const n = err.issues.length;
    return new PublishError(`${n} problem(s) in the description: ${err.message.split('\n').join('; ')}`);
  }
  const e = err as { code?: string; path?: string };
  if (e?.code === 'ENOENT' || e?.code === 'EACCES' || e?.code === 'EISDIR')
    return new PublishError(`cannot read ${e.path ?? 'a file'} (${e.code})`);
  if (err instanceof DataFileError && !/^row \d+/.test(err.message) && !err.message.includes(err.path))
    return new PublishError(`${err.path}: ${err.message}`);
  return err instanceof Error ? err : new Error(String(err));
}

export async function runPublishCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${PUBLISH_USAGE}\n`);
    return 0;
  }
  const args = parsePublishArgs(argv);
  const display = progressDisplay();
  let description: CatalogueDescription;
  let inputs: DataInput[];
  try {
    description = await parseDescriptionFile(args.description);
    const files = assignDataFiles(description.tables, args.data, args.named);
    inputs = files.map((f, i) => f ?? emptySource(description.tables[i]));
  } catch (err) {
    throw oneLine(err);
  }
  const db = await openCommandDatabase(display.log);
  try {
    const report = await publishCatalogue(db.pool, description, inputs, {
      store: STORE,
      validation: args.validation,
      log: display.log,
      onProgress: display.onProgress,
    });
    display.done();
    for (const t of report.tables) {
      const was = t.replaced !== undefined ? `, replacing version ${t.replaced}` : '';
      display.log(
        `published ${t.tableName}: ${t.nrows} rows, ${(t.bytes / 1e6).toFixed(1)} MB (version ${t.version}${was})`,
      );
    }
    display.log(`done in ${report.seconds.toFixed(1)} s`);
    return 0;
  } catch (err) {
    display.done();
    throw oneLine(err);
  } finally {
    await db.close();
  }
}

export async function runUnpublishCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${UNPUBLISH_USAGE}\n`);
    return 0;
  }
  if (argv.length !== 1 || argv[0].startsWith('--'))
    throw usageError('give exactly one SCHEMA.TABLE to unpublish', UNPUBLISH_USAGE);
  const say = (line: string) => process.stderr.write(`vonode: ${line}\n`);
  const db = await openCommandDatabase(say);
  try {
    await unpublishTable(db.pool, argv[0], { store: STORE, log: say });
    say(`unpublished ${argv[0]}`);
    return 0;
  } finally {
    await db.close();
  }
}

function rightsText(t: TableDescription): string {
  const r = t.rights;
  if (!r || (!r.ownerGroup && !r.ownerGroupColumn)) return 'public';
  if (r.ownerGroupColumn)
    return `per row (${r.ownerGroupColumn}${r.releaseColumn ? `, ${r.releaseColumn}` : ', never released'})`;
  return `${r.ownerGroup} until ${r.releaseDate ?? 'never'}`;
}

/** `vonode tables`: what is published, one line per table, as aligned columns on stdout. */
export async function runTablesCommand(argv: readonly string[]): Promise<number> {
  if (argv.length > 0) throw usageError(`unexpected ${argv[0]}`, 'usage: vonode tables');
  const db = await openCommandDatabase((line) => process.stderr.write(`vonode: ${line}\n`));
  try {
    const rows = await readPublishedTables(db.pool);
    const lines = [['table', 'rows', 'size', 'rights', 'published']];
    for (const r of rows) {
      lines.push([
        r.tableName,
        r.nrows === null ? '-' : String(r.nrows),
        r.bytes === null ? '-' : `${(Number(r.bytes) / 1e6).toFixed(1)} MB`,
        r.builtin ? 'built in' : rightsText(r.description),
        r.publishedAt.toISOString().replace(/\.\d+Z$/, 'Z'),
      ]);
    }
    const widths = lines[0].map((_, k) => Math.max(...lines.map((l) => l[k].length)));
    for (const l of lines)
      process.stdout.write(
        `${l
          .map((v, k) => v.padEnd(widths[k]))
          .join('  ')
          .trimEnd()}\n`,
      );
    return 0;
  } finally {
    await db.close();
  }
}
