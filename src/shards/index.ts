/**
 * Big catalogues past one table and one machine (docs/scaling.md): published versions
 * range-partitioned on their HEALPix index, on this server or on shard servers reached
 * through postgres_fdw; the layout report of `vonode shards`; shard failures as DALI errors.
 */
export { balancedRanges, type CellCount, cellCount, cellStart, type Range, shardOf } from './boundaries.js';
export {
  rowsFromShards,
  SELF_CROSSMATCH_SETTINGS,
  type SelfCrossmatch,
  selfCrossmatchSql,
} from './crossmatch.js';
export { shardUnavailable } from './errors.js';
export {
  controlFile,
  EXTENSION,
  ensureExtension,
  extensionScript,
  extensionVersion,
  writeExtensionFiles,
} from './extension.js';
export { type LayoutReport, layOutVersion, type PartitionReport, type StagedVersion } from './layout.js';
export { type PartitionRow, readLayout } from './report.js';
export {
  DEFAULT_LAYOUT,
  type LayoutSettings,
  layoutFor,
  layoutFromEnv,
  type PartitioningDescription,
} from './settings.js';
