/**
 * `vonode shards [SCHEMA.TABLE]`: how the big published tables are laid out (src/shards):
 * each partition's HEALPix cells, rows and margin rows and where it lives, then per table
 * and per shard the rows held and the balance (largest partition over the mean).
 */
import { ConfigError } from '../config/index.js';
import { type PartitionRow, readLayout } from '../shards/index.js';
import { openCommandDatabase } from './publish.js';

const USAGE = 'usage: vonode shards [SCHEMA.TABLE]';

export async function runShardsCommand(argv: readonly string[]): Promise<number> {
  if (argv.length > 1 || argv[0]?.startsWith('-')) throw new ConfigError(`unexpected ${argv.at(-1)}`, USAGE);
  const db = await openCommandDatabase((line) => process.stderr.write(`vonode: ${line}\n`));
  try {
    const rows = await readLayout(db.pool, argv[0]);
    if (rows.length === 0) {
      process.stdout.write(
        argv[0]
          ? `${argv[0]} is not partitioned (or not published)\n`
          : 'no published table is partitioned (VONODE_PARTITION_MIN_ROWS decides which are)\n',
      );
      return 0;
    }
    process.stdout.write(layoutText(rows));
    return 0;
  } finally {
    await db.close();
  }
}

/** The layout as aligned text: one line per partition, then a summary per table and shard. */
export function layoutText(rows: readonly PartitionRow[]): string {
  const lines = [['table', 'part', 'order', 'cells', 'rows', 'margin', 'where']];
  for (const r of rows)
    lines.push([
      r.tableName,
      String(r.part),
      String(r.order),
      r.firstCell === r.lastCell ? r.firstCell : `${r.firstCell}-${r.lastCell}`,
      String(r.rows),
      String(r.marginRows),
      r.shard ? `shard ${r.shard} ${r.shardUrl ?? ''}` : 'this server',
    ]);
  const widths = lines[0].map((_, k) => Math.max(...lines.map((l) => l[k].length)));
  let out = '';
  for (const l of lines)
    out += `${l
      .map((v, k) => v.padEnd(widths[k]))
      .join('  ')
      .trimEnd()}\n`;
  for (const table of [...new Set(rows.map((r) => r.tableName))]) {
    const mine = rows.filter((r) => r.tableName === table);
    const total = mine.reduce((s, r) => s + r.rows, 0);
    const mean = total / mine.length;
    const most = Math.max(...mine.map((r) => r.rows));
    out += `\n${table}: ${total} rows in ${mine.length} partitions; balance ${(most / mean).toFixed(2)} (largest over mean)\n`;
    const shards = [...new Set(mine.map((r) => r.shard ?? 0))].sort((a, b) => a - b);
    for (const s of shards) {
      const on = mine.filter((r) => (r.shard ?? 0) === s);
      const n = on.reduce((x, r) => x + r.rows, 0);
      const m = on.reduce((x, r) => x + r.marginRows, 0);
      out += `  ${s === 0 ? 'this server' : `shard ${s}`}: ${n} rows (${((100 * n) / total).toFixed(1)}%), ${m} margin rows, ${on.length} partitions\n`;
    }
  }
  return out;
}
