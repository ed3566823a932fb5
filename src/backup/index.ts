/**
 * Backup and restore of a whole node (docs/operations.md): the database (published catalogues
 * and TAP_SCHEMA, user tables, UWS jobs, products, settings kept in it) and the data folder's
 * own files (job results and uploads, demo products, the development issuer's keys).
 * Product files ingested from elsewhere stay where they are: the backup lists them.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ensureDatabase, runningNodeDatabase, startEmbeddedPostgres } from '../db/index.js';
import {
  MANIFEST,
  type Manifest,
  nonEmptyFolders,
  PRODUCT_FILES,
  presentFolders,
  readManifest,
  tar,
  writeManifest,
} from './archive.js';
import { writeBaseBackup } from './base-backup.js';
import { dumpDatabase, restoreDump } from './dump.js';
import { databaseState, isEmptyDatabase } from './state.js';

export { MANIFEST, type Manifest, readManifest } from './archive.js';
export { ensureReaderRole } from './dump.js';

const DUMP = 'database.dump';

export interface NodeLocation {
  /** DATABASE_URL; without it the node's embedded PostgreSQL under `<dataDir>/pg`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly log: (line: string) => void;
}

/** A refusal an operator must act on (one line, exit 2 from the command). */
export class RestoreRefused extends Error {}

export async function backupNode(where: NodeLocation, file: string): Promise<Manifest> {
  if (where.databaseUrl) return backupWithDump(where.databaseUrl, where.dataDir, file);
  const running = runningNodeDatabase(where.dataDir);
  if (running) return writeBaseBackup(running, where.dataDir, file);
  if (!existsSync(join(where.dataDir, 'pg', 'PG_VERSION')))
    throw new Error(
      `${where.dataDir} holds no node (no pg/ folder): set VONODE_DATA_DIR to the node's data folder`,
    );
  where.log(`no node is running on ${where.dataDir}: starting its embedded PostgreSQL for the backup`);
  const db = await startEmbeddedPostgres({ dataDir: join(where.dataDir, 'pg'), supervise: false });
  try {
    return await writeBaseBackup(db.url, where.dataDir, file);
  } finally {
    await db.stop();
  }
}

async function backupWithDump(url: string, dataDir: string, file: string): Promise<Manifest> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  const state = await databaseState(client, dataDir).finally(() => client.end().catch(() => {}));
  const staging = mkdtempSync(join(tmpdir(), 'vonode-backup-'));
  try {
    await dumpDatabase(url, state.serverMajor, join(staging, DUMP));
    const folders = presentFolders(dataDir);
    const manifest = writeManifest(staging, 'pg_dump', state, folders);
    await tar(['-cf', file, '-C', staging, MANIFEST, PRODUCT_FILES, DUMP, '-C', dataDir, ...folders]);
    return manifest;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export async function restoreNode(where: NodeLocation, file: string): Promise<Manifest> {
  if (!existsSync(file)) throw new Error(`${file} does not exist`);
  const manifest = await readManifest(file);
  const taken = nonEmptyFolders(where.dataDir).filter((f) => f !== 'pg' || !where.databaseUrl);
  if (taken.length > 0 || runningNodeDatabase(where.dataDir)) {
    throw new RestoreRefused(
      `the data folder ${where.dataDir} already holds a node (${taken.join(', ') || 'a running node'}): restore into a fresh data folder (set VONODE_DATA_DIR to a new or empty folder), or move this one aside first`,
    );
  }
  if (where.databaseUrl && manifest.database === 'base-backup') {
    throw new RestoreRefused(
      `${file} is a copy of an embedded PostgreSQL ${manifest.serverVersion} cluster and can only be restored as one: unset DATABASE_URL to restore it into the data folder, then move the data with pg_dump from that node if it must go to an external server`,
    );
  }
  mkdirSync(where.dataDir, { recursive: true });
  const members = [...manifest.folders];
  if (manifest.database === 'base-backup') {
    // Files belong to whoever restores (as root, embedded.ts then hands pg/ to postgres).
    await tar(['-xf', file, '--no-same-owner', '-C', where.dataDir, 'pg', ...members]);
    chmodSync(join(where.dataDir, 'pg'), 0o700);
    // The first start replays the WAL of the backup (backup_label); it ends consistent.
    where.log('starting the restored embedded PostgreSQL once: it replays the WAL written during the backup');
    const db = await startEmbeddedPostgres({ dataDir: join(where.dataDir, 'pg'), supervise: false });
    try {
      await checkRestored(db.url, manifest);
    } finally {
      await db.stop();
    }
  } else {
    const staging = mkdtempSync(join(tmpdir(), 'vonode-restore-'));
    try {
      await tar(['-xf', file, '-C', staging, DUMP]);
      if (where.databaseUrl) {
        await restoreInto(where.databaseUrl, join(staging, DUMP), manifest);
      } else {
        const db = await startEmbeddedPostgres({ dataDir: join(where.dataDir, 'pg'), supervise: false });
        try {
          await ensureDatabase(db.url);
          await restoreInto(db.url, join(staging, DUMP), manifest);
        } finally {
          await db.stop();
        }
      }
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
    if (members.length > 0) await tar(['-xf', file, '--no-same-owner', '-C', where.dataDir, ...members]);
  }
  return manifest;
}

async function restoreInto(url: string, dump: string, manifest: Manifest): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    if (!(await isEmptyDatabase(client))) {
      throw new RestoreRefused(
        `the database at DATABASE_URL is not empty: restore into a new database (createdb) and point DATABASE_URL at it`,
      );
    }
  } finally {
    await client.end().catch(() => {});
  }
  await restoreDump(url, dump);
  await checkRestored(url, manifest);
}

/** The restored database records the migrations the backup recorded: the restore is whole. */
async function checkRestored(url: string, manifest: Manifest): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    const state = await databaseState(client, '/');
    if (state.migrations.join(',') !== manifest.migrations.join(',')) {
      throw new Error(
        `the restored database records migrations ${state.migrations.join(',') || 'none'}, the backup ${manifest.migrations.join(',')}`,
      );
    }
  } finally {
    await client.end().catch(() => {});
  }
}
