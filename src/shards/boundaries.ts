/**
 * Partition boundaries balanced by row count, as HATS and Gaia's archive split their
 * catalogues: the rows per HEALPix cell at a coarse order, cut into ranges of about equal
 * rows. A boundary is always a cell's first order-29 index, so a partition is a run of
 * whole coarse cells and a cone's range conditions prune it by plain comparison.
 */

/** Order of the HEALPix index every published table carries (src/publish). */
export const INDEX_ORDER = 29;

/** Number of cells at `order`: 12 * 4^order. */
export function cellCount(order: number): bigint {
  return 12n << BigInt(2 * order);
}

/** First order-29 index of coarse cell `cell` at `order`. */
export function cellStart(cell: bigint, order: number): bigint {
  return cell << BigInt(2 * (INDEX_ORDER - order));
}

export interface CellCount {
  readonly cell: bigint;
  readonly rows: number;
}

export interface Range {
  /** First coarse cell (inclusive) and last (inclusive). */
  readonly firstCell: bigint;
  readonly lastCell: bigint;
  /** Order-29 bounds [lo, hi); lo undefined = MINVALUE, hi undefined = MAXVALUE. */
  readonly lo?: bigint;
  readonly hi?: bigint;
  readonly rows: number;
}

/**
 * At most `parts` ranges covering the whole sky, each a run of cells, with row counts as
 * equal as whole cells allow (a cell is never split: its rows share one partition).
 * `counts` are the non-empty cells in increasing order.
 */
export function balancedRanges(counts: readonly CellCount[], parts: number, order: number): Range[] {
  const total = counts.reduce((s, c) => s + c.rows, 0);
  const last = cellCount(order) - 1n;
  const cuts: bigint[] = [];
  let acc = 0;
  let atLastCut = 0;
  const share = () => (total * (cuts.length + 1)) / parts;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i];
    // Cut before a cell that would overshoot the next share by more than stopping short does.
    const t = share();
    if (cuts.length < parts - 1 && acc > atLastCut && acc + c.rows > t && t - acc < acc + c.rows - t) {
      cuts.push(c.cell);
      atLastCut = acc;
    }
    acc += c.rows;
    // Cut after it once the rows so far reach the next share.
    if (cuts.length < parts - 1 && i < counts.length - 1 && acc >= share()) {
      cuts.push(counts[i + 1].cell);
      atLastCut = acc;
    }
  }
  const out: Range[] = [];
  let first = 0n;
  for (let k = 0; k <= cuts.length; k++) {
    const end = k < cuts.length ? cuts[k] : last + 1n;
    const rows = counts.filter((c) => c.cell >= first && c.cell < end).reduce((s, c) => s + c.rows, 0);
    out.push({
      firstCell: first,
      lastCell: end - 1n,
      ...(k > 0 ? { lo: cellStart(first, order) } : {}),
      ...(k < cuts.length ? { hi: cellStart(end, order) } : {}),
      rows,
    });
    first = end;
  }
  return out;
}

/** Which shard holds partition k of n: contiguous runs, so a shard holds one region of sky. */
export function shardOf(k: number, parts: number, shards: number): number {
  return Math.floor((k * shards) / parts);
}
