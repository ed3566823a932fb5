import type { CatalogueHips } from './catalogue.js';
import { CATALOGUE_MIN_ORDER } from './catalogue.js';
import type { Survey } from './survey.js';
import { TILE_WIDTH } from './tiles.js';

/** What every properties file is written with. */
export interface PropertiesContext {
  readonly baseUrl: string;
  /** The naming authority of creator_did (HIPS-21). */
  readonly authority: string;
}

/** HIPS-20: `key = value` lines. */
export const formatProperties = (entries: ReadonlyArray<readonly [string, string]>) =>
  `${entries.map(([k, v]) => `${k.padEnd(20)} = ${v.replace(/[\r\n]+/g, ' ')}`).join('\n')}\n`;

/** HIPS-21: YYYY-mm-ddTHH:MMZ. */
const hipsDate = (d: Date) => `${d.toISOString().slice(0, 16)}Z`;

function skyFraction(s: Survey): number {
  let cells = 0;
  for (const c of s.moc.cells()) cells += 4 ** (s.moc.order - c.order);
  return cells / (12 * 4 ** s.moc.order);
}

const mhz = (m: number) => `${Math.round(299_792_458 / m / 1e5) / 10} MHz`;

/** The properties of an image or cube HiPS (HIPS-20..23). */
export function surveyProperties(s: Survey, ctx: PropertiesContext): Array<[string, string]> {
  const band = Number.isFinite(s.emMin) ? ` at ${mhz(s.emMax)} to ${mhz(s.emMin)}` : '';
  const what = s.kind === 'cube' ? 'spectral cubes' : 'radio continuum images';
  const entries: Array<[string, string]> = [
    ['creator_did', `ivo://${ctx.authority}/hips/${s.name}`],
    ['obs_title', `vonode: public ${what}${band}`],
    [
      'obs_description',
      `The public ${what} of ivoa.obscore${band} (${s.images.length}), resampled to HEALPix (nearest pixel) at order ${s.order}; each lower order is the mean of the four pixels under it.`,
    ],
    ['dataproduct_type', s.kind],
    ['hips_version', '1.4'],
    // HIPS-22: when the data last changed (the newest file), stable across restarts.
    ['hips_release_date', hipsDate(s.releaseDate)],
    ['hips_status', 'public master clonableOnce'],
    ['hips_tile_format', 'png fits'],
    ['hips_tile_width', String(TILE_WIDTH)],
    ['hips_order', String(s.order)],
    ['hips_order_min', String(s.minOrder)],
    ['hips_frame', 'equatorial'],
    ['hips_pixel_bitpix', '-32'],
    ['hips_pixel_cut', `${s.cut[0]} ${s.cut[1]}`],
    ['hips_sampling', 'nearest'],
    ['hips_initial_ra', String(s.initial.ra)],
    ['hips_initial_dec', String(s.initial.dec)],
    ['hips_initial_fov', String(s.initial.fov)],
    ['hips_service_url', `${ctx.baseUrl}/hips/${s.name}`],
    ['hips_builder', 'vonode'],
    ['moc_sky_fraction', String(s.moc.cells().length > 0 ? skyFraction(s) : 0)],
    ['obs_regime', 'Radio'],
    ['client_category', 'Image/Radio/SKA'],
  ];
  if (Number.isFinite(s.emMin)) entries.push(['em_min', String(s.emMin)], ['em_max', String(s.emMax)]);
  if (s.cube)
    // HIPS-23 (HiPS 1.0 cubes): the frame F tile is NpixN_F; the data_cube_* keys give the
    // third axis as FITS does, so a client turns a frame into a frequency.
    entries.push(
      ['hips_cube_depth', String(s.cube.depth)],
      ['hips_cube_firstframe', String(Math.floor(s.cube.depth / 2))],
      ['data_cube_crpix3', String(s.cube.crpix3)],
      ['data_cube_crval3', String(s.cube.crval3)],
      ['data_cube_cdelt3', String(s.cube.cdelt3)],
      ['data_cube_bunit3', s.cube.bunit3],
    );
  return entries;
}

/** Where a catalogue HiPS opens: its top-ranked row. */
export interface CatalogueStart {
  readonly ra: number;
  readonly dec: number;
}

/** The properties of a catalogue HiPS (HiPS 1.0 §4.3, HIPS-21/22). */
export async function catalogueProperties(
  name: string,
  c: CatalogueHips,
  start: CatalogueStart | undefined,
  ctx: PropertiesContext,
): Promise<Array<[string, string]>> {
  const t = c.table;
  const rank = c.ranking.column
    ? `${c.ranking.column.name} (${c.ranking.descending ? 'largest' : 'smallest'} first)`
    : 'position';
  const entries: Array<[string, string]> = [
    ['creator_did', `ivo://${ctx.authority}/hips/${name}`],
    ['obs_title', t.title ?? `${t.schema}.${t.name}`],
    [
      'obs_description',
      `The catalogue ${t.schema}.${t.name} as a progressive catalogue HiPS: each tile holds at most ${c.perTile} rows not shown at lower orders, ranked on ${rank}.`,
    ],
    ['dataproduct_type', 'catalog'],
    ['hips_version', '1.4'],
    // Stable: the table's publication time, not the process start.
    ['hips_release_date', hipsDate(t.publishedAt ?? new Date(0))],
    ['hips_status', 'public master clonableOnce'],
    ['hips_tile_format', 'tsv'],
    ['hips_order', String(await c.order())],
    ['hips_order_min', String(CATALOGUE_MIN_ORDER)],
    ['hips_frame', 'equatorial'],
    ['hips_cat_nrows', String(await c.nrows())],
    ['hips_service_url', `${ctx.baseUrl}/hips/${name}`],
    ['hips_builder', 'vonode'],
  ];
  if (start)
    entries.push(
      ['hips_initial_ra', String(start.ra)],
      ['hips_initial_dec', String(start.dec)],
      ['hips_initial_fov', '10'],
    );
  return entries;
}
