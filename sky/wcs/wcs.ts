import {
  celestialToNative,
  nativeToCelestial,
  type PoleSolution,
  solvePole,
  WcsSetupError,
} from './celestial.js';
import {
  type CelestialFrame,
  fk4Frame,
  fk5Frame,
  frameToIcrs,
  GALACTIC,
  ICRS,
  icrsToFrame,
} from './frames.js';
import { makeProjection, type Projection } from './projection.js';
import {
  SPECTRAL_SI_UNIT,
  SPECTRAL_TYPES,
  type SpectralReference,
  type SpectralType,
  spectralUnitScale,
  toFrequencyHz,
  toWavelengthM,
} from './spectral.js';

/** Anything that can look up a header keyword: a Map, a FITS header object with get(), or a plain record. */
export type WcsKeywords = { get(keyword: string): unknown } | Readonly<Record<string, unknown>>;

/** A header whose WCS cannot be built or used, with the reason. */
export class WcsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WcsError';
  }
}

export interface CelestialAxes {
  /** 0-based indices of the longitude and latitude axes. */
  lng: number;
  lat: number;
  /** 'RA', 'GLON', 'ELON'... (the first 4 characters of CTYPE with dashes removed). */
  lngType: string;
  latType: string;
  projection: Projection;
  pole: PoleSolution;
}

export interface SpectralAxis extends SpectralReference {
  /** 0-based axis index. */
  axis: number;
  type: SpectralType;
  /** SI unit the world values are given in. */
  unit: string;
  specsys?: string;
}

export interface WcsOptions {
  /** Alternate WCS letter A-Z (FITS-41); default the primary description. */
  alt?: string;
}

/** Stokes parameter codes (FITS-46). */
export const STOKES_CODES: Readonly<Record<number, string>> = {
  1: 'I',
  2: 'Q',
  3: 'U',
  4: 'V',
  [-1]: 'RR',
  [-2]: 'LL',
  [-3]: 'RL',
  [-4]: 'LR',
  [-5]: 'XX',
  [-6]: 'YY',
  [-7]: 'XY',
  [-8]: 'YX',
};

function lookup(source: WcsKeywords): (k: string) => unknown {
  if (typeof (source as { get?: unknown }).get === 'function') {
    const g = source as { get(k: string): unknown };
    return (k) => g.get(k);
  }
  const rec = source as Readonly<Record<string, unknown>>;
  return (k) => rec[k];
}

function invert(m: number[], n: number): number[] {
  const a = m.slice();
  const inv: number[] = Array.from({ length: n * n }, (_, i) => (Math.floor(i / n) === i % n ? 1 : 0));
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[p * n + c])) p = r;
    if (a[p * n + c] === 0)
      throw new WcsError('the linear transformation matrix (PC/CD × CDELT) is singular');
    if (p !== c) {
      for (let k = 0; k < n; k++) {
        [a[c * n + k], a[p * n + k]] = [a[p * n + k], a[c * n + k]];
        [inv[c * n + k], inv[p * n + k]] = [inv[p * n + k], inv[c * n + k]];
      }
    }
    const d = a[c * n + c];
    for (let k = 0; k < n; k++) {
      a[c * n + k] /= d;
      inv[c * n + k] /= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r * n + c];
      if (f === 0) continue;
      for (let k = 0; k < n; k++) {
        a[r * n + k] -= f * a[c * n + k];
        inv[r * n + k] -= f * inv[c * n + k];
      }
    }
  }
  return inv;
}

/**
 * A FITS world coordinate system (WCS Papers I-III) for the linear pipeline plus the SIN, TAN,
 * ARC and CAR celestial projections, linear spectral axes and a Stokes axis (FITS-40..FITS-55).
 *
 * Pixel convention: `pixelToWorld`/`worldToPixel` use FITS 1-based pixel coordinates (the centre of
 * the first pixel is 1.0, FITS-27), like astropy's `all_pix2world(..., 1)`; the `...0` variants use
 * 0-based coordinates like numpy indices. World values are degrees for celestial axes and SI units
 * (Hz, m, m/s) for spectral axes, as astropy.wcs reports them.
 */
