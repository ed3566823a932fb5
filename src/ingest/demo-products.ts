import { Wcs } from '../../sky/wcs/index.js';
import { type CardInput, FitsError, writeFitsFile } from '../fits/index.js';

/**
 * Deterministic demo radio products (continuum images and spectral cubes) whose sources come from
 * the caller's catalogue, so what a user sees in an image matches the catalogue rows.
 *
 * Layout choice: every product is written 4-D as radio imagers (CASA, WSClean) do:
 * (RA---SIN, DEC--SIN, FREQ, STOKES) with NAXIS3 = 1 for continuum images, NAXIS3 = channels for
 * cubes, and a single Stokes I plane. Pixel values are float32 Jy/beam.
 */

/**
 * A catalogue source to render; `fluxJy` is the flux density at `DemoImageSpec.sourceRefFreqHz`
 * (default: the product's band centre, see demoReferenceFrequencyHz).
 */
export interface DemoSource {
  ra: number;
  dec: number;
  fluxJy: number;
  /** Intrinsic (deconvolved) Gaussian size, FWHM; omitted or 0 = point source. */
  majorArcsec?: number;
  minorArcsec?: number;
  /** Position angle of the major axis, degrees east of north. */
  paDeg?: number;
  /** S ∝ ν^α; default -0.7 (optically thin synchrotron). */
  spectralIndex?: number;
}

export interface DemoImageSpec {
  /** File name (no directory) the product is written to. */
  fileName: string;
  kind: 'image' | 'cube';
  obsId: string;
  object: string;
  telescope: 'SKA-Low' | 'SKA-Mid';
  instrument: string;
  /** Field centre (reference pixel at the array centre), ICRS degrees. */
  raDeg: number;
  decDeg: number;
  nx: number;
  ny: number;
  pixelArcsec: number;
  projection: 'SIN' | 'TAN';
  /** Channels (1 for a continuum image). */
  nchan: number;
  /** Centre frequency of the first channel, Hz. */
  freqHz: number;
  /** Channel width (cubes) or total bandwidth (images), Hz. */
  chanWidthHz: number;
  /** Rest frequency of the line the cube targets (RESTFRQ), Hz. */
  restFreqHz?: number;
  specsys: 'TOPOCENT' | 'BARYCENT' | 'LSRK';
  /** Restoring beam FWHM and PA (degrees east of north). */
  beamMajArcsec: number;
  beamMinArcsec: number;
  beamPaDeg: number;
  /** RMS of the Gaussian noise, Jy/beam. */
  noiseJy: number;
  /** Start of the observation, UTC, `YYYY-MM-DDThh:mm:ss`. */
  dateObs: string;
  /** Elapsed observation time (DATE-END − DATE-OBS), seconds. */
  durationS: number;
  /** On-source integration time (EXPTIME), seconds; ≤ durationS. */
  exposureS: number;
  proposalId: string;
  /** Frequency at which `DemoSource.fluxJy` is given; default the band centre (demoReferenceFrequencyHz). */
  sourceRefFreqHz?: number;
  /** Noise seed. */
  seed: number;
}

/** Where catalogue fluxes apply unless the spec says otherwise: the centre of the product's band. */
export function demoReferenceFrequencyHz(
  spec: Pick<DemoImageSpec, 'freqHz' | 'chanWidthHz' | 'nchan' | 'sourceRefFreqHz'>,
): number {
  return spec.sourceRefFreqHz ?? spec.freqHz + ((spec.nchan - 1) / 2) * spec.chanWidthHz;
}
const DEFAULT_SPECTRAL_INDEX = -0.7;
const FWHM_TO_SIGMA = 1 / (2 * Math.sqrt(2 * Math.log(2)));

// ---------------------------------------------------------------------------------------------
// Random numbers: xoshiro128** seeded by splitmix32 — fast 32-bit integer arithmetic in JS.

