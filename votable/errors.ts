/** A value or a document description that the encoders cannot represent. */
export class VOTableEncodeError extends Error {
  override name = 'VOTableEncodeError';
}

/** Malformed or over-limit VOTable input; row/column are 1-based where known. */
export class VOTableReadError extends Error {
  override name = 'VOTableReadError';
  constructor(
    message: string,
    readonly row?: number,
    readonly column?: string,
  ) {
    super(message);
  }
}
