/** Every size, count and time the UWS layer enforces, with its default. */
export interface UwsLimits {
  /** Execution duration given to new jobs, seconds; 0 = unlimited (UWS-8). */
  readonly defaultExecutionDuration: number;
  /** Largest execution duration a client may ask for, seconds; 0 = no cap. */
  readonly maxExecutionDuration: number;
  /** Lifetime of a new job until its destruction, seconds (UWS-9). */
  readonly defaultDestruction: number;
  /** Latest destruction a client may ask for, seconds from now; 0 = no cap. */
  readonly maxDestruction: number;
  /** Longest blocking GET, seconds; WAIT=-1 and larger values are cut to it (UWS-42). */
  readonly maxWait: number;
  /** Jobs run at once by this process. */
  readonly concurrency: number;
  /** Jobs of one owner running at once across all processes; 0 = no cap. */
  readonly perOwnerConcurrency: number;
  /** Queued jobs one owner may have before PHASE=RUN puts new ones in HELD; 0 = no cap. */
  readonly maxQueuedPerOwner: number;
  /** Fallback polling when no notification arrives, milliseconds. */
  readonly pollInterval: number;
  /** How often a worker marks its running jobs alive, milliseconds. */
  readonly heartbeatInterval: number;
  /** A running job whose heartbeat is older than this is taken as orphaned, milliseconds. */
  readonly staleAfter: number;
  /** Runs a job may start (the first plus re-runs after crashes) before it goes to ERROR. */
  readonly maxAttempts: number;
  /** How often expired jobs are destroyed and orphaned ones recovered, milliseconds. */
  readonly sweepInterval: number;
  /** How long an aborted runner may take to stop before its slot is given back, milliseconds. */
  readonly abortGrace: number;
  /** Most jobs a job list returns when no LAST is given (UWS-37). */
  readonly maxListSize: number;
  /** Largest parameter list of one job, bytes of JSON. */
  readonly maxParameterBytes: number;
  /**
   * Unfinished jobs (PENDING, QUEUED, HELD, EXECUTING, SUSPENDED) one caller may have of a
   * kind: an owner, or for anonymous callers one address; 0 = no cap. Beyond it, 429.
   */
  readonly maxUnfinishedPerClient: number;
}

export const DEFAULT_LIMITS: UwsLimits = {
  defaultExecutionDuration: 3600,
  maxExecutionDuration: 4 * 3600,
  defaultDestruction: 7 * 86400,
  maxDestruction: 30 * 86400,
  maxWait: 60,
  concurrency: 2,
  perOwnerConcurrency: 4,
  maxQueuedPerOwner: 0,
  pollInterval: 2000,
  heartbeatInterval: 5000,
  staleAfter: 30_000,
  maxAttempts: 2,
  sweepInterval: 60_000,
  abortGrace: 5000,
  maxListSize: 1000,
  maxParameterBytes: 1_000_000,
  maxUnfinishedPerClient: 500,
};

export function resolveLimits(given: Partial<UwsLimits> | undefined): UwsLimits {
  const limits = { ...DEFAULT_LIMITS, ...given };
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new Error(`UWS limit ${name} must be a finite number >= 0, got ${String(value)}`);
    }
  }
  if (limits.concurrency < 1) throw new Error('UWS limit concurrency must be at least 1');
  if (limits.maxAttempts < 1) throw new Error('UWS limit maxAttempts must be at least 1');
  if (limits.staleAfter < 2 * limits.heartbeatInterval) {
    throw new Error(
      `UWS limit staleAfter (${limits.staleAfter} ms) must be at least twice heartbeatInterval (${limits.heartbeatInterval} ms), or live jobs would be taken as orphaned`,
    );
  }
  return limits;
}
