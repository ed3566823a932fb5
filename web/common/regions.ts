/**
 * ObsCore s_region as the pages draw it. TAP gives STC-S (`Polygon ICRS 10 20 11 20 ...`,
 * OBS-62), SIA2 the DALI form (a `polygon` or `circle` xtype: the numbers alone, DALI 1.1
 * §3.3.6–7). Both are read as the shape word, if any, and the numbers after it.
 */
export type Region =
  | { readonly kind: 'polygon'; readonly vertices: Array<[number, number]> }
  | { readonly kind: 'circle'; readonly ra: number; readonly dec: number; readonly radius: number };

export function parseRegion(text: string | null, xtype?: string): Region | undefined {
  if (!text) return undefined;
  const word = /^\s*([A-Za-z]+)/.exec(text)?.[1]?.toLowerCase() ?? xtype?.toLowerCase() ?? 'polygon';
  const numbers = text
    .split(/\s+/)
    .filter((t) => /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t))
    .map(Number);
  if (word === 'circle' && numbers.length >= 3)
    return { kind: 'circle', ra: numbers[0]!, dec: numbers[1]!, radius: numbers[2]! };
  if (word !== 'polygon' || numbers.length < 6) return undefined;
  const vertices: Array<[number, number]> = [];
  for (let i = 0; i + 1 < numbers.length; i += 2) vertices.push([numbers[i]!, numbers[i + 1]!]);
  return { kind: 'polygon', vertices };
}

/**
 * Whether a point lies in a region: the polygon in a plane tangent at the point (gnomonic),
 * which is exact for great-circle edges, so small and large footprints alike are right.
 */
export function contains(region: Region, ra: number, dec: number): boolean {
  const rad = Math.PI / 180;
  if (region.kind === 'circle') {
    const d = Math.acos(
      Math.min(
        1,
        Math.sin(dec * rad) * Math.sin(region.dec * rad) +
          Math.cos(dec * rad) * Math.cos(region.dec * rad) * Math.cos((ra - region.ra) * rad),
      ),
    );
    return d / rad <= region.radius;
  }
  const [a0, d0] = [ra * rad, dec * rad];
  const pts: Array<[number, number]> = [];
  for (const [a, d] of region.vertices) {
    const cosc = Math.sin(d0) * Math.sin(d * rad) + Math.cos(d0) * Math.cos(d * rad) * Math.cos(a * rad - a0);
    if (cosc <= 0) return false; // a vertex 90° or more away: the point is not inside a footprint
    pts.push([
      (Math.cos(d * rad) * Math.sin(a * rad - a0)) / cosc,
      (Math.cos(d0) * Math.sin(d * rad) - Math.sin(d0) * Math.cos(d * rad) * Math.cos(a * rad - a0)) / cosc,
    ]);
  }
  // Ray casting from the origin (the point itself) along +x.
  let inside = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i]!;
    const [xj, yj] = pts[j]!;
    if (yi > 0 !== yj > 0 && 0 < ((xj - xi) * (0 - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
