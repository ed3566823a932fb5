import { coneRanges, polygonRanges } from './coverage.js';
import { SkyError } from './errors.js';
import { SphericalPolygon } from './geometry.js';
import { checkLonLat, checkOrder, MAX_ORDER, nestedIndex, npix } from './healpix.js';
import {
  complement,
  degradeRanges,
  difference,
  intersection,
  normalizeRanges,
  type PixelRange,
  rangesContain,
  rangesCount,
  SKY_END,
  union,
} from './ranges.js';

/** One HEALPix cell of a MOC: NESTED `index` at `order`. */
export interface MocCell {
  readonly order: number;
  readonly index: bigint;
}

export interface MocParseOptions {
  /** Longest text accepted, in characters (default 16 MiB). */
  maxLength?: number;
}

export interface MocFitsOptions {
  /** MOC-11 NUNIQ (default, most readers) or MOC-12 RANGE packaging. */
  ordering?: 'NUNIQ' | 'RANGE';
  /** IVOID of the described resource (MOCID). */
  mocId?: string;
  /** 'IMAGE' or 'CATALOG' (MOCTYPE). */
  mocType?: 'IMAGE' | 'CATALOG';
}

export const DEFAULT_MOC_TEXT_LIMIT = 16 * 1024 * 1024;
const ALL_SKY_STERADIANS = 4 * Math.PI;

/**
 * A space MOC (MOC 2.0, MOC-01): a set of HEALPix NESTED cells in ICRS up to `order`,
 * held as sorted merged order-29 ranges (MOC-04) that always fall on whole cells of
 * `order`. Immutable: every operation returns a new Moc.
 */
export class Moc {
  private constructor(
    /** The MOC order (depth, MOCORD_S): the finest cells it may hold. */
    readonly order: number,
    /** Half-open order-29 NESTED ranges, sorted and merged. */
    readonly ranges: readonly PixelRange[],
  ) {}

  /** Ranges (any order-29 ranges) widened to whole cells of `order` (MOC-07 degrade). */
  static fromRanges(ranges: ReadonlyArray<PixelRange>, order: number = MAX_ORDER): Moc {
    checkOrder(order);
    for (const r of ranges) {
      if (
        typeof r[0] !== 'bigint' ||
        typeof r[1] !== 'bigint' ||
        r[0] < 0n ||
        r[1] > SKY_END ||
        r[0] > r[1]
      ) {
        throw new SkyError(
          `range [${String(r[0])}, ${String(r[1])}) is not within the order-29 sky`,
          `give bigint ranges with 0 <= lo <= hi <= ${SKY_END}`,
        );
      }
    }
    return new Moc(order, degradeRanges(normalizeRanges(ranges), order));
  }

  static empty(order: number = MAX_ORDER): Moc {
    return Moc.fromRanges([], order);
  }

  static fullSky(order: number = MAX_ORDER): Moc {
    return Moc.fromRanges([[0n, SKY_END]], order);
  }

  /** Every cell of `order` that touches the cone (inclusive: a superset, HPX-09). */
  static fromCone(lonDeg: number, latDeg: number, radiusDeg: number, order: number): Moc {
    return new Moc(order, coneRanges(lonDeg, latDeg, radiusDeg, order));
  }

  /** Every cell of `order` that touches the polygon (see SphericalPolygon for orientation). */
  static fromPolygon(vertices: ReadonlyArray<readonly [number, number]>, order: number): Moc {
    return new Moc(order, polygonRanges(new SphericalPolygon(vertices), order));
  }

  /** The union of cells; the MOC order defaults to the deepest cell's order. */
  static fromCells(cells: Iterable<MocCell>, order?: number): Moc {
    const ranges: Array<[bigint, bigint]> = [];
    let deepest = 0;
    for (const c of cells) {
      checkCell(c.order, c.index);
      const shift = BigInt(2 * (MAX_ORDER - c.order));
      ranges.push([c.index << shift, (c.index + 1n) << shift]);
      if (c.order > deepest) deepest = c.order;
    }
    return Moc.fromRanges(ranges, order ?? deepest);
  }

  /** From NUNIQ values (MOC-03: uniq = 4·4^order + index). */
  static fromUniq(uniq: Iterable<bigint>, order?: number): Moc {
    const cells: MocCell[] = [];
    for (const u of uniq) cells.push(uniqToCell(u));
    return Moc.fromCells(cells, order);
  }

