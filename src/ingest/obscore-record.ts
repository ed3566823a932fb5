import type { ObsCoreRadioRecord } from './obscore-radio.js';

/**
 * One row of ivoa.obscore (ObsCore 1.1), named exactly as the columns of sql/060_obscore.sql:
 * every mandatory column (OBS-10..OBS-39), the optional ones this node fills (OBS-47/48, OBS-48g)
 * and the unpublished bookkeeping columns (file path/size/hash, owner group).
 * Units: angles in degrees except s_resolution and s_pixel_scale (arcsec); times MJD (t_min,
 * t_max) or seconds (t_exptime, t_resolution); em_* in metres; access_estsize in kB (OBS-54).
 */
export interface ObsCoreRecord {
  dataproduct_type:
    | 'image'
    | 'cube'
    | 'spectrum'
    | 'sed'
    | 'timeseries'
    | 'visibility'
    | 'event'
    | 'measurements'
    | null;
  dataproduct_subtype: string | null;
  calib_level: number;
  obs_collection: string;
  obs_id: string;
  obs_title: string | null;
  obs_publisher_did: string;
  obs_creator_did: string | null;
  /** ISO-8601 `YYYY-MM-DDThh:mm:ss` (UTC). */
  obs_creation_date: string | null;
  access_url: string | null;
  access_format: string | null;
  access_estsize: number | null;
  target_name: string | null;
  s_ra: number | null;
  s_dec: number | null;
  s_fov: number | null;
  /** DALI polygon (OBS-61): [ra1, dec1, ra2, dec2, ...], ICRS deg, ≥ 3 vertices, first not repeated. */
  s_region: number[] | null;
  s_resolution: number | null;
  s_xel1: number | null;
  s_xel2: number | null;
  s_pixel_scale: number | null;
  t_min: number | null;
  t_max: number | null;
  t_exptime: number | null;
  t_resolution: number | null;
  t_xel: number | null;
  em_min: number | null;
  em_max: number | null;
  em_res_power: number | null;
  em_xel: number | null;
  em_ucd: string | null;
  em_unit: string | null;
  o_ucd: string | null;
  o_unit: string | null;
  pol_states: string | null;
  pol_xel: number | null;
  facility_name: string | null;
  instrument_name: string | null;
  proposal_id: string | null;
  data_rights: 'public' | 'secure' | 'proprietary' | null;
  /** ISO-8601 `YYYY-MM-DDThh:mm:ss` (UTC); null = proprietary by definition (OBS-82). */
  obs_release_date: string | null;
  // Not published.
  owner_group: string | null;
  file_path: string;
  file_size: number;
  file_sha256: string | null;
  /** HEALPix NESTED index of (s_ra, s_dec) at order 29 (sky HEALPIX_INDEX_ORDER), for the spatial index. */
  healpix: bigint | null;
  /** Its ivoa.obscore_radio row (ObsCore radio extension); null or absent: not radio data. */
  radio?: ObsCoreRadioRecord | null;
}

/** Column order for INSERTs: the keys of ObsCoreRecord. */
export const OBSCORE_RECORD_COLUMNS: readonly (keyof ObsCoreRecord)[] = [
  'dataproduct_type',
  'dataproduct_subtype',
  'calib_level',
  'obs_collection',
  'obs_id',
  'obs_title',
  'obs_publisher_did',
  'obs_creator_did',
  'obs_creation_date',
  'access_url',
  'access_format',
  'access_estsize',
  'target_name',
  's_ra',
  's_dec',
  's_fov',
  's_region',
  's_resolution',
  's_xel1',
  's_xel2',
  's_pixel_scale',
  't_min',
  't_max',
  't_exptime',
  't_resolution',
  't_xel',
  'em_min',
  'em_max',
  'em_res_power',
  'em_xel',
  'em_ucd',
  'em_unit',
  'o_ucd',
  'o_unit',
  'pol_states',
  'pol_xel',
  'facility_name',
  'instrument_name',
  'proposal_id',
  'data_rights',
  'obs_release_date',
  'owner_group',
  'file_path',
  'file_size',
  'file_sha256',
  'healpix',
];

/** The MIME type telling clients that access_url returns a DataLink document (OBS-50, OBS-52). */
export const DATALINK_ACCESS_FORMAT = 'application/x-votable+xml;content=datalink';

/** Canonical pol_states order (OBS-70). */
export const POL_STATE_ORDER: readonly string[] = [
  'I',
  'Q',
  'U',
  'V',
  'RR',
  'LL',
  'RL',
  'LR',
  'XX',
  'YY',
  'XY',
  'YX',
  'POLI',
  'POLA',
];

/** `/I/Q/` form of a set of polarisation labels, in canonical order (OBS-70); null for none. */
export function formatPolStates(labels: Iterable<string>): string | null {
  const set = new Set(labels);
  const ordered = POL_STATE_ORDER.filter((s) => set.has(s));
  return ordered.length === 0 ? null : `/${ordered.join('/')}/`;
}
