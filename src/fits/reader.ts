import { type FileHandle, open } from 'node:fs/promises';
import { FitsError } from './errors.js';
import { BLOCK_SIZE, type FitsCard, FitsHeader, parseCards } from './header.js';
import { type ByteSource, FileSource, GzipSource, isGzip } from './source.js';
import { decodeTile, describeTiled, encodeStored, heapSlice, type TiledImage } from './tiled.js';

export type Bitpix = 8 | 16 | 32 | 64 | -32 | -64;
const BITPIX_VALUES = new Set([8, 16, 32, 64, -32, -64]);

/** One Header + Data Unit, located in the file but with no data read. */
export interface FitsHdu {
  /** 0 for the primary HDU. */
  index: number;
  header: FitsHeader;
  /** 'PRIMARY' or the XTENSION value ('IMAGE', 'BINTABLE', 'TABLE', ...). */
  kind: string;
  headerStart: number;
  dataStart: number;
  /** Unpadded data size in bytes (FITS-04). */
  dataBytes: number;
  /** Offset of the next HDU (data padded to a whole block). */
  end: number;
  bitpix: Bitpix;
  /** NAXIS1..NAXISn, NAXIS1 first (varies fastest). */
  axes: number[];
  bscale: number;
  bzero: number;
  /** BLANK as stored (integer BITPIX only, FITS-23). */
  blank?: bigint;
  /**
   * A tile-compressed image (ZIMAGE = T BINTABLE, FITS 4.0 §10): kind, header, BITPIX and axes
   * above are the image's (from the Z keywords), data offsets the table's; reads decompress the
   * tiles a box touches.
   */
  tiled?: TiledImage;
}

export interface FitsOpenOptions {
  /** Largest header accepted, in 2880-byte blocks; protects against a file with no END. Default 1000. */
  maxHeaderBlocks?: number;
  /** Most HDUs scanned by `hdus()`. Default 1000. */
  maxHdus?: number;
}

/** An inclusive, 1-based pixel range on one axis (FITS-27, FITS-60). */
export interface AxisRange {
  from: number;
  to: number;
}

export interface ReadOptions {
  /** Largest number of pixels one `readSubarray` call may return. Default 64 Mi pixels. */
  maxPixels?: number;
  /** Largest single pread, in bytes; longer contiguous runs are split. Default 8 MiB. */
  maxReadBytes?: number;
}

/** A contiguous byte run of the data section and where its pixels go in the output array. */
export interface DataRun {
  /** Absolute file offset. */
  offset: number;
  bytes: number;
  /** Index of the run's first pixel in the output (NAXIS1-fastest order over the box). */
  outIndex: number;
  /** Tile-compressed images: the file bytes read (table rows and heap) to produce the run. */
  fileBytes?: number;
}

/**
 * A FITS file opened for random access: headers are parsed block by block (FITS-30) and data are
 * read only in the byte ranges asked for (FITS-31). A gzipped file (`.fits.gz`, FITS-33) is read
 * the same way through a forward gunzip stream (source.ts): reads in file order cost one
 * decompression up to the last byte read, in constant memory. Close it when done.
 */
export class FitsFile {
  private hduCache: FitsHdu[] = [];
  private scannedAll = false;
  /** Size of the logical (uncompressed) bytes; unknown, so unbounded, for a gzipped file. */
  private readonly logicalSize: number;

  private constructor(
    readonly path: string,
    private readonly source: ByteSource,
    /** Bytes on disk (what DataLink serves). */
    readonly size: number,
    private readonly options: Required<FitsOpenOptions>,
  ) {
    this.logicalSize = source.sequential ? Number.POSITIVE_INFINITY : size;
  }

  /** True for a gzipped file: reads decompress from the start, so keep them in file order. */
  get gzipped(): boolean {
    return this.source.sequential;
  }

  /** Bytes decompressed so far (restarts included) for a gzipped file; undefined otherwise. */
  get inflatedBytes(): number | undefined {
    return this.source instanceof GzipSource ? this.source.inflated : undefined;
  }

