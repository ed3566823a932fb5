/**
 * A request the service cannot carry out, with the message the client should read and
 * the HTTP status DALI expects (DALI-32: 4xx for a bad request, 5xx for a failure).
 */
export class DaliError extends Error {
  constructor(
    message: string,
    readonly status: number = 400,
  ) {
    super(message);
    this.name = 'DaliError';
  }

  /** The status under the name Fastify's error handlers read, so any handler answers it as such. */
  get statusCode(): number {
    return this.status;
  }
}
