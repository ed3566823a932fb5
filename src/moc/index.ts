export { DEFAULT_MOC_LIMITS, type MocDeps, type MocLimits, registerMoc } from './routes.js';
