export type { PoleSolution } from './celestial.js';
export { celestialToNative, nativeToCelestial, solvePole } from './celestial.js';
export {
  type CelestialFrame,
  fk4Frame,
  fk5Frame,
  frameToIcrs,
  GALACTIC,
  ICRS,
  icrsToFrame,
} from './frames.js';
export { makeProjection, type Projection, type ProjectionCode } from './projection.js';
export { celestialPixelBox, type PixelInterval, type SkyRegion, spectralPixelRange } from './region.js';
export {
  SPECTRAL_SI_UNIT,
  SPEED_OF_LIGHT,
  type SpectralReference,
  type SpectralType,
  spectralUnitScale,
  toFrequencyHz,
  toWavelengthM,
} from './spectral.js';
export {
  type CelestialAxes,
  type SpectralAxis,
  STOKES_CODES,
  shiftedCrpix,
  Wcs,
  WcsError,
  type WcsKeywords,
  type WcsOptions,
} from './wcs.js';