export class Wcs {
  readonly naxis: number;
  readonly ctype: string[];
  readonly cunit: string[];
  readonly crpix: number[];
  readonly crval: number[];
  readonly cdelt: number[];
  /** The full linear matrix M = diag(CDELT)·PC (or CD), row-major naxis × naxis (FITS-50). */
  readonly matrix: number[];
  readonly celestial?: CelestialAxes;
  readonly spectral?: SpectralAxis;
  /** 0-based index of the STOKES axis. */
  readonly stokesAxis?: number;
  /** NAXISn when the keywords were present. */
  readonly axisLengths: number[];
  /** RADESYS as given or defaulted per FITS-43. */
  readonly radesys?: string;
  readonly equinox?: number;
  /**
   * The celestial frame the header's coordinates are in, with its rotation onto ICRS; undefined
   * when it is not one vonode converts (then `frameProblem` says why, naming the keyword).
   */
  readonly frame?: CelestialFrame;
  readonly frameProblem?: string;
  private readonly inverse: number[];

  private constructor(init: {
    naxis: number;
    ctype: string[];
    cunit: string[];
    crpix: number[];
    crval: number[];
    cdelt: number[];
    matrix: number[];
    celestial?: CelestialAxes;
    spectral?: SpectralAxis;
    stokesAxis?: number;
    axisLengths: number[];
    radesys?: string;
    equinox?: number;
    frame?: CelestialFrame;
    frameProblem?: string;
  }) {
    this.naxis = init.naxis;
    this.ctype = init.ctype;
    this.cunit = init.cunit;
    this.crpix = init.crpix;
    this.crval = init.crval;
    this.cdelt = init.cdelt;
    this.matrix = init.matrix;
    this.celestial = init.celestial;
    this.spectral = init.spectral;
    this.stokesAxis = init.stokesAxis;
    this.axisLengths = init.axisLengths;
    this.radesys = init.radesys;
    this.equinox = init.equinox;
    this.frame = init.frame;
    this.frameProblem = init.frameProblem;
    this.inverse = invert(init.matrix, init.naxis);
  }

  static fromHeader(header: WcsKeywords, options: WcsOptions = {}): Wcs {
    const get = lookup(header);
    const alt = (options.alt ?? '').trim().toUpperCase();
    if (alt !== '' && !/^[A-Z]$/.test(alt))
      throw new WcsError(`alternate WCS letter must be A-Z, got ${options.alt}`);
    const num = (k: string): number | undefined => {
      const v = get(k);
      if (v === undefined || v === null) return undefined;
      if (typeof v === 'bigint') return Number(v);
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new WcsError(`keyword ${k} should be a number, got ${String(v)}`);
      return v;
    };
    const str = (k: string): string | undefined => {
      const v = get(k);
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'string') throw new WcsError(`keyword ${k} should be a string, got ${String(v)}`);
      return v.trim();
    };
    const naxisKw = num('NAXIS') ?? 0;
    const naxis = num(`WCSAXES${alt}`) ?? naxisKw;
    if (!Number.isInteger(naxis) || naxis < 1 || naxis > 99)
      throw new WcsError(`cannot build a WCS with ${naxis} axes`);
    const axisLengths: number[] = [];
    for (let i = 1; i <= naxisKw; i++) axisLengths.push(num(`NAXIS${i}`) ?? 0);
    const ctype: string[] = [];
    const cunit: string[] = [];
    const crpix: number[] = [];
    const crval: number[] = [];
    const cdelt: number[] = [];
    for (let i = 1; i <= naxis; i++) {
      ctype.push((str(`CTYPE${i}${alt}`) ?? '').toUpperCase());
      cunit.push(str(`CUNIT${i}${alt}`) ?? '');
      crpix.push(num(`CRPIX${i}${alt}`) ?? 0);
      crval.push(num(`CRVAL${i}${alt}`) ?? 0);
      cdelt.push(num(`CDELT${i}${alt}`) ?? 1);
    }

