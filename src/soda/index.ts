export {
  DEFAULT_SODA_ASYNC_LIMITS,
  registerSodaAsync,
  type SodaAsyncDeps,
  type SodaAsyncLimits,
  sodaCombinations,
  sodaJobRunner,
} from './async.js';
export { type CutoutPlan, planCutout, type SodaFilters } from './plan.js';
export { type CutoutReadOptions, planReads, streamCutout } from './read.js';
export {
  DEFAULT_SODA_LIMITS,
  imageHdu,
  parseSodaParams,
  registerSodaSync,
  type SodaDeps,
  SodaError,
  type SodaLimits,
} from './sync.js';
