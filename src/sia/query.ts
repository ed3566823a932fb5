import { angularDistanceDeg, coneCoverage, SkyError, SphericalPolygon } from '../../sky/index.js';
import type { SkyRegion } from '../../sky/wcs/index.js';
import { POL_STATE_ORDER } from '../ingest/obscore-record.js';
import { OBSCORE_TAP_COLUMNS } from '../tap/tables/obscore.js';
import { isWholeSky, ParamError, parseInterval, parsePos, rangePolygons } from './shapes.js';

/** ObsCore polarisation labels (SIA-49, OBS-70), the same list ingest orders pol_states by. */
export const POL_LABELS = POL_STATE_ORDER;

/** The query parameters of SIA 2.0 (SIA-20..36), in the order they are documented. */
export const SIA_QUERY_PARAMS = [
  'POS',
  'BAND',
  'TIME',
  'POL',
  'FOV',
  'SPATRES',
  'EXPTIME',
  'ID',
  'COLLECTION',
  'FACILITY',
  'INSTRUMENT',
  'DPTYPE',
  'CALIB',
  'TARGET',
  'TIMERES',
  'SPECRP',
  'FORMAT',
] as const;

export type SiaParamName = (typeof SIA_QUERY_PARAMS)[number];

/** A parameterised SQL fragment builder: values always go in as bound parameters (SIA-82). */
class SqlParams {
  readonly values: unknown[] = [];
  add(v: unknown, cast = ''): string {
    this.values.push(v);
    return `$${this.values.length}${cast}`;
  }
}

/** Numeric parameters whose interval must overlap [min, max] columns (SIA-48). */
const OVERLAP: Partial<Record<SiaParamName, [string, string]>> = {
  BAND: ['em_min', 'em_max'],
  TIME: ['t_min', 't_max'],
};

/** Numeric parameters whose column value must lie within the interval (SIA-24..28). */
const WITHIN: Partial<Record<SiaParamName, string>> = {
  FOV: 's_fov',
  SPATRES: 's_resolution',
  EXPTIME: 't_exptime',
  TIMERES: 't_resolution',
  SPECRP: 'em_res_power',
};

/**
 * Parameters that also match a product whose range in ivoa.obscore_radio (ObsCore Extension
 * for Radio Data 1.0) meets the interval. A wide-band radio product has one resolution and one
 * field of view per frequency; ObsCore's single typical value (s_resolution, s_fov) may miss an
 * interval the product satisfies over part of its band, the case for which the extension's
 * use cases query the range instead of the typical value. The radio standard says nothing of
 * SIA, so the SIA 2.0 test on the typical value is kept and the range only adds matches:
 * rows without a radio row behave exactly as before. Its f_min/f_max columns were dropped
 * from the standard (the band is ObsCore's em_min/em_max), so BAND is unchanged.
 */
const RADIO_RANGE: Partial<Record<SiaParamName, [string, string]>> = {
  SPATRES: ['s_resolution_min', 's_resolution_max'],
  FOV: ['s_fov_min', 's_fov_max'],
};

/** String parameters compared exactly (SIA-15). */
const EXACT: Partial<Record<SiaParamName, string>> = {
  COLLECTION: 'obs_collection',
  FACILITY: 'facility_name',
  INSTRUMENT: 'instrument_name',
  DPTYPE: 'dataproduct_type',
  TARGET: 'target_name',
  FORMAT: 'access_format',
};

export interface SpatialIndex {
  /**
   * Largest distance from a product's centre (the `healpix` column) to its footprint edge,
   * in deg, over the rows the caller may read. Lets the HEALPix prefilter work on the
   * centre index alone: a footprint meeting a shape has its centre within this of the shape.
   */
  maxFootprintRadiusDeg: number;
  /** Most order-29 ranges per prefilter (the SQL grows with it). */
  maxRanges: number;
}

/** A cone around a region that contains it: centre and radius in deg. */
export function boundingCone(region: SkyRegion): { ra: number; dec: number; radius: number } {
  if (region.type === 'circle') return { ra: region.ra, dec: region.dec, radius: region.radius };
  const vertices = region.type === 'polygon' ? region.vertices : rangePolygons(region).flat();
  let x = 0;
  let y = 0;
  let z = 0;
  for (const [lon, lat] of vertices) {
    const l = (lon * Math.PI) / 180;
    const b = (lat * Math.PI) / 180;
    x += Math.cos(b) * Math.cos(l);
    y += Math.cos(b) * Math.sin(l);
    z += Math.sin(b);
  }
  const n = Math.hypot(x, y, z);
  if (n < 1e-9) return { ra: 0, dec: 0, radius: 180 };
  let ra = (Math.atan2(y, x) * 180) / Math.PI;
  if (ra < 0) ra += 360;
  const dec = (Math.asin(z / n) * 180) / Math.PI;
  let radius = 0;
  for (const [lon, lat] of vertices) radius = Math.max(radius, angularDistanceDeg(ra, dec, lon, lat));
  // Great-circle edges bulge beyond their end points only by a hair for the short edges used.
  return { ra, dec, radius: Math.min(180, radius * 1.001 + 1e-6) };
}

/** The footprints a region stands for in the exact SQL test: circles and polygons < hemisphere. */
function exactShapes(region: SkyRegion): Array<{ kind: 'circle' | 'polygon'; values: number[] }> {
  if (region.type === 'circle') return [{ kind: 'circle', values: [region.ra, region.dec, region.radius] }];
  const rings = region.type === 'polygon' ? [region.vertices] : rangePolygons(region);
  return rings.map((ring) => {
    try {
      // Validates the ring: distinct vertices, no degenerate edge, less than a hemisphere.
      new SphericalPolygon(ring);
    } catch (err) {
      if (err instanceof SkyError) throw new ParamError(`POS polygon: ${err.message}`);
      throw err;
    }
    return { kind: 'polygon' as const, values: ring.flat() };
  });
}

