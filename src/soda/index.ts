export { type CutoutPlan, planCutout, type SodaFilters } from './plan.js';
export {
  DEFAULT_SODA_LIMITS,
  imageHdu,
  parseSodaParams,
  registerSodaSync,
  type SodaDeps,
  SodaError,
  type SodaLimits,
} from './sync.js';
