export { type CutoutOptions, cutoutByteLength, cutoutCards, writeCutout } from './cutout.js';
export { FitsError, type FitsErrorCode } from './errors.js';
export {
  BLOCK_SIZE,
  CARD_SIZE,
  type CardInput,
  encodeHeader,
  type FitsCard,
  type FitsComplex,
  FitsHeader,
  type FitsValue,
  formatCard,
  formatReal,
} from './header.js';
export { productHdu } from './image-hdu.js';
export {
  encodeGrayAlphaPng,
  type Preview,
  type PreviewOptions,
  renderPreview,
  type Stretch,
  stretchValue,
  zscale,
} from './preview.js';
export {
  type AxisRange,
  type Bitpix,
  type DataRun,
  decodeInto,
  FitsFile,
  type FitsHdu,
  type FitsOpenOptions,
  planRuns,
  type ReadOptions,
} from './reader.js';
export { TFORM_ELEMENT_BYTES, tformFieldBytes } from './tform.js';
export {
  type DataLayout,
  encodePixels,
  FileSink,
  FitsHduWriter,
  type FitsPixels,
  type FitsSink,
  layoutOf,
  writeFitsFile,
} from './writer.js';