  static async open(path: string, options: FitsOpenOptions = {}): Promise<FitsFile> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      throw new FitsError('NOT_FITS', `cannot open file: ${(err as Error).message}`, path);
    }
    let source: ByteSource = new FileSource(handle);
    try {
      const { size } = await handle.stat();
      const magic = Buffer.alloc(2);
      await handle.read(magic, 0, 2, 0);
      if (isGzip(magic)) {
        await handle.close();
        source = new GzipSource(path);
      }
      const file = new FitsFile(path, source, size, {
        maxHeaderBlocks: options.maxHeaderBlocks ?? 1000,
        maxHdus: options.maxHdus ?? 1000,
      });
      await file.hdu(0);
      return file;
    } catch (err) {
      await source.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.source.close();
  }

  get primary(): FitsHdu {
    return this.hduCache[0];
  }

  /** The HDU with this index (0 = primary), scanning headers up to it. Undefined past the last HDU. */
  async hdu(index: number): Promise<FitsHdu | undefined> {
    while (this.hduCache.length <= index && !this.scannedAll) {
      if (this.hduCache.length >= this.options.maxHdus) {
        throw new FitsError('LIMIT', `more than ${this.options.maxHdus} HDUs (maxHdus)`, this.path);
      }
      const prev = this.hduCache[this.hduCache.length - 1];
      const start = prev ? prev.end : 0;
      if (prev && start >= this.logicalSize) {
        this.scannedAll = true;
        break;
      }
      if (prev && !(await this.startsExtension(start))) {
        // Bytes after the last HDU that are not a whole extension header (FITS allows special
        // records there; some writers leave padding) end the scan instead of failing the file.
        this.scannedAll = true;
        break;
      }
      this.hduCache.push(await this.readHdu(this.hduCache.length, start));
    }
    return this.hduCache[index];
  }

  /** All HDUs in the file (headers only). */
  async hdus(): Promise<FitsHdu[]> {
    await this.hdu(Number.MAX_SAFE_INTEGER);
    return [...this.hduCache];
  }

  private async startsExtension(offset: number): Promise<boolean> {
    if (offset + BLOCK_SIZE > this.logicalSize) return false;
    const head = Buffer.alloc(10);
    const { bytesRead } = await this.source.read(head, 0, 10, offset);
    if (bytesRead < 10) return false;
    return head.toString('latin1') === 'XTENSION= ';
  }

  private async readHdu(index: number, start: number): Promise<FitsHdu> {
    const cards: FitsCard[] = [];
    const state = { pendingContinue: false };
    const block = Buffer.alloc(BLOCK_SIZE);
    let offset = start;
    let ended = false;
    for (let n = 0; n < this.options.maxHeaderBlocks; n++) {
      const { bytesRead } = await this.source.read(block, 0, BLOCK_SIZE, offset);
      if (bytesRead < BLOCK_SIZE) {
        if (index === 0 && offset === 0) {
          throw new FitsError(
            'NOT_FITS',
            `file holds ${bytesRead} bytes${this.gzipped ? ' once decompressed' : ''}, fewer than one 2880-byte FITS block`,
            this.path,
          );
        }
        throw new FitsError('TRUNCATED', `header of HDU ${index} ends before its END card`, this.path);
      }
      if (n === 0 && index === 0 && block.toString('latin1', 0, 10) !== 'SIMPLE  = ') {
        throw new FitsError('NOT_FITS', 'file does not start with SIMPLE = T (FITS-05)', this.path);
      }
      offset += BLOCK_SIZE;
      try {
        ended = parseCards(block, cards, state);
      } catch (err) {
        if (err instanceof FitsError)
          throw new FitsError(err.code, `HDU ${index}: ${err.message}`, this.path);
        throw err;
      }
      if (ended) break;
    }
    if (!ended) {
      throw new FitsError(
        'LIMIT',
        `HDU ${index} header has no END card within ${this.options.maxHeaderBlocks} blocks (maxHeaderBlocks)`,
        this.path,
      );
    }
    const header = new FitsHeader(cards);
    return this.describe(index, header, start, offset);
  }

  private describe(index: number, header: FitsHeader, headerStart: number, dataStart: number): FitsHdu {
    const bad = (msg: string) => new FitsError('BAD_HEADER', `HDU ${index}: ${msg}`, this.path);
    let kind = 'PRIMARY';
    const first = header.cards[0];
    if (index === 0) {
      if (first?.keyword !== 'SIMPLE' || first.value !== true)
        throw new FitsError('NOT_FITS', 'SIMPLE is not T', this.path);
    } else {
      if (first?.keyword !== 'XTENSION' || typeof first.value !== 'string')
        throw bad('first keyword is not XTENSION');
      kind = first.value.trim();
    }
    const bitpix = header.integer('BITPIX');
    if (bitpix === undefined || !BITPIX_VALUES.has(bitpix))
      throw bad(`BITPIX ${bitpix} is not one of 8,16,32,64,-32,-64`);
    const naxis = header.integer('NAXIS');
    if (naxis === undefined || naxis < 0 || naxis > 999) throw bad(`NAXIS ${naxis} is not in 0..999`);
    const axes: number[] = [];
    for (let i = 1; i <= naxis; i++) {
      const n = header.integer(`NAXIS${i}`);
      if (n === undefined || n < 0) throw bad(`NAXIS${i} is missing or negative`);
      axes.push(n);
    }
    const pcount = header.integer('PCOUNT') ?? 0;
    const gcount = header.integer('GCOUNT') ?? 1;
    let elements = naxis === 0 ? 0 : axes.reduce((a, b) => a * b, 1);
    if (naxis > 0) elements = gcount * (pcount + elements);
    const dataBytes = elements * (Math.abs(bitpix) / 8);
    if (!Number.isSafeInteger(dataBytes)) throw bad('data size overflows');
    const end = dataStart + Math.ceil(dataBytes / BLOCK_SIZE) * BLOCK_SIZE;
    if (dataStart + dataBytes > this.logicalSize) {
      throw new FitsError(
        'TRUNCATED',
        `HDU ${index} needs ${dataBytes} data bytes from offset ${dataStart} but the file has ${this.size} bytes`,
        this.path,
      );
    }
    const blankValue = header.get('BLANK');
    const hdu: FitsHdu = {
      index,
      header,
      kind,
      headerStart,
      dataStart,
      dataBytes,
      end,
      bitpix: bitpix as Bitpix,
      axes,
      bscale: header.number('BSCALE') ?? 1,
      bzero: header.number('BZERO') ?? 0,
    };
    if (bitpix > 0 && (typeof blankValue === 'number' || typeof blankValue === 'bigint'))
      hdu.blank = BigInt(blankValue);
    if (kind === 'BINTABLE' && header.get('ZIMAGE') === true) return this.tiledHdu(hdu);
    return hdu;
  }

  /** The image view of a tile-compressed HDU (FITS 4.0 §10.1: Z keywords are the image's). */
  private tiledHdu(table: FitsHdu): FitsHdu {
    let tiled: TiledImage;
    try {
      tiled = describeTiled(table.header, `HDU ${table.index}`);
    } catch (err) {
      if (err instanceof FitsError) throw new FitsError(err.code, err.message, this.path);
      throw err;
    }
    const h = tiled.imageHeader;
    const blank = h.get('BLANK');
    const hdu: FitsHdu = {
      ...table,
      kind: 'IMAGE',
      header: h,
      bitpix: tiled.bitpix,
      axes: tiled.axes,
      bscale: h.number('BSCALE') ?? 1,
      bzero: h.number('BZERO') ?? 0,
      tiled,
    };
    delete hdu.blank;
    if (tiled.bitpix > 0 && (typeof blank === 'number' || typeof blank === 'bigint'))
      hdu.blank = BigInt(blank);
    return hdu;
  }

  /**
   * The stored values of a box of a tile-compressed image, as big-endian bytes of its BITPIX, in
   * slabs along the box's highest non-degenerate axis cut at tile edges: only the tiles the box
   * touches are read and decompressed, one slab of them at a time (memory: one slab).
   */
  private async *readTiledRuns(
    hdu: FitsHdu,
    box: readonly AxisRange[],
  ): AsyncGenerator<{ run: DataRun; data: Buffer }> {
    const t = hdu.tiled as TiledImage;
    const naxis = t.axes.length;
    const shape = box.map((r) => r.to - r.from + 1);
    let k = naxis - 1;
    while (k > 0 && shape[k] === 1) k--;
    const ntiles = t.axes.map((n, i) => Math.ceil(n / t.tile[i]));
    const slabPlane = shape.slice(0, k).reduce((a, b) => a * b, 1);
    let outIndex = 0;
    for (let from = box[k].from; from <= box[k].to; ) {
      const to = Math.min(box[k].to, (Math.floor((from - 1) / t.tile[k]) + 1) * t.tile[k]);
      const sb = box.map((r, i) => (i === k ? { from, to } : r));
      const sshape = sb.map((r) => r.to - r.from + 1);
      const values = new Float64Array(slabPlane * (to - from + 1));
      let fileBytes = 0;
      const t0 = sb.map((r, i) => Math.floor((r.from - 1) / t.tile[i]));
      const t1 = sb.map((r, i) => Math.floor((r.to - 1) / t.tile[i]));
      const ti = t0.slice();
      for (;;) {
        let index = 0;
        for (let i = naxis - 1; i >= 0; i--) index = index * ntiles[i] + ti[i];
        const row = await this.readBytes(hdu.dataStart + index * t.rowBytes, t.rowBytes);
        let which: 'COMPRESSED_DATA' | 'GZIP_COMPRESSED_DATA' | 'UNCOMPRESSED_DATA' = 'COMPRESSED_DATA';
        let slice = heapSlice(t, row, which);
        for (const alt of ['GZIP_COMPRESSED_DATA', 'UNCOMPRESSED_DATA'] as const) {
          if (slice && slice[1] > 0) break;
          const s = heapSlice(t, row, alt);
          if (s) {
            slice = s;
            which = alt;
          }
        }
        if (!slice || slice[1] === 0)
          throw new FitsError('BAD_HEADER', `HDU ${hdu.index}: tile ${index + 1} has no data`, this.path);
        const bytes = await this.readBytes(hdu.dataStart + t.heapOffset + slice[0], slice[1]);
        fileBytes += t.rowBytes + slice[1];
        const start = ti.map((v, i) => v * t.tile[i]);
        const size = start.map((s0, i) => Math.min(t.tile[i], t.axes[i] - s0));
        const count = size.reduce((a, b) => a * b, 1);
        const tile = decodeTile(t, index, row, bytes, which, count);
        copyTile(tile, start, size, sb, sshape, values);
        let i = 0;
        for (; i < naxis; i++) {
          if (++ti[i] <= t1[i]) break;
          ti[i] = t0[i];
        }
        if (i === naxis) break;
      }
      yield {
        run: { offset: -1, bytes: values.length * (Math.abs(t.bitpix) / 8), outIndex, fileBytes },
        data: encodeStored(values, t.bitpix),
      };
      outIndex += values.length;
      from = to + 1;
    }
  }

  /** Reads raw bytes at an absolute offset, failing if the file is shorter. */
  async readBytes(offset: number, bytes: number, into?: Buffer): Promise<Buffer> {
    const buf = into ?? Buffer.allocUnsafe(bytes);
    let done = 0;
    while (done < bytes) {
      const { bytesRead } = await this.source.read(buf, done, bytes - done, offset + done);
      if (bytesRead === 0)
        throw new FitsError('TRUNCATED', `unexpected end of file at offset ${offset + done}`, this.path);
      done += bytesRead;
    }
    return buf;
  }

  /**
   * The raw (big-endian, unscaled) bytes of a pixel box, as a stream of contiguous runs in
   * NAXIS1-fastest order (FITS-31, FITS-67): one pread per run, runs that touch coalesced, no run
   * longer than maxReadBytes. Suited to cutouts that copy bytes unchanged.
   */
  async *readRawRuns(
    hdu: FitsHdu,
    box: readonly AxisRange[],
    options: ReadOptions = {},
  ): AsyncGenerator<{ run: DataRun; data: Buffer }> {
    if (hdu.tiled) {
      checkBox(hdu, box);
      yield* this.readTiledRuns(hdu, box);
      return;
    }
    const maxRead = options.maxReadBytes ?? 8 * 1024 * 1024;
    for (const run of planRuns(hdu, box, maxRead)) {
      yield { run, data: await this.readBytes(run.offset, run.bytes) };
    }
  }

  /**
   * Physical values (BZERO + BSCALE × stored, BLANK → NaN; FITS-21..24) of a pixel box, NAXIS1 fastest.
   * Float32Array for unscaled BITPIX -32 (no precision lost), Float64Array otherwise; 64-bit integers
   * beyond 2^53 lose precision in the conversion.
   */
  async readSubarray(
    hdu: FitsHdu,
    box: readonly AxisRange[],
    options: ReadOptions = {},
  ): Promise<Float32Array | Float64Array> {
    const shape = checkBox(hdu, box);
    const total = shape.reduce((a, b) => a * b, 1);
    const maxPixels = options.maxPixels ?? 64 * 1024 * 1024;
    if (total > maxPixels) {
      throw new FitsError('LIMIT', `sub-array of ${total} pixels exceeds maxPixels ${maxPixels}`, this.path);
    }
    const scaled = hdu.bscale !== 1 || hdu.bzero !== 0;
    const out = hdu.bitpix === -32 && !scaled ? new Float32Array(total) : new Float64Array(total);
    for await (const { run, data } of this.readRawRuns(hdu, box, options)) {
      decodeInto(hdu, data, out, run.outIndex);
    }
    return out;
  }
}

