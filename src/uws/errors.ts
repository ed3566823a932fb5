/**
 * A request the UWS layer refuses, with the HTTP status the standard asks for
 * (UWS-50, UWS-51) and a message a person can act on.
 */
export class UwsError extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 413 | 429 | 503,
    message: string,
    /** Seconds a client should wait before trying again (Retry-After), for 429 and 503. */
    readonly retryAfter?: number,
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

/** The error codes of a write that found no room: the disk, the owner's quota, or the file size limit. */
const DISK_FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/** Whether a file system error says the disk (or quota) is full. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && DISK_FULL.has(code);
}
