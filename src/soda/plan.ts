import { celestialPixelBox, type SkyRegion, spectralPixelRange, Wcs } from '../../sky/wcs/index.js';
import type { Product } from '../datalink/index.js';
import type { AxisRange, FitsHdu } from '../fits/index.js';
import { isWholeSky } from '../sia/index.js';

/** The filters of one SODA request, parsed (SODA-10..16). */
export interface SodaFilters {
  region?: SkyRegion;
  /** Vacuum wavelength interval, m. */
  band?: [number, number];
  /** MJD interval. */
  time?: [number, number];
  pol?: readonly string[];
}

/** A cutout to write, or the reason nothing matches (SODA-51: answered with 204). */
export type CutoutPlan = { box: AxisRange[]; history: string[] } | { empty: string };

const overlaps = (a: [number, number], lo: number | null, hi: number | null) =>
  lo !== null && hi !== null && a[0] <= hi && a[1] >= lo;

/**
 * The pixel box of `hdu` selected by the filters: celestial axes from the region's pixel box
 * (SODA-81, no masking), the contiguous channel range overlapping BAND (SODA-82), the Stokes
 * planes of POL as one contiguous range (SODA-83); every other axis whole, degenerate axes kept
 * (SODA-41). A filter on an axis the data do not have is checked against the product's
 * ObsCore extent: overlap is a no-op, no overlap is an empty result (SODA-45).
 */
export function planCutout(hdu: FitsHdu, product: Product, filters: SodaFilters): CutoutPlan {
  const box: AxisRange[] = hdu.axes.map((n) => ({ from: 1, to: n }));
  const history: string[] = [`SODA cutout of ${product.did}`];
  const wcs = Wcs.fromHeader(hdu.header);
  if (filters.region && !isWholeSky(filters.region)) {
    const cel = wcs.celestial;
    if (!cel) return { empty: 'the data have no celestial axes to cut' };
    const px = celestialPixelBox(wcs, hdu.axes, filters.region);
    if (!px) return { empty: 'the region does not overlap the data' };
    box[cel.lng] = px.x;
    box[cel.lat] = px.y;
    history.push(`SODA region ${describeRegion(filters.region)}`);
  }
  if (filters.band) {
    const [lo, hi] = filters.band;
    if (wcs.spectral) {
      const ch = spectralPixelRange(wcs, hdu.axes[wcs.spectral.axis], lo, hi);
      if (!ch) return { empty: 'BAND does not overlap the spectral axis' };
      box[wcs.spectral.axis] = ch;
      history.push(`SODA BAND ${lo} ${hi} m`);
    } else if (!overlaps(filters.band, product.emMin, product.emMax)) {
      return { empty: 'BAND does not overlap the band of the data' };
    }
  }
  if (filters.time && !overlaps(filters.time, product.tMin, product.tMax)) {
    return { empty: 'TIME does not overlap the observation' };
  }
  if (filters.pol && filters.pol.length > 0) {
    const want = new Set(filters.pol);
    if (wcs.stokesAxis !== undefined) {
      const n = hdu.axes[wcs.stokesAxis];
      let from = 0;
      let to = 0;
      for (let p = 1; p <= n; p++) {
        const label = wcs.stokesLabel(p);
        if (label && want.has(label)) {
          if (from === 0) from = p;
          to = p;
        }
      }
      if (from === 0) return { empty: 'none of the POL states is in the data' };
      box[wcs.stokesAxis] = { from, to };
      history.push(`SODA POL ${[...want].join(' ')}`);
    } else if (!product.polStates.some((s) => want.has(s))) {
      return { empty: 'none of the POL states is in the data' };
    }
  }
  return { box, history: history.flatMap(wrap) };
}

/** HISTORY cards hold 72 characters. */
function wrap(line: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < line.length; i += 70) out.push(line.slice(i, i + 70));
  return out.slice(0, 20);
}

function describeRegion(r: SkyRegion): string {
  if (r.type === 'circle') return `CIRCLE ${r.ra} ${r.dec} ${r.radius}`;
  if (r.type === 'range') return `RANGE ${r.raMin} ${r.raMax} ${r.decMin} ${r.decMax}`;
  return `POLYGON ${r.vertices.flat().join(' ')}`;
}
