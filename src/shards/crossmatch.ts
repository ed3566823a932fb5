/**
 * A crossmatch of a sharded table with itself whose radius is within the margin, run on the
 * shards: only the matched pairs travel (issue 22 acceptance).
 *
 * The layout gives every version two list-partitioned tables on the coordinator, one
 * partition per shard partition k, both foreign tables of k's server:
 *   `<version>_xo`: k's own rows, each with `vonode_cover`, the order-29 HEALPix ranges
 *     adql.xmatch_cover gives for a circle of the margin's radius around it (ADQL-39);
 *   `<version>_xi`: k's own rows and its margin rows (rows of other partitions whose margin
 *     circle reaches k's cells).
 * Every pair closer than r <= margin has its first row in exactly one partition k's own rows
 * and its second row stored on k (own or margin): the second row's margin circle contains
 * the first, so its cover meets k's cells. Joining the two tables on `vonode_part` lets
 * PostgreSQL join them partition by partition (enable_partitionwise_join); the two sides of
 * each such join are foreign tables of the same server and every condition is built in or
 * of the vonode_adql extension (extension.ts), so postgres_fdw sends the whole join to the
 * shard, which scans its healpix index by the outer row's cover and sends back the pairs.
 */
import { quoteIdent, XMATCH_INNER, XMATCH_OUTER, xmatchName } from './names.js';

export interface SelfCrossmatch {
  /** Physical schema and version table of the sharded version. */
  readonly sqlSchema: string;
  readonly versionTable: string;
  readonly healpix: string;
  readonly ra: string;
  readonly dec: string;
  /** Columns of the first (a) and second (b) row to return, unquoted physical names. */
  readonly columnsA: readonly string[];
  readonly columnsB: readonly string[];
  /** Radius in degrees; at most the layout's margin. */
  readonly radiusDeg: number;
  readonly marginArcsec: number;
}

/** The SQL of the crossmatch; run it with enable_partitionwise_join on. */
export function selfCrossmatchSql(x: SelfCrossmatch): string {
  if (!(x.radiusDeg >= 0) || x.radiusDeg * 3600 > x.marginArcsec)
    throw new RangeError(
      `a crossmatch radius of ${x.radiusDeg * 3600} arcsec is beyond the layout's margin of ${x.marginArcsec} arcsec`,
    );
  const t = (side: string) => `${quoteIdent(x.sqlSchema)}.${quoteIdent(xmatchName(x.versionTable, side))}`;
  const a = (c: string) => `a.${quoteIdent(c)}`;
  const b = (c: string) => `b.${quoteIdent(c)}`;
  const arms = [1, 2, 3, 4]
    .map(
      (i) =>
        `(${b(x.healpix)} >= a.vonode_cover[${2 * i - 1}] AND ${b(x.healpix)} < a.vonode_cover[${2 * i}])`,
    )
    .join(' OR ');
  const list = [
    ...x.columnsA.map((c) => `${a(c)} AS ${quoteIdent(`a_${c}`)}`),
    ...x.columnsB.map((c) => `${b(c)} AS ${quoteIdent(`b_${c}`)}`),
  ].join(', ');
  return `SELECT ${list} FROM ${t(XMATCH_OUTER)} AS a JOIN ${t(XMATCH_INNER)} AS b
    ON a.vonode_part = b.vonode_part AND (${arms})
   AND adql.xmatch_within(${a(x.ra)}, ${a(x.dec)}, ${b(x.ra)}, ${b(x.dec)}, ${x.radiusDeg}::float8)`;
}

/**
 * Session settings for the crossmatch, inside its transaction: partition-wise join, and no
 * join on the coordinator. PostgreSQL 17's postgres_fdw costs each shipped row at
 * fdw_tuple_cost 0.2 and estimates a crossmatch's pairs by default selectivities (a third of
 * all pairs per comparison), so by cost alone it would rather fetch both sides and join them
 * here; with the coordinator's join methods off, the only plan left without a penalty is the
 * Append of the joins postgres_fdw runs on the shards.
 */
export const SELF_CROSSMATCH_SETTINGS =
  'SET LOCAL enable_partitionwise_join = on; SET LOCAL enable_nestloop = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off';

/**
 * Rows that crossed from the shards to the coordinator in an executed plan (EXPLAIN
 * (ANALYZE, FORMAT JSON)): the actual rows x loops of every foreign scan, joins included;
 * `pushedJoins` counts the foreign scans that are whole joins (postgres_fdw's join pushdown).
 */
export function rowsFromShards(plan: unknown): { rows: number; scans: number; pushedJoins: number } {
  let rows = 0;
  let scans = 0;
  let pushedJoins = 0;
  const walk = (n: Record<string, unknown>) => {
    if (n['Node Type'] === 'Foreign Scan') {
      scans++;
      rows += Number(n['Actual Rows']) * Number(n['Actual Loops']);
      if (n.Operation === 'Select' && typeof n.Relations === 'string' && / JOIN /.test(n.Relations))
        pushedJoins++;
    }
    for (const c of (n.Plans as Record<string, unknown>[] | undefined) ?? []) walk(c);
  };
  walk((plan as { Plan: Record<string, unknown> }[])[0].Plan);
  return { rows, scans, pushedJoins };
}
