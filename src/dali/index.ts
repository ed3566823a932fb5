export { DaliError } from './errors.js';
export { FormDecoder, type FormFields, FormTooLargeError, MAX_FORM_BYTES, readForm } from './form.js';
export { type OutputFormat, parseResponseFormat, type ResponseFormat } from './format.js';
export { type MaxrecLimits, parseMaxrec } from './maxrec.js';
export { DaliParams } from './params.js';
