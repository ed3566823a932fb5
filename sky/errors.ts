/**
 * Bad input to the sky maths (an order outside 0..29, a latitude beyond the poles, a
 * malformed MOC string...). `problem` says what was wrong, `fix` what to send instead, so
 * callers can pass both straight to the client in their protocol's error form.
 */
export class SkyError extends Error {
  constructor(
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${problem}; ${fix}`);
    this.name = 'SkyError';
  }
}
