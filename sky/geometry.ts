import { SkyError } from './errors.js';
import { checkLonLat } from './healpix.js';

const DEG = Math.PI / 180;
/** Most polygon vertices accepted: the simple-polygon check is quadratic in them. */
export const MAX_POLYGON_VERTICES = 2000;

export type Vec3 = [number, number, number];

export function toVector(lonDeg: number, latDeg: number): Vec3 {
  const lon = lonDeg * DEG;
  const lat = latDeg * DEG;
  const c = Math.cos(lat);
  return [c * Math.cos(lon), c * Math.sin(lon), Math.sin(lat)];
}

export function cross(a: ArrayLike<number>, b: ArrayLike<number>): Vec3 {
  return [a[1]! * b[2]! - a[2]! * b[1]!, a[2]! * b[0]! - a[0]! * b[2]!, a[0]! * b[1]! - a[1]! * b[0]!];
}

/**
 * a × b computed as ((a + b) × (b − a)) / 2. For nearby points the plain formula
 * cancels down to noise (1e-16 absolute against a result of |a − b|), which for a
 * milli-arcsecond edge tilts its great circle by milli-arcseconds; b − a is exact for
 * nearby unit vectors, so this form keeps full relative precision.
 */
export function robustCross(a: ArrayLike<number>, b: ArrayLike<number>): Vec3 {
  const sx = a[0]! + b[0]!;
  const sy = a[1]! + b[1]!;
  const sz = a[2]! + b[2]!;
  const dx = b[0]! - a[0]!;
  const dy = b[1]! - a[1]!;
  const dz = b[2]! - a[2]!;
  return [(sy * dz - sz * dy) / 2, (sz * dx - sx * dz) / 2, (sx * dy - sy * dx) / 2];
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;
}

export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

export function normalize(a: Vec3): Vec3 {
  const n = norm(a);
  return [a[0] / n, a[1] / n, a[2] / n];
}

/** Angle between unit vectors (radians), accurate at 0 and at π (atan2 of |a×b| and a·b). */
export function angleBetween(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return Math.atan2(norm(cross(a, b)), dot(a, b));
}

/** Squared chord length between unit vectors: accurate for tiny separations, unlike 1 − cos. */
export function chord2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const dx = a[0]! - b[0]!;
  const dy = a[1]! - b[1]!;
  const dz = a[2]! - b[2]!;
  return dx * dx + dy * dy + dz * dz;
}

/** Squared chord of an angle θ (radians, clamped to [0, π]). */
export function chord2Of(theta: number): number {
  const t = Math.min(Math.max(theta, 0), Math.PI);
  const c = 2 * Math.sin(t / 2);
  return c * c;
}

/**
 * Great-circle distance in degrees (ADQL-36 DISTANCE). θ = 2·atan2(√h, √h′) where h is
 * the haversine of the separation and h′ = 1 − h is computed as the haversine to the
 * antipode of the second point: each is accurate where the other is not, so the result
 * keeps full precision for micro-arcsecond and for nearly antipodal separations.
 */
export function angularDistanceDeg(lon1: number, lat1: number, lon2: number, lat2: number): number {
  let dl = lon2 - lon1;
  dl -= 360 * Math.round(dl / 360);
  const p1 = lat1 * DEG;
  const p2 = lat2 * DEG;
  const cc = Math.cos(p1) * Math.cos(p2);
  // Differences taken in degrees, where close values subtract exactly (Sterbenz).
  const sDiff = Math.sin(((lat2 - lat1) * DEG) / 2);
  const sSum = Math.sin(((lat2 + lat1) * DEG) / 2);
  const sHalf = Math.sin((dl * DEG) / 2);
  const cHalf = Math.cos((dl * DEG) / 2);
  const h = sDiff * sDiff + cc * sHalf * sHalf;
  const hAnti = sSum * sSum + cc * cHalf * cHalf;
  return (2 * Math.atan2(Math.sqrt(h), Math.sqrt(hAnti))) / DEG;
}

