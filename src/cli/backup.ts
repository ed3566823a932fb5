/**
 * `vonode backup FILE` and `vonode restore FILE`: the whole node, its database and the data
 * folder's own files, in one file (src/backup, docs/operations.md). A backup runs while the
 * node serves; a restore goes only into a fresh data folder or an empty database.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { backupNode, RestoreRefused, restoreNode } from '../backup/index.js';
import { ConfigError, parseConfig } from '../config/index.js';

const BACKUP_USAGE = `usage: vonode backup FILE

Writes the node's database and the data folder's own files (job results and uploads, demo
products, the development issuer's keys) to FILE, a tar archive, while the node serves.
On the embedded PostgreSQL it is a base backup (a copy of the cluster and the WAL written
meanwhile); on DATABASE_URL a pg_dump in custom format (pg_dump as new as the server: set
VONODE_PG_BIN to its folder if the one on PATH is older). Product files ingested from outside
the data folder are not copied; the backup lists them in product-files.txt.`;

const RESTORE_USAGE = `usage: vonode restore FILE

Restores a backup into a fresh data folder (VONODE_DATA_DIR, new or empty) and, with
DATABASE_URL, into an empty database. Refuses a data folder or database that holds a node.`;

function fileArgument(argv: readonly string[], usage: string): string {
  const files = argv.filter((a) => !a.startsWith('-'));
  const flags = argv.filter((a) => a.startsWith('-'));
  if (flags.length > 0) throw new ConfigError(`unknown option ${flags[0]}`, usage.split('\n')[0]);
  if (files.length !== 1) throw new ConfigError('give exactly one backup file', usage.split('\n')[0]);
  return resolve(files[0]);
}

const say = (line: string) => process.stderr.write(`vonode: ${line}\n`);

export async function runBackupCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${BACKUP_USAGE}\n`);
    return 0;
  }
  const file = fileArgument(argv, BACKUP_USAGE);
  const config = parseConfig();
  const t0 = Date.now();
  const m = await backupNode({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, log: say }, file);
  const mb = (statSync(file).size / 1e6).toFixed(1);
  process.stdout.write(
    `backed up ${config.dataDir} to ${file} (${mb} MB, ${m.database === 'base-backup' ? 'base backup of the embedded PostgreSQL' : 'pg_dump'} ${m.serverVersion}, schema at migration ${m.migrations.at(-1) ?? 'none'}, folders: ${m.folders.join(', ') || 'none'}) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
  );
  if (m.productsOutside > 0) {
    process.stdout.write(
      `note: ${m.productsOutside} product file(s) lie outside the data folder and are not in the backup; back them up with the site's files (list: tar -xOf ${file} product-files.txt)\n`,
    );
  }
  return 0;
}

export async function runRestoreCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${RESTORE_USAGE}\n`);
    return 0;
  }
  const file = fileArgument(argv, RESTORE_USAGE);
  const config = parseConfig();
  try {
    const m = await restoreNode({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, log: say }, file);
    process.stdout.write(
      `restored ${file} (made ${m.createdAt}, schema at migration ${m.migrations.at(-1) ?? 'none'}) into ${config.dataDir}${config.databaseUrl ? ' and DATABASE_URL' : ''}; start the node with vonode serve (it applies any newer migrations)\n`,
    );
    if (m.productsOutside > 0)
      process.stdout.write(
        `note: ${m.productsOutside} product file(s) were outside the data folder: put them back at the paths in product-files.txt (tar -xOf ${file} product-files.txt)\n`,
      );
    return 0;
  } catch (err) {
    if (err instanceof RestoreRefused) {
      process.stderr.write(`vonode: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
