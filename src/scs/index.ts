export { type ConeSearchLimits, coneCapability, coneSearchCapability } from './capability.js';
export { type ConeCatalogue, coneCatalogueOf } from './query.js';
export { type ConeRequest, parseConeRequest, type ScsLimits, type Verbosity } from './request.js';
export { DEFAULT_CONE_TABLE, findPositional, registerScs, type ScsDeps } from './routes.js';
