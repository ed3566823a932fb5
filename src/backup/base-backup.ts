/**
 * A consistent copy of the embedded PostgreSQL while the node serves, with PostgreSQL's
 * low-level base backup API (PostgreSQL manual §26.3.3, "Making a Base Backup Using the Low
 * Level API"): pg_backup_start, a copy of the cluster's files, pg_backup_stop, then the WAL
 * written meanwhile. The embedded PostgreSQL comes without pg_dump, and Debian's pg_dump is
 * older than it (pg_dump refuses a newer server), so a logical dump is not possible there;
 * the copy is restored into the same embedded PostgreSQL version, which replays the WAL.
 * A temporary replication slot keeps that WAL from being recycled during the copy.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { MANIFEST, type Manifest, PRODUCT_FILES, presentFolders, tar, writeManifest } from './archive.js';
import { databaseState } from './state.js';

/**
 * What pg_basebackup leaves out of a cluster copy (PostgreSQL manual §26.3.3): the server's
 * run files, the sockets kept in the folder (embedded.ts puts them there), and folders whose
 * contents are rebuilt at start. The folders themselves are kept.
 */
const CLUSTER_EXCLUDES = [
  'pg/postmaster.pid',
  'pg/postmaster.opts',
  'pg/.s.PGSQL.*',
  'pg/backup_label',
  'pg/backup_label.old',
  'pg/tablespace_map',
  'pg/pg_wal/*',
  'pg/pg_replslot/*',
  'pg/pg_dynshmem/*',
  'pg/pg_notify/*',
  'pg/pg_serial/*',
  'pg/pg_snapshots/*',
  'pg/pg_stat_tmp/*',
  'pg/pg_subtrans/*',
  'pg/pgsql_tmp*',
  'pg/base/pgsql_tmp*',
];

const WAL_SEGMENT = /^[0-9A-F]{24}$/;

export async function writeBaseBackup(url: string, dataDir: string, file: string): Promise<Manifest> {
  const client = new pg.Client({ connectionString: url, application_name: 'vonode-backup' });
  client.on('error', () => {}); // a lost connection also fails the query in hand
  await client.connect();
  const staging = mkdtempSync(join(tmpdir(), 'vonode-backup-'));
  try {
    const state = await databaseState(client, dataDir);
    // Temporary: dropped when this session ends, also if the backup fails half-way.
    await client.query('SELECT pg_create_physical_replication_slot($1, true, true)', [
      `vonode_backup_${process.pid}`,
    ]);
    const start = await client.query<{ wal: string }>(
      "SELECT pg_walfile_name(lsn) AS wal FROM pg_backup_start('vonode backup', true) AS lsn",
    );
    const folders = presentFolders(dataDir);
    await tar(
      [
        '-cf',
        file,
        '--warning=no-file-changed',
        '--warning=no-file-removed',
        '--warning=no-file-ignored',
        ...CLUSTER_EXCLUDES.map((p) => `--exclude=${p}`),
        '-C',
        dataDir,
        'pg',
        ...folders,
      ],
      { tolerateChanged: true },
    );
    const stop = await client.query<{ labelfile: string; spcmapfile: string | null; wal: string }>(
      'SELECT labelfile, spcmapfile, pg_walfile_name(lsn) AS wal FROM pg_backup_stop(false)',
    );
    const { labelfile, spcmapfile, wal: lastWal } = stop.rows[0];
    mkdirSync(join(staging, 'pg', 'pg_wal'), { recursive: true });
    const added = ['pg/backup_label'];
    writeFileSync(join(staging, 'pg', 'backup_label'), labelfile);
    if (spcmapfile) {
      writeFileSync(join(staging, 'pg', 'tablespace_map'), spcmapfile);
      added.push('pg/tablespace_map');
    }
    const walDir = join(dataDir, 'pg', 'pg_wal');
    for (const name of readdirSync(walDir).sort()) {
      const needed = WAL_SEGMENT.test(name)
        ? name >= start.rows[0].wal && name <= lastWal
        : name.endsWith('.history');
      if (!needed) continue;
      copyFileSync(join(walDir, name), join(staging, 'pg', 'pg_wal', name));
      added.push(`pg/pg_wal/${name}`);
    }
    const manifest = writeManifest(staging, 'base-backup', state, folders);
    await tar(['-rf', file, '-C', staging, ...added, MANIFEST, PRODUCT_FILES]);
    return manifest;
  } finally {
    await client.end().catch(() => {});
    rmSync(staging, { recursive: true, force: true });
  }
}