  /**
   * Parses the ASCII serialisation (MOC-20, MOC-21), e.g. `1/1-3 2/45 8/`. An optional
   * leading `s` is accepted, and commas as separators for MOC 1.1 strings.
   */
  static parseAscii(text: string, opts?: MocParseOptions): Moc {
    checkLength(text, opts);
    const ranges: Array<[bigint, bigint]> = [];
    let order = -1;
    let deepest = 0;
    const re = /[\s,]+|(\d+)\/|(\d+)(?:-(\d+))?|(.)/y;
    const body = text.replace(/^\s*s(?=[\s\d])/, (m) => ' '.repeat(m.length));
    for (let m = re.exec(body); m !== null; m = re.exec(body)) {
      if (m[1] !== undefined) {
        order = parseOrder(m[1]);
        if (order > deepest) deepest = order;
      } else if (m[2] !== undefined) {
        if (order < 0) {
          throw new SkyError(
            `MOC text has the value ${m[0]} before any "order/"`,
            'start with an order, as in "3/1-5 4/12"',
          );
        }
        const lo = parseIndex(m[2], order);
        const hi = m[3] === undefined ? lo : parseIndex(m[3], order);
        if (hi < lo) throw new SkyError(`MOC range ${m[0]} runs backwards`, 'write ranges as low-high');
        const shift = BigInt(2 * (MAX_ORDER - order));
        ranges.push([lo << shift, (hi + 1n) << shift]);
      } else if (m[4] !== undefined) {
        const what = m[4] === 't' ? 'time or space-time MOCs are not supported here' : `unexpected "${m[4]}"`;
        throw new SkyError(
          `MOC text at character ${re.lastIndex}: ${what}`,
          'send a space MOC like "3/1-5 4/12"',
        );
      }
    }
    if (order < 0) throw new SkyError('MOC text holds no "order/"', 'send at least the depth, as in "8/"');
    return Moc.fromRanges(ranges, deepest);
  }

  /**
   * Parses the JSON serialisation (MOC-23), `{"1":[1,2,4],"8":[]}`, optionally wrapped as
   * `{"s": {...}}`. Read with a small exact parser: indices above 2^53 must not round.
   */
  static parseJson(text: string, opts?: MocParseOptions): Moc {
    checkLength(text, opts);
    const p = new JsonMocReader(text);
    const cells = p.read();
    let deepest = 0;
    const ranges: Array<[bigint, bigint]> = [];
    for (const [order, indices] of cells) {
      if (order > deepest) deepest = order;
      const shift = BigInt(2 * (MAX_ORDER - order));
      for (const i of indices) ranges.push([i << shift, (i + 1n) << shift]);
    }
    return Moc.fromRanges(ranges, deepest);
  }

  /**
   * Reads a space MOC FITS file (MOC-10..14): NUNIQ or RANGE packaging, 32- or 64-bit
   * column; MOC 1.1 files (no MOCVERS/MOCDIM, PIXTYPE + MOCORDER) are accepted too.
   */
  static parseFits(bytes: Uint8Array): Moc {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const primary = readFitsHeader(buf, 0);
    if (primary.cards.get('SIMPLE') !== 'T') fitsFail('the file does not start with SIMPLE = T');
    const ext = readFitsHeader(buf, primary.end + dataSize(primary.cards));
    const card = (k: string): string | undefined => ext.cards.get(k);
    if (card('XTENSION') !== 'BINTABLE') fitsFail('the first extension is not a BINTABLE');
    const dim = card('MOCDIM') ?? 'SPACE';
    if (dim !== 'SPACE') fitsFail(`MOCDIM ${dim} is not supported, only SPACE`);
    const ordering = card('ORDERING') ?? 'NUNIQ';
    if (ordering !== 'NUNIQ' && ordering !== 'RANGE') fitsFail(`ORDERING ${ordering} is unknown`);
    const tform = (card('TFORM1') ?? '').replace(/^1/, '');
    if (tform !== 'J' && tform !== 'K') fitsFail(`TFORM1 ${card('TFORM1')} is not 1J or 1K`);
    const rowBytes = fitsInt(card('NAXIS1'), 'NAXIS1');
    const rows = fitsInt(card('NAXIS2'), 'NAXIS2');
    const orderCard = card('MOCORD_S') ?? card('MOCORDER');
    const order = orderCard === undefined ? undefined : fitsInt(orderCard, 'MOCORD_S');
    if (order !== undefined) checkOrder(order);
    const start = ext.end;
    if (start + rows * rowBytes > buf.length || rowBytes < (tform === 'J' ? 4 : 8)) {
      fitsFail(`the table of ${rows} rows of ${rowBytes} bytes is cut short`);
    }
    const values: bigint[] = [];
    for (let r = 0; r < rows; r++) {
      const at = start + r * rowBytes;
      values.push(tform === 'J' ? BigInt(buf.readInt32BE(at)) : buf.readBigInt64BE(at));
    }
    if (ordering === 'NUNIQ') return Moc.fromUniq(values, order);
    if (values.length % 2 !== 0) fitsFail('a RANGE table needs an even number of rows');
    const ranges: Array<[bigint, bigint]> = [];
    for (let i = 0; i < values.length; i += 2) ranges.push([values[i]!, values[i + 1]!]);
    return Moc.fromRanges(ranges, order ?? MAX_ORDER);
  }

