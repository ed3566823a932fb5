import { type ErrorLog, reportInternalError } from '../errors/index.js';
import { forbidden, notFound } from './errors.js';
import { type ErrorDetail, type ErrorSummary, JobFailure } from './types.js';

/**
 * Who asks for a job: an owner (null when anonymous), or an owner with the job kind its
 * routes serve (a SODA route must not reach a TAP job).
 */
export type Caller = string | null | { readonly owner: string | null; readonly kind: string };

export function ownerOf(caller: Caller): string | null {
  return caller !== null && typeof caller === 'object' ? caller.owner : caller;
}

/** Anonymous jobs are open to whoever has the id; owned ones only to their owner (UWS-53). */
export function checkAccess(job: { id: string; owner: string | null; kind: string }, caller: Caller): void {
  if (caller !== null && typeof caller === 'object' && caller.kind !== job.kind) throw notFound(job.id);
  const owner = ownerOf(caller);
  if (job.owner !== null && job.owner !== owner) {
    throw forbidden(
      owner === null
        ? 'this job belongs to an authenticated user: log in to see it'
        : 'this job belongs to another user',
    );
  }
}

/**
 * What a job's error summary says. A JobFailure is written for the client; any other error is
 * the service's own and may name files or SQL, so the client reads a reference to the log line
 * instead (issue 13: internal errors logged with an id).
 */
export function failureSummary(
  err: unknown,
  logger?: ErrorLog,
  jobId?: string,
): ErrorSummary & { detail?: ErrorDetail } {
  if (err instanceof JobFailure) {
    return { type: err.type, message: err.message, hasDetail: err.detail !== undefined, detail: err.detail };
  }
  const message = logger
    ? reportInternalError(logger, err, 'UWS job failed', { jobId })
    : 'the job failed inside the service';
  return { type: 'fatal', message, hasDetail: false };
}
