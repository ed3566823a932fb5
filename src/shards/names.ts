/** Names of the objects a layout makes, and the text that names a part of the sky. */
import { createHash } from 'node:crypto';

export function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

export function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** `<versionTable>_p<k>`, shortened with a hash to PostgreSQL's 63 bytes. */
export function partitionName(versionTable: string, k: number | 'null'): string {
  const suffix = `_p${k}`;
  if (Buffer.byteLength(versionTable) + suffix.length <= 63) return versionTable + suffix;
  const hash = createHash('sha256').update(versionTable).digest('hex').slice(0, 8);
  return `${versionTable.slice(0, 63 - suffix.length - 9)}_${hash}${suffix}`;
}

/** The view on a shard that serves a partition's own rows (not its margin). */
export function ownViewName(partition: string): string {
  return partition.length <= 59 ? `${partition}_own` : `${partition.slice(0, 55)}_own`;
}

/**
 * The foreign server of one partition: which shard, and which cells of which order. The name
 * says which part of the sky it serves, so an error that names it (postgres_fdw's "could not
 * connect to server ...") can be told to the client as that part of the sky (errors.ts).
 */
export function serverName(shard: number, url: string, order: number, first: bigint, last: bigint): string {
  const h = createHash('sha256').update(url).digest('hex').slice(0, 6);
  return `vonode_s${shard + 1}_${h}_o${order}_${first}_${last}`;
}

const SERVER = /vonode_s(\d+)_[0-9a-f]{6}_o(\d+)_(\d+)_(\d+)/;

/** The sky part a foreign server name stands for, or undefined when it is not one. */
export function skyPartOf(
  text: string,
): { shard: number; order: number; first: bigint; last: bigint } | undefined {
  const m = SERVER.exec(text);
  if (!m) return undefined;
  return { shard: Number(m[1]), order: Number(m[2]), first: BigInt(m[3]), last: BigInt(m[4]) };
}

/** The shard's URL without its password, for logs and `vonode shards`. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid URL)';
  }
}

/** The crossmatch sides (crossmatch.ts): own rows with their cover, own rows plus margin. */
export const XMATCH_OUTER = 'xo';
export const XMATCH_INNER = 'xi';

/** `<name>_xo` / `<name>_xi`, shortened with a hash to PostgreSQL's 63 bytes. */
export function xmatchName(name: string, side: string): string {
  const suffix = `_${side}`;
  if (Buffer.byteLength(name) + suffix.length <= 63) return name + suffix;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, 63 - suffix.length - 9)}_${hash}${suffix}`;
}