  get isEmpty(): boolean {
    return this.ranges.length === 0;
  }

  /** Fraction of the sky covered, 0..1 (HiPS `moc_sky_fraction`). */
  get skyFraction(): number {
    return Number(rangesCount(this.ranges)) / Number(SKY_END);
  }

  get areaSteradians(): number {
    return this.skyFraction * ALL_SKY_STERADIANS;
  }

  get areaSquareDegrees(): number {
    return this.areaSteradians * (180 / Math.PI) ** 2;
  }

  /** Whether the point's cell at order 29 is covered. */
  contains(lonDeg: number, latDeg: number): boolean {
    checkLonLat(lonDeg, latDeg);
    return rangesContain(this.ranges, nestedIndex(MAX_ORDER, lonDeg, latDeg));
  }

  /** Same cells and same order (MOC-05: equality of the canonical forms). */
  equals(other: Moc): boolean {
    if (other.order !== this.order || other.ranges.length !== this.ranges.length) return false;
    return this.ranges.every((r, i) => r[0] === other.ranges[i]![0] && r[1] === other.ranges[i]![1]);
  }

  /** Coarser copy: every partly covered cell of `order` becomes covered (MOC-07). */
  degrade(order: number): Moc {
    checkOrder(order);
    if (order >= this.order) return this;
    return new Moc(order, degradeRanges(this.ranges, order));
  }

  // MOC-08: set operations between coverages run at the coarser of the two orders.
  union(other: Moc): Moc {
    const order = Math.min(this.order, other.order);
    return new Moc(order, union(this.degrade(order).ranges, other.degrade(order).ranges));
  }

  intersection(other: Moc): Moc {
    const order = Math.min(this.order, other.order);
    return new Moc(order, intersection(this.degrade(order).ranges, other.degrade(order).ranges));
  }

  difference(other: Moc): Moc {
    const order = Math.min(this.order, other.order);
    return new Moc(order, difference(this.degrade(order).ranges, other.degrade(order).ranges));
  }

  complement(): Moc {
    return new Moc(this.order, complement(this.ranges));
  }

  /** Canonical cells (MOC-05, MOC-06): largest cells first, by order then index. */
  cells(): MocCell[] {
    const byOrder: bigint[][] = Array.from({ length: MAX_ORDER + 1 }, () => []);
    for (const [lo, hi] of this.ranges) peel(lo, hi, 0, byOrder);
    const out: MocCell[] = [];
    byOrder.forEach((list, order) => {
      list.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      for (const index of list) out.push({ order, index });
    });
    return out;
  }

  /** NUNIQ values (MOC-03) of the canonical cells, ascending. */
  uniq(): bigint[] {
    return this.cells()
      .map((c) => cellToUniq(c.order, c.index))
      .sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  }

