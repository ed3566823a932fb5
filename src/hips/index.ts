export { type HipsDeps, registerHips } from './routes.js';
export { renderTile, type Survey } from './survey.js';
export { TILE_ORDER, TILE_WIDTH, tilePath, tilePixelCentres, tileSubIndex } from './tiles.js';
