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

/** The spectral (third) axis shared by every cube of a cube HiPS (HIPS-23). */
export interface CubeAxis {
  readonly depth: number;
  readonly crpix3: number;
  readonly crval3: number;
  readonly cdelt3: number;
  readonly bunit3: string;
  readonly ctype3: string;
}

/** What properties, Moc.fits and the tiles are made from. */
export interface Survey {
  /** The HiPS's path under /hips (and the last word of its creator_did). */
  readonly name: string;
  readonly kind: 'image' | 'cube';
  /** The frequency band of its products, from ObsCore em_min/em_max (m). */
  readonly emMin: number;
  readonly emMax: number;
  /** Cubes only: the spectral axis, one frame per plane. */
  readonly cube?: CubeAxis;
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
const C_M_S = 299_792_458;

/** One public product of ivoa.obscore a HiPS may be made of. */
interface ProductRow {
  readonly did: string;
  readonly type: 'image' | 'cube';
  readonly emMin: number | null;
  readonly emMax: number | null;
}

/** Centre frequency of a band, Hz (the mean of its edges' frequencies). */
export const centreHz = (emMin: number, emMax: number) => (C_M_S / emMin + C_M_S / emMax) / 2;

/**
 * Groups products into frequency bands, lowest frequency first: a band takes products in
 * order of centre frequency while the highest centre is within `ratio` of the lowest, so
 * SKA-Low's 110-300 MHz images make one band and SKA-Mid's 1.0-1.6 GHz another, never one
 * HiPS mixing 150 MHz and 1.4 GHz skies (issue 19). Products without em_min/em_max make a
 * band of their own.
 */
export function groupByBand<T extends { emMin: number | null; emMax: number | null }>(
  rows: readonly T[],
  ratio: number,
): T[][] {
  const known = rows
    .filter((r) => r.emMin !== null && r.emMax !== null && r.emMin > 0 && r.emMax > 0)
    .map((r) => ({ r, hz: centreHz(r.emMin as number, r.emMax as number) }))
    .sort((a, b) => a.hz - b.hz);
  const bands: T[][] = [];
  let first = 0;
  for (const k of known) {
    if (bands.length === 0 || k.hz > first * ratio) {
      bands.push([]);
      first = k.hz;
    }
    bands[bands.length - 1].push(k.r);
  }
  const unknown = rows.filter((r) => !known.some((k) => k.r === r));
  if (unknown.length > 0) bands.push(unknown);
  return bands;
}

/** A band's name part: its centre frequency in MHz, or "nofreq". */
function bandLabel(rows: readonly ProductRow[]): string {
  const lo = Math.min(...rows.map((r) => r.emMin ?? Number.NaN));
  const hi = Math.max(...rows.map((r) => r.emMax ?? Number.NaN));
  return Number.isFinite(lo) && Number.isFinite(hi) ? `${Math.round(centreHz(lo, hi) / 1e6)}MHz` : 'nofreq';
}

/**
 * Every survey of the public images and cubes of ivoa.obscore: only what an anonymous caller
 * may read goes into a HiPS, which every client fetches without a token. Images make one
 * HiPS per frequency band: the lowest band is `images` (the name the node always had), the
 * others `images-<centre>MHz`; cubes make one HiPS per band and spectral axis,
 * `cube-<centre>MHz` (HiPS 1.0 cubes: every frame of a HiPS is the same frequency).
 */
export async function loadSurveys(pool: pg.Pool, bandRatio = 3): Promise<Survey[]> {
  const rows = await withReadOnlyIdentity(pool, ANONYMOUS, async (c) => {
    const r = await c.query<{
      did: string;
      type: 'image' | 'cube';
      em_min: number | null;
      em_max: number | null;
    }>(
      `SELECT obs_publisher_did AS did, dataproduct_type AS type, em_min, em_max FROM ivoa.obscore
       WHERE dataproduct_type IN ('image', 'cube') AND s_region IS NOT NULL ORDER BY 1`,
    );
    return r.rows.map((x) => ({ did: x.did, type: x.type, emMin: x.em_min, emMax: x.em_max }));
  });
  const out: Survey[] = [];
  const images = groupByBand(
    rows.filter((r) => r.type === 'image'),
    bandRatio,
  );
  for (const band of images) {
    const s = await loadSurvey(pool, `images-${bandLabel(band)}`, 'image', band);
    if (s) out.push(s);
  }
  // The lowest band keeps the node's first HiPS name, so links to /hips/images still work.
  if (out.length > 0) out[0] = { ...out[0], name: 'images' };
  for (const band of groupByBand(
    rows.filter((r) => r.type === 'cube'),
    bandRatio,
  )) {
    const s = await loadSurvey(pool, `cube-${bandLabel(band)}`, 'cube', band);
    if (s) out.push(s);
  }
  return out;
}

/** The cube's third axis, when it is spectral (not STOKES) and longer than one plane. */
function cubeAxis(hdu: FitsHdu): CubeAxis | undefined {
  const h = hdu.header;
  const ctype3 = h.string('CTYPE3') ?? '';
  if (hdu.axes.length < 3 || hdu.axes[2] < 2 || ctype3.startsWith('STOKES')) return undefined;
  return {
    depth: hdu.axes[2],
    crpix3: h.number('CRPIX3') ?? 1,
    crval3: h.number('CRVAL3') ?? 0,
    cdelt3: h.number('CDELT3') ?? h.number('CD3_3') ?? 1,
    bunit3: h.string('CUNIT3') ?? '',
    ctype3,
  };
}

const sameAxis = (a: CubeAxis, b: CubeAxis) =>
  a.depth === b.depth && a.crval3 === b.crval3 && a.cdelt3 === b.cdelt3 && a.crpix3 === b.crpix3;

/** The survey of some products, or undefined when none of them can be drawn. */
async function loadSurvey(
  pool: pg.Pool,
  name: string,
  kind: 'image' | 'cube',
  rows: readonly ProductRow[],
): Promise<Survey | undefined> {
  const dids = rows.map((r) => r.did);
  const found = await lookupProducts(pool, ANONYMOUS, dids);
  const images: SurveyImage[] = [];
  let cube: CubeAxis | undefined;
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
      if (kind === 'cube') {
        // HIPS-23: a HiPS 1.0 cube has one spectral axis; a cube on another axis is left
        // out of this one (the first cube's axis wins).
        const axis = cubeAxis(hdu);
        if (!axis || (cube && !sameAxis(cube, axis))) continue;
        cube ??= axis;
      }
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
  const used = rows.filter((r) => images.some((i) => i.did === r.did));
  const ems = used.flatMap((r) => (r.emMin !== null && r.emMax !== null ? [r.emMin, r.emMax] : []));
  return {
    name,
    kind,
    emMin: ems.length ? Math.min(...ems) : Number.NaN,
    emMax: ems.length ? Math.max(...ems) : Number.NaN,
    cube,
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

/** MOCs degraded to a tile order, kept: every tile request asks them again. */
const degradedMocs = new WeakMap<Moc, Map<number, Moc>>();
function degraded(moc: Moc, order: number): Moc {
  let byOrder = degradedMocs.get(moc);
  if (!byOrder) {
    byOrder = new Map();
    degradedMocs.set(moc, byOrder);
  }
  let d = byOrder.get(order);
  if (!d) {
    d = moc.degrade(order);
    byOrder.set(order, d);
  }
  return d;
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
    if (im.moc && tile.intersection(degraded(im.moc, order)).cells().length === 0) continue;
    hash.update(im.version ?? im.did);
  }
  if (ext === 'png') hash.update(`cut ${survey.cut[0]} ${survey.cut[1]}`);
  return hash.digest('hex').slice(0, 16);
}

/** Whether tile (order, index) meets the survey's MOC: the others have no data, known at once. */
export function tileTouchesSurvey(survey: Survey, order: number, index: number): boolean {
  const tile = Moc.fromCells([{ order, index: BigInt(index) }], order);
  return tile.intersection(degraded(survey.moc, order)).cells().length > 0;
}

/**
 * The tile's pixel values at the deepest order, row by row from the top, NaN where no image
 * covers it: each HiPS pixel takes the nearest image pixel under its centre (HIPS-07, nearest
 * sampling). `frame` is the cube plane (0-based); images have only frame 0. Lower orders are
 * the mean of their children (pyramid.ts), not drawn here.
 */
export async function renderTile(
  survey: Survey,
  order: number,
  index: number,
  width = TILE_WIDTH,
  frame = 0,
): Promise<Float32Array | undefined> {
  if (!tileTouchesSurvey(survey, order, index)) return undefined;
  const tile = Moc.fromCells([{ order, index: BigInt(index) }], order);
  const centres = tilePixelCentres(order, index, width);
  const n = width * width;
  const out = new Float32Array(n).fill(Number.NaN);
  let any = false;
  for (const im of survey.images) {
    // Most images are nowhere near most tiles: skip them before projecting every pixel.
    if (im.moc && tile.intersection(degraded(im.moc, order)).cells().length === 0) continue;
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
      for (let a = 0; a < im.extraAxes; a++)
        range.push(a === 0 && survey.cube ? { from: frame + 1, to: frame + 1 } : { from: 1, to: 1 });
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