  /** ASCII serialisation (MOC-20), e.g. `1/1-3 2/45 8/`; the empty MOC is `order/`. */
  toAscii(): string {
    const parts: string[] = [];
    let deepest = -1;
    for (const [order, indices] of groupCells(this.cells())) {
      deepest = order;
      const vals: string[] = [];
      for (let i = 0; i < indices.length; ) {
        let j = i;
        while (j + 1 < indices.length && indices[j + 1]! === indices[j]! + 1n) j++;
        vals.push(j === i ? `${indices[i]}` : `${indices[i]}-${indices[j]}`);
        i = j + 1;
      }
      parts.push(`${order}/${vals.join(' ')}`);
    }
    if (deepest < this.order) parts.push(`${this.order}/`);
    return parts.join(' ');
  }

  /** JSON serialisation (MOC-23) with exact big integers; an empty list declares the depth. */
  toJson(): string {
    const parts: string[] = [];
    let deepest = -1;
    for (const [order, indices] of groupCells(this.cells())) {
      deepest = order;
      parts.push(`"${order}":[${indices.join(',')}]`);
    }
    if (deepest < this.order) parts.push(`"${this.order}":[]`);
    return `{${parts.join(',')}}`;
  }

  /**
   * MOC 2.0 FITS file (MOC-10..14): empty primary HDU plus one BINTABLE with a single
   * named column, NUNIQ (1J below order 14, else 1K) or RANGE (1K) packaging.
   */
  toFits(opts?: MocFitsOptions): Buffer {
    const ordering = opts?.ordering ?? 'NUNIQ';
    let values: bigint[];
    let tform: '1J' | '1K';
    if (ordering === 'NUNIQ') {
      values = this.uniq();
      tform = this.order < 14 ? '1J' : '1K';
    } else if (ordering === 'RANGE') {
      values = this.ranges.flatMap((r) => [r[0], r[1]]);
      tform = '1K';
    } else {
      throw new SkyError(`MOC FITS ordering ${String(ordering)} is unknown`, 'use NUNIQ or RANGE');
    }
    const width = tform === '1J' ? 4 : 8;
    const header = mocFitsHeader(this.order, values.length, { ...opts, ordering });
    const dataLength = values.length * width;
    const data = Buffer.alloc(Math.ceil(dataLength / 2880) * 2880);
    values.forEach((v, i) => {
      if (width === 4) data.writeInt32BE(Number(v), i * 4);
      else data.writeBigInt64BE(v, i * 8);
    });
    return Buffer.concat([header, data]);
  }
}

/**
 * The headers of a MOC 2.0 FITS file (MOC-10..14) of `rows` values at `order`: the empty
 * primary HDU and the BINTABLE's header, each padded to 2880 bytes. The data follow: the
 * values big-endian (4 bytes NUNIQ below order 14, else 8), padded with zeros to 2880.
 * Apart so that a server can stream a large MOC's values after it.
 */
export function mocFitsHeader(order: number, rows: number, opts?: MocFitsOptions): Buffer {
  const ordering = opts?.ordering ?? 'NUNIQ';
  const tform = ordering === 'NUNIQ' && order < 14 ? '1J' : '1K';
  const width = tform === '1J' ? 4 : 8;
  const primary = fitsHeader([
    card('SIMPLE', true, 'conforms to FITS standard'),
    card('BITPIX', 8),
    card('NAXIS', 0),
    card('EXTEND', true),
  ]);
  const cards = [
    card('XTENSION', 'BINTABLE', 'binary table extension'),
    card('BITPIX', 8),
    card('NAXIS', 2),
    card('NAXIS1', width, 'bytes per row'),
    card('NAXIS2', rows, 'rows'),
    card('PCOUNT', 0),
    card('GCOUNT', 1),
    card('TFIELDS', 1),
    card('TTYPE1', ordering === 'NUNIQ' ? 'UNIQ' : 'RANGE'),
    card('TFORM1', tform),
    card('MOCVERS', '2.0', 'MOC version'),
    card('MOCDIM', 'SPACE', 'space MOC'),
    card('ORDERING', ordering),
    card('COORDSYS', 'C', 'ICRS'),
    card('MOCORD_S', order, 'MOC order (depth)'),
    card('MOCORDER', order, 'MOC 1.1 readers'),
    card('MOCTOOL', 'vonode'),
  ];
  if (opts?.mocId !== undefined) cards.push(card('MOCID', opts.mocId));
  if (opts?.mocType !== undefined) cards.push(card('MOCTYPE', opts.mocType));
  return Buffer.concat([primary, fitsHeader(cards)]);
}