    // Linear part (FITS-40): PC wins over CD (as in WCSLIB), CD over CROTA2.
    const pcKey = (i: number, j: number): number | undefined =>
      num(`PC${i}_${j}${alt}`) ??
      (alt === ''
        ? (num(`PC${String(i).padStart(3, '0')}${String(j).padStart(3, '0')}`) ?? num(`PC0${i}_0${j}`))
        : undefined);
    let hasPc = false;
    let hasCd = false;
    for (let i = 1; i <= naxis && !hasPc; i++)
      for (let j = 1; j <= naxis; j++) if (pcKey(i, j) !== undefined) hasPc = true;
    for (let i = 1; i <= naxis && !hasCd; i++)
      for (let j = 1; j <= naxis; j++) if (num(`CD${i}_${j}${alt}`) !== undefined) hasCd = true;
    const matrix = new Array<number>(naxis * naxis).fill(0);
    if (hasPc || !hasCd) {
      for (let i = 0; i < naxis; i++) {
        for (let j = 0; j < naxis; j++) {
          const pc = pcKey(i + 1, j + 1) ?? (i === j ? 1 : 0);
          matrix[i * naxis + j] = cdelt[i] * pc;
        }
      }
    } else {
      for (let i = 0; i < naxis; i++)
        for (let j = 0; j < naxis; j++) matrix[i * naxis + j] = num(`CD${i + 1}_${j + 1}${alt}`) ?? 0;
      // WCSLIB cdfix (astropy applies it): an axis with no CD entries at all gets unit scale.
      for (let i = 0; i < naxis; i++) {
        let empty = true;
        for (let k = 0; k < naxis; k++)
          if (matrix[i * naxis + k] !== 0 || matrix[k * naxis + i] !== 0) empty = false;
        if (empty) matrix[i * naxis + i] = 1;
      }
      cdelt.fill(1);
    }

    // Celestial axes (FITS-42).
    let lng = -1;
    let lat = -1;
    let projCode = '';
    ctype.forEach((t, i) => {
      const m = /^(RA|DEC|GLON|GLAT|ELON|ELAT|SLON|SLAT|HPLN|HPLT|[A-Z]LON|[A-Z]LAT)-*-([A-Z]{3})$/.exec(t);
      if (!m || t.length !== 8) return;
      const base = m[1];
      const isLat = base === 'DEC' || base.endsWith('LAT') || base === 'HPLT';
      if (isLat) lat = i;
      else lng = i;
      if (projCode && projCode !== m[2])
        throw new WcsError(`celestial axes disagree on projection: ${projCode} vs ${m[2]}`);
      projCode = m[2];
    });
    let celestial: CelestialAxes | undefined;
    if (lng >= 0 || lat >= 0) {
      if (lng < 0 || lat < 0)
        throw new WcsError(`only one celestial axis found in CTYPE ${JSON.stringify(ctype)}`);
      const pv = new Map<number, number>();
      for (let m = 0; m < 3; m++) {
        const v = num(`PV${lat + 1}_${m}${alt}`);
        if (v !== undefined) pv.set(m, v);
      }
      const projection = makeProjection(projCode, pv);
      if (!projection) throw new WcsError(`projection ${projCode} is not supported (SIN, TAN, ARC, CAR are)`);
      for (const i of [lng, lat]) {
        const u = cunit[i];
        if (u !== '' && u.toLowerCase() !== 'deg')
          throw new WcsError(`celestial axis ${i + 1} unit ${u} is not deg`);
      }
      const lonpole = num(`LONPOLE${alt}`) ?? num(`PV${lng + 1}_3${alt}`);
      const latpole = num(`LATPOLE${alt}`) ?? num(`PV${lng + 1}_4${alt}`);
      let pole: PoleSolution;
      try {
        pole = solvePole(crval[lng], crval[lat], projection.phi0, projection.theta0, lonpole, latpole);
      } catch (err) {
        if (err instanceof WcsSetupError) throw new WcsError(err.message);
        throw err;
      }
      // Legacy CROTA (on the latitude axis) when neither PC nor CD is given (FITS-40).
      const crota = num(`CROTA${lat + 1}`);
      if (!hasPc && !hasCd && crota !== undefined && crota !== 0) {
        const r = (crota * Math.PI) / 180;
        const [c, sn] = [Math.cos(r), Math.sin(r)];
        matrix[lng * naxis + lng] = cdelt[lng] * c;
        matrix[lng * naxis + lat] = cdelt[lng] * -sn * (cdelt[lat] / cdelt[lng]);
        matrix[lat * naxis + lng] = cdelt[lat] * sn * (cdelt[lng] / cdelt[lat]);
        matrix[lat * naxis + lat] = cdelt[lat] * c;
      }
      const strip = (t: string) => t.slice(0, 4).replace(/-+$/, '');
      celestial = { lng, lat, lngType: strip(ctype[lng]), latType: strip(ctype[lat]), projection, pole };
    }