/** Copies the part of a decoded tile (0-based start, size) inside the slab box into the slab's values. */
function copyTile(
  tile: Float64Array,
  start: readonly number[],
  size: readonly number[],
  sb: readonly AxisRange[],
  sshape: readonly number[],
  out: Float64Array,
): void {
  const n = size.length;
  const lo = sb.map((r, i) => Math.max(r.from - 1, start[i]));
  const hi = sb.map((r, i) => Math.min(r.to - 1, start[i] + size[i] - 1));
  const p = lo.slice();
  for (;;) {
    let src = 0;
    let dst = 0;
    for (let i = n - 1; i >= 0; i--) {
      src = src * size[i] + (p[i] - start[i]);
      dst = dst * sshape[i] + (p[i] - (sb[i].from - 1));
    }
    const len = hi[0] - lo[0] + 1;
    out.set(tile.subarray(src, src + len), dst);
    let i = 1;
    for (; i < n; i++) {
      if (++p[i] <= hi[i]) break;
      p[i] = lo[i];
    }
    if (i >= n) break;
  }
}

function checkBox(hdu: FitsHdu, box: readonly AxisRange[]): number[] {
  if (hdu.axes.length === 0)
    throw new FitsError('BAD_REQUEST', `HDU ${hdu.index} has no data array (NAXIS = 0)`);
  if (box.length !== hdu.axes.length) {
    throw new FitsError(
      'BAD_REQUEST',
      `pixel box has ${box.length} axes but HDU ${hdu.index} has NAXIS = ${hdu.axes.length}`,
    );
  }
  if (hdu.kind !== 'PRIMARY' && hdu.kind !== 'IMAGE') {
    throw new FitsError('UNSUPPORTED', `HDU ${hdu.index} is a ${hdu.kind}, not an image`);
  }
  return box.map((r, i) => {
    const n = hdu.axes[i];
    if (!Number.isInteger(r.from) || !Number.isInteger(r.to) || r.from < 1 || r.to > n || r.from > r.to) {
      throw new FitsError(
        'BAD_REQUEST',
        `axis ${i + 1} range ${r.from}..${r.to} is not within 1..${n} (1-based, inclusive)`,
      );
    }
    return r.to - r.from + 1;
  });
}

