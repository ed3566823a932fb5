/**
 * Why a FITS operation failed, as a code a caller can branch on:
 * - NOT_FITS: the file does not start with a FITS primary header (FITS-05);
 * - BAD_HEADER: a header breaks a rule a reader cannot work around (FITS-10..FITS-16, FITS-34);
 * - TRUNCATED: the file is shorter than its headers say (FITS-04);
 * - UNSUPPORTED: valid FITS this implementation does not handle (e.g. compressed, FITS-33);
 * - BAD_REQUEST: the caller asked for something impossible (pixel box outside the array, too big);
 * - WRITE: the writer was fed the wrong number of bytes or an unwritable value;
 * - LIMIT: a named size limit was exceeded.
 */
export type FitsErrorCode =
  | 'NOT_FITS'
  | 'BAD_HEADER'
  | 'TRUNCATED'
  | 'UNSUPPORTED'
  | 'BAD_REQUEST'
  | 'WRITE'
  | 'LIMIT';

export class FitsError extends Error {
  constructor(
    readonly code: FitsErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(path ? `${path}: ${message}` : message);
    this.name = 'FitsError';
  }
}
