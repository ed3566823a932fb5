export { type HipsDeps, registerHips } from './routes.js';
export { TILE_ORDER, TILE_WIDTH, tilePath, tilePixelCentres, tileSubIndex } from './tiles.js';