    // Spectral axis (FITS-45): types linear in their own CTYPE; SI units on output like WCSLIB.
    let spectral: SpectralAxis | undefined;
    let stokesAxis: number | undefined;
    for (let i = 0; i < naxis; i++) {
      const t = ctype[i];
      if (t === 'STOKES') {
        stokesAxis = i;
        continue;
      }
      const base = t.slice(0, 4);
      if (spectral || !SPECTRAL_TYPES.has(base)) continue;
      const algo = t.slice(4).replace(/^-+/, '');
      // Non-linear algorithm codes (F2W, V2F, LOG, TAB...) need transforms not implemented here.
      if (
        t.length > 4 &&
        !/^-{1,4}$/.test(t.slice(4)) &&
        !/^-(LSR|HEL|OBS|LSRK|LSRD|BARY|GEO|TOPO)$/.test(t.slice(4))
      ) {
        throw new WcsError(
          `spectral algorithm ${algo} of ${t} is not supported (only linear spectral axes are)`,
        );
      }
      const type = base as SpectralType;
      const scale = spectralUnitScale(type, cunit[i]);
      if (scale === undefined) throw new WcsError(`unit ${cunit[i]} is not understood for a ${type} axis`);
      crval[i] *= scale;
      cdelt[i] *= scale;
      for (let j = 0; j < naxis; j++) matrix[i * naxis + j] *= scale;
      cunit[i] = SPECTRAL_SI_UNIT[type];
      const restFrequencyHz = num(`RESTFRQ${alt}`) ?? num('RESTFREQ');
      const restWavelengthM = num(`RESTWAV${alt}`);
      spectral = { axis: i, type, unit: SPECTRAL_SI_UNIT[type] };
      if (restFrequencyHz) spectral.restFrequencyHz = restFrequencyHz;
      if (restWavelengthM) spectral.restWavelengthM = restWavelengthM;
      const specsys = str(`SPECSYS${alt}`);
      if (specsys) spectral.specsys = specsys;
    }

