/**
 * The restoring beams of a multi-beam image: CASA writes a cube whose channels (and Stokes
 * planes) were restored with different beams with no BMAJ/BMIN in the image header and a
 * binary table extension EXTNAME = 'BEAMS' holding one row per channel and polarisation
 * (columns BMAJ, BMIN, BPA, CHAN, POL; TUNITn giving the angle unit, arcsec as CASA writes
 * it). That is the resolution varying across the band that the ObsCore radio extension's
 * s_resolution_min/max describe: the smallest minor axis and the largest major axis.
 */
import { type FitsFile, type FitsHdu, tformFieldBytes } from '../fits/index.js';

/** Angle units a BEAMS table may give, to arcsec. Any other unit: the table is not read. */
const TO_ARCSEC: Record<string, number> = { arcsec: 1, arcmin: 60, deg: 3600 };

/** The largest BEAMS table read (bytes): CASA's has 20 bytes per channel and Stokes plane. */
const MAX_BEAMS_BYTES = 64 * 1024 * 1024;

interface Column {
  readonly offset: number;
  readonly type: 'E' | 'D';
  readonly toArcsec: number;
}

function beamColumn(h: FitsHdu['header'], wanted: string): Column | null {
  const fields = h.number('TFIELDS') ?? 0;
  let offset = 0;
  for (let n = 1; n <= fields; n++) {
    const m = /^\s*(\d*)([LXBIJKAEDCMPQ])/.exec(h.string(`TFORM${n}`) ?? '');
    if (!m) return null;
    const repeat = m[1] === '' ? 1 : Number(m[1]);
    const width = tformFieldBytes(repeat, m[2]);
    if ((h.string(`TTYPE${n}`) ?? '').trim().toUpperCase() === wanted) {
      const unit = TO_ARCSEC[(h.string(`TUNIT${n}`) ?? '').trim().toLowerCase()];
      if ((m[2] !== 'E' && m[2] !== 'D') || repeat !== 1 || unit === undefined) return null;
      return { offset, type: m[2], toArcsec: unit };
    }
    offset += width;
  }
  return null;
}

/**
 * The range of the beams in the file's BEAMS table, in arcsec: [smallest BMIN, largest
 * BMAJ] over the rows with a positive finite beam; null without a readable table.
 */
export async function beamsTableRange(file: FitsFile): Promise<[min: number, max: number] | null> {
  for (let i = 1; ; i++) {
    const hdu = await file.hdu(i);
    if (!hdu) return null;
    const h = hdu.header;
    if (hdu.kind !== 'BINTABLE' || (h.string('EXTNAME') ?? '').trim().toUpperCase() !== 'BEAMS') continue;
    const rowBytes = h.number('NAXIS1') ?? 0;
    const rows = h.number('NAXIS2') ?? 0;
    const bmaj = beamColumn(h, 'BMAJ');
    const bmin = beamColumn(h, 'BMIN');
    if (!bmaj || !bmin || rowBytes <= 0 || rows <= 0 || rowBytes * rows > MAX_BEAMS_BYTES) return null;
    const data = await file.readBytes(hdu.dataStart, rowBytes * rows);
    const read = (c: Column, row: number) =>
      (c.type === 'E'
        ? data.readFloatBE(row * rowBytes + c.offset)
        : data.readDoubleBE(row * rowBytes + c.offset)) * c.toArcsec;
    let lo = Number.POSITIVE_INFINITY;
    let hi = 0;
    for (let r = 0; r < rows; r++) {
      const major = read(bmaj, r);
      const minor = read(bmin, r);
      // CASA writes zero beams for planes with no data.
      if (!(major > 0 && minor > 0 && Number.isFinite(major) && Number.isFinite(minor))) continue;
      lo = Math.min(lo, minor, major);
      hi = Math.max(hi, minor, major);
    }
    return hi > 0 ? [lo, hi] : null;
  }
}
