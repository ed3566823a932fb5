/**
 * FITS binary tables (FITS 4.0 §7.3), streamed: the first extension with XTENSION =
 * 'BINTABLE' is read row by row from a sequential byte stream (so gzip works), whole
 * batches at a time, each cell decoded through a DataView over the batch's bytes.
 *
 * Mapping (TFORMn letter -> VOTable datatype): L boolean, X bit, B unsignedByte, I short,
 * J int, K long, A char, E float, D double, C floatComplex, M doubleComplex; a repeat count
 * above 1 (or TDIMn) makes an array. The unsigned conventions (FITS-TZERO: B with
 * TZERO=-128, I with 32768, J with 2147483648, K with 2^63) give short, int, long, long;
 * any other TSCALn/TZEROn on an integer column gives double. Nulls: TNULLn for integers,
 * NaN for floats, 0 for logicals, empty strings. Variable-length arrays (P/Q descriptors)
 * are read from the heap by position, so they need an uncompressed file.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { Datatype } from '../../../votable/index.js';
import { parseCards } from '../../fits/header.js';
import { BLOCK_SIZE, type FitsCard, FitsError, FitsHeader, TFORM_ELEMENT_BYTES } from '../../fits/index.js';
import { DataFileError, type DataSource, type SourceBatch, type SourceColumn } from '../source.js';
import { ByteReader, type FileBytes, openFileBytes } from './bytes.js';

export interface FitsReadOptions {
  /** Rows per batch (default 10,000). */
  batchRows?: number;
  /** Largest header accepted, in 2880-byte blocks (default 1000). */
  maxHeaderBlocks?: number;
  /** The bytes to read instead of the file at `path` (a request body: streamFileBytes). */
  bytes?: FileBytes;
}

type Decode = (dv: DataView, off: number, row: number) => unknown;

interface ColumnPlan {
  column: SourceColumn;
  offset: number;
  decode: Decode;
}

const TFORM_RE = /^\s*([0-9]*)([LXBIJKAEDCMPQ])(.*)$/;

function readHeader(
  reader: ByteReader,
  path: string,
  hduIndex: number,
  maxBlocks: number,
): Promise<FitsHeader | undefined> {
  return (async () => {
    const cards: FitsCard[] = [];
    const state = { pendingContinue: false };
    for (let n = 0; n < maxBlocks; n++) {
      const block = await reader.take(BLOCK_SIZE);
      if (block.length === 0 && n === 0 && hduIndex > 0) return undefined;
      if (block.length < BLOCK_SIZE) {
        if (hduIndex === 0 && n === 0)
          throw new DataFileError('not a FITS file: shorter than one 2880-byte block', path);
        throw new DataFileError(
          `the header of HDU ${hduIndex} ends before its END card: the file is truncated`,
          path,
        );
      }
      if (n === 0) {
        const start = block.toString('latin1', 0, 10);
        if (hduIndex === 0 && start !== 'SIMPLE  = ')
          throw new DataFileError('not a FITS file: it does not start with SIMPLE = T (FITS-05)', path);
        // Bytes after the last HDU that are not an extension end the file (special records).
        if (hduIndex > 0 && start !== 'XTENSION= ') return undefined;
      }
      try {
        if (parseCards(block, cards, state)) return new FitsHeader(cards);
      } catch (e) {
        if (e instanceof FitsError) throw new DataFileError(`HDU ${hduIndex}: ${e.message}`, path);
        throw e;
      }
    }
    throw new DataFileError(`HDU ${hduIndex} has no END card within ${maxBlocks} header blocks`, path);
  })();
}

function dataBytesOf(h: FitsHeader): number {
  const bitpix = Math.abs(h.integer('BITPIX') ?? 8);
  const naxis = h.integer('NAXIS') ?? 0;
  if (naxis === 0) return 0;
  let elements = 1;
  for (let i = 1; i <= naxis; i++) elements *= h.integer(`NAXIS${i}`) ?? 0;
  return (h.integer('GCOUNT') ?? 1) * ((h.integer('PCOUNT') ?? 0) + elements) * (bitpix / 8);
}

const padded = (n: number) => Math.ceil(n / BLOCK_SIZE) * BLOCK_SIZE;

