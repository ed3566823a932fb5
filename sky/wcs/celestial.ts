/**
 * The spherical rotation between native (φ, θ) and celestial (α, δ) coordinates (FITS-52) and the
 * choice of the celestial coordinates of the native pole (FITS-53), after WCSLIB cel.c `celset`.
 */

const D2R = Math.PI / 180;
const R2D = 180 / Math.PI;
const TOL = 1e-10;

export interface PoleSolution {
  /** Celestial coordinates of the native pole (α_p, δ_p) and native longitude of the celestial pole φ_p. */
  alphaP: number;
  deltaP: number;
  phiP: number;
}

export class WcsSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WcsSetupError';
  }
}

function sind(a: number): number {
  return Math.sin(a * D2R);
}
function cosd(a: number): number {
  return Math.cos(a * D2R);
}

/**
 * Computes (α_p, δ_p, φ_p) from the reference point (CRVAL) and the projection's fiducial point,
 * with LONPOLE/LATPOLE defaults per Calabretta & Greisen §2.4 (FITS-53).
 */
export function solvePole(
  lng0: number,
  lat0: number,
  phi0: number,
  theta0: number,
  lonpole: number | undefined,
  latpole: number | undefined,
): PoleSolution {
  const phiP = lonpole ?? (lat0 < theta0 ? 180 : 0) + phi0;
  const latRef = latpole ?? 90;
  if (theta0 === 90) return { alphaP: lng0, deltaP: lat0, phiP };

  const slat0 = sind(lat0);
  const clat0 = cosd(lat0);
  const sthe0 = sind(theta0);
  const cthe0 = cosd(theta0);
  let sphip: number;
  let u = 0;
  let v = 0;
  let latP: number | undefined;
  if (phiP === phi0) {
    sphip = 0;
    u = theta0;
    v = 90 - lat0;
  } else {
    sphip = sind(phiP - phi0);
    const x = cthe0 * cosd(phiP - phi0);
    const y = sthe0;
    const z = Math.sqrt(x * x + y * y);
    if (z === 0) {
      if (slat0 !== 0)
        throw new WcsSetupError('LONPOLE/CRVAL combination has no solution for the native pole');
      latP = latRef;
    } else {
      if (Math.abs(slat0 / z) > 1)
        throw new WcsSetupError('LONPOLE/CRVAL combination has no solution for the native pole');
      u = Math.atan2(y, x) * R2D;
      v = Math.acos(slat0 / z) * R2D;
    }
  }
  if (latP === undefined) {
    const wrap = (a: number) => (a > 180 ? a - 360 : a < -180 ? a + 360 : a);
    const p1 = wrap(u + v);
    const p2 = wrap(u - v);
    const ok1 = Math.abs(p1) < 90 + TOL;
    const ok2 = Math.abs(p2) < 90 + TOL;
    if (ok1 && ok2) latP = Math.abs(latRef - p1) < Math.abs(latRef - p2) ? p1 : p2;
    else if (ok1) latP = p1;
    else if (ok2) latP = p2;
    else throw new WcsSetupError('no valid latitude for the native pole');
    latP = Math.max(-90, Math.min(90, latP));
  }
  let lngP: number;
  const z = cosd(latP) * clat0;
  if (Math.abs(z) < TOL) {
    if (Math.abs(clat0) < TOL) lngP = lng0;
    else if (latP > 0) lngP = lng0 + phiP - phi0 - 180;
    else lngP = lng0 - phiP + phi0;
  } else {
    const x = (sthe0 - sind(latP) * slat0) / z;
    const y = (sphip * cthe0) / clat0;
    if (x === 0 && y === 0) throw new WcsSetupError('degenerate native pole');
    lngP = lng0 - Math.atan2(y, x) * R2D;
  }
  if (lng0 >= 0) {
    if (lngP < 0) lngP += 360;
    else if (lngP > 360) lngP -= 360;
  } else if (lngP > 0) lngP -= 360;
  else if (lngP < -360) lngP += 360;
  return { alphaP: lngP, deltaP: latP, phiP };
}

/** Native (φ, θ) → celestial (α, δ), α in [0, 360). Computed from vector components for precision near poles. */
export function nativeToCelestial(phi: number, theta: number, pole: PoleSolution): [number, number] {
  const dphi = (phi - pole.phiP) * D2R;
  const t = theta * D2R;
  const dp = pole.deltaP * D2R;
  const st = Math.sin(t);
  const ct = Math.cos(t);
  const sdp = Math.sin(dp);
  const cdp = Math.cos(dp);
  const x = st * cdp - ct * sdp * Math.cos(dphi);
  const y = -ct * Math.sin(dphi);
  const z = st * sdp + ct * cdp * Math.cos(dphi);
  let alpha = pole.alphaP + Math.atan2(y, x) * R2D;
  alpha %= 360;
  if (alpha < 0) alpha += 360;
  if (alpha >= 360) alpha -= 360;
  return [alpha, Math.atan2(z, Math.hypot(x, y)) * R2D];
}

/** Celestial (α, δ) → native (φ, θ), φ in (-180, 180]. */
export function celestialToNative(alpha: number, delta: number, pole: PoleSolution): [number, number] {
  const da = (alpha - pole.alphaP) * D2R;
  const d = delta * D2R;
  const dp = pole.deltaP * D2R;
  const sd = Math.sin(d);
  const cd = Math.cos(d);
  const sdp = Math.sin(dp);
  const cdp = Math.cos(dp);
  const x = sd * cdp - cd * sdp * Math.cos(da);
  const y = -cd * Math.sin(da);
  const z = sd * sdp + cd * cdp * Math.cos(da);
  let phi = pole.phiP + Math.atan2(y, x) * R2D;
  phi = ((((phi + 180) % 360) + 360) % 360) - 180;
  return [phi, Math.atan2(z, Math.hypot(x, y)) * R2D];
}
