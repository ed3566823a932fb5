import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The storage grant is a quota on the session's work folder (its output, logs and, for a
 * pipeline, its HOME), watched by the driver: past the grant the work is stopped and the
 * session FAILS with `uri:storage-exceeded`. Between two looks a job could write on, so one
 * file may not pass the grant either (RLIMIT_FSIZE: prlimit, or the engine's --ulimit).
 *
 * Why a watched folder and not a size-limited mount (loop file system, XFS project quota):
 * the work folder must outlive the work (its results are downloaded from it), must work on
 * a shared file system under Slurm, and a mount per session would need losetup/mkfs and
 * unmounting after every restart. A watched folder needs nothing of the host and ends the
 * job with a reason the user can read.
 */

/** Bytes a folder holds (largest of apparent size and allocated blocks per file, links not followed), counted up to `stopAbove`. */
export async function folderBytes(dir: string, stopAbove = Number.POSITIVE_INFINITY): Promise<number> {
  let total = 0;
  const pending = [dir];
  while (pending.length > 0 && total <= stopAbove) {
    const d = pending.pop() as string;
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      continue; // gone, or not readable: nothing to count
    }
    for (const n of names) {
      const p = join(d, n);
      const st = await lstat(p).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) pending.push(p);
      total += Math.max(st.size, st.blocks * 512);
      if (total > stopAbove) break;
    }
  }
  return total;
}

/** The message of a session stopped for its storage. */
export function storageExceeded(usedBytes: number, grantGiB: number): string {
  const gib = (b: number) => (b / 2 ** 30).toFixed(2);
  return `the work wrote more than its storage grant of ${grantGiB} GiB into its work folder (at least ${gib(usedBytes)} GiB seen) and was stopped`;
}
