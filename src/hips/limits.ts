import { integerSetting } from '../config/index.js';

/** The HiPS settings (VONODE_HIPS_*), named and shown in docs/hips.md and each HiPS's properties. */
export interface HipsLimits {
  /** A catalogue tile holds at most this many rows not shown at lower orders. */
  readonly catalogueTileRows: number;
  /** Images whose centre frequencies are within this ratio share one HiPS (one band). */
  readonly bandRatio: number;
}

export const DEFAULT_HIPS_LIMITS: HipsLimits = { catalogueTileRows: 300, bandRatio: 3 };

export function hipsLimits(env: Record<string, string | undefined> = process.env): HipsLimits {
  return {
    catalogueTileRows: integerSetting(
      env,
      'VONODE_HIPS_CATALOGUE_TILE_ROWS',
      DEFAULT_HIPS_LIMITS.catalogueTileRows,
      10,
      100_000,
    ),
    bandRatio: integerSetting(env, 'VONODE_HIPS_BAND_RATIO', DEFAULT_HIPS_LIMITS.bandRatio, 2, 1000),
  };
}