interface Heap {
  read(offset: number, length: number): Buffer;
}

/** Cell decoder and VOTable metadata of one TFORMn. */
function planColumn(
  h: FitsHeader,
  n: number,
  path: string,
  heap: () => Heap,
): { column: SourceColumn; width: number; decode?: Decode } {
  const name = (h.string(`TTYPE${n}`) ?? `col${n}`).trim() || `col${n}`;
  const tform = h.string(`TFORM${n}`);
  const m = tform === undefined ? null : TFORM_RE.exec(tform);
  if (!m)
    throw new DataFileError(
      `TFORM${n} ${JSON.stringify(tform ?? '')} is not a FITS binary table format`,
      path,
      undefined,
      name,
    );
  const repeat = m[1] === '' ? 1 : Number(m[1]);
  const code = m[2];
  const bad = (msg: string): never => {
    throw new DataFileError(`column "${name}" (TFORM${n} = '${tform}'): ${msg}`, path, undefined, name);
  };
  const str = (k: string) => {
    const v = h.get(`${k}${n}`);
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
  };
  const num = (k: string): number | bigint | undefined => {
    const v = h.get(`${k}${n}`);
    return typeof v === 'number' || typeof v === 'bigint' ? v : undefined;
  };
  const unit = str('TUNIT');
  const ucd = str('TUCD');
  const utype = str('TUTYP');
  // TCOMMn (FITS 4.0 §8.4 reserved convention) or else the TTYPEn card's comment.
  const description = str('TCOMM') ?? h.comment(`TTYPE${n}`)?.trim() ?? undefined;
  const tdim = str('TDIM');
  const tnull = num('TNULL');
  const tscal = Number(num('TSCAL') ?? 1);
  const tzeroRaw = num('TZERO') ?? 0;
  const tzero = Number(tzeroRaw);
  const meta = {
    ...(unit && { unit }),
    ...(ucd && { ucd }),
    ...(utype && { utype }),
    ...(description && { description }),
  };

  let dims: string | undefined;
  if (tdim && code !== 'A') {
    const d = /^\(\s*([0-9]+(\s*,\s*[0-9]+)*)\s*\)$/.exec(tdim);
    if (d)
      dims = d[1]
        .split(',')
        .map((s) => s.trim())
        .join('x');
  }
  const arraysize = (count: number) => dims ?? String(count);

  if (code === 'P' || code === 'Q') {
    const inner = /^([LBIJKAEDCM])/.exec(m[3]);
    if (!inner) bad('unsupported variable-length array element type');
    const t = (inner as RegExpExecArray)[1];
    const width = repeat > 0 ? TFORM_ELEMENT_BYTES[code] : 0;
    const item = scalarDecoder(t, tnull, tscal, tzero, tzeroRaw);
    const datatype = t === 'A' ? 'char' : item.datatype;
    const isq = code === 'Q';
    const esize = TFORM_ELEMENT_BYTES[t];
    return {
      column: { name, datatype, arraysize: '*', ...meta },
      width,
      decode:
        width === 0
          ? undefined
          : (dv, off) => {
              const count = isq ? Number(dv.getBigInt64(off)) : dv.getInt32(off);
              const at = isq ? Number(dv.getBigInt64(off + 8)) : dv.getInt32(off + 4);
              if (count === 0) return null;
              const bytes = heap().read(at, count * esize);
              const hv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
              if (t === 'A') return trimChars(bytes, 0, bytes.length);
              const out = new Array(count);
              for (let i = 0; i < count; i++) out[i] = item.read(hv, i * esize, false);
              return out;
            },
    };
  }

  if (code === 'X') {
    const width = Math.ceil(repeat / 8);
    return {
      column: { name, datatype: 'bit', ...(repeat !== 1 && { arraysize: String(repeat) }), ...meta },
      width,
      decode:
        repeat === 0
          ? undefined
          : repeat === 1
            ? (dv, off) => (dv.getUint8(off) & 0x80) !== 0
            : (dv, off) => {
                const out = new Array<boolean>(repeat);
                for (let i = 0; i < repeat; i++)
                  out[i] = (dv.getUint8(off + (i >> 3)) & (0x80 >> (i & 7))) !== 0;
                return out;
              },
    };
  }
  if (code === 'A') {
    // rAw: strings of w characters (TDIMn or the Aw suffix); one string when w = r.
    const w = /^([0-9]+)/.exec(m[3]) ? Number(/^([0-9]+)/.exec(m[3])?.[1]) : repeat;
    const per = w > 0 && w < repeat ? w : repeat;
    const count = per > 0 ? Math.floor(repeat / per) : 0;
    return {
      column: { name, datatype: 'char', arraysize: count > 1 ? `${per}x${count}` : `${repeat}*`, ...meta },
      width: repeat,
      decode:
        repeat === 0
          ? undefined
          : count > 1
            ? (dv, off) => {
                const u8 = new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength);
                const out: string[] = [];
                for (let i = 0; i < count; i++) out.push(trimChars(u8, off + i * per, per) ?? '');
                return out;
              }
            : (dv, off) => trimChars(new Uint8Array(dv.buffer, dv.byteOffset, dv.byteLength), off, repeat),
    };
  }
  const item = scalarDecoder(code, tnull, tscal, tzero, tzeroRaw);
  const size = TFORM_ELEMENT_BYTES[code];
  const width = repeat * size;
  const complex = code === 'C' || code === 'M';
  if (repeat === 0) return { column: { name, datatype: item.datatype, ...meta }, width: 0 };
  if (repeat === 1 && !dims && !complex)
    return {
      column: { name, datatype: item.datatype, ...meta },
      width,
      decode: (dv, off) => item.read(dv, off, true),
    };
  // Complex values are [re, im] pairs (flat for arrays), as votable/ maps them.
  return {
    column: {
      name,
      datatype: item.datatype,
      ...((repeat > 1 || dims) && { arraysize: arraysize(repeat) }),
      ...meta,
    },
    width,
    decode: (dv, off) => {
      const out = new Array(complex ? repeat * 2 : repeat);
      if (complex) {
        const half = size / 2;
        for (let i = 0; i < repeat * 2; i++) out[i] = item.read(dv, off + i * half, false);
      } else for (let i = 0; i < repeat; i++) out[i] = item.read(dv, off + i * size, false);
      return out;
    },
  };
}

