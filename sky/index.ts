export type { CoverageOptions } from './coverage.js';
export { coneCoverage, DEFAULT_MAX_RANGES, polygonCoverage } from './coverage.js';
export { SkyError } from './errors.js';
export { angularDistanceDeg, boxVertices, MAX_POLYGON_VERTICES, SphericalPolygon } from './geometry.js';
export { HEALPIX_INDEX_ORDER, nestedIndex, nestedIndexWords, nestedToLonLat } from './healpix.js';
export type { MocCell, MocFitsOptions, MocParseOptions } from './moc.js';
export { cellToUniq, Moc, mocFitsHeader, uniqToCell } from './moc.js';
export type { PixelRange } from './ranges.js';