export class DemoRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = Number.NaN;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const r = Math.imul(this.rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = this.rotl(this.d, 11);
    return r;
  }

  private rotl(x: number, k: number): number {
    return (x << k) | (x >>> (32 - k));
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() * 2 ** -32;
  }

  /** Standard normal deviate (Marsaglia polar method: no trigonometry, pairs cached). */
  gaussian(): number {
    if (!Number.isNaN(this.spare)) {
      const v = this.spare;
      this.spare = Number.NaN;
      return v;
    }
    for (;;) {
      const u = this.nextUint32() * 2 ** -31 - 1;
      const v = this.nextUint32() * 2 ** -31 - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const f = Math.sqrt((-2 * Math.log(s)) / s);
      this.spare = v * f;
      return u * f;
    }
  }

  /** Fills `out` with N(0, sigma²) deviates. */
  fillGaussian(out: Float32Array, sigma: number): void {
    const n = out.length;
    let i = 0;
    while (i < n) {
      const u = this.nextUint32() * 2 ** -31 - 1;
      const v = this.nextUint32() * 2 ** -31 - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const f = sigma * Math.sqrt((-2 * Math.log(s)) / s);
      out[i++] = u * f;
      if (i < n) out[i++] = v * f;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Header

function mjdOf(iso: string): number {
  const ms = Date.parse(`${iso}Z`);
  if (Number.isNaN(ms))
    throw new FitsError('WRITE', `DATE-OBS ${iso} is not an ISO date YYYY-MM-DDThh:mm:ss`);
  return ms / 86_400_000 + 40587;
}

function isoOf(mjd: number): string {
  return new Date(Math.round((mjd - 40587) * 86_400_000)).toISOString().slice(0, 19);
}

function checkSpec(spec: DemoImageSpec): void {
  const bad = (msg: string) => new FitsError('WRITE', `demo product ${spec.fileName}: ${msg}`);
  for (const [k, v] of Object.entries({ nx: spec.nx, ny: spec.ny, nchan: spec.nchan })) {
    if (!Number.isInteger(v) || v < 1 || v > 65536) throw bad(`${k} must be an integer in 1..65536`);
  }
  if (spec.kind === 'image' && spec.nchan !== 1) throw bad('a continuum image has nchan = 1');
  if (!(spec.pixelArcsec > 0) || !(spec.beamMajArcsec > 0) || !(spec.beamMinArcsec > 0))
    throw bad('sizes must be > 0');
  if (spec.beamMinArcsec > spec.beamMajArcsec) throw bad('beamMinArcsec must not exceed beamMajArcsec');
  if (!(spec.noiseJy >= 0)) throw bad('noiseJy must be ≥ 0');
  if (Math.abs(spec.decDeg) > 90) throw bad('decDeg must be within ±90');
  if (spec.exposureS > spec.durationS) throw bad('exposureS cannot exceed durationS');
}

/** The FITS header of a demo product: everything ObsCore ingest needs (see describeFitsProduct). */
export function demoHeaderCards(spec: DemoImageSpec): CardInput[] {
  checkSpec(spec);
  const mjdObs = mjdOf(spec.dateObs);
  const mjdEnd = mjdObs + spec.durationS / 86400;
  const cdelt = spec.pixelArcsec / 3600;
  const proj = spec.projection;
  const cards: CardInput[] = [
    { keyword: 'SIMPLE', value: true, comment: 'conforms to FITS standard' },
    { keyword: 'BITPIX', value: -32, comment: 'IEEE single precision' },
    { keyword: 'NAXIS', value: 4 },
    { keyword: 'NAXIS1', value: spec.nx },
    { keyword: 'NAXIS2', value: spec.ny },
    { keyword: 'NAXIS3', value: spec.nchan },
    { keyword: 'NAXIS4', value: 1 },
    { keyword: 'EXTEND', value: true },
    { keyword: 'BUNIT', value: 'Jy/beam', comment: 'brightness unit' },
    { keyword: 'BTYPE', value: 'Intensity' },
    { keyword: 'BMAJ', value: spec.beamMajArcsec / 3600, comment: '[deg] restoring beam major axis FWHM' },
    { keyword: 'BMIN', value: spec.beamMinArcsec / 3600, comment: '[deg] restoring beam minor axis FWHM' },
    { keyword: 'BPA', value: spec.beamPaDeg, comment: '[deg] restoring beam position angle' },
    { keyword: 'OBJECT', value: spec.object },
    { keyword: 'TELESCOP', value: spec.telescope },
    { keyword: 'INSTRUME', value: spec.instrument },
    { keyword: 'OBSERVER', value: 'vonode demo' },
    { keyword: 'OBS_ID', value: spec.obsId, comment: 'observation identifier' },
    { keyword: 'PROPOSAL', value: spec.proposalId, comment: 'proposal identifier' },
    { keyword: 'TIMESYS', value: 'UTC' },
    { keyword: 'DATE-OBS', value: spec.dateObs, comment: 'start of observation' },
    { keyword: 'MJD-OBS', value: mjdObs, comment: '[d] start of observation' },
    { keyword: 'DATE-END', value: isoOf(mjdEnd), comment: 'end of observation' },
    { keyword: 'MJD-END', value: mjdEnd, comment: '[d] end of observation' },
    { keyword: 'TELAPSE', value: spec.durationS, comment: '[s] elapsed time' },
    { keyword: 'EXPTIME', value: spec.exposureS, comment: '[s] on-source integration time' },
    { keyword: 'RADESYS', value: 'ICRS' },
    { keyword: 'EQUINOX', value: 2000.0 },
    { keyword: 'WCSAXES', value: 4 },
    { keyword: 'CTYPE1', value: `RA---${proj}` },
    { keyword: 'CRVAL1', value: spec.raDeg },
    { keyword: 'CDELT1', value: -cdelt },
    { keyword: 'CRPIX1', value: Math.floor(spec.nx / 2) + 1 },
    { keyword: 'CUNIT1', value: 'deg' },
    { keyword: 'CTYPE2', value: `DEC--${proj}` },
    { keyword: 'CRVAL2', value: spec.decDeg },
    { keyword: 'CDELT2', value: cdelt },
    { keyword: 'CRPIX2', value: Math.floor(spec.ny / 2) + 1 },
    { keyword: 'CUNIT2', value: 'deg' },
    { keyword: 'CTYPE3', value: 'FREQ' },
    { keyword: 'CRVAL3', value: spec.freqHz },
    { keyword: 'CDELT3', value: spec.chanWidthHz },
    { keyword: 'CRPIX3', value: 1 },
    { keyword: 'CUNIT3', value: 'Hz' },
    { keyword: 'CTYPE4', value: 'STOKES' },
    { keyword: 'CRVAL4', value: 1 },
    { keyword: 'CDELT4', value: 1 },
    { keyword: 'CRPIX4', value: 1 },
    { keyword: 'CUNIT4', value: '' },
    { keyword: 'SPECSYS', value: spec.specsys },
  ];
  if (spec.restFreqHz)
    cards.push({ keyword: 'RESTFRQ', value: spec.restFreqHz, comment: '[Hz] rest frequency' });
  cards.push(
    { keyword: 'ORIGIN', value: 'vonode demo product generator' },
    // Deterministic "creation" date: a day after the observation ends, so reruns give identical files.
    { keyword: 'DATE', value: isoOf(mjdEnd + 1), comment: 'file creation date (simulated)' },
    { keyword: 'COMMENT', comment: 'Simulated SKA data product: Gaussian noise plus catalogue sources.' },
  );
  return cards;
}

// ---------------------------------------------------------------------------------------------
// Source rendering

interface Stamp {
  x: number;
  y: number;
  /** Inverse covariance in pixels (a, b, c): q = a dx² + 2b dx dy + c dy². */
  a: number;
  b: number;
  c: number;
  /** Half-size of the square stamp, pixels. */
  r: number;
  /** Peak (Jy/beam) at the reference frequency. */
  peak: number;
  spectralIndex: number;
}

/** Covariance of an elliptical Gaussian in (east, north) arcsec². */
function covariance(maj: number, min: number, paDeg: number): [number, number, number] {
  const sMaj = maj * FWHM_TO_SIGMA;
  const sMin = min * FWHM_TO_SIGMA;
  const p = (paDeg * Math.PI) / 180;
  // Major axis along (sin PA, cos PA) in (east, north): PA is measured from north through east.
  const ue = Math.sin(p);
  const un = Math.cos(p);
  const ee = sMaj * sMaj * ue * ue + sMin * sMin * un * un;
  const nn = sMaj * sMaj * un * un + sMin * sMin * ue * ue;
  const en = (sMaj * sMaj - sMin * sMin) * ue * un;
  return [ee, en, nn];
}

function makeStamps(spec: DemoImageSpec, wcs: Wcs, sources: readonly DemoSource[]): Stamp[] {
  const beam = covariance(spec.beamMajArcsec, spec.beamMinArcsec, spec.beamPaDeg);
  const beamDet = beam[0] * beam[2] - beam[1] * beam[1];
  const d2r = Math.PI / 180;
  const halfDiag = (Math.hypot(spec.nx, spec.ny) / 2) * (spec.pixelArcsec / 3600);
  const cosLimit = Math.cos(Math.min(90, halfDiag + 0.5) * d2r);
  const [c0x, c0y, c0z] = unit(spec.raDeg, spec.decDeg);
  const stamps: Stamp[] = [];
  const eps = 1 / 3600;
  for (const s of sources) {
    if (!Number.isFinite(s.ra) || !Number.isFinite(s.dec) || !Number.isFinite(s.fluxJy)) continue;
    if (Math.abs(s.dec - spec.decDeg) > halfDiag + 0.5) continue;
    const [x, y, z] = unit(s.ra, s.dec);
    if (x * c0x + y * c0y + z * c0z < cosLimit) continue;
    const [px, py] = wcs.skyToPixel(s.ra, s.dec);
    if (!Number.isFinite(px) || !Number.isFinite(py)) continue;
    const src = covariance(s.majorArcsec ?? 0, s.minorArcsec ?? 0, s.paDeg ?? 0);
    const ee = beam[0] + src[0];
    const en = beam[1] + src[1];
    const nn = beam[2] + src[2];
    const det = ee * nn - en * en;
    // Local Jacobian from (east, north) arcsec to pixels, so rotation and scale follow the projection.
    const cosDec = Math.max(1e-6, Math.cos(s.dec * d2r));
    const [ex, ey] = wcs.skyToPixel(s.ra + eps / cosDec, s.dec);
    const [nx, ny] = wcs.skyToPixel(s.ra, s.dec + eps);
    const j11 = ex - px;
    const j21 = ey - py;
    const j12 = nx - px;
    const j22 = ny - py;
    // Σp = J Σ Jᵀ
    const sxx = j11 * j11 * ee + 2 * j11 * j12 * en + j12 * j12 * nn;
    const sxy = j11 * j21 * ee + (j11 * j22 + j12 * j21) * en + j12 * j22 * nn;
    const syy = j21 * j21 * ee + 2 * j21 * j22 * en + j22 * j22 * nn;
    const pdet = sxx * syy - sxy * sxy;
    if (!(pdet > 0)) continue;
    const r = Math.ceil(5 * Math.sqrt(Math.max(sxx, syy))) + 1;
    if (px < 1 - r || px > spec.nx + r || py < 1 - r || py > spec.ny + r) continue;
    stamps.push({
      x: px,
      y: py,
      a: syy / pdet,
      b: -sxy / pdet,
      c: sxx / pdet,
      r,
      peak: s.fluxJy * Math.sqrt(beamDet / det),
      spectralIndex: s.spectralIndex ?? DEFAULT_SPECTRAL_INDEX,
    });
  }
  stamps.sort((p, q) => p.y - p.r - (q.y - q.r));
  return stamps;
}

function unit(ra: number, dec: number): [number, number, number] {
  const a = (ra * Math.PI) / 180;
  const d = (dec * Math.PI) / 180;
  return [Math.cos(d) * Math.cos(a), Math.cos(d) * Math.sin(a), Math.sin(d)];
}

/** Adds `scale ×` each stamp into rows [row0, row0 + rows) (1-based row numbers) of a nx-wide block. */
function addStamps(
  block: Float32Array,
  nx: number,
  row0: number,
  rows: number,
  stamps: readonly Stamp[],
  scale: (s: Stamp) => number,
): void {
  const rowEnd = row0 + rows - 1;
  for (const s of stamps) {
    const y0 = Math.max(row0, Math.ceil(s.y - s.r));
    const y1 = Math.min(rowEnd, Math.floor(s.y + s.r));
    if (y0 > y1) continue;
    const x0 = Math.max(1, Math.ceil(s.x - s.r));
    const x1 = Math.min(nx, Math.floor(s.x + s.r));
    if (x0 > x1) continue;
    const peak = scale(s);
    for (let y = y0; y <= y1; y++) {
      const dy = y - s.y;
      const base = (y - row0) * nx - 1;
      for (let x = x0; x <= x1; x++) {
        const dx = x - s.x;
        const q = s.a * dx * dx + 2 * s.b * dx * dy + s.c * dy * dy;
        if (q < 50) block[base + x] += peak * Math.exp(-0.5 * q);
      }
    }
  }
}

const ROWS_PER_BLOCK = 128;

async function writeProduct(
  path: string,
  spec: DemoImageSpec,
  sources: readonly DemoSource[],
): Promise<void> {
  const cards = demoHeaderCards(spec);
  const wcs = Wcs.fromHeader(
    Object.fromEntries(cards.filter((c) => c.value !== undefined).map((c) => [c.keyword, c.value])),
  );
  const stamps = makeStamps(spec, wcs, sources);
  const refFreq = demoReferenceFrequencyHz(spec);
  const rng = new DemoRandom(spec.seed);
  const { nx, ny, nchan } = spec;
  await writeFitsFile(path, cards, async (hdu) => {
    const block = new Float32Array(nx * Math.min(ny, ROWS_PER_BLOCK));
    for (let ch = 0; ch < nchan; ch++) {
      const freq = spec.freqHz + ch * spec.chanWidthHz;
      const ratio = freq / refFreq;
      const scale = (s: Stamp) => s.peak * ratio ** s.spectralIndex;
      for (let row0 = 1; row0 <= ny; row0 += ROWS_PER_BLOCK) {
        const rows = Math.min(ROWS_PER_BLOCK, ny - row0 + 1);
        const view = rows * nx === block.length ? block : block.subarray(0, rows * nx);
        rng.fillGaussian(view, spec.noiseJy);
        addStamps(view, nx, row0, rows, stamps, scale);
        await hdu.write(view);
      }
    }
  });
}

/** Writes a continuum image (NAXIS3 = 1). The file appears atomically (written to `.partial`, then renamed). */
export async function writeDemoImage(
  path: string,
  spec: DemoImageSpec,
  sources: readonly DemoSource[],
): Promise<void> {
  if (spec.kind !== 'image' || spec.nchan !== 1) {
    throw new FitsError(
      'WRITE',
      `demo product ${spec.fileName}: writeDemoImage needs kind 'image' with nchan 1`,
    );
  }
  await writeProduct(path, spec, sources);
}

/** Writes a spectral cube; each channel's source peaks follow S ∝ ν^α. */
export async function writeDemoCube(
  path: string,
  spec: DemoImageSpec,
  sources: readonly DemoSource[],
): Promise<void> {
  if (spec.kind !== 'cube')
    throw new FitsError('WRITE', `demo product ${spec.fileName}: writeDemoCube needs kind 'cube'`);
  await writeProduct(path, spec, sources);
}

/** Half of the field's diagonal in degrees: every pixel lies within this radius of (raDeg, decDeg). */
export function demoFieldRadiusDeg(spec: Pick<DemoImageSpec, 'nx' | 'ny' | 'pixelArcsec'>): number {
  return (Math.hypot(spec.nx, spec.ny) / 2) * (spec.pixelArcsec / 3600);
}

// ---------------------------------------------------------------------------------------------
// The fixed demo plan

interface PlanRow {
  kind: 'image' | 'cube';
  telescope: 'SKA-Low' | 'SKA-Mid';
  object: string;
  ra: number;
  dec: number;
  freqMHz: number;
  widthMHz: number;
  pixelArcsec: number;
  beam: [number, number, number];
  noiseJy: number;
  dateObs: string;
  hours: number;
  restFreqHz?: number;
}

const HI_REST_HZ = 1.420405752e9;

const PLAN: readonly PlanRow[] = [
  // Continuum images, 2048², SKA-Low 50-350 MHz and SKA-Mid Band 2 (0.95-1.76 GHz).
  {
    kind: 'image',
    telescope: 'SKA-Low',
    object: 'EoR0 field',
    ra: 359.5,
    dec: -27.0,
    freqMHz: 150,
    widthMHz: 30,
    pixelArcsec: 6,
    beam: [24, 20, 35],
    noiseJy: 1.0e-3,
    dateObs: '2025-02-11T14:05:00',
    hours: 6,
  },
  {
    kind: 'image',
    telescope: 'SKA-Low',
    object: 'Fornax A field',
    ra: 50.67,
    dec: -37.21,
    freqMHz: 110,
    widthMHz: 30,
    pixelArcsec: 8,
    beam: [32, 28, -20],
    noiseJy: 1.5e-3,
    dateObs: '2025-05-03T09:30:00',
    hours: 4,
  },
  {
    kind: 'image',
    telescope: 'SKA-Low',
    object: 'Hydra A field',
    ra: 139.52,
    dec: -12.1,
    freqMHz: 200,
    widthMHz: 30,
    pixelArcsec: 5,
    beam: [18, 16, 70],
    noiseJy: 0.8e-3,
    dateObs: '2025-09-21T20:00:00',
    hours: 5,
  },
  {
    kind: 'image',
    telescope: 'SKA-Low',
    object: 'Deep south field',
    ra: 300.0,
    dec: -72.0,
    freqMHz: 300,
    widthMHz: 30,
    pixelArcsec: 4,
    beam: [14, 12, 10],
    noiseJy: 0.6e-3,
    dateObs: '2026-01-15T03:10:00',
    hours: 8,
  },
  {
    kind: 'image',
    telescope: 'SKA-Mid',
    object: 'Orion region',
    ra: 83.82,
    dec: -5.39,
    freqMHz: 1355,
    widthMHz: 800,
    pixelArcsec: 1.5,
    beam: [6, 5, 15],
    noiseJy: 20e-6,
    dateObs: '2025-12-02T22:45:00',
    hours: 3,
  },
  {
    kind: 'image',
    telescope: 'SKA-Mid',
    object: 'Centaurus A',
    ra: 201.365,
    dec: -43.019,
    freqMHz: 1300,
    widthMHz: 500,
    pixelArcsec: 2,
    beam: [8, 7, -40],
    noiseJy: 25e-6,
    dateObs: '2026-03-08T01:20:00',
    hours: 6,
  },
  {
    kind: 'image',
    telescope: 'SKA-Mid',
    object: 'Galactic centre',
    ra: 266.417,
    dec: -29.008,
    freqMHz: 1600,
    widthMHz: 300,
    pixelArcsec: 1.2,
    beam: [5, 4, 80],
    noiseJy: 30e-6,
    dateObs: '2026-06-19T18:00:00',
    hours: 4,
  },
  {
    kind: 'image',
    telescope: 'SKA-Mid',
    object: 'SMC wing',
    ra: 20.5,
    dec: -73.2,
    freqMHz: 1000,
    widthMHz: 100,
    pixelArcsec: 2.5,
    beam: [10, 9, 0],
    noiseJy: 40e-6,
    dateObs: '2026-10-27T11:15:00',
    hours: 5,
  },
  // Spectral cubes, 512² × 128.
  {
    kind: 'cube',
    telescope: 'SKA-Mid',
    object: 'NGC 1068 HI',
    ra: 40.67,
    dec: -0.013,
    freqMHz: 1407.5,
    widthMHz: 0.1,
    pixelArcsec: 3,
    beam: [12, 10, 25],
    noiseJy: 0.4e-3,
    dateObs: '2025-07-14T05:40:00',
    hours: 8,
    restFreqHz: HI_REST_HZ,
  },
  {
    kind: 'cube',
    telescope: 'SKA-Low',
    object: 'Puppis spectral field',
    ra: 120.0,
    dec: -60.0,
    freqMHz: 140,
    widthMHz: 0.25,
    pixelArcsec: 10,
    beam: [40, 36, -10],
    noiseJy: 2.0e-3,
    dateObs: '2026-08-30T16:25:00',
    hours: 6,
  },
];

/**
 * The demo set: 8 continuum images (2048 × 2048) and 2 cubes (512 × 512 × 128), centres within
 * Dec −80..+10 (one straddling RA 0/360), dates across 2025-2026. `seed` only changes the noise.
 */
export function demoProductPlan(seed: number): DemoImageSpec[] {
  let imageNo = 0;
  let cubeNo = 0;
  return PLAN.map((row, i) => {
    const isCube = row.kind === 'cube';
    const n = isCube ? ++cubeNo : ++imageNo;
    const tel = row.telescope === 'SKA-Low' ? 'low' : 'mid';
    const obsId = `${tel}-${row.dateObs.slice(0, 10).replace(/-/g, '')}-${String(i + 1).padStart(3, '0')}`;
    const duration = row.hours * 3600;
    const spec: DemoImageSpec = {
      fileName: `${isCube ? 'cube' : 'image'}-${String(n).padStart(2, '0')}-${tel}.fits`,
      kind: row.kind,
      obsId,
      object: row.object,
      telescope: row.telescope,
      instrument:
        row.telescope === 'SKA-Low' ? 'SKA-Low LFAA' : isCube ? 'SKA-Mid Band 2 zoom' : 'SKA-Mid Band 2',
      raDeg: row.ra,
      decDeg: row.dec,
      nx: isCube ? 512 : 2048,
      ny: isCube ? 512 : 2048,
      pixelArcsec: row.pixelArcsec,
      projection: 'SIN',
      nchan: isCube ? 128 : 1,
      freqHz: row.freqMHz * 1e6,
      chanWidthHz: row.widthMHz * 1e6,
      specsys: isCube ? 'LSRK' : 'TOPOCENT',
      beamMajArcsec: row.beam[0],
      beamMinArcsec: row.beam[1],
      beamPaDeg: row.beam[2],
      noiseJy: row.noiseJy,
      dateObs: row.dateObs,
      durationS: duration,
      exposureS: Math.round(duration * 0.9),
      proposalId: `SKA-DEMO-${row.dateObs.slice(0, 4)}-${String(i + 1).padStart(2, '0')}`,
      seed: (Math.imul(seed | 0, 2654435761) + i * 7919) >>> 0,
    };
    if (row.restFreqHz) spec.restFreqHz = row.restFreqHz;
    return spec;
  });
}
