/** Seeded generator (mulberry32) so every run tests the same points. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Uniform random points on the sphere, [lon, lat] degrees, with full 53-bit mantissas:
 * 32-bit draws alone put every longitude on a dyadic grid that coincides with HEALPix
 * cell edges from order 20 up.
 */
export function randomPoints(n: number, seed: number): Array<[number, number]> {
  const r32 = rng(seed);
  const r = () => r32() + r32() / 4294967296;
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    out.push([r() * 360, (Math.asin(2 * r() - 1) * 180) / Math.PI]);
  }
  return out;
}

const POLAR_LAT = (Math.asin(2 / 3) * 180) / Math.PI;

/**
 * Points on or next to the awkward places: poles, RA 0/360 (and beyond), the polar cap
 * boundary |z| = 2/3, the equator, face edges at multiples of 45° and 90°.
 */
export function specialPoints(): Array<[number, number]> {
  const lats = [90, -90, 89.999999999, -89.999999999, 0, POLAR_LAT, -POLAR_LAT, 45, -45, 1e-12, -1e-12];
  const lons = [0, 360, -0, 359.999999999, 1e-12, 45, 90, 135, 180, 225, 270, 315, 720.5, -0.5, -360];
  const out: Array<[number, number]> = [];
  for (const lat of lats) for (const lon of lons) out.push([lon, lat]);
  return out;
}
