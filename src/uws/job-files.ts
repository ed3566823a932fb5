import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isDiskFull, UwsError } from './errors.js';

export interface JobFilesLimits {
  /** Most bytes all jobs' files may take together; 0 = no cap. */
  readonly maxTotalBytes: number;
  /**
   * A folder with no unfinished job is removed once its newest file is this old,
   * milliseconds: long enough for a slow upload to finish before its job is created.
   */
  readonly orphanGrace: number;
}

export const DEFAULT_JOB_FILES_LIMITS: JobFilesLimits = {
  maxTotalBytes: 4 * 1024 ** 3,
  orphanGrace: 15 * 60_000,
};

// Job ids are 128 random bits in base64url; file names are hex. Anything else is refused,
// so no name can climb out of its folder.
const JOB_ID = /^[A-Za-z0-9_-]{1,200}$/;
const FILE_NAME = /^[0-9a-f]{32}$/;

/**
 * Files a job keeps until it runs (TAP's inline uploads): `{root}/{jobId}/{name}`. They
 * belong to the job: removed when it is deleted or destroyed or reaches a final phase, and
 * a sweep removes folders no unfinished job owns (a creation that failed halfway, a crash).
 * The total is capped, so that no client can fill the disk with jobs that never run
 * (issue 13). The count is kept per process and re-measured at each sweep.
 */
export class JobFiles {
  readonly limits: JobFilesLimits;
  private used = 0;
  private measured: Promise<void> | null = null;

  constructor(
    readonly root: string,
    limits: Partial<JobFilesLimits> = {},
  ) {
    this.limits = { ...DEFAULT_JOB_FILES_LIMITS, ...limits };
  }

  /** Bytes in use, as last measured plus what this process wrote since. */
  async usage(): Promise<number> {
    this.measured ??= this.measure();
    await this.measured;
    return this.used;
  }

  /**
   * Streams one file into the job's folder and returns its name. Refused past `maxBytes`
   * (413) or when the spool is full (503, Retry-After); a full disk is answered the same way.
   */
  async write(jobId: string, stream: Readable, maxBytes: number, what = 'an uploaded file'): Promise<string> {
    const dir = this.folder(jobId);
    await this.usage();
    const cap = this.limits.maxTotalBytes;
    if (cap > 0 && this.used >= cap) {
      stream.resume();
      throw this.full();
    }
    await mkdir(dir, { recursive: true });
    const name = randomBytes(16).toString('hex');
    let bytes = 0;
    const counter = new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        bytes += chunk.length;
        this.used += chunk.length;
        if (bytes > maxBytes) cb(new UwsError(413, `${what} is larger than the limit of ${maxBytes} bytes`));
        else if (cap > 0 && this.used > cap) cb(this.full());
        else cb(null, chunk);
      },
    });
    const path = join(dir, name);
    try {
      await pipeline(stream, counter, createWriteStream(path, { flags: 'wx' }));
      return name;
    } catch (err) {
      await rm(path, { force: true });
      this.used = Math.max(0, this.used - bytes);
      if (isDiskFull(err)) throw this.full();
      throw err;
    }
  }

  /** The path of a file of this job; only names this store made are accepted. */
  path(jobId: string, name: string): string {
    if (!FILE_NAME.test(name))
      throw new UwsError(400, `${JSON.stringify(name)} is not a stored file of this job`);
    return join(this.folder(jobId), name);
  }

  /** Removes every file of the job; no error if there is none. */
  async delete(jobId: string): Promise<void> {
    const dir = this.folder(jobId);
    const bytes = await sizeOf(dir);
    await rm(dir, { recursive: true, force: true });
    this.used = Math.max(0, this.used - bytes);
  }

  /**
   * Removes folders (and stray files) that no unfinished job owns, once the grace has
   * passed, and re-measures the total. `unfinished` tells which of the ids have one.
   */
  async sweep(unfinished: (ids: string[]) => Promise<Set<string>>): Promise<string[]> {
    let entries: string[];
    try {
      entries = await readdir(this.root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const cutoff = Date.now() - this.limits.orphanGrace;
    const old: string[] = [];
    for (const e of entries) {
      const newest = await newestChange(join(this.root, e));
      if (newest !== null && newest < cutoff) old.push(e);
    }
    const keep = await unfinished(old.filter((e) => JOB_ID.test(e)));
    const removed: string[] = [];
    for (const e of old) {
      if (keep.has(e)) continue;
      await rm(join(this.root, e), { recursive: true, force: true });
      removed.push(e);
    }
    this.measured = this.measure();
    await this.measured;
    return removed;
  }

  private folder(jobId: string): string {
    if (!JOB_ID.test(jobId))
      throw new Error(`job id ${JSON.stringify(jobId)} is not usable as a folder name`);
    return join(this.root, jobId);
  }

  private full(): UwsError {
    return new UwsError(
      503,
      'the service has no room left for uploads of jobs now; try again later, or send the table by URL',
      60,
    );
  }

  private async measure(): Promise<void> {
    this.used = await sizeOf(this.root);
  }
}

/** Bytes of the files under `path` (symbolic links are not followed). */
async function sizeOf(path: string): Promise<number> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.isFile() ? st.size : 0;
  let total = 0;
  for (const e of await readdir(path).catch(() => [] as string[])) total += await sizeOf(join(path, e));
  return total;
}

/** The latest modification time of `path` or anything directly in it, ms; null if gone. */
async function newestChange(path: string): Promise<number | null> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch {
    return null;
  }
  let newest = st.mtimeMs;
  if (st.isDirectory()) {
    for (const e of await readdir(path).catch(() => [] as string[])) {
      const s = await lstat(join(path, e)).catch(() => null);
      if (s && s.mtimeMs > newest) newest = s.mtimeMs;
    }
  }
  return newest;
}
