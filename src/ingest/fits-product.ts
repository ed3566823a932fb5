import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { angularDistanceDeg, HEALPIX_INDEX_ORDER, nestedIndex } from '../../sky/index.js';
import { Wcs, WcsError } from '../../sky/wcs/index.js';
import { FitsError, FitsFile, type FitsHdu, type FitsHeader, productHdu } from '../fits/index.js';
import { addBeamsTable, describeRadio } from './obscore-radio.js';
import { DATALINK_ACCESS_FORMAT, formatPolStates, type ObsCoreRecord } from './obscore-record.js';

export interface DescribeFitsOptions {
  collection: string;
  /** obs_publisher_did of a product; products of one observation share obsId, so use fileName too. */
  publisherDid: (obsId: string, fileName: string) => string;
  /** access_url (normally the DataLink {links} URL with ?ID=<encoded DID>, OBS-52). */
  accessUrl: (obsId: string, publisherDid: string) => string;
  /** Default 2: calibrated science-ready images and cubes (OBS-45). */
  calibLevel?: number;
  /** Overrides the OBS_ID (or OBSID) header keyword; the file name without extension is the last resort. */
  obsId?: string;
  /** Default 'application/x-votable+xml;content=datalink' (OBS-52). */
  accessFormat?: string;
  /** Default 'public'. */
  dataRights?: 'public' | 'secure' | 'proprietary';
  /**
   * Release date (ISO-8601). Default: for public data the end of the observation; otherwise null,
   * i.e. proprietary (OBS-82).
   */
  obsReleaseDate?: string | null;
  ownerGroup?: string | null;
  /** Hash the whole file (streamed, constant memory) into file_sha256. Default false. */
  sha256?: boolean;
  /** Largest header accepted, in 2880-byte blocks. Default 1000. */
  maxHeaderBlocks?: number;
}

const D2R = Math.PI / 180;

function isoFromMjd(mjd: number): string {
  return new Date(Math.round((mjd - 40587) * 86_400_000)).toISOString().slice(0, 19);
}

function mjdFromIso(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const text = /[zZ]|[+-]\d\d:\d\d$/.test(iso) ? iso : `${iso.length === 10 ? `${iso}T00:00:00` : iso}Z`;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms / 86_400_000 + 40587;
}

const EM_UCD: Record<string, string> = {
  FREQ: 'em.freq',
  WAVE: 'em.wl',
  AWAV: 'em.wl',
  ENER: 'em.energy',
  WAVN: 'em.wavenumber',
  VRAD: 'spect.dopplerVeloc.radio',
  VOPT: 'spect.dopplerVeloc.opt',
  VELO: 'spect.dopplerVeloc.rel',
  ZOPT: 'spect.doppler.z',
  BETA: 'spect.doppler.z',
};