/** The byte runs covering a box, coalesced where contiguous and split at maxRead (FITS-26, FITS-31). */
export function planRuns(hdu: FitsHdu, box: readonly AxisRange[], maxRead: number): DataRun[] {
  const shape = checkBox(hdu, box);
  const bpp = Math.abs(hdu.bitpix) / 8;
  const naxis = hdu.axes.length;
  const strides: number[] = [];
  let s = 1;
  for (let i = 0; i < naxis; i++) {
    strides.push(s);
    s *= hdu.axes[i];
  }
  const rowPixels = shape[0];
  const rows = shape.slice(1).reduce((a, b) => a * b, 1);
  const runs: DataRun[] = [];
  const counter = new Array<number>(naxis).fill(0);
  const maxPixelsPerRun = Math.max(1, Math.floor(maxRead / bpp));
  let current: DataRun | undefined;
  for (let r = 0; r < rows; r++) {
    let index = box[0].from - 1;
    for (let i = 1; i < naxis; i++) index += (box[i].from - 1 + counter[i]) * strides[i];
    const offset = hdu.dataStart + index * bpp;
    const outIndex = r * rowPixels;
    if (
      current &&
      current.offset + current.bytes === offset &&
      current.bytes / bpp + rowPixels <= maxPixelsPerRun
    ) {
      current.bytes += rowPixels * bpp;
    } else {
      if (current) runs.push(current);
      current = { offset, bytes: rowPixels * bpp, outIndex };
    }
    for (let i = 1; i < naxis; i++) {
      if (++counter[i] < shape[i]) break;
      counter[i] = 0;
    }
  }
  if (current) runs.push(current);
  // A single row longer than maxRead is split so no pread exceeds it.
  const out: DataRun[] = [];
  for (const run of runs) {
    let px = 0;
    const n = run.bytes / bpp;
    while (px < n) {
      const take = Math.min(maxPixelsPerRun, n - px);
      out.push({ offset: run.offset + px * bpp, bytes: take * bpp, outIndex: run.outIndex + px });
      px += take;
    }
  }
  return out;
}

