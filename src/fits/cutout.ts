import { FitsError } from './errors.js';
import { BLOCK_SIZE, type CardInput, encodeHeader } from './header.js';
import { type AxisRange, type FitsFile, type FitsHdu, planRuns, type ReadOptions } from './reader.js';
import { FitsHduWriter, type FitsSink } from './writer.js';

/** Keywords that a cutout rewrites or must not copy (structure, checksums, stale statistics). */
const DROPPED =
  /^(SIMPLE|XTENSION|BITPIX|NAXIS\d*|PCOUNT|GCOUNT|EXTEND|CHECKSUM|DATASUM|DATAMIN|DATAMAX|END)$/;

export interface CutoutOptions extends ReadOptions {
  /** HISTORY lines to add (e.g. the SODA parameters, FITS-62). */
  history?: readonly string[];
}

/**
 * The header of a cutout of `hdu` over `box` (1-based inclusive ranges per axis) as a primary HDU:
 * new NAXISn, every CRPIXn / CRPIXna shifted by (start − 1) and IRAF LTVn likewise (FITS-60..62),
 * CHECKSUM/DATASUM/DATAMIN/DATAMAX dropped, all other cards copied in order (WCS, BSCALE/BZERO/BLANK
 * unchanged: the data bytes are copied raw, FITS-67).
 */
export function cutoutCards(
  hdu: FitsHdu,
  box: readonly AxisRange[],
  history: readonly string[] = [],
): CardInput[] {
  planRuns(hdu, box, BLOCK_SIZE); // validates the box against the HDU
  const cards: CardInput[] = [
    { keyword: 'SIMPLE', value: true },
    { keyword: 'BITPIX', value: hdu.bitpix },
    { keyword: 'NAXIS', value: box.length },
    ...box.map((r, i) => ({ keyword: `NAXIS${i + 1}`, value: r.to - r.from + 1 })),
  ];
  for (const card of hdu.header.cards) {
    if (DROPPED.test(card.keyword)) continue;
    if (card.value === undefined) {
      cards.push({ keyword: card.keyword, comment: card.text ?? '' });
      continue;
    }
    let value = card.value;
    const crpix = /^CRPIX(\d+)([A-Z]?)$/.exec(card.keyword);
    const ltv = /^LTV(\d+)$/.exec(card.keyword);
    const axis = crpix ? Number(crpix[1]) : ltv ? Number(ltv[1]) : 0;
    if (axis >= 1 && axis <= box.length) {
      if (typeof value !== 'number') {
        throw new FitsError('BAD_HEADER', `${card.keyword} should be numeric but is ${String(value)}`);
      }
      value = value - (box[axis - 1].from - 1);
    }
    const out: CardInput = { keyword: card.keyword, value };
    if (card.comment) out.comment = card.comment;
    cards.push(out);
  }
  for (const line of history) cards.push({ keyword: 'HISTORY', comment: line });
  return cards;
}

/** Total bytes of the cutout file (for Content-Length, FITS-32). */
export function cutoutByteLength(
  hdu: FitsHdu,
  box: readonly AxisRange[],
  cards: readonly CardInput[],
): number {
  const pixels = box.reduce((n, r) => n * (r.to - r.from + 1), 1);
  const data = pixels * (Math.abs(hdu.bitpix) / 8);
  return encodeHeader(cards).byteLength + Math.ceil(data / BLOCK_SIZE) * BLOCK_SIZE;
}

/**
 * Streams a cutout of an image HDU to `sink`: header, raw data runs read one pread each, padding.
 * Memory is bounded by maxReadBytes. Returns the number of bytes written.
 */
export async function writeCutout(
  file: FitsFile,
  hdu: FitsHdu,
  box: readonly AxisRange[],
  sink: FitsSink,
  options: CutoutOptions = {},
): Promise<number> {
  const cards = cutoutCards(hdu, box, options.history);
  const writer = await FitsHduWriter.create(sink, cards);
  for await (const { data } of file.readRawRuns(hdu, box, options)) await writer.writeRaw(data);
  await writer.finish();
  return writer.totalBytes;
}
