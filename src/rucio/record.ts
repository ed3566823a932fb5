/**
 * A Rucio DID's metadata as an ObsCore row, for the same writer as FITS ingest
 * (src/ingest/products.ts storeProduct). SRCNet keeps ObsCore in a DID's metadata with the
 * columns' own names as keys (ska-rucio-ivoa-integration, 02-rucio.sql fills rucio.obscore
 * with jsonb_populate_record of that object), so each key is read as its column, in the
 * column's ObsCore 1.1 unit. Radio-extension keys (ivoa.obscore_radio column names) give the
 * product's radio row.
 *
 * Identifiers: obs_publisher_did is ivo://{authority}?{scope}/{name}, the form SRCNet's
 * DataLink and SODA use; access_url is this node's DataLink for it (made absolute when read).
 *
 * Rights: a DID's `owner_group` (the node's column) and `obs_release_date` as its metadata says.
 * Without an owner group the product is public, as every row of SRCNet's ObsCore is. With an
 * owner group and no release date, the release date stays NULL: never public (OBS-82, the node's
 * rule, sql/147_product_rights.sql).
 */
import { HEALPIX_INDEX_ORDER, nestedIndex } from '../../sky/index.js';
import { RUCIO_FILE_PREFIX } from '../datalink/index.js';
import {
  emptyRadioRecord,
  OBSCORE_RADIO_RECORD_COLUMNS,
  type ObsCoreRadioRecord,
  RADIO_MIN_WAVELENGTH_M,
} from '../ingest/obscore-radio.js';
import { DATALINK_ACCESS_FORMAT, type ObsCoreRecord } from '../ingest/obscore-record.js';
import { datalinkUrl } from '../ingest/products.js';

/** ObsCore's dataproduct_type vocabulary (OBS-11). */
const PRODUCT_TYPES = new Set([
  'image',
  'cube',
  'spectrum',
  'sed',
  'timeseries',
  'visibility',
  'event',
  'measurements',
]);

/** The publisher DID of a Rucio DID. */
export function rucioPublisherDid(authority: string, scope: string, name: string): string {
  return `ivo://${authority}?${scope}/${name}`;
}

/** The file_path key of a Rucio product: not a local file (nothing on this node opens it). */
export function rucioFileKey(scope: string, name: string): string {
  return `${RUCIO_FILE_PREFIX}${scope}:${name}`;
}

const num = (v: unknown): number | null => {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
};
const int = (v: unknown): number | null => {
  const n = num(v);
  return n === null ? null : Math.trunc(n);
};
const str = (v: unknown): string | null =>
  typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : null;

/** ISO-8601 `YYYY-MM-DDThh:mm:ss` (UTC), or null. */
function isoDate(v: unknown): string | null {
  const s = str(v);
  if (s === null) return null;
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
  return Number.isNaN(t) ? null : new Date(t).toISOString().slice(0, 19);
}

/**
 * s_region as the DALI polygon the table holds: an array of numbers, a DALI polygon string
 * ("ra1 dec1 ra2 dec2 ..."), or an STC-S polygon ("POLYGON ICRS ra1 dec1 ..."), in degrees.
 */
function polygon(v: unknown): number[] | null {
  let values: number[] | null = null;
  if (Array.isArray(v)) values = v.map(num).filter((x): x is number => x !== null);
  else if (typeof v === 'string') {
    const m = /^\s*(?:polygon\s+(?:icrs\s+)?)?([-+0-9.eE\s]+)$/i.exec(v);
    if (m) values = m[1].trim().split(/\s+/).map(Number);
  }
  if (!values || values.length < 6 || values.length % 2 !== 0 || values.some((x) => !Number.isFinite(x)))
    return null;
  return values;
}

/** Why a DID gives no row (reported by the sync). */
export class NotObsCore extends Error {}

/**
 * The ObsCore row of a DID from its metadata. A DID whose metadata has no obs_id or no
 * calib_level (what SRCNet's own table requires, with the collection) is not an ObsCore
 * product: NotObsCore says what is missing.
 */