/**
 * MOC-06 unmap of one range: the whole cells at the coarsest order that fits, then the
 * two remainders (each smaller than one such cell) at finer orders.
 */
function peel(lo: bigint, hi: bigint, fromOrder: number, byOrder: bigint[][]): void {
  for (let order = fromOrder; order <= MAX_ORDER && lo < hi; order++) {
    const shift = BigInt(2 * (MAX_ORDER - order));
    const m1 = (lo + (1n << shift) - 1n) >> shift;
    const m2 = hi >> shift;
    if (m1 < m2) {
      for (let i = m1; i < m2; i++) byOrder[order]!.push(i);
      if (lo < m1 << shift) peel(lo, m1 << shift, order + 1, byOrder);
      if (m2 << shift < hi) peel(m2 << shift, hi, order + 1, byOrder);
      return;
    }
  }
}

function groupCells(cells: MocCell[]): Array<[number, bigint[]]> {
  const out: Array<[number, bigint[]]> = [];
  for (const c of cells) {
    const last = out[out.length - 1];
    if (last && last[0] === c.order) last[1].push(c.index);
    else out.push([c.order, [c.index]]);
  }
  return out;
}

function checkCell(order: number, index: bigint): void {
  checkOrder(order);
  if (typeof index !== 'bigint' || index < 0n || index >= npix(order)) {
    throw new SkyError(
      `MOC cell ${String(index)} is outside 0..12·4^${order}-1`,
      'give NESTED indices valid at their order',
    );
  }
}

/** MOC-03: uniq = 4·4^order + index. */
export function cellToUniq(order: number, index: bigint): bigint {
  checkCell(order, index);
  return index + (4n << BigInt(2 * order));
}

/** MOC-03 inverse: order = floor((bitLength(uniq) − 3) / 2). */
export function uniqToCell(uniq: bigint): MocCell {
  if (typeof uniq !== 'bigint' || uniq < 4n) {
    throw new SkyError(`NUNIQ value ${String(uniq)} is below 4`, 'give uniq = 4·4^order + index');
  }
  const order = Math.floor((uniq.toString(2).length - 3) / 2);
  if (order > MAX_ORDER) {
    throw new SkyError(`NUNIQ value ${uniq} is beyond order 29`, 'give uniq = 4·4^order + index');
  }
  const index = uniq - (4n << BigInt(2 * order));
  checkCell(order, index);
  return { order, index };
}

function checkLength(text: string, opts: MocParseOptions | undefined): void {
  const max = opts?.maxLength ?? DEFAULT_MOC_TEXT_LIMIT;
  if (typeof text !== 'string') throw new SkyError('MOC input is not text', 'send the MOC as a string');
  if (text.length > max) {
    throw new SkyError(
      `MOC text of ${text.length} characters exceeds the limit of ${max}`,
      'send a smaller MOC',
    );
  }
}

function parseOrder(digits: string): number {
  const order = digits.length > 2 ? 99 : Number(digits);
  if (order > MAX_ORDER) throw new SkyError(`MOC order ${digits} is beyond 29`, 'use orders 0..29');
  return order;
}

function parseIndex(digits: string, order: number): bigint {
  if (digits.length > 20)
    throw new SkyError(`MOC index ${digits} is too long`, 'use indices valid at their order');
  const i = BigInt(digits);
  if (i >= npix(order)) {
    throw new SkyError(
      `MOC index ${digits} is beyond 12·4^${order}-1 at order ${order}`,
      'fix the index or its order',
    );
  }
  return i;
}

/** Minimal reader for `{"order":[int,...],...}` and its `{"s":{...}}` wrapper (MOC-23). */
class JsonMocReader {
  private pos = 0;
  constructor(private readonly text: string) {}

