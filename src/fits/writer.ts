import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { FitsError } from './errors.js';
import { BLOCK_SIZE, type CardInput, encodeHeader } from './header.js';

/** Where FITS bytes go: a file, an HTTP response, a hash... Writes are awaited in order. */
export interface FitsSink {
  write(chunk: Uint8Array): Promise<void>;
}

/** Typed arrays the writer converts to big-endian stored values, matched against BITPIX. */
export type FitsPixels =
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

const BUFFER_BYTES = 1 << 20;

/**
 * A file sink that buffers small writes and writes to `<path>.partial`, renamed into place only by
 * `commit()`, so a failed or abandoned write never leaves a half-written product under the real name.
 */
export class FileSink implements FitsSink {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  bytesWritten = 0;

  private constructor(
    readonly path: string,
    private readonly tempPath: string,
    private readonly handle: FileHandle,
  ) {}

  static async create(path: string): Promise<FileSink> {
    const tempPath = `${path}.partial`;
    const handle = await open(tempPath, 'w');
    return new FileSink(path, tempPath, handle);
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.bytesWritten += chunk.byteLength;
    if (chunk.byteLength >= BUFFER_BYTES) {
      await this.flush();
      await this.handle.write(chunk);
      return;
    }
    // Copy: callers may reuse their buffers once write() resolves.
    this.pending.push(Buffer.from(chunk));
    this.pendingBytes += chunk.byteLength;
    if (this.pendingBytes >= BUFFER_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.handle.write(data);
  }

  async commit(): Promise<void> {
    await this.flush();
    await this.handle.close();
    await rename(this.tempPath, this.path);
  }

  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(this.tempPath, { force: true });
  }
}

/** What a header's mandatory keywords say about the data that must follow. */
export interface DataLayout {
  bitpix: number;
  axes: number[];
  dataBytes: number;
  bzero: number;
  bscale: number;
}

/** Checks the mandatory keyword order (FITS-05, FITS-06) and computes the data size (FITS-04). */
export function layoutOf(cards: readonly CardInput[]): DataLayout {
  const bad = (msg: string) => new FitsError('WRITE', `header: ${msg}`);
  const key = (i: number) => cards[i]?.keyword.toUpperCase();
  const first = key(0);
  if (first === 'SIMPLE') {
    if (cards[0].value !== true) throw bad('SIMPLE must be T');
  } else if (first !== 'XTENSION') {
    throw bad('the first card must be SIMPLE or XTENSION');
  }
  if (key(1) !== 'BITPIX') throw bad('the second card must be BITPIX');
  if (key(2) !== 'NAXIS') throw bad('the third card must be NAXIS');
  const bitpix = cards[1].value;
  if (typeof bitpix !== 'number' || ![8, 16, 32, 64, -32, -64].includes(bitpix))
    throw bad('BITPIX must be 8,16,32,64,-32 or -64');
  const naxis = cards[2].value;
  if (typeof naxis !== 'number' || !Number.isInteger(naxis) || naxis < 0 || naxis > 999)
    throw bad('NAXIS must be 0..999');
  const axes: number[] = [];
  for (let i = 1; i <= naxis; i++) {
    const c = cards[2 + i];
    if (
      c?.keyword.toUpperCase() !== `NAXIS${i}` ||
      typeof c.value !== 'number' ||
      !Number.isInteger(c.value) ||
      c.value < 0
    ) {
      throw bad(`card ${3 + i} must be NAXIS${i} with a non-negative integer`);
    }
    axes.push(c.value);
  }
  const find = (k: string) => cards.find((c) => c.keyword.toUpperCase() === k)?.value;
  const pcount = Number(find('PCOUNT') ?? 0);
  const gcount = Number(find('GCOUNT') ?? 1);
  const elements = naxis === 0 ? 0 : gcount * (pcount + axes.reduce((a, b) => a * b, 1));
  return {
    bitpix,
    axes,
    dataBytes: elements * (Math.abs(bitpix) / 8),
    bzero: Number(find('BZERO') ?? 0),
    bscale: Number(find('BSCALE') ?? 1),
  };
}

/**
 * Streams one HDU: the header at creation, then data in any chunking the caller likes (rows,
 * planes), then zero padding to the block boundary (FITS-03, FITS-32). Exactly the number of bytes
 * the header announces must be written before `finish()`.
 */
export class FitsHduWriter {
  private written = 0;
  private finished = false;