    // Celestial frame (FITS-43).
    const equinoxKw = num(`EQUINOX${alt}`) ?? num('EPOCH');
    let radesys = str(`RADESYS${alt}`) ?? str('RADECSYS');
    if (!radesys && celestial && celestial.lngType === 'RA') {
      radesys = equinoxKw === undefined ? 'ICRS' : equinoxKw >= 1984 ? 'FK5' : 'FK4';
    }
    const equinox = equinoxKw ?? (radesys === 'FK5' ? 2000 : radesys?.startsWith('FK4') ? 1950 : undefined);
    const { frame, problem: frameProblem } = celestial
      ? celestialFrame(celestial, radesys, equinox, num(`MJD-OBS`) ?? mjdOfIso(str('DATE-OBS')), alt)
      : { frame: undefined, problem: undefined };
    return new Wcs({
      naxis,
      ctype,
      cunit,
      crpix,
      crval,
      cdelt,
      matrix,
      celestial,
      spectral,
      stokesAxis,
      axisLengths,
      radesys,
      equinox,
      frame,
      frameProblem,
    });
  }

  /** 1-based pixel coordinates → world coordinates (FITS-50..52). NaN where undefined. */
  pixelToWorld(pixel: readonly number[]): number[] {
    const n = this.naxis;
    if (pixel.length !== n) throw new WcsError(`expected ${n} pixel coordinates, got ${pixel.length}`);
    const x = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += this.matrix[i * n + j] * (pixel[j] - this.crpix[j]);
      x[i] = s;
    }
    const world = x.map((v, i) => v + this.crval[i]);
    const cel = this.celestial;
    if (cel) {
      const [phi, theta] = cel.projection.x2s(x[cel.lng], x[cel.lat]);
      if (Number.isNaN(phi) || Number.isNaN(theta)) {
        world[cel.lng] = Number.NaN;
        world[cel.lat] = Number.NaN;
      } else {
        const [a, d] = nativeToCelestial(phi, theta, cel.pole);
        world[cel.lng] = a;
        world[cel.lat] = d;
      }
    }
    return world;
  }

  /** World coordinates → 1-based pixel coordinates (FITS-54). NaN where the projection is undefined. */
  worldToPixel(world: readonly number[]): number[] {
    const n = this.naxis;
    if (world.length !== n) throw new WcsError(`expected ${n} world coordinates, got ${world.length}`);
    const x = world.map((v, i) => v - this.crval[i]);
    const cel = this.celestial;
    if (cel) {
      const [phi, theta] = celestialToNative(world[cel.lng], world[cel.lat], cel.pole);
      let [px, py] = cel.projection.s2x(phi, theta);
      if (cel.projection.code === 'CAR') {
        // Cylindrical: choose the native longitude branch nearest the reference point (x = 0).
        px = px - 360 * Math.round(px / 360);
      }
      x[cel.lng] = px;
      x[cel.lat] = py;
    }
    const pixel = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += this.inverse[i * n + j] * x[j];
      pixel[i] = s + this.crpix[i];
    }
    return pixel;
  }

  /** 0-based pixel (numpy index order reversed: axis 1 first) → world. */
  pixelToWorld0(pixel: readonly number[]): number[] {
    return this.pixelToWorld(pixel.map((p) => p + 1));
  }

  worldToPixel0(world: readonly number[]): number[] {
    return this.worldToPixel(world).map((p) => p - 1);
  }

  /**
   * ICRS (RA, Dec) of a 1-based pixel on the celestial axes, the other axes at their reference
   * pixel: Galactic, FK4 and FK5 coordinates are rotated to ICRS (frames.ts). Throws when the WCS
   * has no celestial axes or its frame is not one vonode converts. NaN outside the projection.
   */
  pixelToSky(x: number, y: number): [number, number] {
    const cel = this.requireCelestial();
    const frame = this.requireFrame();
    const p = this.crpix.slice();
    p[cel.lng] = x;
    p[cel.lat] = y;
    const w = this.pixelToWorld(p);
    const lon = w[cel.lng];
    const lat = w[cel.lat];
    if (frame === ICRS || !Number.isFinite(lon) || !Number.isFinite(lat)) return [lon, lat];
    return frameToIcrs(frame, lon, lat);
  }

  /**
   * 1-based pixel (x, y) on the celestial axes of an ICRS position (converted to the image's own
   * frame first), the other axes at their reference value.
   */
  skyToPixel(ra: number, dec: number): [number, number] {
    const cel = this.requireCelestial();
    const frame = this.requireFrame();
    const w = this.crval.slice();
    const [lon, lat] = frame === ICRS ? [ra, dec] : icrsToFrame(frame, ra, dec);
    w[cel.lng] = lon;
    w[cel.lat] = lat;
    const p = this.worldToPixel(w);
    return [p[cel.lng], p[cel.lat]];
  }

  /** World value of a 1-based pixel on the spectral axis (SI units). */
  spectralValue(pixel: number): number {
    const s = this.requireSpectral();
    const p = this.crpix.slice();
    p[s.axis] = pixel;
    return this.pixelToWorld(p)[s.axis];
  }

  /** Frequency in Hz of a spectral world value; undefined when it needs RESTFRQ/RESTWAV that is absent. */
  frequencyHz(value: number): number | undefined {
    const s = this.requireSpectral();
    return toFrequencyHz(s.type, value, s);
  }

  /** Vacuum wavelength in metres of a spectral world value (OBS-77). */
  wavelengthM(value: number): number | undefined {
    const s = this.requireSpectral();
    return toWavelengthM(s.type, value, s);
  }

  /** Stokes label of a 1-based pixel on the STOKES axis (FITS-46); undefined for an unknown code. */
  stokesLabel(pixel: number): string | undefined {
    if (this.stokesAxis === undefined) throw new WcsError('this WCS has no STOKES axis');
    const p = this.crpix.slice();
    p[this.stokesAxis] = pixel;
    return STOKES_CODES[Math.round(this.pixelToWorld(p)[this.stokesAxis])];
  }

  /**
   * Determinant of the celestial 2×2 part of the linear matrix: negative for the usual east-left
   * sky image (FITS-70).
   */
  celestialDeterminant(): number {
    const cel = this.requireCelestial();
    const n = this.naxis;
    const m = (i: number, j: number) => this.matrix[i * n + j];
    return m(cel.lng, cel.lng) * m(cel.lat, cel.lat) - m(cel.lng, cel.lat) * m(cel.lat, cel.lng);
  }

  private requireCelestial(): CelestialAxes {
    if (!this.celestial) throw new WcsError('this WCS has no celestial axes');
    return this.celestial;
  }

  private requireFrame(): CelestialFrame {
    if (!this.frame) throw new WcsError(this.frameProblem ?? 'the celestial frame is not known');
    return this.frame;
  }

  private requireSpectral(): SpectralAxis {
    if (!this.spectral) throw new WcsError('this WCS has no spectral axis');
    return this.spectral;
  }
}

