// Constant-geometry arithmetic done at compile time, so that a constant shape becomes
// literal numbers in SQL (unit-vector components, edge normals, cos r) and literal
// HEALPix ranges for the B-tree.
import { SphericalPolygon } from '../sky/index.js';

type Vec3 = [number, number, number];
const DEG = Math.PI / 180;

export function toVec(lonDeg: number, latDeg: number): Vec3 {
  const lon = lonDeg * DEG;
  const lat = latDeg * DEG;
  return [Math.cos(lat) * Math.cos(lon), Math.cos(lat) * Math.sin(lon), Math.sin(lat)];
}

function toLonLat(v: Vec3): [number, number] {
  const n = Math.hypot(v[0], v[1], v[2]);
  let lon = Math.atan2(v[1], v[0]) / DEG;
  if (lon < 0) lon += 360;
  return [lon, Math.asin(Math.max(-1, Math.min(1, v[2] / n))) / DEG];
}

function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}
function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
function add(a: Vec3, b: Vec3, sa: number, sb: number): Vec3 {
  return [sa * a[0] + sb * b[0], sa * a[1] + sb * b[1], sa * a[2] + sb * b[2]];
}

/**
 * ADQL-29: a BOX is bounded by the great circles perpendicular to the arms of a cross
 * through the centre at ±w/2 (along the parallel direction) and ±h/2 (along the
 * meridian). Returns its four corners; the same formula is in adql.box_polygon (SQL).
 */
export function boxVertices(lon: number, lat: number, w: number, h: number): Array<[number, number]> {
  const er = toVec(lon, lat);
  const l = lon * DEG;
  const b = lat * DEG;
  const east: Vec3 = [-Math.sin(l), Math.cos(l), 0];
  const north: Vec3 = [-Math.sin(b) * Math.cos(l), -Math.sin(b) * Math.sin(l), Math.cos(b)];
  const corners: Array<[number, number]> = [];
  for (const [sx, sy] of [
    [1, 1],
    [-1, 1],
    [-1, -1],
    [1, -1],
  ]) {
    const qe = add(er, east, Math.cos((w / 2) * DEG), sx * Math.sin((w / 2) * DEG));
    const qn = add(er, north, Math.cos((h / 2) * DEG), sy * Math.sin((h / 2) * DEG));
    let c = cross(cross(qe, north), cross(qn, east));
    if (dot(c, er) < 0) c = [-c[0], -c[1], -c[2]];
    corners.push(toLonLat(c));
  }
  return corners;
}

export interface PolygonInfo {
  vertices: Array<[number, number]>;
  /** Inward edge normals when the polygon (as the smaller region) is convex. */
  convexNormals?: Vec3[];
}

/** Region = the smaller side of the edges (as sky/ does), so winding does not matter. */
export function polygonInfo(vertices: Array<[number, number]>): PolygonInfo {
  const poly = new SphericalPolygon(vertices);
  const normals = poly.normals.map((n) =>
    poly.flipped ? ([-n[0], -n[1], -n[2]] as Vec3) : ([n[0], n[1], n[2]] as Vec3),
  );
  const verts = poly.vertices as Vec3[];
  let convex = true;
  for (const n of normals) {
    for (const v of verts) {
      if (dot(n, v) < -1e-12) {
        convex = false;
        break;
      }
    }
    if (!convex) break;
  }
  return { vertices, convexNormals: convex ? normals : undefined };
}

/** A number as an SQL literal: full double precision, parenthesised when negative. */
export function num(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`non-finite constant ${x}`);
  const s = String(x);
  return x < 0 || Object.is(x, -0) ? `(${s})` : s;
}

/**
 * A cap holding a polygon, as adql.polygon_cap computes it (sql/037_adql_polygon_filter.sql):
 * [x, y, z, r] with the centre the normalised sum of the vertex vectors and r (degrees,
 * padded by 1e-6) reaching the farthest vertex; the whole sky [0, 0, 1, 180] when that is
 * 90 degrees or more, where a cap no longer bounds the polygon's edges.
 */
export function polygonCap(vertices: ReadonlyArray<readonly [number, number]>): number[] {
  const vs = vertices.map(([lon, lat]) => toVec(lon, lat));
  const s: Vec3 = [0, 0, 0];
  for (const v of vs) for (let k = 0; k < 3; k++) s[k] += v[k];
  const len = Math.hypot(s[0], s[1], s[2]);
  if (vs.length < 3 || len < 1e-9) return [0, 0, 1, 180];
  const c: Vec3 = [s[0] / len, s[1] / len, s[2] / len];
  let lowest = 1;
  for (const v of vs) lowest = Math.min(lowest, dot(v, c));
  if (!(lowest > 1e-9)) return [0, 0, 1, 180];
  return [c[0], c[1], c[2], Math.acos(Math.min(1, lowest)) / DEG + 1e-6];
}
