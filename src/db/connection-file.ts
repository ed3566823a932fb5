/**
 * How a command finds the embedded PostgreSQL of a node running on the same data folder:
 * the node writes the connection URL to `<data folder>/connection.json`, readable by its
 * owner only (the embedded cluster's password is in it), and removes it when it stops.
 * A file left by a killed node names a process that is gone, and is ignored.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FILE = 'connection.json';

interface ConnectionRecord {
  readonly url: string;
  readonly pid: number;
}

export function writeConnectionFile(dataDir: string, url: string): void {
  const path = join(dataDir, FILE);
  const tmp = `${path}.${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify({ url, pid: process.pid } satisfies ConnectionRecord)}\n`, {
    mode: 0o600,
  });
  renameSync(tmp, path);
}

/** Removes the file if this process wrote it. */
export function removeConnectionFile(dataDir: string): void {
  const path = join(dataDir, FILE);
  try {
    const rec = JSON.parse(readFileSync(path, 'utf8')) as ConnectionRecord;
    if (rec.pid === process.pid) rmSync(path, { force: true });
  } catch {
    // absent or unreadable: nothing of ours to remove
  }
}

/** The URL of the embedded PostgreSQL of a live node on this data folder, if there is one. */
export function runningNodeDatabase(dataDir: string): string | undefined {
  let rec: ConnectionRecord;
  try {
    rec = JSON.parse(readFileSync(join(dataDir, FILE), 'utf8')) as ConnectionRecord;
  } catch {
    return undefined;
  }
  if (typeof rec.url !== 'string' || !Number.isInteger(rec.pid)) return undefined;
  try {
    process.kill(rec.pid, 0);
  } catch (err) {
    // EPERM: alive but another user's; its file would not have been readable either.
    if ((err as { code?: string }).code !== 'EPERM') return undefined;
  }
  return rec.url;
}