/** Latin-1 text of a fixed-width field, cut at the first NUL, trailing blanks dropped (FITS-7.3.3.1). */
function trimChars(u8: Uint8Array, off: number, len: number): string | null {
  let end = off;
  const stop = off + len;
  while (end < stop && u8[end] !== 0) end++;
  while (end > off && u8[end - 1] === 32) end--;
  if (end === off) return null;
  let s = '';
  for (let i = off; i < end; i++) s += String.fromCharCode(u8[i]);
  return s;
}

interface ItemDecoder {
  datatype: Datatype;
  /** scalar: a NaN float is null (arrays keep NaN elements). */
  read(dv: DataView, off: number, scalar: boolean): unknown;
}

function scalarDecoder(
  code: string,
  tnull: number | bigint | undefined,
  tscal: number,
  tzero: number,
  tzeroRaw: number | bigint,
): ItemDecoder {
  const nullNum = tnull === undefined ? undefined : Number(tnull);
  const scaled = (v: number): number => v * tscal + tzero;
  const plainScale = tscal === 1;
  switch (code) {
    case 'L':
      return {
        datatype: 'boolean',
        read: (dv, off) => {
          const c = dv.getUint8(off);
          return c === 84 ? true : c === 70 ? false : null;
        },
      };
    case 'B':
      if (plainScale && tzero === -128)
        return {
          datatype: 'short',
          read: (dv, off) => {
            const v = dv.getUint8(off);
            return v === nullNum ? null : v - 128;
          },
        };
      if (plainScale && tzero === 0)
        return {
          datatype: 'unsignedByte',
          read: (dv, off) => {
            const v = dv.getUint8(off);
            return v === nullNum ? null : v;
          },
        };
      return {
        datatype: 'double',
        read: (dv, off) => {
          const v = dv.getUint8(off);
          return v === nullNum ? null : scaled(v);
        },
      };
    case 'I':
      if (plainScale && (tzero === 0 || tzero === 32768))
        return {
          datatype: tzero === 0 ? 'short' : 'int',
          read: (dv, off) => {
            const v = dv.getInt16(off);
            return v === nullNum ? null : v + tzero;
          },
        };
      return {
        datatype: 'double',
        read: (dv, off) => {
          const v = dv.getInt16(off);
          return v === nullNum ? null : scaled(v);
        },
      };
    case 'J':
      if (plainScale && tzero === 0)
        return {
          datatype: 'int',
          read: (dv, off) => {
            const v = dv.getInt32(off);
            return v === nullNum ? null : v;
          },
        };
      if (plainScale && tzero === 2147483648)
        return {
          datatype: 'long',
          read: (dv, off) => {
            const v = dv.getInt32(off);
            return v === nullNum ? null : BigInt(v + 2147483648);
          },
        };
      return {
        datatype: 'double',
        read: (dv, off) => {
          const v = dv.getInt32(off);
          return v === nullNum ? null : scaled(v);
        },
      };
    case 'K': {
      const nullBig = tnull === undefined ? undefined : BigInt(tnull);
      const z = typeof tzeroRaw === 'bigint' ? tzeroRaw : BigInt(Math.trunc(tzeroRaw));
      if (plainScale && (tzero === 0 || z === 2n ** 63n))
        return {
          datatype: 'long',
          read: (dv, off) => {
            const v = dv.getBigInt64(off);
            if (v === nullBig) return null;
            // Unsigned 64-bit values above 2^63-1 do not fit a long: kept as the stored bits + 2^63.
            return z === 0n ? v : BigInt.asIntN(64, v + z);
          },
        };
      return {
        datatype: 'double',
        read: (dv, off) => {
          const v = dv.getBigInt64(off);
          return v === nullBig ? null : scaled(Number(v));
        },
      };
    }
    case 'E':
    case 'C':
      return {
        datatype: code === 'C' ? 'floatComplex' : tscal !== 1 || tzero !== 0 ? 'double' : 'float',
        read: (dv, off, scalar) => {
          const v = dv.getFloat32(off);
          return scalar && Number.isNaN(v) ? null : plainScale && tzero === 0 ? v : scaled(v);
        },
      };
    default:
      return {
        datatype: code === 'M' ? 'doubleComplex' : 'double',
        read: (dv, off, scalar) => {
          const v = dv.getFloat64(off);
          return scalar && Number.isNaN(v) ? null : plainScale && tzero === 0 ? v : scaled(v);
        },
      };
  }
}