/**
 * A spherical polygon with great-circle edges (ADQL-30), prepared for repeated tests.
 *
 * Orientation (DALI-56 says counter-clockwise seen from the origin, inside on the left
 * when walking the edges): clients often send clockwise polygons (CLIENTS.md), so the
 * region is taken as the SMALLER of the two areas the edges bound. For a correctly
 * wound polygon under a hemisphere this is exactly the DALI region; a polygon meant to
 * cover more than half the sky cannot be expressed (send its complement instead).
 */
export class SphericalPolygon {
  readonly vertices: Vec3[];
  /** Unit normals of edge i (vertex i → i+1), pointing to the left side. */
  readonly normals: Vec3[];
  /** True when the region is the right-hand side of the edges (clockwise input). */
  readonly flipped: boolean;
  /** Area of the region in steradians. */
  readonly area: number;
  private readonly refs: Vec3[];

  constructor(lonLat: ReadonlyArray<readonly [number, number]>) {
    const verts: Vec3[] = [];
    for (const v of lonLat) {
      if (!Array.isArray(v) || v.length !== 2) {
        throw new SkyError(
          'a polygon vertex is not a [lon, lat] pair',
          'give vertices as [lon, lat] in degrees',
        );
      }
      checkLonLat(v[0], v[1]);
      const p = toVector(v[0], v[1]);
      // Repeated vertices (including a closing copy of the first) carry no edge.
      const prev = verts[verts.length - 1];
      if (prev && chord2(prev, p) < 1e-30) continue;
      verts.push(p);
    }
    while (verts.length > 1 && chord2(verts[0]!, verts[verts.length - 1]!) < 1e-30) verts.pop();
    if (verts.length < 3) {
      throw new SkyError('a polygon needs at least 3 distinct vertices', 'give 3 or more distinct vertices');
    }
    if (verts.length > MAX_POLYGON_VERTICES) {
      throw new SkyError(
        `a polygon with ${verts.length} vertices exceeds the limit of ${MAX_POLYGON_VERTICES}`,
        'simplify the polygon',
      );
    }
    this.vertices = verts;
    const n = verts.length;
    this.normals = [];
    for (let i = 0; i < n; i++) {
      const a = verts[i]!;
      const b = verts[(i + 1) % n]!;
      const c = robustCross(a, b);
      const len = norm(c);
      if (len < 1e-15) {
        throw dot(a, b) < 0
          ? new SkyError(
              `polygon edge ${i + 1} joins two antipodal points, so its great circle is undefined`,
              'add a vertex between them',
            )
          : new SkyError(`polygon edge ${i + 1} is shorter than 0.2 µas`, 'merge the two vertices');
      }
      this.normals.push([c[0] / len, c[1] / len, c[2] / len]);
    }
    for (let i = 0; i < n; i++) {
      for (let j = i + 2; j < n; j++) {
        if (i === 0 && j === n - 1) continue; // adjacent through the closing edge
        if (crosses(verts[i]!, verts[i + 1]!, verts[j]!, verts[(j + 1) % n]!)) {
          throw new SkyError(
            `polygon edges ${i + 1} and ${j + 1} cross each other`,
            'give a simple polygon whose edges meet only at consecutive vertices',
          );
        }
      }
    }
    // Which side is smaller: by Gauss–Bonnet the left area is 2π − Σ turning angles
    // (left turns positive), so the left side is the smaller one exactly when the
    // turning sum is positive. The sign stays clear even for micro-arcsecond polygons
    // whose area vanishes next to 2π.
    let turning = 0;
    for (let i = 0; i < n; i++) {
      const nin = this.normals[(i + n - 1) % n]!;
      const nout = this.normals[i]!;
      turning += Math.atan2(dot(verts[i]!, cross(nin, nout)), dot(nin, nout));
    }
    this.flipped = turning < 0;
    // The area itself as a signed fan of triangles (Van Oosterom–Strackee), which keeps
    // its precision for tiny polygons.
    const v0 = verts[0]!;
    let leftArea = 0;
    for (let i = 1; i + 1 < n; i++) {
      const b = verts[i]!;
      const c = verts[i + 1]!;
      const triple = dot(v0, robustCross(b, c));
      leftArea += 2 * Math.atan2(triple, 1 + dot(v0, b) + dot(b, c) + dot(c, v0));
    }
    const full = 4 * Math.PI;
    leftArea = ((leftArea % full) + full) % full;
    this.area = this.flipped ? full - leftArea : leftArea;
    this.refs = this.referencePoints();
  }

