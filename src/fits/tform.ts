/**
 * Bytes of one element of each BINTABLE TFORMn type letter (FITS 4.0 Table 18). P and Q are
 * the array descriptors (two 32-bit or two 64-bit integers); X is a bit, counted per field.
 */
export const TFORM_ELEMENT_BYTES: Readonly<Record<string, number>> = {
  L: 1,
  B: 1,
  I: 2,
  J: 4,
  K: 8,
  A: 1,
  E: 4,
  D: 8,
  C: 8,
  M: 16,
  P: 8,
  Q: 16,
};

/** Bytes of a field of `repeat` elements of type `code`: bits (X) are packed into bytes. */
export function tformFieldBytes(repeat: number, code: string): number {
  if (code === 'X') return Math.ceil(repeat / 8);
  return repeat * (TFORM_ELEMENT_BYTES[code] ?? Number.NaN);
}
