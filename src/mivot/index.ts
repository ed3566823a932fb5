export type { EpochPositionColumns, MivotAnnotation } from './epoch-position.js';
export {
  annotateEpochPosition,
  epochPositionColumns,
  epochRepresentation,
  MIVOT_NS,
} from './epoch-position.js';