  /**
   * Edge normals turned towards the region (negated for clockwise input): a point p
   * is inside a CONVEX polygon exactly when p·n ≥ 0 for every one of them, which is
   * how a plain-SQL exact test can be written.
   */
  get insideNormals(): Vec3[] {
    return this.flipped
      ? this.normals.map((n) => [-n[0], -n[1], -n[2]] as Vec3)
      : this.normals.map((n) => [...n] as Vec3);
  }

  /** True when every turn keeps the region on the same side (so insideNormals suffice). */
  get isConvex(): boolean {
    const n = this.vertices.length;
    const sign = this.flipped ? -1 : 1;
    for (let i = 0; i < n; i++) {
      // Each vertex not on edge i must be on the region's side of edge i's great circle.
      const nrm = this.normals[i]!;
      for (let j = 0; j < n; j++) {
        if (j === i || j === (i + 1) % n) continue;
        if (sign * dot(this.vertices[j]!, nrm) < 0) return false;
      }
    }
    return true;
  }

  /** Perimeter in radians. */
  get perimeter(): number {
    let p = 0;
    const n = this.vertices.length;
    for (let i = 0; i < n; i++) p += angleBetween(this.vertices[i]!, this.vertices[(i + 1) % n]!);
    return p;
  }

  /**
   * One point per edge known to lie just LEFT of the edge midpoint, closer than half the
   * distance to any other edge, so its side is certain. Crossing parity is counted
   * from the nearest of them, avoiding the ill-defined near-antipodal arcs.
   */
  private referencePoints(): Vec3[] {
    const n = this.vertices.length;
    const refs: Vec3[] = [];
    for (let i = 0; i < n; i++) {
      const a = this.vertices[i]!;
      const b = this.vertices[(i + 1) % n]!;
      const m = normalize([a[0] + b[0], a[1] + b[1], a[2] + b[2]]);
      let d = Math.PI / 4;
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        d = Math.min(d, this.edgeDistance(m, j));
      }
      if (d < 1e-14) {
        throw new SkyError(
          'the polygon edges cross or touch each other',
          'give a simple polygon whose edges meet only at consecutive vertices',
        );
      }
      const e = d / 2;
      const nrm = this.normals[i]!;
      refs.push(
        normalize([
          m[0] * Math.cos(e) + nrm[0] * Math.sin(e),
          m[1] * Math.cos(e) + nrm[1] * Math.sin(e),
          m[2] * Math.cos(e) + nrm[2] * Math.sin(e),
        ]),
      );
    }
    return refs;
  }

  /** Angular distance (radians) from unit vector p to edge j (a minor arc). */
  edgeDistance(p: ArrayLike<number>, j: number): number {
    const n = this.vertices.length;
    const a = this.vertices[j]!;
    const b = this.vertices[(j + 1) % n]!;
    const nrm = this.normals[j]!;
    if (dot(robustCross(a, p), nrm) >= 0 && dot(robustCross(p, b), nrm) >= 0) {
      return Math.abs(Math.asin(Math.max(-1, Math.min(1, dot(p, nrm)))));
    }
    return Math.min(angleBetween(p, a), angleBetween(p, b));
  }

  /** Smallest angular distance (radians) from p to the polygon boundary. */
  boundaryDistance(p: ArrayLike<number>): number {
    let d = Math.PI;
    for (let j = 0; j < this.vertices.length; j++) d = Math.min(d, this.edgeDistance(p, j));
    return d;
  }

  /**
   * True when the boundary comes within angle r of p. Compares squared chords and sines
   * rather than angles so that radii of a few nano-radians stay exact.
   */
  nearBoundary(p: ArrayLike<number>, sinR: number, chord2R: number): boolean {
    const n = this.vertices.length;
    for (let j = 0; j < n; j++) {
      const a = this.vertices[j]!;
      if (chord2(p, a) <= chord2R) return true;
      const nrm = this.normals[j]!;
      const s = dot(p, nrm);
      if (s <= sinR && s >= -sinR) {
        const b = this.vertices[(j + 1) % n]!;
        if (dot(robustCross(a, p), nrm) >= 0 && dot(robustCross(p, b), nrm) >= 0) return true;
      }
    }
    return false;
  }

  /** Whether unit vector p lies in the region (points exactly on an edge: either answer). */
  containsVector(p: ArrayLike<number>): boolean {
    let best = this.refs[0]!;
    let bestDot = -2;
    for (const r of this.refs) {
      const d = dot(p, r);
      if (d > bestDot) {
        bestDot = d;
        best = r;
      }
    }
    let left = true; // every reference point is on the left side
    const n = this.vertices.length;
    for (let j = 0; j < n; j++) {
      if (crosses(p, best, this.vertices[j]!, this.vertices[(j + 1) % n]!)) left = !left;
    }
    return left !== this.flipped;
  }

  contains(lonDeg: number, latDeg: number): boolean {
    checkLonLat(lonDeg, latDeg);
    return this.containsVector(toVector(lonDeg, latDeg));
  }
}

