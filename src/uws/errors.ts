/**
 * A request the UWS layer refuses, with the HTTP status the standard asks for
 * (UWS-50, UWS-51) and a message a person can act on.
 */
export class UwsError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 503,
    message: string,
  ) {
    super(message);
    this.name = 'UwsError';
  }
}

export function notFound(jobId: string): UwsError {
  return new UwsError(
    404,
    `no job with id ${jobId} (it may have been deleted or passed its destruction time)`,
  );
}

export function badRequest(message: string): UwsError {
  return new UwsError(400, message);
}

export function forbidden(message: string): UwsError {
  return new UwsError(403, message);
}