function spatialClause(region: SkyRegion, sql: SqlParams, index: SpatialIndex): string {
  if (isWholeSky(region)) return 'TRUE';
  const cone = boundingCone(region);
  const parts: string[] = [];
  // HEALPix prefilter on the footprint centre (indexed), then the exact footprint test.
  const reach = cone.radius + index.maxFootprintRadiusDeg;
  if (reach < 180) {
    const ranges = coneCoverage(cone.ra, cone.dec, reach, { maxRanges: index.maxRanges });
    const ors = ranges.map(
      ([lo, hi]) =>
        `healpix BETWEEN ${sql.add(lo.toString(), '::bigint')} AND ${sql.add(hi.toString(), '::bigint')}`,
    );
    // A row without a centre index is left to the exact test rather than silently lost.
    parts.push(`(${ors.join(' OR ')} OR healpix IS NULL)`);
  }
  const exact = exactShapes(region).map(
    (s) => `adql.geom_intersects(s_region, 'polygon', ${sql.add(s.values, '::float8[]')}, '${s.kind}')`,
  );
  parts.push(exact.length === 1 ? exact[0] : `(${exact.join(' OR ')})`);
  return `(${parts.join(' AND ')})`;
}

/** One parameter value as an SQL condition; throws ParamError for a bad value. */
function clause(name: SiaParamName, value: string, sql: SqlParams, index: SpatialIndex): string {
  if (name === 'POS') return spatialClause(parsePos(value), sql, index);
  const overlap = OVERLAP[name];
  if (overlap) {
    const [lo, hi] = parseInterval(value, name);
    // SIA-48 inclusive overlap; NULL bounds make the comparison NULL, so no match (SIA-12).
    return `(${overlap[0]} <= ${sql.add(hi, '::float8')} AND ${overlap[1]} >= ${sql.add(lo, '::float8')})`;
  }
  const within = WITHIN[name];
  if (within) {
    const [lo, hi] = parseInterval(value, name);
    const $lo = sql.add(lo, '::float8');
    const $hi = sql.add(hi, '::float8');
    const typical = `${within} BETWEEN ${$lo} AND ${$hi}`;
    const range = RADIO_RANGE[name];
    if (!range) return `(${typical})`;
    // Row-level security on ivoa.obscore_radio follows ivoa.obscore's (sql/156).
    const radio = `obs_publisher_did IN (SELECT r.obs_publisher_did FROM ivoa.obscore_radio r WHERE r.${range[0]} <= ${$hi} AND r.${range[1]} >= ${$lo})`;
    return `(${typical} OR ${radio})`;
  }
  const exact = EXACT[name];
  if (exact) return `${exact} = ${sql.add(value, '::text')}`;
  if (name === 'ID') return `lower(obs_publisher_did) = lower(${sql.add(value, '::text')})`;
  if (name === 'CALIB') {
    if (!/^\s*[+-]?\d+\s*$/.test(value)) throw new ParamError(`CALIB='${value}' must be an integer 0..4`);
    return `calib_level = ${sql.add(Number(value), '::int')}`;
  }
  if (name === 'POL') {
    if (!POL_LABELS.includes(value)) {
      throw new ParamError(`POL='${value}' is not a polarisation state; use one of ${POL_LABELS.join(', ')}`);
    }
    // Delimited token match (SIA-49): Y must not match XY.
    return `strpos(pol_states, ${sql.add(`/${value}/`, '::text')}) > 0`;
  }
  throw new ParamError(`parameter ${name} is not supported`);
}

export interface SiaSql {
  text: string;
  values: unknown[];
}

/** The published ObsCore columns, as selected. */
// s_region leaves as STC-S text, as TAP publishes it (OBS-62): Debian's STIL cannot read
// a variable-length xtype="polygon" column in BINARY2.
export const SELECT_LIST = OBSCORE_TAP_COLUMNS.map((c) =>
  c.region === 'polygon-array'
    ? `adql.polygon_stcs(${c.sqlName ?? c.name}) AS ${c.name}`
    : c.sqlName && c.sqlName !== c.name
      ? `${c.sqlName} AS ${c.name}`
      : c.name,
).join(', ');

/**
 * The SQL of an SIA query: repeated values of one parameter OR'ed, parameters AND'ed
 * (SIA-11, SIA-80), only images and cubes, at most `limit` rows in a stable order.
 * Row-level security adds the data-rights filter outside these groups (SIA-81).
 */
export function siaSql(
  params: ReadonlyMap<SiaParamName, readonly string[]>,
  limit: number,
  index: SpatialIndex,
): SiaSql {
  const sql = new SqlParams();
  const groups = [`dataproduct_type IN ('image', 'cube')`];
  for (const name of SIA_QUERY_PARAMS) {
    const values = params.get(name);
    if (!values || values.length === 0) continue;
    const ors = values.map((v) => clause(name, v, sql, index));
    groups.push(ors.length === 1 ? ors[0] : `(${ors.join(' OR ')})`);
  }
  const text = `SELECT ${SELECT_LIST} FROM ivoa.obscore_published WHERE ${groups.join('\n  AND ')} ORDER BY obs_publisher_did LIMIT ${sql.add(limit, '::bigint')}`;
  return { text, values: sql.values };
}