export function recordFromMetadata(
  authority: string,
  scope: string,
  name: string,
  meta: Readonly<Record<string, unknown>>,
): ObsCoreRecord {
  const obsId = str(meta.obs_id);
  const calib = int(meta.calib_level);
  if (obsId === null || calib === null)
    throw new NotObsCore(`${scope}:${name} has no ObsCore metadata (obs_id and calib_level are needed)`);
  const did = rucioPublisherDid(authority, scope, name);
  const type = str(meta.dataproduct_type)?.toLowerCase() ?? null;
  const ownerGroup = str(meta.owner_group);
  const releaseDate = isoDate(meta.obs_release_date);
  const sRa = num(meta.s_ra);
  const sDec = num(meta.s_dec);
  // access_estsize is in kB (OBS-54); SRCNet's DataLink reads the size as content_length (bytes).
  const bytes = num(meta.content_length) ?? (num(meta.access_estsize) ?? 0) * 1024;
  const record: ObsCoreRecord = {
    dataproduct_type: type && PRODUCT_TYPES.has(type) ? (type as ObsCoreRecord['dataproduct_type']) : null,
    dataproduct_subtype: str(meta.dataproduct_subtype),
    calib_level: calib,
    obs_collection: str(meta.obs_collection) ?? scope,
    obs_id: obsId,
    obs_title: str(meta.obs_title),
    obs_publisher_did: did,
    obs_creator_did: str(meta.obs_creator_did),
    obs_creation_date: isoDate(meta.obs_creation_date),
    access_url: datalinkUrl(did),
    access_format: DATALINK_ACCESS_FORMAT,
    access_estsize: num(meta.access_estsize) ?? (bytes > 0 ? Math.ceil(bytes / 1024) : null),
    target_name: str(meta.target_name),
    s_ra: sRa,
    s_dec: sDec,
    s_fov: num(meta.s_fov),
    s_region: polygon(meta.s_region),
    s_resolution: num(meta.s_resolution),
    s_xel1: int(meta.s_xel1),
    s_xel2: int(meta.s_xel2),
    s_pixel_scale: num(meta.s_pixel_scale),
    t_min: num(meta.t_min),
    t_max: num(meta.t_max),
    t_exptime: num(meta.t_exptime),
    t_resolution: num(meta.t_resolution),
    t_xel: int(meta.t_xel),
    em_min: num(meta.em_min),
    em_max: num(meta.em_max),
    em_res_power: num(meta.em_res_power),
    em_xel: int(meta.em_xel),
    em_ucd: str(meta.em_ucd),
    em_unit: str(meta.em_unit),
    o_ucd: str(meta.o_ucd),
    o_unit: str(meta.o_unit),
    pol_states: str(meta.pol_states),
    pol_xel: int(meta.pol_xel),
    facility_name: str(meta.facility_name),
    instrument_name: str(meta.instrument_name),
    proposal_id: str(meta.proposal_id),
    data_rights: ownerGroup ? 'proprietary' : 'public',
    // With an owner group and no date: NULL, never public (OBS-82).
    obs_release_date: releaseDate,
    owner_group: ownerGroup,
    file_path: rucioFileKey(scope, name),
    file_size: bytes,
    file_sha256: null,
    healpix:
      sRa !== null && sDec !== null && sDec >= -90 && sDec <= 90
        ? nestedIndex(HEALPIX_INDEX_ORDER, ((sRa % 360) + 360) % 360, sDec)
        : null,
  };
  record.radio = radioFromMetadata(meta, record);
  return record;
}

/**
 * The radio row: from the metadata's radio-extension keys; a product with none of them but
 * radio wavelengths (em_min ≥ RADIO_MIN_WAVELENGTH_M) gets the row FITS ingest would give it
 * (field of view from s_fov, as describeRadio does); otherwise none.
 */
function radioFromMetadata(
  meta: Readonly<Record<string, unknown>>,
  r: ObsCoreRecord,
): ObsCoreRadioRecord | null {
  const row = emptyRadioRecord();
  let given = false;
  for (const c of OBSCORE_RADIO_RECORD_COLUMNS) {
    const v = c === 'scan_mode' || c === 'tracking_type' ? str(meta[c]) : num(meta[c]);
    if (v !== null) {
      (row as unknown as Record<string, unknown>)[c] =
        c === 'instr_tel_number' || c === 'instr_feed' ? Math.trunc(v as number) : v;
      given = true;
    }
  }
  const radio = r.em_min !== null && r.em_min >= RADIO_MIN_WAVELENGTH_M;
  if (!given && !radio) return null;
  if (row.s_fov_min === null && r.s_fov !== null) row.s_fov_min = r.s_fov;
  if (row.s_fov_max === null && r.s_fov !== null) row.s_fov_max = r.s_fov;
  return row;
}
