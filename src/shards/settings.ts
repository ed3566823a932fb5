/**
 * How big published tables are laid out: partitioned on one server, or placed on several
 * (docs/scaling.md). Data, not code: the VONODE_* settings give the node's defaults and a
 * description's `partitioning` key overrides them for its table.
 */
import { ConfigError } from '../config/errors.js';

export interface LayoutSettings {
  /** A table with at least this many rows is partitioned (VONODE_PARTITION_MIN_ROWS; 0 = never). */
  readonly minRows: number;
  /** HEALPix order of the partition boundaries (VONODE_PARTITION_ORDER). */
  readonly order: number;
  /** Number of partitions (VONODE_PARTITIONS; at least one per shard). */
  readonly partitions: number;
  /** PostgreSQL URLs of the shard servers (VONODE_SHARDS, comma-separated; empty = this server). */
  readonly shards: readonly string[];
  /** Rows this close to a partition's edge are also stored, flagged, beside it (VONODE_SHARD_MARGIN, arcsec). */
  readonly marginArcsec: number;
  /** Seconds the coordinator waits for a shard's connection (VONODE_SHARD_CONNECT_TIMEOUT). */
  readonly connectTimeoutSeconds: number;
}

/** The part of a table description that may override the node's layout (docs/publishing.md). */
export interface PartitioningDescription {
  readonly minRows?: number;
  readonly order?: number;
  readonly partitions?: number;
  readonly marginArcsec?: number;
}

export const DEFAULT_LAYOUT: LayoutSettings = {
  minRows: 50_000_000,
  order: 7,
  partitions: 16,
  shards: [],
  marginArcsec: 10,
  connectTimeoutSeconds: 5,
};

function int(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
  min: number,
  max: number,
) {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max)
    throw new ConfigError(`${name}=${raw} is not valid`, `set an integer from ${min} to ${max}`);
  return v;
}

/** The node's layout settings; a bad value is a ConfigError naming the setting. */
export function layoutFromEnv(env: Record<string, string | undefined> = process.env): LayoutSettings {
  const shards = (env.VONODE_SHARDS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of shards) {
    let u: URL | undefined;
    try {
      u = new URL(s);
    } catch {
      u = undefined;
    }
    if (!u || !/^postgres(ql)?:$/.test(u.protocol))
      throw new ConfigError(
        `VONODE_SHARDS holds '${s.replace(/:[^:@/]*@/, ':***@')}', which is not a PostgreSQL URL`,
        'give postgres://user:password@host:port/database URLs separated by commas',
      );
  }
  return {
    minRows: int(env, 'VONODE_PARTITION_MIN_ROWS', DEFAULT_LAYOUT.minRows, 0, Number.MAX_SAFE_INTEGER),
    order: int(env, 'VONODE_PARTITION_ORDER', DEFAULT_LAYOUT.order, 1, 12),
    partitions: int(env, 'VONODE_PARTITIONS', DEFAULT_LAYOUT.partitions, 1, 4096),
    shards,
    marginArcsec: int(env, 'VONODE_SHARD_MARGIN', DEFAULT_LAYOUT.marginArcsec, 0, 3600),
    connectTimeoutSeconds: int(
      env,
      'VONODE_SHARD_CONNECT_TIMEOUT',
      DEFAULT_LAYOUT.connectTimeoutSeconds,
      1,
      600,
    ),
  };
}

/** The node's settings with a description's overrides. */
export function layoutFor(base: LayoutSettings, desc?: PartitioningDescription): LayoutSettings {
  if (!desc) return base;
  return {
    ...base,
    ...(desc.minRows !== undefined ? { minRows: desc.minRows } : {}),
    ...(desc.order !== undefined ? { order: desc.order } : {}),
    ...(desc.partitions !== undefined ? { partitions: desc.partitions } : {}),
    ...(desc.marginArcsec !== undefined ? { marginArcsec: desc.marginArcsec } : {}),
  };
}
