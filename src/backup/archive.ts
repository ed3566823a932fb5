/**
 * The backup file: a POSIX tar laid out like the data folder it came from, so that a restore
 * is an extraction into a fresh data folder. GNU tar does the archiving (Debian's `tar`, on
 * every machine vonode runs on): it streams files of any size and appends to an archive, which
 * the embedded backup needs (the WAL is added after the copy of the cluster ends).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The manifest at the root of every backup. */
export const MANIFEST = 'vonode-backup.json';
/** One line per product file that lies outside the data folder: not in the backup. */
export const PRODUCT_FILES = 'product-files.txt';

/**
 * The data folder's own state besides the database: UWS results and uploads, SODA results,
 * demo products, the development issuer's keys, the broker's work folders. Caches (hips,
 * previews) are rebuilt on demand and the sync spool is per request, so neither is kept.
 */
export const STATE_FOLDERS = [
  'results',
  'soda-results',
  'uploads',
  'products',
  'dev-issuer',
  'broker',
] as const;

export interface Manifest {
  readonly format: 1;
  /** 'base-backup': a copy of the embedded cluster (pg/); 'pg_dump': database.dump, custom format. */
  readonly database: 'base-backup' | 'pg_dump';
  readonly createdAt: string;
  readonly serverVersion: string;
  /** The migrations recorded in the database when it was backed up. */
  readonly migrations: readonly number[];
  readonly folders: readonly string[];
  readonly productsOutside: number;
}

/**
 * Writes the manifest and the list of product files kept outside the data folder into the
 * staging folder (both archive kinds carry them) and returns the manifest.
 */
export function writeManifest(
  staging: string,
  database: Manifest['database'],
  state: { serverVersion: string; migrations: readonly number[]; productsOutside: readonly string[] },
  folders: readonly string[],
): Manifest {
  const manifest: Manifest = {
    format: 1,
    database,
    createdAt: new Date().toISOString(),
    serverVersion: state.serverVersion,
    migrations: state.migrations,
    folders,
    productsOutside: state.productsOutside.length,
  };
  writeFileSync(join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(staging, PRODUCT_FILES), state.productsOutside.map((f) => `${f}\n`).join(''));
  return manifest;
}

/** The state folders present in a data folder. */
export function presentFolders(dataDir: string): string[] {
  return STATE_FOLDERS.filter((f) => existsSync(join(dataDir, f)));
}

/** The state folders of a data folder that hold anything: a restore must not mix two nodes. */
export function nonEmptyFolders(dataDir: string): string[] {
  const out: string[] = [];
  for (const f of [...STATE_FOLDERS, 'pg']) {
    try {
      if (readdirSync(join(dataDir, f)).length > 0) out.push(f);
    } catch {
      // absent
    }
  }
  return out;
}

/**
 * Runs tar; `tolerateChanged` accepts exit 1, which GNU tar returns when a file changed while
 * it read it: expected for a live cluster, whose consistency comes from the WAL replayed at
 * restore (PostgreSQL manual, "Making a Base Backup Using the Low Level API").
 */
export function tar(args: readonly string[], opts: { tolerateChanged?: boolean } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', (e) =>
      reject(new Error(`cannot run tar (${e.message}); install Debian's tar package`)),
    );
    child.on('close', (code) => {
      if (code === 0 || (code === 1 && opts.tolerateChanged)) resolve(Buffer.concat(out));
      else reject(new Error(`tar ${args[0]} failed (exit ${code}): ${err.trim().split('\n')[0]}`));
    });
  });
}

/** Reads the manifest of a backup file, with a clear error for anything else. */
export async function readManifest(file: string): Promise<Manifest> {
  let text: string;
  try {
    text = (await tar(['-xOf', file, MANIFEST])).toString('utf8');
  } catch {
    throw new Error(`${file} is not a vonode backup (no ${MANIFEST} in it)`);
  }
  const m = JSON.parse(text) as Manifest;
  if (m.format !== 1)
    throw new Error(`${file} is a vonode backup of format ${m.format}, which this vonode cannot read`);
  return m;
}
