import type { Readable } from 'node:stream';

/** The execution phases of the UWS 1.1 schema enumeration (UWS-18). */
export const PHASES = [
  'PENDING',
  'QUEUED',
  'EXECUTING',
  'COMPLETED',
  'ERROR',
  'ABORTED',
  'UNKNOWN',
  'HELD',
  'SUSPENDED',
  'ARCHIVED',
] as const;

export type Phase = (typeof PHASES)[number];

/** Phases in which a blocking GET may wait (UWS-21, UWS-40). */
export const ACTIVE_PHASES: ReadonlySet<Phase> = new Set<Phase>(['PENDING', 'QUEUED', 'EXECUTING']);

/** Phases a job never leaves except by destruction. */
export const FINAL_PHASES: ReadonlySet<Phase> = new Set<Phase>(['COMPLETED', 'ERROR', 'ABORTED', 'ARCHIVED']);

export function isPhase(value: string): value is Phase {
  return (PHASES as readonly string[]).includes(value);
}

/** One job parameter (UWS-15); a by-reference value is a URL. */
export interface JobParameter {
  readonly id: string;
  readonly value: string;
  readonly byReference?: boolean;
}

export interface ErrorSummary {
  readonly type: 'transient' | 'fatal';
  readonly message: string;
  readonly hasDetail: boolean;
}

/** The longer error document served at /error when `hasDetail` (UWS-11). */
export interface ErrorDetail {
  readonly mime: string;
  readonly body: string;
}

export interface JobResult {
  readonly id: string;
  /** Absent: the result is in the result store, served at {job}/results/{id}. */
  readonly href?: string;
  readonly mimeType?: string;
  readonly size?: number;
}

export interface Job {
  readonly id: string;
  readonly kind: string;
  readonly owner: string | null;
  readonly runId: string | null;
  readonly phase: Phase;
  readonly parameters: readonly JobParameter[];
  readonly quote: Date | null;
  /** Seconds of wall-clock time; 0 means unlimited (UWS-8). */
  readonly executionDuration: number;
  readonly destruction: Date | null;
  readonly creationTime: Date;
  readonly startTime: Date | null;
  readonly endTime: Date | null;
  readonly error: ErrorSummary | null;
  readonly results: readonly JobResult[];
  readonly attempts: number;
  /** The fencing token of the job's latest claim; 0 before it first runs. */
  readonly lease: number;
}

/** One line of the job list (UWS-45). */
export interface JobSummary {
  readonly id: string;
  readonly phase: Phase;
  readonly runId: string | null;
  readonly owner: string | null;
  readonly creationTime: Date;
}

/** What a runner sees of its job, and how it publishes results. */
export interface JobContext {
  readonly id: string;
  readonly kind: string;
  readonly owner: string | null;
  readonly runId: string | null;
  readonly parameters: readonly JobParameter[];
  readonly executionDuration: number;
  readonly creationTime: Date;
  /** 1 on the first run, more when a job is re-run after its worker died. */
  readonly attempt: number;
  /** The first parameter with this name, compared case-insensitively (DALI). */
  parameter(name: string): string | undefined;
  /** Every value of a multi-valued parameter, in order. */
  parameterValues(name: string): string[];
  /** Streams a result into the result store and lists it on the job. */
  addResult(resultId: string, stream: Readable, mimeType: string): Promise<{ size: number }>;
  /** Lists a result that lives elsewhere (any URI, UWS-14). */
  addResultReference(resultId: string, href: string, mimeType?: string, size?: number): Promise<void>;
}

/**
 * How a run ended when it did not throw. A runner reports failure either by returning
 * `{ error }` or by throwing (a `JobFailure` keeps its type and detail).
 */
export type JobOutcome = undefined | { readonly error?: JobFailureInit };

export interface JobFailureInit {
  readonly message: string;
  readonly type?: 'transient' | 'fatal';
  readonly detail?: ErrorDetail;
}

/**
 * Runs one job. The signal aborts on PHASE=ABORT, on the execution-duration limit, on
 * destruction and on shutdown; a runner should stop promptly when it fires.
 */
export type JobRunner = (job: JobContext, signal: AbortSignal) => Promise<JobOutcome | undefined>;

/** A failure a runner throws to control the error summary and the /error document. */
export class JobFailure extends Error {
  readonly type: 'transient' | 'fatal';
  readonly detail?: ErrorDetail;
  constructor(init: JobFailureInit) {
    super(init.message);
    this.name = 'JobFailure';
    this.type = init.type ?? 'fatal';
    this.detail = init.detail;
  }
}

export interface CreateJobInput {
  readonly kind: string;
  readonly owner: string | null;
  readonly parameters: readonly JobParameter[];
  readonly runId?: string | null;
  /** Requested seconds; clamped to the limits. */
  readonly executionDuration?: number;
  readonly destruction?: Date;
  /** PHASE=RUN in the creating request (UWS-17). */
  readonly run?: boolean;
  /** The id, when files were already kept for the job (newJobId); else a new one. */
  readonly id?: string;
  /** The caller's address: anonymous callers are capped per address. */
  readonly clientAddress?: string | null;
}

export interface ListQuery {
  readonly phases?: readonly Phase[];
  readonly after?: Date;
  readonly last?: number;
}