function mjdOfIso(iso: string | undefined): number | undefined {
  if (!iso) return undefined;
  const text = /[zZ]|[+-]\d\d:\d\d$/.test(iso) ? iso : `${iso.length === 10 ? `${iso}T00:00:00` : iso}Z`;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms / 86_400_000 + 40587;
}

/**
 * The frame of the celestial axes (FITS-43): CTYPE GLON/GLAT is Galactic whatever RADESYS says;
 * RA/DEC take RADESYS (ICRS, FK5 at any equinox, FK4 and FK4-NO-E at B1950 with the epoch of
 * DATE-OBS/MJD-OBS). Anything else is named in the problem instead.
 */
function celestialFrame(
  cel: CelestialAxes,
  radesys: string | undefined,
  equinox: number | undefined,
  mjdObs: number | undefined,
  alt: string,
): { frame?: CelestialFrame; problem?: string } {
  if (cel.lngType === 'GLON' && cel.latType === 'GLAT') return { frame: GALACTIC };
  if (cel.lngType !== 'RA' || cel.latType !== 'DEC') {
    return {
      problem: `celestial axes CTYPE ${cel.lngType}/${cel.latType} are not supported (RA/DEC in ICRS, FK5 or FK4, and GLON/GLAT are)`,
    };
  }
  const sys = (radesys ?? 'ICRS').toUpperCase();
  if (sys === 'ICRS') return { frame: ICRS };
  if (sys === 'FK5') return { frame: fk5Frame(equinox ?? 2000) };
  if (sys === 'FK4' || sys === 'FK4-NO-E') {
    if (equinox !== 1950) {
      return {
        problem: `EQUINOX${alt} ${equinox} with RADESYS${alt} ${sys} is not supported (only B1950.0 is)`,
      };
    }
    // Besselian epoch of the observation; B1950 when the header gives no date.
    const epoch = mjdObs === undefined ? 1950 : 1900 + (mjdObs + 2400000.5 - 2415020.31352) / 365.242198781;
    const frame = fk4Frame(epoch);
    if (sys === 'FK4-NO-E') return { frame: { ...frame, name: 'FK4-NO-E', eTerms: undefined } };
    return { frame };
  }
  return { problem: `RADESYS${alt} ${sys} is not supported (ICRS, FK5, FK4 and FK4-NO-E are)` };
}

/**
 * Header keyword values for a cutout starting at 1-based pixel `start[i]` on each axis: CRPIX shifted
 * by start − 1, everything else unchanged (FITS-61). Covers the primary and any alternate WCS.
 */
export function shiftedCrpix(
  header: WcsKeywords,
  start: readonly number[],
  alts: readonly string[] = [''],
): Record<string, number> {
  const get = lookup(header);
  const out: Record<string, number> = {};
  for (const alt of alts) {
    start.forEach((s, i) => {
      const key = `CRPIX${i + 1}${alt}`;
      const v = get(key);
      const crpix = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0;
      out[key] = crpix - (s - 1);
    });
  }
  return out;
}
