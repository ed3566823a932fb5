export {
  charParam,
  DATALINK_CONTENT_TYPE,
  DATALINK_STANDARD_ID,
  DID_FIELD_ID,
  genericSodaDescriptor,
  linksDescriptor,
  obscoreFields,
  SIA_STANDARD_ID,
  SODA_PARAM,
  SODA_SYNC_STANDARD_ID,
} from './descriptors.js';
export {
  boundingCone,
  POL_LABELS,
  SIA_QUERY_PARAMS,
  type SiaParamName,
  type SpatialIndex,
  siaSql,
} from './query.js';
export { DEFAULT_SIA_LIMITS, registerSia, type SiaDeps, type SiaLimits } from './routes.js';
export {
  isWholeSky,
  MAX_VERTICES,
  ParamError,
  parseCircle,
  parseInterval,
  parsePolygon,
  parsePos,
  parseRange,
  rangePolygons,
} from './shapes.js';
