export { type ConeCatalogue, DEMO_CONE_CATALOGUE } from './query.js';
export { type ConeRequest, parseConeRequest, type ScsLimits, type Verbosity } from './request.js';
export { registerScs, type ScsDeps } from './routes.js';
