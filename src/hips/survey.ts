import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type pg from 'pg';
import { Moc } from '../../sky/index.js';
import { Wcs } from '../../sky/wcs/index.js';
import { ANONYMOUS, withReadOnlyIdentity } from '../auth/index.js';
import { lookupProducts } from '../datalink/index.js';
import { type AxisRange, FitsFile, type FitsHdu, productHdu, renderPreview } from '../fits/index.js';
import { TILE_ORDER, TILE_WIDTH, tilePixelCentres } from './tiles.js';

/** One public image the survey samples. */
interface SurveyImage {
  readonly did: string;
  readonly path: string;
  readonly wcs: Wcs;
  readonly nx: number;
  readonly ny: number;
  /** Extra axes beyond the two celestial ones (their first plane is used). */
  readonly extraAxes: number;
  /** Pixel size, degrees. */
  readonly pixelDeg: number;
  readonly footprint: number[];
  /** The product's HDU in the file (productHdu); 0, the primary, when absent. */
  readonly hduIndex?: number;
  /** The footprint's cells at the survey order, set once the order is known. */
  moc?: Moc;
  /** DID, file, size and time: what a cached tile drawn from this image depends on. */
  version?: string;
}

/** What properties, Moc.fits and the tiles are made from. */
export interface Survey {
  readonly images: readonly SurveyImage[];
  /** Deepest tile order: the first whose cells are no larger than the finest image pixel (HIPS-04). */
  readonly order: number;
  readonly minOrder: number;
  readonly moc: Moc;
  /** Display cut of the PNG tiles (physical values, HIPS-22 hips_pixel_cut). */
  readonly cut: readonly [number, number];
  readonly initial: { ra: number; dec: number; fov: number };
  readonly releaseDate: Date;
  /** Names the images and their files' versions: cached tiles of another survey are never served. */
  readonly key: string;
}

const MIN_ORDER = 3;
const MAX_ORDER = 13;
const CELL0_DEG = 58.6323; // mean cell size at order 0 (HPX-01)

/**
 * The survey of the public images (dataproduct_type image) of ivoa.obscore: only what an
 * anonymous caller may read goes into a HiPS, which every client fetches without a token.
 */
export async function loadSurvey(pool: pg.Pool): Promise<Survey | undefined> {
  const dids = await withReadOnlyIdentity(pool, ANONYMOUS, async (c) => {
    const r = await c.query<{ did: string }>(
      "SELECT obs_publisher_did AS did FROM ivoa.obscore WHERE dataproduct_type = 'image' AND s_region IS NOT NULL ORDER BY 1",
    );
    return r.rows.map((x) => x.did);
  });
  const found = await lookupProducts(pool, ANONYMOUS, dids);
  const images: SurveyImage[] = [];
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const did of dids) {
    const f = found.get(did);
    if (f?.status !== 'ok' || f.product.proprietary || !f.product.sRegion) continue;
    let file: FitsFile;
    try {
      file = await FitsFile.open(f.product.filePath);
    } catch {
      // A product whose file is gone (moved, or retracted while this loads) is left out
      // rather than failing the whole survey; the next change event loads it again.
      continue;
    }
    try {
      const hdu = await productHdu(file);
      const wcs = Wcs.fromHeader(hdu.header);
      const cel = wcs.celestial;
      if (cel?.lng !== 0 || cel?.lat !== 1 || hdu.axes.length < 2) continue;
      const preview = await renderPreview(file, hdu, { maxSize: 256, stretch: 'linear' });
      lo = Math.min(lo, preview.vmin);
      hi = Math.max(hi, preview.vmax);
      images.push({
        did,
        path: f.product.filePath,
        wcs,
        nx: hdu.axes[0],
        ny: hdu.axes[1],
        extraAxes: hdu.axes.length - 2,
        pixelDeg: Math.sqrt(Math.abs(wcs.celestialDeterminant())),
        footprint: f.product.sRegion,
        hduIndex: hdu.index,
      });
    } finally {
      await file.close();
    }
  }
  if (images.length === 0) return undefined;
  const finest = Math.min(...images.map((i) => i.pixelDeg));
  let order = MIN_ORDER;
  while (order < MAX_ORDER && CELL0_DEG / 2 ** (order + TILE_ORDER) > finest) order++;
  let moc = Moc.empty(order);
  for (const im of images) {
    const v: Array<[number, number]> = [];
    for (let i = 0; i + 1 < im.footprint.length; i += 2) v.push([im.footprint[i], im.footprint[i + 1]]);
    im.moc = Moc.fromPolygon(v, order);
    moc = moc.union(im.moc);
  }
  const hash = createHash('sha256');
  // HIPS-22 hips_release_date: when the data last changed (the newest image file), so the
  // date is the same at every start of an unchanged node and moves when an image does.
  let newest = 0;
  for (const im of images) {
    const st = await stat(im.path).catch(() => ({ size: -1, mtimeMs: -1 }));
    im.version = `${im.did}\n${im.path}\n${st.size}\n${st.mtimeMs}\n`;
    hash.update(im.version);
    newest = Math.max(newest, st.mtimeMs);
  }
  const first = images[0];
  const [ra, dec] = first.wcs.pixelToSky((first.nx + 1) / 2, (first.ny + 1) / 2);
  return {
    images,
    order,
    minOrder: MIN_ORDER,
    moc,
    cut: [lo, hi],
    initial: { ra, dec, fov: first.pixelDeg * Math.max(first.nx, first.ny) * 1.5 },
    releaseDate: new Date(newest),
    key: hash.digest('hex').slice(0, 16),
  };
}

