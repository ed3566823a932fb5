/**
 * The ivoa.obscore_radio row of a product (IVOA ObsCore Extension for Radio Data 1.0, table in
 * sql/156_obscore_radio.sql, published by src/tap/tables/obscore-radio.ts), from what its FITS
 * header says and nothing else: a value the header does not give stays NULL, never estimated
 * from telescope tables or typical values.
 *
 * What an image or cube header gives:
 * - s_resolution_min/max: the restoring beam, BMIN and BMAJ (deg → arcsec). The standard's
 *   range is the resolution over the product (λ/L at the band's ends); an image restored with
 *   one beam has that beam at every frequency, and its resolution runs from the minor axis
 *   (the direction of the longest projected baselines) to the major one. A header with BMAJ
 *   and no BMIN has a circular beam. A multi-beam cube (CASA: no BMAJ in the image header,
 *   a BEAMS table) gives the range of its per-channel beams (radio-beams.ts).
 * - s_fov_min/max: the diameter of the circle around the image's footprint (ObsCore s_fov):
 *   for maps the standard takes "the minimum and maximum sizes of the circular region
 *   encompassing the covered area", and an image covers the same area at every frequency.
 * - f_resolution: the width of a channel of the spectral axis in kHz (the widest, for an axis
 *   not linear in frequency), through the WCS (FREQ in any CUNIT, or velocity/wavelength axes
 *   that convert to frequency); a one-channel continuum image's channel is its bandwidth.
 * The standard has no frequency-range or exposure columns (its f_min/f_max and t_exp_* are
 * commented out of the column tables): the range is ObsCore's em_min/em_max, the exposure
 * ObsCore's t_exptime (EXPTIME, EXPOSURE or INTTIME). No registered FITS keyword carries the
 * interferometric (uv_*, s_largest_angular_scale*) or instrumental (instr_*, scan_mode,
 * tracking_type) values of an image; they stay NULL until a source that knows them fills them.
 */
import type pg from 'pg';
import type { Wcs } from '../../sky/wcs/index.js';
import type { FitsFile, FitsHeader } from '../fits/index.js';
import { beamsTableRange } from './radio-beams.js';

/** One row of ivoa.obscore_radio without its key, named as the standard names the columns. */
export interface ObsCoreRadioRecord {
  s_resolution_min: number | null;
  s_resolution_max: number | null;
  s_fov_min: number | null;
  s_fov_max: number | null;
  f_resolution: number | null;
  s_largest_angular_scale: number | null;
  s_largest_angular_scale_min: number | null;
  s_largest_angular_scale_max: number | null;
  uv_distance_min: number | null;
  uv_distance_max: number | null;
  uv_distribution_ecc: number | null;
  uv_distribution_fill: number | null;
  instr_tel_number: number | null;
  instr_tel_min_dist: number | null;
  instr_tel_max_dist: number | null;
  instr_tel_diameter: number | null;
  instr_feed: number | null;
  scan_mode: string | null;
  tracking_type: string | null;
}

export const OBSCORE_RADIO_RECORD_COLUMNS: readonly (keyof ObsCoreRadioRecord)[] = [
  's_resolution_min',
  's_resolution_max',
  's_fov_min',
  's_fov_max',
  'f_resolution',
  's_largest_angular_scale',
  's_largest_angular_scale_min',
  's_largest_angular_scale_max',
  'uv_distance_min',
  'uv_distance_max',
  'uv_distribution_ecc',
  'uv_distribution_fill',
  'instr_tel_number',
  'instr_tel_min_dist',
  'instr_tel_max_dist',
  'instr_tel_diameter',
  'instr_feed',
  'scan_mode',
  'tracking_type',
];

/** An empty row: every column NULL. */
export function emptyRadioRecord(): ObsCoreRadioRecord {
  return Object.fromEntries(
    OBSCORE_RADIO_RECORD_COLUMNS.map((c) => [c, null]),
  ) as unknown as ObsCoreRadioRecord;
}

/**
 * Shortest wavelength counted as radio: 0.1 mm (3 THz), the short end of the IVOA
 * "Millimeter" waveband, so sub-millimetre interferometry (ALMA) has radio rows too.
 */
export const RADIO_MIN_WAVELENGTH_M = 1e-4;