  private constructor(
    private readonly sink: FitsSink,
    readonly layout: DataLayout,
    readonly headerBytes: number,
  ) {}

  static async create(sink: FitsSink, cards: readonly CardInput[]): Promise<FitsHduWriter> {
    const layout = layoutOf(cards);
    const header = encodeHeader(cards);
    await sink.write(header);
    return new FitsHduWriter(sink, layout, header.byteLength);
  }

  /** Total bytes of this HDU once finished (header + padded data): enough for a Content-Length. */
  get totalBytes(): number {
    return this.headerBytes + Math.ceil(this.layout.dataBytes / BLOCK_SIZE) * BLOCK_SIZE;
  }

  get dataBytesWritten(): number {
    return this.written;
  }

  /** Already big-endian stored bytes (e.g. copied from another FITS file). */
  async writeRaw(bytes: Uint8Array): Promise<void> {
    if (this.finished) throw new FitsError('WRITE', 'write after finish()');
    if (this.written + bytes.byteLength > this.layout.dataBytes) {
      throw new FitsError(
        'WRITE',
        `data overflow: header announces ${this.layout.dataBytes} bytes, ${this.written + bytes.byteLength} given`,
      );
    }
    this.written += bytes.byteLength;
    await this.sink.write(bytes);
  }

  /** Pixel values as stored numbers of the header's BITPIX; converted to big-endian here. */
  async write(values: FitsPixels): Promise<void> {
    await this.writeRaw(encodePixels(this.layout, values));
  }

  async finish(): Promise<void> {
    if (this.finished) return;
    if (this.written !== this.layout.dataBytes) {
      throw new FitsError(
        'WRITE',
        `data underflow: header announces ${this.layout.dataBytes} bytes, ${this.written} written`,
      );
    }
    this.finished = true;
    const pad = (BLOCK_SIZE - (this.written % BLOCK_SIZE)) % BLOCK_SIZE;
    if (pad > 0) await this.sink.write(Buffer.alloc(pad));
  }
}

/** Converts a typed array to big-endian bytes for BITPIX (FITS-07, FITS-20, FITS-22). */
export function encodePixels(layout: Pick<DataLayout, 'bitpix' | 'bzero'>, values: FitsPixels): Buffer {
  const { bitpix } = layout;
  const mismatch = () =>
    new FitsError('WRITE', `a ${values.constructor.name} cannot be written as BITPIX ${bitpix} data`);
  const copy = () => Buffer.from(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  switch (bitpix) {
    case 8:
      if (!(values instanceof Uint8Array)) throw mismatch();
      return copy();
    case 16: {
      if (values instanceof Int16Array) return copy().swap16();
      if (values instanceof Uint16Array) {
        // Unsigned convention (FITS-22): stored = value - 32768, i.e. the sign bit flipped.
        if (layout.bzero !== 32768)
          throw new FitsError('WRITE', 'Uint16Array data need BZERO = 32768 (FITS-22)');
        const out = copy();
        for (let i = 0; i < out.length; i += 2) out[i + 1] ^= 0x80;
        return out.swap16();
      }
      throw mismatch();
    }
    case 32: {
      if (values instanceof Int32Array) return copy().swap32();
      if (values instanceof Uint32Array) {
        if (layout.bzero !== 2147483648)
          throw new FitsError('WRITE', 'Uint32Array data need BZERO = 2147483648 (FITS-22)');
        const out = copy();
        for (let i = 0; i < out.length; i += 4) out[i + 3] ^= 0x80;
        return out.swap32();
      }
      throw mismatch();
    }
    case 64:
      if (!(values instanceof BigInt64Array)) throw mismatch();
      return copy().swap64();
    case -32:
      if (!(values instanceof Float32Array)) throw mismatch();
      return copy().swap32();
    case -64:
      if (!(values instanceof Float64Array)) throw mismatch();
      return copy().swap64();
    default:
      throw mismatch();
  }
}

/**
 * Writes a single-HDU FITS file with data supplied by `produce`, atomically: on any error the
 * partial file is removed and the error re-thrown.
 */
export async function writeFitsFile(
  path: string,
  cards: readonly CardInput[],
  produce: (hdu: FitsHduWriter) => Promise<void>,
): Promise<void> {
  const sink = await FileSink.create(path);
  try {
    const hdu = await FitsHduWriter.create(sink, cards);
    await produce(hdu);
    await hdu.finish();
    await sink.commit();
  } catch (err) {
    await sink.abort();
    throw err;
  }
}
