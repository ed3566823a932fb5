import { FitsError } from './errors.js';
import type { FitsFile, FitsHdu } from './reader.js';

/** A celestial CTYPE (FITS-42): RA/DEC, GLON/GLAT, ELON/ELAT and the other xLON/xLAT pairs. */
const CELESTIAL_CTYPE = /^(RA--|DEC-|[A-Z]LON|[A-Z]LAT|HPLN|HPLT)/;

function isImage(hdu: FitsHdu): boolean {
  return (hdu.kind === 'PRIMARY' || hdu.kind === 'IMAGE') && hdu.axes.length >= 2;
}

function hasCelestialWcs(hdu: FitsHdu): boolean {
  for (let i = 1; i <= hdu.axes.length; i++) {
    const t = hdu.header.get(`CTYPE${i}`);
    if (typeof t === 'string' && CELESTIAL_CTYPE.test(t.toUpperCase())) return true;
  }
  return false;
}

/**
 * The HDU that is a file's product (ingest describes it; SODA, previews and HiPS read it): the
 * first image (primary, IMAGE extension or tile-compressed image) with two or more axes and a
 * celestial WCS; failing that, the first image at all (so the caller can say what its WCS lacks).
 * A multi-extension file is one product: its DID, DataLink links and SODA cutouts all address
 * the file, so they must agree on one HDU (docs/ingest.md). Headers are scanned only as far as
 * needed: a gzipped file is not decompressed past its product.
 */
export async function productHdu(file: FitsFile): Promise<FitsHdu> {
  let firstImage: FitsHdu | undefined;
  for (let i = 0; ; i++) {
    const hdu = await file.hdu(i);
    if (!hdu) break;
    if (!isImage(hdu)) continue;
    if (hasCelestialWcs(hdu)) return hdu;
    firstImage ??= hdu;
  }
  if (firstImage) return firstImage;
  throw new FitsError('UNSUPPORTED', 'no image HDU with two or more axes', file.path);
}