/**
 * Vertices of an ADQL BOX (ADQL-29, deprecated in 2.1 but still sent): centre plus full
 * width and height in degrees, edges being great circles perpendicular to the arms of a
 * cross through the centre (one arm along the meridian, one perpendicular to it).
 * Returned counter-clockwise (DALI-56): SW, SE, NE, NW corners.
 */
export function boxVertices(
  lonDeg: number,
  latDeg: number,
  widthDeg: number,
  heightDeg: number,
): Array<[number, number]> {
  checkLonLat(lonDeg, latDeg);
  if (!(widthDeg > 0 && widthDeg < 180 && heightDeg > 0 && heightDeg < 180)) {
    throw new SkyError(
      `BOX width ${widthDeg} and height ${heightDeg} must both lie between 0 and 180 degrees`,
      'give the full width and height in degrees',
    );
  }
  const lon = lonDeg * DEG;
  const lat = latDeg * DEG;
  const c = toVector(lonDeg, latDeg);
  // East and north unit tangents at the centre (at a pole: along lon and lon + 90°).
  const e: Vec3 = [-Math.sin(lon), Math.cos(lon), 0];
  const n: Vec3 = [-Math.sin(lat) * Math.cos(lon), -Math.sin(lat) * Math.sin(lon), Math.cos(lat)];
  const w = (widthDeg * DEG) / 2;
  const h = (heightDeg * DEG) / 2;
  const corner = (sx: number, sy: number): [number, number] => {
    // Normals of the east/west edge plane and of the north/south edge plane.
    const ne: Vec3 = [
      -c[0] * Math.sin(w) + sx * e[0] * Math.cos(w),
      -c[1] * Math.sin(w) + sx * e[1] * Math.cos(w),
      -c[2] * Math.sin(w) + sx * e[2] * Math.cos(w),
    ];
    const nn: Vec3 = [
      -c[0] * Math.sin(h) + sy * n[0] * Math.cos(h),
      -c[1] * Math.sin(h) + sy * n[1] * Math.cos(h),
      -c[2] * Math.sin(h) + sy * n[2] * Math.cos(h),
    ];
    let v = normalize(cross(ne, nn));
    if (dot(v, c) < 0) v = [-v[0], -v[1], -v[2]];
    let vlon = Math.atan2(v[1], v[0]) / DEG;
    if (vlon < 0) vlon += 360;
    return [vlon, Math.atan2(v[2], Math.hypot(v[0], v[1])) / DEG];
  };
  return [corner(-1, -1), corner(1, -1), corner(1, 1), corner(-1, 1)];
}

/** Whether minor arcs ab and cd cross at a point interior to both. */
function crosses(a: Vec3 | ArrayLike<number>, b: ArrayLike<number>, c: Vec3, d: Vec3): boolean {
  const ab = robustCross(a, b);
  const acb = -dot(ab, c);
  const bda = dot(ab, d);
  if (acb * bda <= 0) return false;
  const cd = robustCross(c, d);
  const cbd = -dot(cd, b);
  const dac = dot(cd, a);
  return acb * cbd > 0 && acb * dac > 0;
}
