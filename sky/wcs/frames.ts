/**
 * Rotations between the celestial reference frames a FITS header may use (FITS-43: RADESYS,
 * EQUINOX; Galactic coordinates from CTYPE GLON/GLAT) and ICRS, which ObsCore, SIA and SODA
 * speak. Every frame is reduced to a 3×3 rotation onto ICRS, plus for FK4 the elliptic terms
 * of aberration. What is ignored, and how much it can cost, is said at each step; the sum stays
 * well under 0.1″ for fixed sources, except for FK4 at an epoch far from B1950 without
 * DATE-OBS/MJD-OBS in the header (see fk4Matrix).
 *
 * Sources: FK5 − ICRS offsets (USNO Circular 179); IAU 1976 precession (Lieske et al. 1977, A&A 58, 1); FK4 B1950 → FK5 J2000 by the matrix of
 * Standish (1982, A&A 115, 20) with its time-dependent part (Aoki et al. 1983, A&A 128, 263) and
 * the E-terms of Explanatory Supplement (1992) §3.59; Galactic system of the IAU 1958 definition
 * (Blaauw et al. 1960, MNRAS 121, 123) carried to FK5 J2000 as in the Hipparcos catalogue,
 * ESA SP-1200 vol. 1 §1.5.3 (north Galactic pole α = 192.85948°, δ = 27.12825°, longitude
 * of the north celestial pole l = 122.93192°), which astropy uses too.
 */

export type Matrix3 = readonly [number, number, number, number, number, number, number, number, number];
type Vec3 = [number, number, number];

const D2R = Math.PI / 180;
const R2D = 180 / Math.PI;
const AS2R = D2R / 3600;

/** A celestial frame with its rotation onto ICRS. */
export interface CelestialFrame {
  /** 'ICRS', 'FK5', 'FK4' or 'GALACTIC'. */
  name: string;
  /** Equinox of FK4/FK5 (Besselian for FK4, Julian for FK5). */
  equinox?: number;
  /** Frame → ICRS direction cosines (row-major; applied as ICRS = M · frame). */
  toIcrs: Matrix3;
  /** FK4 only: the E-terms of aberration at the frame's equinox (radians). */
  eTerms?: Vec3;
}

/** Rotation about axis x, y or z by angle a (radians), rotating the frame (as ERFA's Rx/Ry/Rz). */
function rot(axis: 0 | 1 | 2, a: number): Matrix3 {
  const c = Math.cos(a);
  const s = Math.sin(a);
  if (axis === 0) return [1, 0, 0, 0, c, s, 0, -s, c];
  if (axis === 1) return [c, 0, -s, 0, 1, 0, s, 0, c];
  return [c, s, 0, -s, c, 0, 0, 0, 1];
}

export function multiply(a: Matrix3, b: Matrix3): Matrix3 {
  const out = new Array<number>(9);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++)
      out[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
  return out as unknown as Matrix3;
}

export function transpose(a: Matrix3): Matrix3 {
  return [a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]];
}

function apply(m: Matrix3, v: Vec3): Vec3 {
  return [
    m[0] * v[0] + m[1] * v[1] + m[2] * v[2],
    m[3] * v[0] + m[4] * v[1] + m[5] * v[2],
    m[6] * v[0] + m[7] * v[1] + m[8] * v[2],
  ];
}

export function toVector(lon: number, lat: number): Vec3 {
  const cl = Math.cos(lat * D2R);
  return [cl * Math.cos(lon * D2R), cl * Math.sin(lon * D2R), Math.sin(lat * D2R)];
}

export function fromVector(v: Vec3): [number, number] {
  let lon = Math.atan2(v[1], v[0]) * R2D;
  if (lon < 0) lon += 360;
  if (lon >= 360) lon -= 360;
  return [lon, Math.atan2(v[2], Math.hypot(v[0], v[1])) * R2D];
}

/**
 * ICRS → FK5 J2000: the offsets of the FK5 frame from ICRS found by the Hipparcos comparison
 * (Mignard & Froeschlé 2000; USNO Circular 179, Kaplan 2005, eq. 3.24): ξ0 = 9.1 mas,
 * η0 = −19.9 mas, dα0 = −22.9 mas. FK5's residual spin (≈ 0.25 mas/yr) is ignored: < 10 mas
 * over any FITS epoch.
 */
const ICRS_TO_J2000: Matrix3 = (() => {
  const xi0 = 0.0091 * AS2R;
  const eta0 = -0.0199 * AS2R;
  const da0 = -0.0229 * AS2R;
  return multiply(rot(0, -eta0), multiply(rot(1, xi0), rot(2, da0)));
})();

/** IAU 1976 precession from Julian epoch `from` to Julian epoch `to` (Lieske et al. 1977 eq. 6). */
export function precessionFk5(from: number, to: number): Matrix3 {
  const T = (from - 2000) / 100;
  const t = (to - from) / 100;
  const w = 2306.2181 + (1.39656 - 0.000139 * T) * T;
  const zeta = (w + (0.30188 - 0.000344 * T + 0.017998 * t) * t) * t * AS2R;
  const z = (w + (1.09468 + 0.000066 * T + 0.018203 * t) * t) * t * AS2R;
  const theta =
    (2004.3109 + (-0.8533 - 0.000217 * T) * T + (-0.42665 - 0.000217 * T - 0.041833 * t) * t) * t * AS2R;
  return multiply(rot(2, -z), multiply(rot(1, theta), rot(2, -zeta)));
}

