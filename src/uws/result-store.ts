import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Where job results live; streamed both ways, never held whole in memory. */
export interface ResultStore {
  put(jobId: string, resultId: string, stream: Readable, mime: string): Promise<{ size: number }>;
  open(jobId: string, resultId: string): Promise<{ stream: Readable; size: number; mime: string }>;
  /** Removes every result of the job; no error if there is none. */
  delete(jobId: string): Promise<void>;
}

/** Raised by `open` for a result that is not (or no longer) stored. */
export class ResultNotFoundError extends Error {
  constructor(jobId: string, resultId: string) {
    super(`job ${jobId} has no stored result ${resultId}`);
    this.name = 'ResultNotFoundError';
  }
}

// Job and result ids become file names: anything outside this set is refused rather than
// escaped, so that no id can climb out of the folder.
const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

function checkName(what: string, name: string): void {
  if (!SAFE_NAME.test(name) || name.includes('..')) {
    throw new Error(
      `${what} ${JSON.stringify(name)} is not usable as a file name (letters, digits, . _ - only)`,
    );
  }
}

/**
 * Results as files: `{root}/{jobId}/{resultId}` with the MIME type beside it in
 * `{resultId}.mime`. Each result is written to a temporary name and renamed when
 * complete, so a reader never sees half a file and a crash leaves only temporaries.
 */
export class FileResultStore implements ResultStore {
  constructor(readonly root: string) {}

  async put(jobId: string, resultId: string, stream: Readable, mime: string): Promise<{ size: number }> {
    checkName('job id', jobId);
    checkName('result id', resultId);
    const dir = join(this.root, jobId);
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
    try {
      await pipeline(stream, createWriteStream(tmp, { flags: 'wx' }));
      const { size } = await stat(tmp);
      await writeFile(join(dir, `${resultId}.mime`), mime);
      await rename(tmp, join(dir, resultId));
      return { size };
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }

  async open(jobId: string, resultId: string): Promise<{ stream: Readable; size: number; mime: string }> {
    checkName('job id', jobId);
    checkName('result id', resultId);
    const path = join(this.root, jobId, resultId);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ResultNotFoundError(jobId, resultId);
      throw err;
    }
    try {
      const { size } = await handle.stat();
      const mime = await readFile(`${path}.mime`, 'utf8').catch(() => 'application/octet-stream');
      // Reading from the opened handle keeps size and content consistent even if the job
      // is deleted meanwhile.
      const stream = handle.createReadStream({ autoClose: true, start: 0 });
      return { stream, size, mime };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async delete(jobId: string): Promise<void> {
    checkName('job id', jobId);
    await rm(join(this.root, jobId), { recursive: true, force: true });
  }
}
