/** Half-open [lo, hi) in order-29 NESTED indices (MOC-04); lists are sorted and merged. */
export type PixelRange = readonly [lo: bigint, hi: bigint];

/** 12·4^29: one past the last order-29 index. */
export const SKY_END = 12n << 58n;

/** Appends [lo, hi) to a sorted list, merging with the last range when they touch. */
export function appendRange(out: Array<[bigint, bigint]>, lo: bigint, hi: bigint): void {
  const last = out[out.length - 1];
  if (last && lo <= last[1]) {
    if (hi > last[1]) last[1] = hi;
    return;
  }
  out.push([lo, hi]);
}

/** Sorts and merges arbitrary ranges (MOC-04 normal form); empty ranges are dropped. */
export function normalizeRanges(ranges: ReadonlyArray<PixelRange>): Array<[bigint, bigint]> {
  const sorted = ranges.filter((r) => r[1] > r[0]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Array<[bigint, bigint]> = [];
  for (const [lo, hi] of sorted) appendRange(out, lo, hi);
  return out;
}

/**
 * Keeps at most `max` ranges by filling the smallest gaps: every cell of the input stays
 * covered (a superset) and the cells added are as few as possible, since all cells of
 * one order have the same area.
 */
export function limitRanges(ranges: Array<[bigint, bigint]>, max: number): Array<[bigint, bigint]> {
  if (ranges.length <= max) return ranges;
  const gaps: Array<{ i: number; size: bigint }> = [];
  for (let i = 1; i < ranges.length; i++) gaps.push({ i, size: ranges[i]![0] - ranges[i - 1]![1] });
  gaps.sort((a, b) => (a.size > b.size ? -1 : a.size < b.size ? 1 : a.i - b.i));
  const keep = new Set<number>();
  for (let k = 0; k < max - 1 && k < gaps.length; k++) keep.add(gaps[k]!.i);
  const out: Array<[bigint, bigint]> = [[ranges[0]![0], ranges[0]![1]]];
  for (let i = 1; i < ranges.length; i++) {
    const r = ranges[i]!;
    if (keep.has(i)) out.push([r[0], r[1]]);
    else out[out.length - 1]![1] = r[1];
  }
  return out;
}

export function union(a: ReadonlyArray<PixelRange>, b: ReadonlyArray<PixelRange>): Array<[bigint, bigint]> {
  const out: Array<[bigint, bigint]> = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const r = j >= b.length || (i < a.length && a[i]![0] <= b[j]![0]) ? a[i++]! : b[j++]!;
    appendRange(out, r[0], r[1]);
  }
  return out;
}

export function intersection(
  a: ReadonlyArray<PixelRange>,
  b: ReadonlyArray<PixelRange>,
): Array<[bigint, bigint]> {
  const out: Array<[bigint, bigint]> = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const lo = bigMax(a[i]![0], b[j]![0]);
    const hi = bigMin(a[i]![1], b[j]![1]);
    if (lo < hi) appendRange(out, lo, hi);
    if (a[i]![1] < b[j]![1]) i++;
    else j++;
  }
  return out;
}

function bigMax(x: bigint, y: bigint): bigint {
  return x > y ? x : y;
}

function bigMin(x: bigint, y: bigint): bigint {
  return x < y ? x : y;
}

/** Complement within [0, end) (MOC-07). */
export function complement(a: ReadonlyArray<PixelRange>, end: bigint = SKY_END): Array<[bigint, bigint]> {
  const out: Array<[bigint, bigint]> = [];
  let start = 0n;
  for (const [lo, hi] of a) {
    if (lo > start) out.push([start, lo]);
    start = hi;
  }
  if (start < end) out.push([start, end]);
  return out;
}

export function difference(
  a: ReadonlyArray<PixelRange>,
  b: ReadonlyArray<PixelRange>,
): Array<[bigint, bigint]> {
  return intersection(a, complement(b));
}

/** Widens every range to whole cells of `order` (MOC-07 degrade: floor start, ceil end). */
export function degradeRanges(a: ReadonlyArray<PixelRange>, order: number): Array<[bigint, bigint]> {
  const shift = BigInt(2 * (29 - order));
  const mask = (1n << shift) - 1n;
  const out: Array<[bigint, bigint]> = [];
  for (const [lo, hi] of a) appendRange(out, lo & ~mask, (hi + mask) & ~mask);
  return out;
}

/** Whether order-29 index `i` falls in a sorted merged list (binary search). */
export function rangesContain(a: ReadonlyArray<PixelRange>, i: bigint): boolean {
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = a[mid]!;
    if (i < r[0]) hi = mid - 1;
    else if (i >= r[1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Number of order-29 cells covered. */
export function rangesCount(a: ReadonlyArray<PixelRange>): bigint {
  let n = 0n;
  for (const [lo, hi] of a) n += hi - lo;
  return n;
}
