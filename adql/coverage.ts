// HEALPix coverage of constant shapes, memoised (a leaf shared by spatial.ts and crossmatch.ts).
import type { PixelRange } from '../sky/index.js';

/**
 * Coverage of constant shapes, memoised: computing it dominates compile time (hundreds of
 * microseconds), and clients repeat the same cone (paging, polling, reruns). Bounded LRU.
 */
const COVERAGE_CACHE_SIZE = 512;
const coverageCache = new Map<string, ReadonlyArray<PixelRange>>();
export function cachedCoverage(
  key: string,
  compute: () => ReadonlyArray<PixelRange>,
): ReadonlyArray<PixelRange> {
  const hit = coverageCache.get(key);
  if (hit) {
    coverageCache.delete(key);
    coverageCache.set(key, hit);
    return hit;
  }
  let value: ReadonlyArray<PixelRange>;
  try {
    value = compute();
  } catch (e) {
    // A prefilter is an optimisation: if coverage cannot be computed, the exact test alone is still correct.
    if (e instanceof Error && e.name === 'SkyError') return [[0n, SKY_END]];
    throw e;
  }
  coverageCache.set(key, value);
  if (coverageCache.size > COVERAGE_CACHE_SIZE)
    coverageCache.delete(coverageCache.keys().next().value as string);
  return value;
}
export const SKY_END = 12n << 58n;
