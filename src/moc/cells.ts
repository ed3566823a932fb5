import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { HEALPIX_INDEX_ORDER } from '../../sky/index.js';

const pgIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * The SQL of the canonical cells (MOC-05, MOC-06: the largest cells first, by order then
 * index) of the rows of `schema.table` at `order`, from their order-29 NESTED index column,
 * as rows `order<TAB>index` sorted by order then index; NUNIQ (MOC-03) sorts the same way.
 *
 * All the work is PostgreSQL's, so a catalogue of millions of rows never passes through the
 * node's memory: the distinct cells at `order`; runs of consecutive cells merged into
 * half-open ranges (gaps and islands); then each range unmapped into whole cells. A cell
 * of order o lies in the canonical set when the range covers it and not its parent: the
 * covered cells of order o are [m1, m2) = [ceil(lo/4^d), floor(hi/4^d)), d = order − o,
 * less the children [4·p1, 4·p2) of the covered cells of order o − 1. Ranges never touch,
 * so no cell is covered by two. No window over the orders and no sort but the last.
 */
export function canonicalCellsSql(schema: string, table: string, column: string, order: number): string {
  if (!Number.isInteger(order) || order < 0 || order > HEALPIX_INDEX_ORDER)
    throw new RangeError(`order ${order} is outside 0..${HEALPIX_INDEX_ORDER}`);
  const key = pgIdent(column);
  const shift = 2 * (HEALPIX_INDEX_ORDER - order);
  // d = order − o: a range of n cells holds whole cells of order o only when 4^d <= n, so
  // only those orders are visited (one for the many single cells). The parent bounds are
  // those of order o − 1, none at order 0. log() is a float: rounded up a little, an order
  // too many only yields m1 >= m2, which is left out.
  return `WITH c AS (
  SELECT DISTINCT ${key} >> ${shift} AS cell FROM ${pgIdent(schema)}.${pgIdent(table)} WHERE ${key} IS NOT NULL
), r AS (
  SELECT min(cell) AS lo, max(cell) + 1 AS hi
  FROM (SELECT cell, cell - row_number() OVER (ORDER BY cell) AS run FROM c) AS x
  GROUP BY run
), l AS (
  SELECT ${order} - d AS o,
    (lo + (1::bigint << (2 * d)) - 1) >> (2 * d) AS m1,
    hi >> (2 * d) AS m2,
    CASE WHEN d < ${order} THEN (lo + (1::bigint << (2 * d + 2)) - 1) >> (2 * d + 2) END AS p1,
    CASE WHEN d < ${order} THEN hi >> (2 * d + 2) END AS p2
  FROM r CROSS JOIN LATERAL generate_series(0, least(${order}, floor(ln((hi - lo)::float8) / ln(4) + 1e-6)::int)) AS d
)
SELECT o, i FROM (
  SELECT o, generate_series(m1, m2 - 1) AS i FROM l WHERE m1 < m2 AND NOT coalesce(p1 < p2, false)
  UNION ALL
  SELECT o, generate_series(m1, 4 * p1 - 1) FROM l WHERE m1 < m2 AND p1 < p2
  UNION ALL
  SELECT o, generate_series(4 * p2, m2 - 1) FROM l WHERE m1 < m2 AND p1 < p2
) AS z
ORDER BY o, i`;
}

/**
 * Writes the canonical cells to `path` as PostgreSQL's COPY text (`order<TAB>index` lines),
 * streamed: the node holds one chunk at a time. Returns the number of cells. Run on a
 * client already in the caller's identity, so row-level security leaves out rows the
 * caller may not read.
 */
export async function copyCellsToFile(client: pg.PoolClient, sql: string, path: string): Promise<number> {
  const stream = client.query(copyTo(`COPY (${sql}) TO STDOUT`)) as Readable & { rowCount?: number };
  await pipeline(stream, createWriteStream(path));
  return stream.rowCount ?? 0;
}
