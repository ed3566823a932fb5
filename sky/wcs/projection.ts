/**
 * Celestial projections of WCS Paper II (Calabretta & Greisen 2002), following the formulas of
 * WCSLIB prj.c for SIN (with the ξ, η "synthesis" generalisation used by NCP), TAN, ARC and CAR
 * (FITS-51). Angles in degrees; (x, y) are intermediate world coordinates in degrees.
 */

export type ProjectionCode = 'SIN' | 'TAN' | 'ARC' | 'CAR';

export interface Projection {
  code: ProjectionCode;
  /** Native coordinates of the fiducial point (φ0, θ0). */
  phi0: number;
  theta0: number;
  /** (x, y) → native (φ, θ); NaN when (x, y) lies outside the projection's domain. */
  x2s(x: number, y: number): [number, number];
  /** Native (φ, θ) → (x, y); NaN where the projection is undefined. */
  s2x(phi: number, theta: number): [number, number];
}

const D2R = Math.PI / 180;
const R2D = 180 / Math.PI;
const TOL = 1e-13;

function atan2d(y: number, x: number): number {
  return Math.atan2(y, x) * R2D;
}

function zenithalPhi(x: number, y: number): number {
  return x === 0 && y === 0 ? 0 : atan2d(x, -y);
}

function sin(xi: number, eta: number): Projection {
  const w1 = xi * xi + eta * eta;
  const synthesis = w1 !== 0;
  return {
    code: 'SIN',
    phi0: 0,
    theta0: 90,
    x2s(x, y) {
      const X = x * D2R;
      const Y = y * D2R;
      const r2 = X * X + Y * Y;
      if (!synthesis) {
        if (r2 > 1 + TOL) return [Number.NaN, Number.NaN];
        const r = Math.min(1, Math.sqrt(r2));
        // atan2 keeps full precision both near the centre and near the limb (cf. FITS-51).
        return [zenithalPhi(x, y), atan2d(Math.sqrt((1 - r) * (1 + r)), r)];
      }
      let theta: number;
      let z: number;
      const xy = X * xi + Y * eta;
      if (r2 < 1e-10) {
        z = r2 / 2;
        theta = 90 - R2D * Math.sqrt(r2 / (1 + xy));
      } else {
        const a = 1 + w1;
        const b = xy - w1;
        const c = r2 - 2 * xy + w1 - 1;
        let d = b * b - a * c;
        if (d < 0) return [Number.NaN, Number.NaN];
        d = Math.sqrt(d);
        const s1 = (-b + d) / a;
        const s2 = (-b - d) / a;
        let s = Math.max(s1, s2);
        if (s > 1) s = s - 1 < TOL ? 1 : Math.min(s1, s2);
        if (s < -1 && s + 1 > -TOL) s = -1;
        if (s > 1 || s < -1) return [Number.NaN, Number.NaN];
        theta = Math.asin(s) * R2D;
        z = 1 - s;
      }
      const x1 = -Y + eta * z;
      const y1 = X - xi * z;
      return [x1 === 0 && y1 === 0 ? 0 : atan2d(y1, x1), theta];
    },
    s2x(phi, theta) {
      // The orthographic projection shows one hemisphere: a point behind it (theta < 0) would
      // land, mirrored, on a pixel of the front one, so it has no pixel (as WCSLIB's sins2x
      // flags it). Without this a SODA region at a field's antipode cut the field itself.
      if (!synthesis && theta < -TOL) return [Number.NaN, Number.NaN];
      const t = theta * D2R;
      const p = phi * D2R;
      const ct = Math.cos(t);
      const z = 1 - Math.sin(t);
      return [R2D * (ct * Math.sin(p) + xi * z), -R2D * (ct * Math.cos(p) - eta * z)];
    },
  };
}

function tan(): Projection {
  return {
    code: 'TAN',
    phi0: 0,
    theta0: 90,
    x2s(x, y) {
      const r = Math.hypot(x, y);
      return [zenithalPhi(x, y), atan2d(R2D, r)];
    },
    s2x(phi, theta) {
      const t = theta * D2R;
      const s = Math.sin(t);
      if (s <= 0) return [Number.NaN, Number.NaN];
      const r = (R2D * Math.cos(t)) / s;
      const p = phi * D2R;
      return [r * Math.sin(p), -r * Math.cos(p)];
    },
  };
}

function arc(): Projection {
  return {
    code: 'ARC',
    phi0: 0,
    theta0: 90,
    x2s(x, y) {
      const r = Math.hypot(x, y);
      if (r > 180 + TOL) return [Number.NaN, Number.NaN];
      return [zenithalPhi(x, y), 90 - r];
    },
    s2x(phi, theta) {
      const r = 90 - theta;
      const p = phi * D2R;
      return [r * Math.sin(p), -r * Math.cos(p)];
    },
  };
}

function car(): Projection {
  return {
    code: 'CAR',
    phi0: 0,
    theta0: 0,
    x2s(x, y) {
      if (Math.abs(y) > 90 + TOL) return [Number.NaN, Number.NaN];
      return [x, Math.max(-90, Math.min(90, y))];
    },
    s2x(phi, theta) {
      return [phi, theta];
    },
  };
}

/** A projection by its 3-letter code; `pv` holds PVi_m of the latitude axis (m → value). */
export function makeProjection(code: string, pv: ReadonlyMap<number, number>): Projection | undefined {
  switch (code) {
    case 'SIN':
      return sin(pv.get(1) ?? 0, pv.get(2) ?? 0);
    case 'TAN':
      return tan();
    case 'ARC':
      return arc();
    case 'CAR':
      return car();
    default:
      return undefined;
  }
}