/** Opens the first BINTABLE of a FITS file (plain or gzip): headers read, rows not yet. */
export async function openFitsTable(
  path: string,
  size: number,
  gzip: boolean,
  opts: FitsReadOptions = {},
): Promise<DataSource> {
  const batchRows = Math.max(1, opts.batchRows ?? 10_000);
  const maxBlocks = opts.maxHeaderBlocks ?? 1000;
  const bytes = opts.bytes ?? openFileBytes(path, size, gzip);
  const reader = new ByteReader(bytes.chunks());
  let header: FitsHeader | undefined;
  let dataStart = 0;
  let heapFd: number | undefined;
  try {
    for (let hdu = 0; ; hdu++) {
      const h = await readHeader(reader, path, hdu, maxBlocks);
      if (!h)
        throw new DataFileError('the FITS file has no binary table extension (XTENSION = BINTABLE)', path);
      if (hdu > 0 && String(h.get('XTENSION')).trim() === 'BINTABLE') {
        header = h;
        dataStart = reader.offset;
        break;
      }
      const skip = padded(dataBytesOf(h));
      if ((await reader.skip(skip)) < dataBytesOf(h))
        throw new DataFileError(`the data of HDU ${hdu} end early: the file is truncated`, path);
    }
  } catch (e) {
    bytes.close();
    if (e instanceof FitsError) throw new DataFileError(e.message, path);
    throw e;
  }
  const h = header;
  const rowBytes = h.integer('NAXIS1') ?? 0;
  const nrows = h.integer('NAXIS2') ?? 0;
  const tfields = h.integer('TFIELDS') ?? 0;
  const theap = h.integer('THEAP') ?? rowBytes * nrows;
  const heap = (): Heap => {
    if (opts.bytes)
      throw new DataFileError(
        'variable-length array columns (TFORMn P/Q) need random access, which a streamed body does not give',
        path,
      );
    if (gzip)
      throw new DataFileError(
        'variable-length array columns (TFORMn P/Q) need random access: gunzip the file first',
        path,
      );
    if (heapFd === undefined) heapFd = openSync(path, 'r');
    const fd = heapFd;
    return {
      read(offset, length) {
        const b = Buffer.allocUnsafe(length);
        const got = readSync(fd, b, 0, length, dataStart + theap + offset);
        if (got < length)
          throw new DataFileError('a variable-length array lies beyond the end of the file: truncated', path);
        return b;
      },
    };
  };
  const plans: ColumnPlan[] = [];
  let offset = 0;
  try {
    for (let n = 1; n <= tfields; n++) {
      if ((gzip || opts.bytes) && /^\s*[0-9]*[PQ]/.test(h.string(`TFORM${n}`) ?? ''))
        throw new DataFileError(
          `column ${n} (TFORM${n} = '${h.string(`TFORM${n}`)}') is a variable-length array, read by position from the heap: gunzip the file first`,
          path,
        );
      const p = planColumn(h, n, path, heap);
      if (p.decode) plans.push({ column: p.column, offset, decode: p.decode });
      offset += p.width;
    }
  } catch (e) {
    bytes.close();
    if (e instanceof FitsError) throw new DataFileError(e.message, path);
    throw e;
  }
  if (offset !== rowBytes) {
    bytes.close();
    throw new DataFileError(`the TFORMn widths add up to ${offset} bytes but NAXIS1 is ${rowBytes}`, path);
  }
  // Uncompressed: a short file is known now, before a row is loaded.
  if (!gzip && !opts.bytes && dataStart + rowBytes * nrows > size) {
    bytes.close();
    const whole = Math.floor((size - dataStart) / Math.max(1, rowBytes));
    throw new DataFileError(
      `the file is truncated: it ends inside row ${whole + 1} of ${nrows} (NAXIS2)`,
      path,
      whole + 1,
    );
  }
  const columns = plans.map((p) => p.column);
  const ncol = plans.length;
  const decoders = plans.map((p) => p.decode);
  const offsets = plans.map((p) => p.offset);
  const extname = h.string('EXTNAME');
  const frame = (h.get('RADESYS') ?? h.get('RADECSYS')) as string | undefined;

  async function* batches(): AsyncGenerator<SourceBatch> {
    let row = 0;
    let buf = Buffer.allocUnsafe(Math.min(batchRows, Math.max(1, nrows)) * Math.max(1, rowBytes));
    try {
      while (row < nrows) {
        const n = Math.min(batchRows, nrows - row);
        const want = n * rowBytes;
        if (buf.length < want) buf = Buffer.allocUnsafe(want);
        const chunk = await reader.take(want, buf);
        if (chunk.length < want) {
          const whole = Math.floor(chunk.length / Math.max(1, rowBytes));
          throw new DataFileError(
            `the file is truncated: it ends inside row ${row + whole + 1} of ${nrows} (NAXIS2)`,
            path,
            row + whole + 1,
          );
        }
        const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.length);
        const rows = new Array<unknown[]>(n);
        for (let r = 0; r < n; r++) {
          const base = r * rowBytes;
          const out = new Array(ncol);
          for (let i = 0; i < ncol; i++) out[i] = decoders[i](dv, base + offsets[i], row + r + 1);
          rows[r] = out;
        }
        const first = row + 1;
        row += n;
        yield { firstRow: first, rows };
      }
    } finally {
      await reader.close();
      bytes.close();
      if (heapFd !== undefined) closeSync(heapFd);
      heapFd = undefined;
    }
  }

  let iterated = false;
  return {
    path,
    format: 'fits',
    columns,
    meta: {
      ...(extname && { name: extname.trim() }),
      ...(typeof frame === 'string' && frame.trim() && { frame: frame.trim() }),
    },
    totalBytes: size,
    bytesRead: () => bytes.bytesRead(),
    batches() {
      if (iterated) throw new DataFileError('the rows of a data source can be read once', path);
      iterated = true;
      return batches();
    },
    async close() {
      await reader.close();
      bytes.close();
      if (heapFd !== undefined) closeSync(heapFd);
      heapFd = undefined;
    },
  };
}