/**
 * What tile (order, index) is drawn from: the versions of the images whose footprints touch
 * it, and for PNG tiles the display cut. Cached tiles are filed under it, so a product
 * ingested or retracted changes the key (and so re-renders) only the tiles it touches; the
 * others stay cached (issue 17). A new image that widens the cut changes every PNG tile's key.
 */
export function tileKey(survey: Survey, order: number, index: number, ext: string): string {
  const tile = Moc.fromCells([{ order, index: BigInt(index) }], order);
  const hash = createHash('sha256');
  for (const im of survey.images) {
    if (im.moc && tile.intersection(im.moc.degrade(order)).cells().length === 0) continue;
    hash.update(im.version ?? im.did);
  }
  if (ext === 'png') hash.update(`cut ${survey.cut[0]} ${survey.cut[1]}`);
  return hash.digest('hex').slice(0, 16);
}

/** Whether tile (order, index) meets the survey's MOC: the others have no data, known at once. */
export function tileTouchesSurvey(survey: Survey, order: number, index: number): boolean {
  const tile = Moc.fromCells([{ order, index: BigInt(index) }], order);
  return tile.intersection(survey.moc.degrade(order)).cells().length > 0;
}

/**
 * The tile's pixel values, row by row from the top, NaN where no image covers it: each HiPS
 * pixel takes the nearest image pixel under its centre (HIPS-07, nearest sampling; lower
 * orders sample the originals too rather than averaging their children).
 */
export async function renderTile(
  survey: Survey,
  order: number,
  index: number,
  width = TILE_WIDTH,
): Promise<Float32Array | undefined> {
  if (!tileTouchesSurvey(survey, order, index)) return undefined;
  const tile = Moc.fromCells([{ order, index: BigInt(index) }], order);
  const centres = tilePixelCentres(order, index, width);
  const n = width * width;
  const out = new Float32Array(n).fill(Number.NaN);
  let any = false;
  for (const im of survey.images) {
    // Most images are nowhere near most tiles: skip them before projecting every pixel.
    if (im.moc && tile.intersection(im.moc.degrade(order)).cells().length === 0) continue;
    const px = new Float64Array(n * 2);
    let x0 = Number.POSITIVE_INFINITY;
    let x1 = Number.NEGATIVE_INFINITY;
    let y0 = Number.POSITIVE_INFINITY;
    let y1 = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      // 1-based FITS pixel coordinates; round to the nearest pixel centre.
      let x = Number.NaN;
      let y = Number.NaN;
      try {
        [x, y] = im.wcs.skyToPixel(centres[2 * i], centres[2 * i + 1]);
      } catch {
        // outside the projection (the far side of a SIN image)
      }
      const xi = Math.round(x);
      const yi = Math.round(y);
      if (xi >= 1 && xi <= im.nx && yi >= 1 && yi <= im.ny) {
        px[2 * i] = xi;
        px[2 * i + 1] = yi;
        if (xi < x0) x0 = xi;
        if (xi > x1) x1 = xi;
        if (yi < y0) y0 = yi;
        if (yi > y1) y1 = yi;
      } else px[2 * i] = 0;
    }
    if (x0 > x1) continue;
    let file: FitsFile;
    try {
      file = await FitsFile.open(im.path);
    } catch {
      continue; // retracted and removed since the survey was loaded
    }
    let box: Float32Array | Float64Array;
    let hdu: FitsHdu;
    try {
      hdu = im.hduIndex ? ((await file.hdu(im.hduIndex)) ?? file.primary) : file.primary;
      const range: AxisRange[] = [
        { from: x0, to: x1 },
        { from: y0, to: y1 },
      ];
      for (let a = 0; a < im.extraAxes; a++) range.push({ from: 1, to: 1 });
      box = await file.readSubarray(hdu, range);
    } finally {
      await file.close();
    }
    const w = x1 - x0 + 1;
    for (let i = 0; i < n; i++) {
      const xi = px[2 * i];
      if (xi === 0 || !Number.isNaN(out[i])) continue;
      const v = box[(px[2 * i + 1] - y0) * w + (xi - x0)];
      if (Number.isFinite(v)) {
        out[i] = v;
        any = true;
      }
    }
  }
  return any ? out : undefined;
}
