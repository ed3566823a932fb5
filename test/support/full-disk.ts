import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real small filesystem (tmpfs, mounted as root) whose writes fail with a real ENOSPC, and
 * a record of every uncaught exception and unhandled rejection meanwhile: what the disk-full
 * tests of issue 13 need to show that a full store ends jobs in ERROR and crashes nothing.
 */
export interface FullDisk {
  /** Where the tmpfs is mounted. */
  readonly path: string;
  /** Uncaught exceptions and unhandled rejections seen since it was mounted. */
  readonly crashes: unknown[];
  /** Unmounts it, removes the folder and stops recording. */
  remove(): void;
}

export function mountFullDisk(size: string): FullDisk {
  const path = mkdtempSync(join(tmpdir(), 'vonode-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path]);
  const crashes: unknown[] = [];
  const onCrash = (err: unknown) => crashes.push(err);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  return {
    path,
    crashes,
    remove() {
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
      execFileSync('umount', [path]);
      rmSync(path, { recursive: true, force: true });
    },
  };
}