/** What the header's reader already worked out for ObsCore (fits-product.ts). */
export interface RadioContext {
  /** ObsCore s_fov, deg. */
  readonly sFov: number | null;
  /** ObsCore em_min/em_max, m (null without a spectral axis convertible to wavelength). */
  readonly emMin: number | null;
  readonly emMax: number | null;
  /** Length of each FITS axis (NAXISn), 0-based. */
  readonly axisLength: (axis: number) => number;
}

function positive(v: number | undefined): number | null {
  return v !== undefined && Number.isFinite(v) && v > 0 ? v : null;
}

/** Width of the widest channel of the spectral axis in Hz, when it converts to frequency. */
function channelWidthHz(wcs: Wcs, ctx: RadioContext): number | null {
  const spec = wcs.spectral;
  if (!spec) return null;
  const n = ctx.axisLength(spec.axis);
  const width = (c: number) => {
    const a = wcs.frequencyHz(wcs.spectralValue(c - 0.5));
    const b = wcs.frequencyHz(wcs.spectralValue(c + 0.5));
    return a === undefined || b === undefined ? undefined : Math.abs(b - a);
  };
  // A monotonic axis has its extreme channel widths at its ends.
  const ends = [width(1), width(n)].filter(
    (w): w is number => w !== undefined && Number.isFinite(w) && w > 0,
  );
  return ends.length > 0 ? Math.max(...ends) : null;
}

/**
 * The radio row of an image or cube, or null when the product is not radio data: its
 * spectral coverage lies at wavelengths shorter than RADIO_MIN_WAVELENGTH_M, or it has no
 * spectral coverage and no beam keywords either.
 */
export function describeRadio(h: FitsHeader, wcs: Wcs, ctx: RadioContext): ObsCoreRadioRecord | null {
  const bmaj = positive(h.number('BMAJ'));
  const bmin = positive(h.number('BMIN')) ?? bmaj;
  const hasSpectrum = ctx.emMin !== null && ctx.emMax !== null;
  if (hasSpectrum && (ctx.emMin as number) < RADIO_MIN_WAVELENGTH_M) return null;
  if (!hasSpectrum && bmaj === null) return null;
  const row = emptyRadioRecord();
  if (bmaj !== null && bmin !== null) {
    row.s_resolution_min = Math.min(bmaj, bmin) * 3600;
    row.s_resolution_max = Math.max(bmaj, bmin) * 3600;
  }
  const fov = positive(ctx.sFov ?? undefined);
  row.s_fov_min = fov;
  row.s_fov_max = fov;
  const width = channelWidthHz(wcs, ctx);
  row.f_resolution = width !== null ? width / 1000 : null;
  return row;
}

/**
 * A radio row without a beam in the image header takes the range of the file's BEAMS table
 * (per-channel beams of a multi-beam cube), when it has one.
 */
export async function addBeamsTable(
  file: FitsFile,
  radio: ObsCoreRadioRecord | null | undefined,
): Promise<ObsCoreRadioRecord | null> {
  if (!radio || radio.s_resolution_min !== null) return radio ?? null;
  const range = await beamsTableRange(file);
  return range ? { ...radio, s_resolution_min: range[0], s_resolution_max: range[1] } : radio;
}

/**
 * Writes a product's radio row in the caller's transaction (maintenance, as storeProduct
 * writes ivoa.obscore): replaced by `radio`, or removed when the product has none (a file
 * ingested again that is no longer radio data keeps no stale row).
 */
export async function storeRadioRecord(
  client: pg.ClientBase,
  did: string,
  radio: ObsCoreRadioRecord | null | undefined,
): Promise<void> {
  if (!radio) {
    await client.query('DELETE FROM ivoa.obscore_radio WHERE obs_publisher_did = $1', [did]);
    return;
  }
  const cols = OBSCORE_RADIO_RECORD_COLUMNS;
  await client.query(
    `INSERT INTO ivoa.obscore_radio (obs_publisher_did, ${cols.join(', ')})
     VALUES ($1, ${cols.map((_, i) => `$${i + 2}`).join(', ')})
     ON CONFLICT (obs_publisher_did) DO UPDATE SET ${cols.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`,
    [did, ...cols.map((c) => radio[c])],
  );
}
