import { createReadStream, type ReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { createGunzip, type Gunzip } from 'node:zlib';
import { FitsError } from './errors.js';

/**
 * Positioned reads from a FITS file's logical bytes. A plain file reads at any offset; a gzipped
 * one (`.fits.gz`, FITS-33) cannot, so it is decompressed as a stream (see GzipSource).
 */
export interface ByteSource {
  /** Reads up to `length` bytes at logical `position`; fewer only at the end of the data. */
  read(into: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
  /** True when reads cost decompression from the start (so callers avoid going backwards). */
  readonly sequential: boolean;
}

export class FileSource implements ByteSource {
  readonly sequential = false;
  constructor(private readonly handle: FileHandle) {}
  read(into: Buffer, offset: number, length: number, position: number) {
    return this.handle.read(into, offset, length, position);
  }
  close(): Promise<void> {
    return this.handle.close();
  }
}

/** The gzip magic (RFC 1952 §2.3.1). */
export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/**
 * Reads of a gzipped file through one forward gunzip stream. A read ahead of the stream's
 * position decompresses and drops the bytes between; a read behind it starts the stream again
 * from the beginning. So reading in file order (headers, then a cutout's runs, which src/soda
 * issues in order) costs one decompression up to the last byte read, and memory stays at the
 * bytes of the current read plus one inflate chunk, whatever the file's size. Reads are queued:
 * concurrent callers are served one after another in call order.
 */
export class GzipSource implements ByteSource {
  readonly sequential = true;
  private input?: ReadStream;
  private gunzip?: Gunzip;
  private chunks?: AsyncIterator<Buffer>;
  /** Logical offset of buf[0]. */
  private pos = 0;
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private queue: Promise<unknown> = Promise.resolve();
  /** Bytes decompressed so far, restarts included (for tests and figures). */
  inflated = 0;

  constructor(
    private readonly path: string,
    private readonly chunkBytes = 256 * 1024,
  ) {}

  read(into: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }> {
    const run = this.queue.then(() => this.readNow(into, offset, length, position));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private restart(): void {
    this.stop();
    this.input = createReadStream(this.path, { highWaterMark: this.chunkBytes });
    this.gunzip = createGunzip({ chunkSize: this.chunkBytes });
    this.input.on('error', (err) => this.gunzip?.destroy(err));
    this.input.pipe(this.gunzip);
    this.chunks = this.gunzip[Symbol.asyncIterator]();
    this.pos = 0;
    this.buf = Buffer.alloc(0);
    this.ended = false;
  }

  private stop(): void {
    this.input?.destroy();
    this.gunzip?.destroy();
    this.input = undefined;
    this.gunzip = undefined;
    this.chunks = undefined;
  }

  private async readNow(into: Buffer, offset: number, length: number, position: number) {
    if (!this.chunks || position < this.pos) this.restart();
    const chunks = this.chunks as AsyncIterator<Buffer>;
    // Drop what lies before the read, then pull until the read is covered or the data end.
    const dropTo = (at: number) => {
      const skip = Math.min(this.buf.length, Math.max(0, at - this.pos));
      if (skip > 0) {
        this.buf = this.buf.subarray(skip);
        this.pos += skip;
      }
    };
    dropTo(position);
    while (!this.ended && this.pos + this.buf.length < position + length) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (err) {
        this.stop();
        throw new FitsError('TRUNCATED', `cannot decompress: ${(err as Error).message}`, this.path);
      }
      if (next.done) {
        this.ended = true;
        break;
      }
      this.inflated += next.value.length;
      this.buf = this.buf.length === 0 ? next.value : Buffer.concat([this.buf, next.value]);
      dropTo(position);
    }
    const start = position - this.pos;
    const n = Math.max(0, Math.min(length, this.buf.length - start));
    if (n > 0) this.buf.copy(into, offset, start, start + n);
    return { bytesRead: n };
  }

  async close(): Promise<void> {
    await this.queue;
    this.stop();
  }
}