/** FK5 at Julian equinox `equinox` → ICRS. */
function fk5ToIcrs(equinox: number): Matrix3 {
  return multiply(transpose(ICRS_TO_J2000), precessionFk5(equinox, 2000));
}

/**
 * FK4 B1950 (E-terms removed) → FK5 J2000 for a source with no proper motion observed at Besselian
 * epoch `epoch`: the position part of Standish's 6×6 matrix, plus its time-dependent column
 * (the FK4 equinox drift and the fictitious rotation of FK4, ~0.44″ per century from B1950).
 * Without an epoch B1950 is assumed, as astropy does for FK4 without obstime.
 */
function fk4Matrix(epoch: number): Matrix3 {
  const m: number[] = [
    0.9999256794956877, -0.0111814832204662, -0.0048590038153592, 0.0111814832391717, 0.9999374848933135,
    -0.0000271625947142, 0.0048590037723143, -0.000027170293744, 0.9999881946023742,
  ];
  // Time part (Standish 1982, the ṙ → r block), per Julian century from B1950.
  const dm = [
    -0.0026455262, -1.1539918689, 2.111134619, 1.1540628161, -0.0129042997, 0.0236021478, -2.1112979048,
    -0.0056024448, 0.0102587734,
  ];
  const T = (besselianToJulian(epoch) - 1950) / 100;
  return m.map((v, i) => v + dm[i] * 1e-6 * T) as unknown as Matrix3;
}

/** Julian year of a Besselian epoch (both through the Julian date). */
function besselianToJulian(b: number): number {
  const jd = 2415020.31352 + (b - 1900) * 365.242198781;
  return 2000 + (jd - 2451545) / 365.25;
}

/**
 * The E-terms of aberration of FK4 at B1950 (Explanatory Supplement 1992 eq. 3.591-2):
 * A = (−1.62557, −0.31919, −0.13843) × 10⁻⁶ rad, up to 0.343″ on the sky.
 */
const E_TERMS_B1950: Vec3 = [-1.62557e-6, -0.31919e-6, -0.13843e-6];

/** Galactic → FK5 J2000 (ESA SP-1200 vol. 1 eq. 1.5.11 with the pole and origin above). */
const GALACTIC_TO_FK5: Matrix3 = (() => {
  const ra = 192.85948 * D2R;
  const dec = 27.12825 * D2R;
  const lNcp = 122.93192 * D2R;
  // FK5 → Galactic = Rz(180° − l_NCP) · Ry(90° − δ_NGP) · Rz(α_NGP).
  const toGal = multiply(rot(2, Math.PI - lNcp), multiply(rot(1, Math.PI / 2 - dec), rot(2, ra)));
  return transpose(toGal);
})();

export const ICRS: CelestialFrame = { name: 'ICRS', toIcrs: [1, 0, 0, 0, 1, 0, 0, 0, 1] };

export function fk5Frame(equinox: number): CelestialFrame {
  return { name: 'FK5', equinox, toIcrs: fk5ToIcrs(equinox) };
}

/** FK4 at equinox B1950 for a source seen at Besselian `epoch` (DATE-OBS; default 1950). */
export function fk4Frame(epoch = 1950): CelestialFrame {
  return {
    name: 'FK4',
    equinox: 1950,
    toIcrs: multiply(fk5ToIcrs(2000), fk4Matrix(epoch)),
    eTerms: E_TERMS_B1950,
  };
}

export const GALACTIC: CelestialFrame = {
  name: 'GALACTIC',
  toIcrs: multiply(fk5ToIcrs(2000), GALACTIC_TO_FK5),
};

/** (lon, lat) in `frame` → ICRS (ra, dec), degrees. */
export function frameToIcrs(frame: CelestialFrame, lon: number, lat: number): [number, number] {
  let v = toVector(lon, lat);
  const a = frame.eTerms;
  if (a) {
    // Remove the E-terms: r' = r − A + (r·A) r, then renormalise (Expl. Suppl. eq. 3.591-3).
    const d = v[0] * a[0] + v[1] * a[1] + v[2] * a[2];
    v = [v[0] - a[0] + d * v[0], v[1] - a[1] + d * v[1], v[2] - a[2] + d * v[2]];
  }
  return fromVector(apply(frame.toIcrs, v));
}

/** ICRS (ra, dec) → (lon, lat) in `frame`, degrees. */
export function icrsToFrame(frame: CelestialFrame, ra: number, dec: number): [number, number] {
  const r = apply(transpose(frame.toIcrs), toVector(ra, dec));
  const a = frame.eTerms;
  if (!a) return fromVector(r);
  // Add the E-terms back: the inverse of the removal above, by fixed-point iteration (the terms
  // are 10⁻⁶, so two rounds already leave < 10⁻¹⁸).
  let v: Vec3 = [r[0], r[1], r[2]];
  for (let k = 0; k < 3; k++) {
    const d = v[0] * a[0] + v[1] * a[1] + v[2] * a[2];
    const w: Vec3 = [r[0] + a[0] - d * v[0], r[1] + a[1] - d * v[1], r[2] + a[2] - d * v[2]];
    const n = Math.hypot(w[0], w[1], w[2]);
    v = [w[0] / n, w[1] / n, w[2] / n];
  }
  return fromVector(v);
}