/** Decodes big-endian stored values into physical values (FITS-07, FITS-21..24). */
export function decodeInto(
  hdu: Pick<FitsHdu, 'bitpix' | 'bscale' | 'bzero' | 'blank'>,
  data: Uint8Array,
  out: Float32Array | Float64Array,
  outIndex: number,
): void {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const { bscale, bzero } = hdu;
  const n = data.byteLength / (Math.abs(hdu.bitpix) / 8);
  const blank = hdu.blank;
  switch (hdu.bitpix) {
    case 8: {
      const b = blank === undefined ? -1 : Number(blank);
      for (let i = 0; i < n; i++) {
        const v = data[i];
        out[outIndex + i] = v === b ? Number.NaN : bzero + bscale * v;
      }
      break;
    }
    case 16: {
      const b = blank === undefined ? 0x10000 : Number(blank);
      // FITS-22: BZERO 32768 is the unsigned convention; flipping the sign bit is exact.
      const unsigned = bzero === 32768 && bscale === 1;
      for (let i = 0; i < n; i++) {
        const v = view.getInt16(2 * i, false);
        if (v === b) out[outIndex + i] = Number.NaN;
        else out[outIndex + i] = unsigned ? view.getUint16(2 * i, false) ^ 0x8000 : bzero + bscale * v;
      }
      break;
    }
    case 32: {
      const b = blank === undefined ? 2 ** 40 : Number(blank);
      const unsigned = bzero === 2147483648 && bscale === 1;
      for (let i = 0; i < n; i++) {
        const v = view.getInt32(4 * i, false);
        if (v === b) out[outIndex + i] = Number.NaN;
        else
          out[outIndex + i] = unsigned
            ? (view.getUint32(4 * i, false) ^ 0x80000000) >>> 0
            : bzero + bscale * v;
      }
      break;
    }
    case 64: {
      const unsigned = bzero === 2 ** 63 && bscale === 1;
      for (let i = 0; i < n; i++) {
        const v = view.getBigInt64(8 * i, false);
        if (blank !== undefined && v === blank) out[outIndex + i] = Number.NaN;
        else if (unsigned) out[outIndex + i] = Number(view.getBigUint64(8 * i, false) ^ 0x8000000000000000n);
        else out[outIndex + i] = bzero + bscale * Number(v);
      }
      break;
    }
    case -32: {
      if (bscale === 1 && bzero === 0) {
        for (let i = 0; i < n; i++) out[outIndex + i] = view.getFloat32(4 * i, false);
      } else {
        for (let i = 0; i < n; i++) out[outIndex + i] = bzero + bscale * view.getFloat32(4 * i, false);
      }
      break;
    }
    case -64: {
      for (let i = 0; i < n; i++) out[outIndex + i] = bzero + bscale * view.getFloat64(8 * i, false);
      break;
    }
  }
}