  read(): Array<[number, bigint[]]> {
    const wrapped = /^\s*\{\s*"s"\s*:/.exec(this.text);
    if (wrapped) this.pos = wrapped[0].length;
    const cells = this.object();
    if (wrapped) this.expect('}');
    this.end();
    return cells;
  }

  private object(): Array<[number, bigint[]]> {
    const out: Array<[number, bigint[]]> = [];
    this.expect('{');
    this.ws();
    if (this.peek() === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.expect('"');
      const m = /^(\d{1,3})"/.exec(this.text.slice(this.pos, this.pos + 5));
      if (!m) this.fail('an order key such as "3"');
      this.pos += m![0].length;
      const order = parseOrder(m![1]!);
      this.expect(':');
      this.expect('[');
      const indices: bigint[] = [];
      this.ws();
      if (this.peek() === ']') this.pos++;
      else {
        for (;;) {
          this.ws();
          const d = /^\d+/.exec(this.text.slice(this.pos, this.pos + 24));
          if (!d) this.fail('a non-negative integer index');
          this.pos += d![0].length;
          indices.push(parseIndex(d![0], order));
          this.ws();
          const c = this.text[this.pos++];
          if (c === ']') break;
          if (c !== ',') this.fail('"," or "]"', this.pos - 1);
        }
      }
      out.push([order, indices]);
      this.ws();
      const c = this.text[this.pos++];
      if (c === '}') return out;
      if (c !== ',') this.fail('"," or "}"', this.pos - 1);
      this.ws();
    }
  }

  private ws(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  private expect(ch: string): void {
    this.ws();
    if (this.text[this.pos] !== ch) this.fail(`"${ch}"`);
    this.pos++;
  }

  private end(): void {
    this.ws();
    if (this.pos !== this.text.length) this.fail('the end of the text');
  }

  private fail(what: string, at: number = this.pos): never {
    throw new SkyError(
      `MOC JSON at character ${at + 1}: expected ${what}`,
      'send a JSON object like {"3":[1,2],"4":[12]}',
    );
  }
}

// --- the few FITS header cards a MOC needs (FITS 4.0 fixed format) ---

function card(key: string, value: string | number | boolean, comment?: string): string {
  let v: string;
  if (typeof value === 'boolean') v = (value ? 'T' : 'F').padStart(20);
  else if (typeof value === 'number') v = String(value).padStart(20);
  else v = `'${value.replace(/'/g, "''").padEnd(8)}'`.padEnd(20);
  let text = `${key.padEnd(8)}= ${v}`;
  if (comment) text += ` / ${comment}`;
  if (text.length > 80 || !/^[\x20-\x7e]*$/.test(text)) {
    throw new SkyError(
      `FITS keyword ${key} value is too long or not ASCII`,
      'shorten the value to 68 ASCII characters',
    );
  }
  return text.padEnd(80);
}

function fitsFail(problem: string): never {
  throw new SkyError(`not a readable MOC FITS file: ${problem}`, 'send a MOC 2.0 (or 1.1) FITS file');
}

function fitsInt(v: string | undefined, key: string): number {
  const n = v === undefined ? Number.NaN : Number(v);
  if (!Number.isInteger(n) || n < 0) fitsFail(`${key} is missing or not a non-negative integer`);
  return n;
}

/** Keyword → value text (strings unquoted) of the header at `offset`, and where it ends. */
function readFitsHeader(buf: Buffer, offset: number): { cards: Map<string, string>; end: number } {
  const cards = new Map<string, string>();
  for (let pos = offset; pos + 80 <= buf.length; pos += 80) {
    const line = buf.toString('latin1', pos, pos + 80);
    const key = line.slice(0, 8).trimEnd();
    if (key === 'END') return { cards, end: offset + Math.ceil((pos + 80 - offset) / 2880) * 2880 };
    if (line.slice(8, 10) !== '= ') continue;
    const raw = line.slice(10).trim();
    const str = /^'((?:[^']|'')*)'/.exec(raw);
    const value = str ? str[1]!.replace(/''/g, "'").trimEnd() : raw.split('/')[0]!.trim();
    if (!cards.has(key)) cards.set(key, value);
  }
  return fitsFail('a header has no END card');
}

function dataSize(cards: Map<string, string>): number {
  const naxis = fitsInt(cards.get('NAXIS') ?? '0', 'NAXIS');
  if (naxis === 0) return 0;
  let n = Math.abs(Number(cards.get('BITPIX'))) / 8;
  for (let i = 1; i <= naxis; i++) n *= fitsInt(cards.get(`NAXIS${i}`), `NAXIS${i}`);
  return Math.ceil(n / 2880) * 2880;
}

function fitsHeader(cards: string[]): Buffer {
  const text = cards.join('') + 'END'.padEnd(80);
  return Buffer.from(text.padEnd(Math.ceil(text.length / 2880) * 2880), 'ascii');
}
