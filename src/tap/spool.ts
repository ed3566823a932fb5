import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The temporary-file bytes all spools of the process may hold together
 * (VONODE_SYNC_SPOOL_DISK). Soft by at most one chunk per spool: the chunk that crosses the
 * limit is still written, since a result document cannot be cut mid-row.
 */
export class SpoolBudget {
  private used = 0;

  constructor(
    readonly limitBytes: number,
    readonly dir: string,
  ) {}

  get usedBytes(): number {
    return this.used;
  }

  /** Counts `n` more bytes; false when that goes past the limit (they are counted anyway). */
  take(n: number): boolean {
    this.used += n;
    return this.used <= this.limitBytes;
  }

  give(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

// Bytes read from the file per step, once the memory part has been sent.
const FILE_READ_BYTES = 256 * 1024;

/**
 * A first-in first-out byte queue between a result's producer (PostgreSQL through the
 * encoder, at the database's pace) and the HTTP response (at the client's pace): up to
 * `memoryBytes` in memory, the rest in a temporary file under the data folder. The file is
 * unlinked as soon as it is opened, so it disappears with its descriptor even if the process
 * dies; when the reader catches up with it, it is truncated and memory is used again.
 *
 * Order: the bytes in memory are always older than those in the file (the file is only
 * written once memory is full, and memory is only used again once the file is read out).
 * One producer, one reader; the producer awaits each write.
 */
export class ResultSpool {
  private readonly mem: Buffer[] = [];
  private memBytes = 0;
  private file: FileHandle | undefined;
  private inFile = false;
  private fileWritten = 0;
  private fileRead = 0;
  private reading = false;
  private ended = false;
  private failure: Error | undefined;
  private disposed = false;
  private wake: (() => void) | undefined;
  /** The disk budget was passed: the producer should stop its query. */
  overBudget = false;

  constructor(
    private readonly budget: SpoolBudget,
    private readonly memoryBytes: number,
  ) {}

  /** Bytes written and not yet read. */
  get pending(): number {
    return this.memBytes + (this.fileWritten - this.fileRead);
  }

  /** True once end() was called and everything was read. */
  get drained(): boolean {
    return this.ended && this.pending === 0;
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.disposed || chunk.length === 0) return;
    if (this.inFile && this.fileRead === this.fileWritten && !this.reading) await this.backToMemory();
    if (!this.inFile && this.memBytes + chunk.length <= this.memoryBytes) {
      this.mem.push(chunk);
      this.memBytes += chunk.length;
    } else {
      this.inFile = true;
      if (!this.budget.take(chunk.length)) this.overBudget = true;
      try {
        const file = await this.openFile();
        let off = 0;
        while (off < chunk.length) {
          const { bytesWritten } = await file.write(chunk, off, chunk.length - off, this.fileWritten + off);
          off += bytesWritten;
        }
      } catch (err) {
        this.budget.give(chunk.length);
        if (this.disposed) return;
        throw err;
      }
      if (this.disposed) {
        // dispose() gave back what was counted before this chunk.
        this.budget.give(chunk.length);
        return;
      }
      this.fileWritten += chunk.length;
    }
    this.notify();
  }

  /** No more bytes will come. */
  end(): void {
    this.ended = true;
    this.notify();
  }

  /** The producer failed in a way the document itself could not carry: the reader gets the error. */
  fail(err: Error): void {
    this.failure ??= err;
    this.notify();
  }

  /** The next bytes in order, or null at the end. */
  async read(): Promise<Buffer | null> {
    for (;;) {
      if (this.disposed) return null;
      const m = this.mem.shift();
      if (m) {
        this.memBytes -= m.length;
        return m;
      }
      if (this.fileRead < this.fileWritten && this.file) {
        this.reading = true;
        try {
          const want = Math.min(FILE_READ_BYTES, this.fileWritten - this.fileRead);
          const buf = Buffer.allocUnsafe(want);
          const { bytesRead } = await this.file.read(buf, 0, want, this.fileRead);
          if (bytesRead === 0) throw new Error('the spool file ended before its written length');
          this.fileRead += bytesRead;
          return bytesRead === want ? buf : buf.subarray(0, bytesRead);
        } finally {
          this.reading = false;
        }
      }
      if (this.failure) throw this.failure;
      if (this.ended) return null;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** Frees the memory and closes (so deletes) the file; safe to call twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.mem.length = 0;
    this.memBytes = 0;
    this.budget.give(this.inFile ? this.fileWritten : 0);
    this.fileWritten = this.fileRead = 0;
    this.notify();
    const f = this.file;
    this.file = undefined;
    await f?.close().catch(() => {});
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** The reader has read the whole file: empty it and give its bytes back to the budget. */
  private async backToMemory(): Promise<void> {
    await this.file?.truncate(0).catch(() => {});
    if (this.disposed) return;
    this.budget.give(this.fileWritten);
    this.fileWritten = this.fileRead = 0;
    this.inFile = false;
  }

  private async openFile(): Promise<FileHandle> {
    if (this.file) return this.file;
    mkdirSync(this.budget.dir, { recursive: true, mode: 0o700 });
    const path = join(this.budget.dir, `sync-${randomBytes(8).toString('hex')}`);
    const f = await open(path, 'wx+', 0o600);
    // Unlinked at once: the descriptor keeps the bytes, nothing stays behind after a crash.
    await unlink(path);
    if (this.disposed) {
      await f.close();
      throw new Error('the spool was disposed');
    }
    this.file = f;
    return f;
  }
}
