/**
 * The bytes of a data file as a stream of Buffers, gunzipped when the file starts with the
 * gzip magic (1f 8b, RFC 1952), with a count of the file bytes consumed for progress.
 * Reading is pulled by the consumer (async iteration), so memory holds one chunk at a time.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { DataFileError } from '../source.js';

export const CHUNK_BYTES = 1 << 20;

export interface FileBytes {
  readonly path: string;
  readonly gzip: boolean;
  /** Size of the file on disk. */
  readonly size: number;
  /** Bytes of the file consumed so far (compressed bytes for gzip). */
  bytesRead(): number;
  /** The (decompressed) bytes from the start; one iteration per FileBytes. */
  chunks(): AsyncIterable<Buffer>;
  close(): void;
}

/** The first bytes of the file (decompressed when gzip), at most `n`. */
export async function peekBytes(
  path: string,
  n: number,
): Promise<{ head: Buffer; gzip: boolean; size: number }> {
  let size: number;
  let raw: Buffer;
  try {
    const h = await open(path, 'r');
    try {
      size = (await h.stat()).size;
      raw = Buffer.alloc(Math.min(n, size));
      await h.read(raw, 0, raw.length, 0);
    } finally {
      await h.close();
    }
  } catch (e) {
    throw new DataFileError(`cannot read the file: ${(e as Error).message}`, path);
  }
  const gzip = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;
  if (!gzip) return { head: raw, gzip, size };
  const bytes = openFileBytes(path, size, true);
  const parts: Buffer[] = [];
  let got = 0;
  try {
    for await (const c of bytes.chunks()) {
      parts.push(c);
      got += c.length;
      if (got >= n) break;
    }
  } catch (e) {
    if (got === 0) throw e;
  } finally {
    bytes.close();
  }
  return { head: Buffer.concat(parts).subarray(0, n), gzip, size };
}

export function openFileBytes(path: string, size: number, gzip: boolean): FileBytes {
  let consumed = 0;
  let closers: (() => void)[] = [];
  return {
    path,
    gzip,
    size,
    bytesRead: () => consumed,
    async *chunks() {
      const raw = createReadStream(path, { highWaterMark: CHUNK_BYTES });
      raw.on('data', (c) => {
        consumed += c.length;
      });
      const stream = gzip ? raw.pipe(createGunzip({ chunkSize: 256 * 1024 })) : raw;
      if (gzip) raw.on('error', (e) => stream.destroy(e));
      closers.push(() => {
        raw.destroy();
        stream.destroy();
      });
      try {
        for await (const c of stream) yield c as Buffer;
      } catch (e) {
        if (e instanceof DataFileError) throw e;
        const msg = (e as Error).message;
        if (gzip && /unexpected end of file/i.test(msg))
          throw new DataFileError('the gzip stream ends early: the file is truncated', path);
        throw new DataFileError(`cannot read the file: ${msg}`, path);
      } finally {
        raw.destroy();
        stream.destroy();
      }
    },
    close() {
      for (const c of closers) c();
      closers = [];
    },
  };
}

/**
 * The bytes of a stream that is not a file (an HTTP request body: user tables, issue 16),
 * pulled once by the reader, with the same count of bytes consumed. `path` only names the
 * source in messages. No gzip: a client compresses with Content-Encoding, not in the body.
 */
export function streamFileBytes(path: string, source: AsyncIterable<Buffer>): FileBytes {
  let consumed = 0;
  let closed = false;
  let iterator: AsyncIterator<Buffer> | undefined;
  return {
    path,
    gzip: false,
    size: 0,
    bytesRead: () => consumed,
    async *chunks() {
      if (iterator) throw new DataFileError('the body of a request can be read once', path);
      iterator = source[Symbol.asyncIterator]();
      try {
        while (!closed) {
          const r = await iterator.next();
          if (r.done) return;
          const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
          consumed += chunk.length;
          yield chunk;
        }
      } catch (e) {
        // A refusal of the consumer's own (a size limit) keeps its meaning; I/O failures
        // (a connection reset: the body was cut off) are the data's.
        if (e instanceof DataFileError || (e as { code?: unknown }).code === undefined) throw e;
        throw new DataFileError(`cannot read the body: ${(e as Error).message}`, path);
      }
    },
    close() {
      closed = true;
      void iterator?.return?.();
    },
  };
}

/**
 * Pulls exact byte counts out of a chunk stream (FITS headers and rows). `take(n)` returns
 * a Buffer of n bytes, fewer only at the end of the stream.
 */
export class ByteReader {
  private it: AsyncIterator<Buffer>;
  private cur: Buffer = Buffer.alloc(0);
  private pos = 0;
  private ended = false;
  /** Decompressed bytes handed out so far. */
  offset = 0;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  async take(n: number, into?: Buffer): Promise<Buffer> {
    const avail = this.cur.length - this.pos;
    if (avail >= n) {
      const out = this.cur.subarray(this.pos, this.pos + n);
      this.pos += n;
      this.offset += n;
      return out;
    }
    const out = into && into.length >= n ? into.subarray(0, n) : Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      if (this.pos >= this.cur.length) {
        if (this.ended) break;
        const r = await this.it.next();
        if (r.done) {
          this.ended = true;
          break;
        }
        this.cur = r.value;
        this.pos = 0;
        continue;
      }
      const k = Math.min(n - filled, this.cur.length - this.pos);
      this.cur.copy(out, filled, this.pos, this.pos + k);
      this.pos += k;
      filled += k;
    }
    this.offset += filled;
    return filled === n ? out : out.subarray(0, filled);
  }

  /** Skips n bytes; returns how many were skipped (fewer at the end). */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      if (this.pos >= this.cur.length) {
        if (this.ended) break;
        const r = await this.it.next();
        if (r.done) {
          this.ended = true;
          break;
        }
        this.cur = r.value;
        this.pos = 0;
        continue;
      }
      const k = Math.min(left, this.cur.length - this.pos);
      this.pos += k;
      left -= k;
    }
    this.offset += n - left;
    return n - left;
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}
