/**
 * A refusal the client can act on. The draft defines no error model yet (its error section,
 * EB-13, is still a placeholder), so errors carry the draft's own message list (EB-80) with
 * an HTTP status.
 */
export class BrokerError extends Error {
  constructor(
    readonly status: number,
    /** A message type URI in the reference implementation's style, e.g. uri:invalid-transition. */
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = 'BrokerError';
  }
}

export const badRequest = (type: string, message: string) => new BrokerError(400, type, message);
export const notFound = (message: string) => new BrokerError(404, 'uri:resource-not-found', message);
export const conflict = (type: string, message: string) => new BrokerError(409, type, message);
