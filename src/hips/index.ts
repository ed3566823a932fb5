export { CatalogueHips, rankingOf } from './catalogue.js';
export { fitsTileValues } from './encode.js';
export { DEFAULT_HIPS_LIMITS, type HipsLimits, hipsLimits } from './limits.js';
export { meanOfChildren } from './pyramid.js';
export { type HipsDeps, registerHips } from './routes.js';
export { groupByBand, renderTile, type Survey } from './survey.js';
export { TILE_ORDER, TILE_WIDTH, tilePath, tilePixelCentres, tileSubIndex } from './tiles.js';