/** Observable UCD from BUNIT (OBS-35, OBS-71). */
function observableUcd(bunit: string | undefined, polarised: boolean): string | null {
  if (!bunit) return null;
  const u = bunit.replace(/\s+/g, '').toLowerCase();
  let ucd: string | null = null;
  if (/^(m|u|µ)?jy(\/beam|\/pixel|beam-1|\/sr)?$/.test(u)) ucd = 'phot.flux.density';
  else if (u === 'k' || u === 'mk') ucd = 'phot.antennaTemp';
  if (ucd && polarised) ucd += ';phys.polarization.stokes';
  return ucd;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** (east, north) offsets on the tangent plane at (ra0, dec0), for orienting the footprint. */
function tangent(ra: number, dec: number, ra0: number, dec0: number): [number, number] {
  const da = (ra - ra0) * D2R;
  const d = dec * D2R;
  const d0 = dec0 * D2R;
  return [Math.cos(d) * Math.sin(da), Math.sin(d) * Math.cos(d0) - Math.cos(d) * Math.sin(d0) * Math.cos(da)];
}

/**
 * Footprint corners (FITS-70) ordered so the interior is on the left when walking the edges on
 * the sky as in the DALI polygon example (RA increasing along the first edge of a north-up box),
 * i.e. positive signed area in (east, north). See the final report for the wording conflict.
 */
export function orientFootprint(corners: [number, number][], centre: [number, number]): [number, number][] {
  let area = 0;
  const pts = corners.map(([ra, dec]) => tangent(ra, dec, centre[0], centre[1]));
  for (let i = 0; i < pts.length; i++) {
    const [x1, y1] = pts[i];
    const [x2, y2] = pts[(i + 1) % pts.length];
    area += x1 * y2 - x2 * y1;
  }
  return area >= 0 ? corners : [...corners].reverse();
}

/**
 * The ObsCore row of a FITS image or cube, from its headers alone (the data are never read,
 * except to hash the file when asked). Throws FitsError for a file that is not usable FITS, and
 * for a header without a usable celestial WCS; nothing is returned half-filled.
 */
export async function describeFitsProduct(path: string, opts: DescribeFitsOptions): Promise<ObsCoreRecord> {
  const file = await FitsFile.open(path, { maxHeaderBlocks: opts.maxHeaderBlocks ?? 1000 });
  try {
    const hdu = await productHdu(file); // multi-extension files: see productHdu
    const record = describeHdu(file, hdu, opts);
    record.radio = await addBeamsTable(file, record.radio);
    if (opts.sha256) record.file_sha256 = await sha256Of(path);
    return record;
  } catch (err) {
    if (err instanceof WcsError) throw new FitsError('BAD_HEADER', `WCS: ${err.message}`, path);
    throw err;
  } finally {
    await file.close();
  }
}

function describeHdu(file: FitsFile, hdu: FitsHdu, opts: DescribeFitsOptions): ObsCoreRecord {
  const h: FitsHeader = hdu.header;
  const path = file.path;
  const fail = (msg: string) => new FitsError('BAD_HEADER', msg, path);
  const wcs = Wcs.fromHeader(h);
  const cel = wcs.celestial;
  if (!cel) throw fail('no celestial WCS (CTYPE RA---/DEC-- or GLON/GLAT pair) in the header');
  // FITS-43: Galactic, FK4 and FK5 positions are rotated to ICRS (sky/wcs/frames.ts), so every
  // ObsCore position below (s_ra, s_dec, s_region, healpix) is ICRS; other frames are refused.
  if (!wcs.frame) throw fail(wcs.frameProblem ?? 'unknown celestial frame');
  const axisLen = (i: number) => hdu.axes[i] ?? 1;
  const nx = axisLen(cel.lng);
  const ny = axisLen(cel.lat);

  // Spatial coverage (FITS-70, OBS-60..64).
  const centre = wcs.pixelToSky((nx + 1) / 2, (ny + 1) / 2);
  const pixelCorners: [number, number][] = [
    [0.5, 0.5],
    [nx + 0.5, 0.5],
    [nx + 0.5, ny + 0.5],
    [0.5, ny + 0.5],
  ];
  const corners = pixelCorners.map(([x, y]) => wcs.pixelToSky(x, y));
  if (
    corners.some(([ra, dec]) => !Number.isFinite(ra) || !Number.isFinite(dec)) ||
    !centre.every(Number.isFinite)
  ) {
    throw fail('image corners fall outside the projection (field too large for its projection?)');
  }
  const ordered = orientFootprint(corners, centre);
  const fov = 2 * Math.max(...corners.map(([ra, dec]) => angularDistanceDeg(centre[0], centre[1], ra, dec)));
  const bmaj = h.number('BMAJ');

  // Spectral coverage (FITS-72, OBS-77, OBS-78).
  let emMin: number | null = null;
  let emMax: number | null = null;
  let emResPower: number | null = null;
  let emXel: number | null = null;
  let emUcd: string | null = null;
  let emUnit: string | null = null;
  const spec = wcs.spectral;
  if (spec) {
    const n = axisLen(spec.axis);
    emXel = n;
    emUcd = EM_UCD[spec.type] ?? null;
    emUnit = spec.unit || null;
    const lo = wcs.wavelengthM(wcs.spectralValue(0.5));
    const hi = wcs.wavelengthM(wcs.spectralValue(n + 0.5));
    if (lo !== undefined && hi !== undefined && lo > 0 && hi > 0) {
      emMin = Math.min(lo, hi);
      emMax = Math.max(lo, hi);
      const fLo = wcs.frequencyHz(wcs.spectralValue(0.5));
      const fHi = wcs.frequencyHz(wcs.spectralValue(n + 0.5));
      if (fLo !== undefined && fHi !== undefined) {
        const width = Math.abs(fHi - fLo) / n;
        if (width > 0) emResPower = (fLo + fHi) / 2 / width;
      }
    }
  }

  // Polarisation (FITS-74, OBS-70, OBS-71).
  let polStates: string | null = null;
  let polXel: number | null = null;
  let polarised = false;
  if (wcs.stokesAxis !== undefined) {
    const n = axisLen(wcs.stokesAxis);
    const labels: string[] = [];
    for (let p = 1; p <= n; p++) {
      const label = wcs.stokesLabel(p);
      if (label === undefined) throw fail(`STOKES axis pixel ${p} has no defined Stokes code (FITS-46)`);
      labels.push(label);
    }
    polStates = formatPolStates(labels);
    polXel = n;
    polarised = labels.some((l) => l !== 'I');
  }

  // Product type (OBS-40, OBS-41): more than the two spatial axes with length > 1 makes a cube.
  const extraAxes = hdu.axes.filter((n, i) => i !== cel.lng && i !== cel.lat && n > 1).length;
  const type: 'image' | 'cube' = extraAxes > 0 ? 'cube' : 'image';
  let subtype: string | null = null;
  if (type === 'cube') {
    const specLong = spec !== undefined && axisLen(spec.axis) > 1;
    const polLong = wcs.stokesAxis !== undefined && axisLen(wcs.stokesAxis) > 1;
    subtype = specLong ? 'spectral-cube' : polLong ? 'polarization-cube' : null;
  }

  // Time (FITS-73, OBS-75, OBS-76).
  const tMin = h.number('MJD-OBS') ?? mjdFromIso(h.string('DATE-OBS')) ?? null;
  const exptime = h.number('EXPTIME') ?? h.number('EXPOSURE') ?? h.number('INTTIME');
  const telapse = h.number('TELAPSE');
  let tMax = h.number('MJD-END') ?? mjdFromIso(h.string('DATE-END')) ?? null;
  if (tMax === null && tMin !== null) {
    const span = telapse ?? exptime;
    if (span !== undefined) tMax = tMin + span / 86400;
  }
  if (tMin !== null && tMax !== null && tMax < tMin)
    throw fail('the observation ends (DATE-END/MJD-END) before it starts');
  const tExptime = exptime ?? (tMin !== null && tMax !== null ? (tMax - tMin) * 86400 : null);

  const fileName = basename(path);
  const obsId =
    opts.obsId ?? h.string('OBS_ID') ?? h.string('OBSID') ?? fileName.replace(/\.fits?(\.gz)?$/i, '');
  const did = opts.publisherDid(obsId, fileName);
  const calib = opts.calibLevel ?? 2;
  if (!Number.isInteger(calib) || calib < 0 || calib > 4)
    throw new FitsError('BAD_REQUEST', `calib_level ${calib} is not 0..4`);
  const rights = opts.dataRights ?? 'public';
  const release =
    opts.obsReleaseDate !== undefined
      ? opts.obsReleaseDate
      : rights === 'public'
        ? tMax !== null
          ? isoFromMjd(tMax)
          : '2000-01-01T00:00:00'
        : null;
  const target = h.string('OBJECT') ?? null;
  const facility = h.string('TELESCOP') ?? null;
  const bunit = h.string('BUNIT');
  const title = [
    target,
    facility,
    type === 'cube' ? 'spectral cube' : 'continuum image',
    emMin !== null && emMax !== null
      ? `${(299792458 / Math.sqrt(emMin * emMax) / 1e6).toFixed(1)} MHz`
      : null,
  ]
    .filter((s) => s !== null)
    .join(' ');
  const det = Math.abs(wcs.celestialDeterminant());

  return {
    dataproduct_type: type,
    dataproduct_subtype: subtype,
    calib_level: calib,
    obs_collection: opts.collection,
    obs_id: obsId,
    obs_title: title.slice(0, 200) || null,
    obs_publisher_did: did,
    obs_creator_did: null,
    obs_creation_date: h.string('DATE') ?? null,
    access_url: opts.accessUrl(obsId, did),
    access_format: opts.accessFormat ?? DATALINK_ACCESS_FORMAT,
    access_estsize: Math.ceil(file.size / 1024),
    target_name: target,
    s_ra: centre[0],
    s_dec: centre[1],
    s_fov: fov,
    s_region: ordered.flat(),
    s_resolution: bmaj !== undefined ? bmaj * 3600 : null,
    s_xel1: nx,
    s_xel2: ny,
    s_pixel_scale: Math.sqrt(det) * 3600,
    t_min: tMin,
    t_max: tMax,
    t_exptime: tExptime,
    t_resolution: tExptime,
    t_xel: tMin !== null ? 1 : null,
    em_min: emMin,
    em_max: emMax,
    em_res_power: emResPower,
    em_xel: emXel,
    em_ucd: emUcd,
    em_unit: emUnit,
    o_ucd: observableUcd(bunit, polarised),
    o_unit: bunit ?? null,
    pol_states: polStates,
    pol_xel: polXel,
    facility_name: facility,
    instrument_name: h.string('INSTRUME') ?? null,
    proposal_id: h.string('PROPOSAL') ?? h.string('PROPID') ?? h.string('PROJECT') ?? null,
    data_rights: rights,
    obs_release_date: release,
    owner_group: opts.ownerGroup ?? null,
    file_path: path,
    file_size: file.size,
    file_sha256: null,
    healpix: nestedIndex(HEALPIX_INDEX_ORDER, centre[0], centre[1]),
    radio: describeRadio(h, wcs, { sFov: fov, emMin, emMax, axisLength: axisLen }),
  };
}
