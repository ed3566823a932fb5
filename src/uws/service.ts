import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import type pg from 'pg';
import { type Caller, checkAccess, failureSummary, ownerOf } from './access.js';
import { badRequest, forbidden, isDiskFull, notFound, UwsError } from './errors.js';
import type { JobFiles } from './job-files.js';
import { resolveLimits, type UwsLimits } from './limits.js';
import { JobNotifier } from './notifier.js';
import type { ResultStore } from './result-store.js';
import { type Held, type ListFilter, UwsStorage } from './storage.js';
import {
  ACTIVE_PHASES,
  type CreateJobInput,
  type ErrorDetail,
  type ErrorSummary,
  FINAL_PHASES,
  type Job,
  type JobContext,
  JobFailure,
  type JobOutcome,
  type JobParameter,
  type JobRunner,
  type JobSummary,
  type ListQuery,
  type Phase,
} from './types.js';

/** Where the service reports trouble it cannot hand to a client (pino-compatible). */
export interface UwsLogger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface UwsServiceOptions {
  readonly pool: pg.Pool;
  readonly resultStore: ResultStore;
  /** One runner per job kind ('tap', 'soda', 'broker', ...). */
  readonly runners: Readonly<Record<string, JobRunner>>;
  readonly limits?: Partial<UwsLimits>;
  /** Schema holding the UWS tables (sql/040_uws.sql); 'uws' unless testing. */
  readonly schema?: string;
  /** Names this process in claimed_by; unique per process by default. */
  readonly workerId?: string;
  /**
   * Connection settings for the dedicated LISTEN connection; defaults to the pool's.
   * `false` disables notifications (every wait then polls).
   */
  readonly listen?: pg.ClientConfig | false;
  readonly logger?: UwsLogger;
  /**
   * false: this process accepts and serves jobs but never runs them (a front end whose
   * workers are other processes). Default true.
   */
  readonly runWorkers?: boolean;
  /**
   * The phase of a job stopped by its execution-duration limit, always with an error
   * summary saying so. UWS 1.1 §2.1.4 says the service should abort it "with the same
   * effect as a manual Abort" (ABORTED); the default ERROR tells clients that poll only
   * for ERROR that the job failed. Default 'ERROR'.
   */
  readonly timeoutPhase?: 'ERROR' | 'ABORTED';
  /**
   * Files jobs keep until they run (inline uploads): removed with the job, when it ends,
   * and by the sweeper when no unfinished job owns them (issue 13).
   */
  readonly jobFiles?: JobFiles;
}

/**
 * Who is asking: the owner id, null for anonymous; or the owner with the job kind the
 * request came through, so that a job list never serves another kind's jobs (404).
 */
type StopReason = 'abort' | 'timeout' | 'gone' | 'deleted' | 'shutdown';

interface RunningJob {
  readonly job: Job;
  readonly controller: AbortController;
  reason: StopReason | null;
  /** Set once this process has written the final phase, so its own echo is not taken as news. */
  settled: boolean;
  /** Why a result could not be stored, if the store was full: the job ends with this. */
  storeFull?: JobFailure;
}

const ABORTABLE: readonly Phase[] = ['PENDING', 'QUEUED', 'EXECUTING', 'HELD', 'SUSPENDED'];
const DURATION_EDITABLE: readonly Phase[] = ['PENDING', 'HELD', 'QUEUED'];
const SWEEP_BATCH = 500;

/**
 * UWS 1.1 jobs in PostgreSQL: the state machine (UWS-19), the worker loop that runs jobs
 * of the registered kinds, blocking waits, destruction and crash recovery. Any number of
 * processes may share one database.
 */
export class UwsService {
  readonly limits: UwsLimits;
  readonly workerId: string;
  readonly storage: UwsStorage;
  readonly resultStore: ResultStore;
  private readonly runners: Readonly<Record<string, JobRunner>>;
  private readonly kinds: string[];
  private readonly notifier: JobNotifier | null;
  private readonly localEvents: JobNotifier;
  private readonly logger: UwsLogger;
  private readonly running = new Map<string, RunningJob>();
  private readonly finishing = new Set<Promise<void>>();
  private started = false;
  private stopping = false;
  private wakeWorker: (() => void) | null = null;
  private wakePending = false;
  private workerLoop: Promise<void> | null = null;
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | null = null;
  private readonly runWorkers: boolean;
  private readonly timeoutPhase: 'ERROR' | 'ABORTED';
  readonly jobFiles: JobFiles | null;

  constructor(options: UwsServiceOptions) {
    this.limits = resolveLimits(options.limits);
    this.storage = new UwsStorage(options.pool, options.schema);
    this.resultStore = options.resultStore;
    this.runners = options.runners;
    this.kinds = Object.keys(options.runners);
    this.runWorkers = options.runWorkers ?? true;
    this.timeoutPhase = options.timeoutPhase ?? 'ERROR';
    this.jobFiles = options.jobFiles ?? null;
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.logger = options.logger ?? {
      warn: (o, m) => console.warn(m ?? '', o),
      error: (o, m) => console.error(m ?? '', o),
    };
    const notifier =
      options.listen === false
        ? null
        : new JobNotifier({
            connection: options.listen ?? (options.pool as pg.Pool & { options: pg.PoolConfig }).options,
            channel: this.storage.channel,
            reconnectMs: this.limits.pollInterval,
            onError: (err) =>
              this.logger.warn({ err }, 'UWS notification connection lost; polling meanwhile'),
          });
    this.notifier = notifier;
    // With notifications off, events of this process still reach its own waiters.
    this.localEvents = notifier ?? new JobNotifier({ connection: {}, channel: '', reconnectMs: 0 });
  }

  /** Whether jobs of this kind can run here. */
  hasKind(kind: string): boolean {
    return Object.hasOwn(this.runners, kind);
  }

  /**
   * Starts listening, recovers jobs orphaned by dead processes, and starts the worker,
   * heartbeat and sweeper loops.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    await this.notifier?.start();
    this.unsubscribe = this.localEvents.onAny((e) => this.onEvent(e.jobId, e.phase));
    await this.recover();
    this.timers.push(
      setInterval(() => void this.heartbeat(), this.limits.heartbeatInterval),
      setInterval(() => void this.sweepQuietly(), this.limits.sweepInterval),
    );
    for (const t of this.timers) t.unref();
    if (this.kinds.length > 0 && this.runWorkers) this.workerLoop = this.work();
  }

  /**
   * Stops claiming, aborts running jobs and hands them back to the queue (a shutdown is
   * not the job's fault, so the attempt is not counted), then closes the LISTEN connection.
   */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.wake();
    for (const r of this.running.values()) this.cancel(r, 'shutdown');
    await this.workerLoop;
    await Promise.allSettled([...this.finishing]);
    this.unsubscribe?.();
    await this.notifier?.stop();
    this.started = false;
  }

  // ---- client operations -------------------------------------------------------------

  /** A new job id (UWS-1: unguessable), for keeping a job's files before the job is created. */
  newJobId(): string {
    return randomBytes(16).toString('base64url');
  }

  /**
   * Refuses a new job (429, Retry-After) when the caller already has as many unfinished jobs
   * as allowed: by owner, or for anonymous callers by address. Checked before a creating
   * request's body is read, so a refused request stores nothing (issue 13).
   */
  async checkRoom(kind: string, owner: string | null, address: string | null): Promise<void> {
    const max = this.limits.maxUnfinishedPerClient;
    if (max <= 0 || (owner === null && address === null)) return;
    const n = await this.storage.countUnfinished(kind, owner, address);
    if (n >= max) {
      throw new UwsError(
        429,
        `${owner === null ? 'this address has' : 'you have'} ${n} unfinished jobs here, the most allowed; run, abort or delete some before creating more`,
        Math.max(1, Math.round(this.limits.pollInterval / 1000)),
      );
    }
  }

  /** Removes the files kept for a job (none, if the service keeps no job files). */
  async discardFiles(id: string): Promise<void> {
    if (!this.jobFiles) return;
    try {
      await this.jobFiles.delete(id);
    } catch (err) {
      this.logger.warn({ err, jobId: id }, 'UWS could not remove the files of a job; the sweeper will retry');
    }
  }

  async create(input: CreateJobInput): Promise<Job> {
    if (!this.hasKind(input.kind)) throw new Error(`no UWS runner registered for job kind ${input.kind}`);
    await this.checkRoom(input.kind, input.owner, input.clientAddress ?? null);
    const bytes = Buffer.byteLength(JSON.stringify(input.parameters));
    if (bytes > this.limits.maxParameterBytes) {
      throw badRequest(
        `the job parameters take ${bytes} bytes, more than the limit of ${this.limits.maxParameterBytes}; upload large inputs instead`,
      );
    }
    let phase: Phase = 'PENDING';
    if (input.run) phase = (await this.mustHold(input.kind, input.owner)) ? 'HELD' : 'QUEUED';
    const job = await this.storage.insert({
      id: input.id ?? this.newJobId(),
      kind: input.kind,
      owner: input.owner,
      runId: input.runId ?? null,
      phase,
      parameters: input.parameters,
      executionDuration: this.clampDuration(input.executionDuration ?? this.limits.defaultExecutionDuration),
      destructionIn: this.limits.defaultDestruction > 0 ? this.limits.defaultDestruction : null,
      destruction: input.destruction ? this.clampDestruction(input.destruction) : null,
      clientAddress: input.clientAddress ?? null,
    });
    this.localEvents.emit({ jobId: job.id, phase: job.phase });
    return job;
  }

  /** The job, if the caller may see it (UWS-53): 404 if missing, 403 if another's. */
  async get(id: string, caller: Caller): Promise<Job> {
    const job = await this.storage.get(id);
    if (!job) throw notFound(id);
    checkAccess(job, caller);
    return job;
  }

  /** The phase alone: the cheap read behind /phase. */
  async phase(id: string, caller: Caller): Promise<Phase> {
    const p = await this.storage.phaseOf(id);
    if (!p) throw notFound(id);
    checkAccess({ ...p, id }, caller);
    return p.phase;
  }

  /**
   * The caller's own jobs of this kind, newest first. Anonymous callers see no list:
   * anonymous jobs are reachable only by their unguessable id.
   */
  async list(kind: string, caller: Caller, query: ListQuery = {}): Promise<JobSummary[]> {
    const owner = ownerOf(caller);
    if (owner === null) return [];
    const limit = Math.min(query.last ?? this.limits.maxListSize, this.limits.maxListSize);
    const filter: ListFilter = { kind, owner, phases: query.phases, after: query.after, limit };
    return this.storage.list(filter);
  }

  /** PHASE=RUN (UWS-24): PENDING or HELD to QUEUED (or HELD again); no-op once queued or running. */
  async run(id: string, caller: Caller): Promise<Job> {
    const job = await this.get(id, caller);
    if (job.phase === 'QUEUED' || job.phase === 'EXECUTING') return job;
    if (job.phase !== 'PENDING' && job.phase !== 'HELD') {
      throw forbidden(`job ${id} is ${job.phase}; only a PENDING or HELD job can be run`);
    }
    const target: Phase = (await this.mustHold(job.kind, job.owner)) ? 'HELD' : 'QUEUED';
    const moved = await this.storage.transition(id, ['PENDING', 'HELD'], target);
    if (!moved) return this.run(id, caller);
    this.localEvents.emit({ jobId: id, phase: target });
    return moved;
  }

  /** PHASE=ABORT (UWS-25); results already written stay (UWS-20). */
  async abort(id: string, caller: Caller): Promise<Job> {
    const job = await this.get(id, caller);
    if (job.phase === 'ABORTED') return job;
    const moved = await this.storage.transition(id, ABORTABLE, 'ABORTED');
    if (!moved) {
      const now = await this.get(id, caller);
      if (now.phase === 'ABORTED') return now;
      throw forbidden(`job ${id} is ${now.phase}; only an unfinished job can be aborted`);
    }
    this.localEvents.emit({ jobId: id, phase: 'ABORTED' });
    await this.discardFiles(id);
    return moved;
  }

  /** Destroys the job and its results (UWS-26); a running job is aborted. */
  async delete(id: string, caller: Caller): Promise<void> {
    await this.get(id, caller);
    if (await this.storage.delete(id)) this.localEvents.emit({ jobId: id, phase: 'DELETED' });
    await this.resultStore.delete(id);
    await this.discardFiles(id);
  }

  /**
   * Parameter update while PENDING (UWS-29). Names compare case-insensitively (UWS-30);
   * a new value replaces the old one unless the name is in `multiValued` (e.g. UPLOAD).
   * RUNID also sets the job's runId.
   */
  async updateParameters(
    id: string,
    caller: Caller,
    parameters: readonly JobParameter[],
    multiValued: readonly string[] = [],
  ): Promise<Job> {
    const job = await this.get(id, caller);
    if (job.phase !== 'PENDING')
      throw forbidden(`job ${id} is ${job.phase}; parameters can change only while PENDING`);
    const multi = new Set(multiValued.map((m) => m.toUpperCase()));
    const incoming = new Set(parameters.map((p) => p.id.toUpperCase()));
    const kept = job.parameters.filter((p) => {
      const name = p.id.toUpperCase();
      return multi.has(name) || !incoming.has(name);
    });
    const merged = [...kept, ...parameters];
    const bytes = Buffer.byteLength(JSON.stringify(merged));
    if (bytes > this.limits.maxParameterBytes) {
      throw badRequest(
        `the job parameters would take ${bytes} bytes, more than the limit of ${this.limits.maxParameterBytes}`,
      );
    }
    const runId = parameters.filter((p) => p.id.toUpperCase() === 'RUNID').at(-1)?.value;
    const updated = await this.storage.updateParameters(id, merged, runId);
    if (!updated) {
      const now = await this.get(id, caller);
      throw forbidden(`job ${id} is ${now.phase}; parameters can change only while PENDING`);
    }
    return updated;
  }

  /** UWS-28: the service substitutes the configured maximum for larger or unlimited requests. */
  async setExecutionDuration(id: string, caller: Caller, seconds: number): Promise<Job> {
    if (!Number.isInteger(seconds) || seconds < 0) {
      throw badRequest(`EXECUTIONDURATION must be a whole number of seconds >= 0, got ${seconds}`);
    }
    const job = await this.get(id, caller);
    const updated = await this.storage.setExecutionDuration(
      id,
      this.clampDuration(seconds),
      DURATION_EDITABLE,
    );
    if (!updated) {
      throw forbidden(
        `job ${id} is ${job.phase}; the execution duration can change only before the job starts`,
      );
    }
    return updated;
  }

  /** UWS-27: destruction no later than now + maxDestruction. */
  async setDestruction(id: string, caller: Caller, at: Date): Promise<Job> {
    await this.get(id, caller);
    const updated = await this.storage.setDestruction(id, at, this.limits.maxDestruction);
    if (!updated) throw notFound(id);
    return updated;
  }

  async errorDetail(
    id: string,
    caller: Caller,
  ): Promise<{ summary: ErrorSummary; detail: ErrorDetail | null }> {
    const job = await this.get(id, caller);
    if (job.phase !== 'ERROR' || !job.error)
      throw new UwsError(404, `job ${id} is ${job.phase}: it has no error`);
    return { summary: job.error, detail: job.error.hasDetail ? await this.storage.errorDetail(id) : null };
  }

  /** A stored result, streamed; 404 for an unknown id. */
  async openResult(
    id: string,
    caller: Caller,
    resultId: string,
  ): Promise<{ href: string } | { stream: Readable; size: number; mime: string }> {
    const job = await this.get(id, caller);
    const result = job.results.find((r) => r.id === resultId);
    if (!result) throw new UwsError(404, `job ${id} has no result ${resultId}`);
    if (result.href) return { href: result.href };
    try {
      return await this.resultStore.open(id, storedName(resultId, job.lease));
    } catch (err) {
      if ((err as Error).name === 'ResultNotFoundError')
        throw new UwsError(404, `job ${id} has no result ${resultId}`);
      throw err;
    }
  }

  /**
   * Blocks until the job leaves `phase` or `seconds` pass (UWS-38..41), holding no
   * database connection while it waits: it wakes on the job's notifications and
   * re-reads at the poll interval in case one was missed.
   */
  async waitForChange(id: string, phase: Phase, seconds: number): Promise<void> {
    const deadline = Date.now() + Math.min(seconds, this.limits.maxWait) * 1000;
    let wake: (() => void) | null = null;
    let woken = false;
    const off = this.localEvents.onJob(id, () => {
      woken = true;
      wake?.();
    });
    const offAll = this.localEvents.onAny((e) => {
      if (e.phase === 'RECONNECTED') {
        woken = true;
        wake?.();
      }
    });
    try {
      for (;;) {
        woken = false;
        const now = await this.storage.phaseOf(id);
        if (!now || now.phase !== phase) return;
        const remaining = deadline - Date.now();
        if (remaining <= 0) return;
        if (woken) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(remaining, this.limits.pollInterval));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
    } finally {
      off();
      offAll();
    }
  }

  // ---- maintenance ------------------------------------------------------------------

  /**
   * Re-queues (or fails, after maxAttempts) jobs of this process's kinds whose worker
   * stopped sending heartbeats. Runs at start-up and with every sweep.
   */
  async recover(): Promise<{ id: string; phase: Phase }[]> {
    if (this.kinds.length === 0) return [];
    const recovered = await this.storage.recoverStale(
      this.kinds,
      this.limits.staleAfter / 1000,
      this.limits.maxAttempts,
    );
    for (const r of recovered) {
      this.localEvents.emit({ jobId: r.id, phase: r.phase });
      if (r.phase === 'ERROR') await this.discardFiles(r.id);
      this.logger.warn(
        { jobId: r.id, attempts: r.attempts, phase: r.phase },
        r.phase === 'QUEUED'
          ? 'UWS job orphaned by a dead worker re-queued'
          : 'UWS job orphaned too often: ERROR',
      );
    }
    return recovered;
  }

  /** Destroys jobs past their destruction instant, rows and result files (UWS-9). */
  async sweep(): Promise<string[]> {
    const destroyed: string[] = [];
    if (this.kinds.length === 0) return destroyed;
    for (;;) {
      const ids = await this.storage.deleteExpired(this.kinds, SWEEP_BATCH);
      for (const id of ids) {
        this.localEvents.emit({ jobId: id, phase: 'DELETED' });
        await this.resultStore.delete(id);
        await this.discardFiles(id);
      }
      destroyed.push(...ids);
      if (ids.length < SWEEP_BATCH) break;
    }
    // Files no unfinished job owns: jobs that ended or vanished elsewhere, creations that
    // failed halfway, a process killed while keeping an upload.
    await this.jobFiles?.sweep((ids) => this.storage.unfinished(ids));
    return destroyed;
  }

  private async sweepQuietly(): Promise<void> {
    try {
      await this.recover();
      await this.sweep();
    } catch (err) {
      this.logger.error({ err }, 'UWS sweep failed; it will be retried');
    }
  }

  // ---- worker -----------------------------------------------------------------------

  private async work(): Promise<void> {
    while (!this.stopping) {
      this.wakePending = false;
      while (!this.stopping && this.running.size < this.limits.concurrency) {
        // One claim per free slot, in parallel: SKIP LOCKED hands each a different job, and
        // their commits share the WAL flush. Under a per-owner cap claims go one at a time,
        // since parallel claims cannot see each other's count of the owner's running jobs.
        const free = this.limits.perOwnerConcurrency > 0 ? 1 : this.limits.concurrency - this.running.size;
        let jobs: (Job | null)[];
        try {
          jobs = await Promise.all(
            Array.from({ length: free }, () =>
              this.storage.claim(this.kinds, this.workerId, this.limits.perOwnerConcurrency),
            ),
          );
        } catch (err) {
          this.logger.error({ err }, 'UWS worker could not claim a job; retrying after the poll interval');
          break;
        }
        for (const job of jobs) {
          if (!job) continue;
          if (this.stopping) await this.storage.release(job, this.workerId).catch(() => {});
          else this.launch(job);
        }
        if (jobs.some((j) => j === null)) break;
      }
      if (this.stopping) break;
      if (this.wakePending) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.limits.pollInterval);
        this.wakeWorker = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeWorker = null;
    }
  }

  private wake(): void {
    this.wakePending = true;
    this.wakeWorker?.();
  }

  private onEvent(jobId: string, phase: string): void {
    const mine = this.running.get(jobId);
    if (mine && !mine.settled) {
      if (phase === 'ABORTED') this.cancel(mine, 'abort');
      else if (phase === 'DELETED') this.cancel(mine, 'deleted');
      // Other news may be a late echo of the job's own creation (QUEUED): ask the database.
      else if (phase !== 'EXECUTING') void this.heartbeat([jobId]);
    }
    // New work, or a reconnection after which anything may have been missed, or (under a
    // per-owner cap) a job ending elsewhere that frees its owner's slot. A job ending here
    // wakes the loop itself.
    const reason =
      phase === 'QUEUED' ||
      phase === 'RECONNECTED' ||
      (this.limits.perOwnerConcurrency > 0 && phase !== 'EXECUTING' && !mine);
    if (reason && this.running.size < this.limits.concurrency) this.wake();
  }

  private launch(job: Job): void {
    // This process was taken for dead with the job (late heartbeats) and claimed it again:
    // the earlier run no longer holds the lease, so it stops and can write nothing.
    const earlier = this.running.get(job.id);
    if (earlier) this.cancel(earlier, 'gone');
    const entry: RunningJob = { job, controller: new AbortController(), reason: null, settled: false };
    this.running.set(job.id, entry);
    const done = this.execute(entry)
      .catch((err) => this.logger.error({ err, jobId: job.id }, 'UWS job bookkeeping failed'))
      .finally(() => {
        if (this.running.get(job.id) === entry) this.running.delete(job.id);
        this.finishing.delete(done);
        this.wake();
      });
    this.finishing.add(done);
  }

  private cancel(entry: RunningJob, reason: StopReason): void {
    if (entry.reason) return;
    entry.reason = reason;
    if (reason === 'timeout') {
      // The limit is reported at once, not when the runner gets round to stopping.
      entry.settled = true;
      const seconds = entry.job.executionDuration;
      const phase = this.timeoutPhase;
      void this.storage
        .finish(entry.job, this.workerId, phase, {
          type: 'fatal',
          message: `the job reached its execution duration limit of ${seconds} s and was aborted; ask for a longer EXECUTIONDURATION (at most ${this.limits.maxExecutionDuration || 'unlimited'} s) or make the job smaller`,
          hasDetail: false,
        })
        .then(async (ok) => {
          if (!ok) return;
          this.localEvents.emit({ jobId: entry.job.id, phase });
          await this.discardFiles(entry.job.id);
        })
        .catch((err) => this.logger.error({ err, jobId: entry.job.id }, 'UWS could not record a timeout'));
    }
    entry.controller.abort(new Error(`job ${reason}`));
  }

  private async execute(entry: RunningJob): Promise<void> {
    const { job, controller } = entry;
    const runner = this.runners[job.kind];
    const timer =
      job.executionDuration > 0
        ? setTimeout(() => this.cancel(entry, 'timeout'), job.executionDuration * 1000)
        : null;
    let outcome: JobOutcome | undefined;
    let failure: unknown = null;
    try {
      const run = Promise.resolve().then(() => runner(this.context(entry), controller.signal));
      run.catch(() => {});
      outcome = await Promise.race([run, this.graceAfterAbort(controller.signal)]);
    } catch (err) {
      failure = err;
    } finally {
      if (timer) clearTimeout(timer);
    }
    if (entry.reason === 'shutdown') {
      await this.storage.release(job, this.workerId);
      return;
    }
    if (entry.reason === 'deleted') {
      await this.resultStore.delete(job.id);
      await this.discardFiles(job.id);
      return;
    }
    if (entry.reason) return;
    entry.settled = true;
    let phase: 'COMPLETED' | 'ERROR' = 'COMPLETED';
    let error: (ErrorSummary & { detail?: ErrorDetail }) | null = null;
    if (failure !== null) {
      phase = 'ERROR';
      // A runner may fail with the store's raw error (the stream it wrote into broke):
      // the job still ends saying the store is full.
      error = failureSummary(entry.storeFull ?? failure, this.logger, job.id);
    } else if (outcome?.error) {
      phase = 'ERROR';
      error = failureSummary(new JobFailure(outcome.error));
    }
    if (await this.storage.finish(job, this.workerId, phase, error)) {
      this.localEvents.emit({ jobId: job.id, phase });
      // The job will not run again: what it kept for its run goes (issue 13).
      await this.discardFiles(job.id);
    }
  }

  /** Resolves undefined `abortGrace` ms after the signal fires, so a stuck runner frees its slot. */
  private graceAfterAbort(signal: AbortSignal): Promise<undefined> {
    return new Promise((resolve) => {
      signal.addEventListener(
        'abort',
        () => setTimeout(() => resolve(undefined), this.limits.abortGrace).unref(),
        {
          once: true,
        },
      );
    });
  }

  private context(entry: RunningJob): JobContext {
    const { job } = entry;
    const signal = entry.controller.signal;
    const values = (name: string) =>
      job.parameters.filter((p) => p.id.toUpperCase() === name.toUpperCase()).map((p) => p.value);
    return {
      id: job.id,
      kind: job.kind,
      owner: job.owner,
      runId: job.runId,
      parameters: job.parameters,
      executionDuration: job.executionDuration,
      creationTime: job.creationTime,
      attempt: job.attempts,
      parameter: (name) => values(name)[0],
      parameterValues: values,
      addResult: async (resultId, stream, mimeType) => {
        if (signal.aborted) throw new Error(`job ${job.id} was stopped; result ${resultId} not stored`);
        // Stored under the run's lease: a stale run's late write cannot replace this run's file.
        const { size } = await this.storeResult(entry, resultId, stream, mimeType);
        if (!(await this.storage.addResult(job, this.workerId, { id: resultId, mimeType, size }))) {
          throw new Error(`job ${job.id} is no longer running here; result ${resultId} not listed`);
        }
        return { size };
      },
      addResultReference: async (resultId, href, mimeType, size) => {
        if (!(await this.storage.addResult(job, this.workerId, { id: resultId, href, mimeType, size }))) {
          throw new Error(`job ${job.id} is no longer running here; result ${resultId} not listed`);
        }
      },
    };
  }

  /**
   * Writes a result to the store. A full disk (or quota, or file size limit) is the service's
   * trouble, not the job's: the job ends in ERROR with a message saying so, the operator is
   * told, and the node carries on (issue 13).
   */
  private async storeResult(
    entry: RunningJob,
    resultId: string,
    stream: Readable,
    mimeType: string,
  ): Promise<{ size: number }> {
    const { id: jobId, lease } = entry.job;
    try {
      return await this.resultStore.put(jobId, storedName(resultId, lease), stream, mimeType);
    } catch (err) {
      let failure = err instanceof Error ? err : new Error(String(err));
      if (isDiskFull(err)) {
        this.logger.error(
          { jobId, resultId, code: (err as NodeJS.ErrnoException).code },
          'UWS result store is full: a job result could not be written',
        );
        entry.storeFull = new JobFailure({
          type: 'transient',
          message: `the result store is full: result ${resultId} of this job could not be written; try again later, or ask for a smaller result`,
        });
        failure = entry.storeFull;
      }
      // The runner may still be writing into the stream (SODA's cutouts): it must hear of
      // the failure, in the words the job will end with, rather than wait for a drain that
      // never comes. The listener keeps an 'error' nobody else listens for from becoming an
      // uncaught exception.
      if (!stream.destroyed) {
        stream.on('error', () => {});
        stream.destroy(failure);
      }
      throw failure;
    }
  }

  /** Marks running jobs alive, and stops those this process no longer holds. */
  private async heartbeat(only?: readonly string[]): Promise<void> {
    const ids = (only ?? [...this.running.keys()]).filter((id) => {
      const r = this.running.get(id);
      return r !== undefined && !r.reason;
    });
    if (ids.length === 0) return;
    // The runs asked about, kept: while the database answers, this process may claim one
    // of these jobs again (a new run, a new lease), and only the run asked about may be
    // stopped for a lease it no longer holds.
    const asked = ids.map((id) => this.running.get(id)!);
    const leases: Held[] = asked.map((r) => ({ id: r.job.id, lease: r.job.lease }));
    try {
      const held = await this.storage.heartbeat(this.workerId, leases);
      for (const r of asked) {
        // Aborted, deleted or taken over while a notification was missed.
        if (!r.settled && !held.has(r.job.id)) this.cancel(r, 'gone');
      }
    } catch (err) {
      this.logger.error(
        { err },
        'UWS heartbeat failed; running jobs may be taken as orphaned if this persists',
      );
    }
  }

  // ---- policy -----------------------------------------------------------------------

  private clampDuration(seconds: number): number {
    const max = this.limits.maxExecutionDuration;
    if (max > 0 && (seconds === 0 || seconds > max)) return max;
    return seconds;
  }

  private clampDestruction(at: Date): Date {
    const max = this.limits.maxDestruction;
    if (max <= 0) return at;
    const latest = new Date(Date.now() + max * 1000);
    return at > latest ? latest : at;
  }

  private async mustHold(kind: string, owner: string | null): Promise<boolean> {
    const max = this.limits.maxQueuedPerOwner;
    if (max <= 0 || owner === null) return false;
    return (await this.storage.countQueued(kind, owner)) >= max;
  }
}

/**
 * The result store's name of a result of one run: the lease keeps runs apart (results of
 * jobs from before leases, lease 0, keep their plain names).
 */
function storedName(resultId: string, lease: number): string {
  return lease > 0 ? `l${lease}-${resultId}` : resultId;
}

export type { Caller } from './access.js';
export type { CreateJobInput, ListQuery } from './types.js';
export { ACTIVE_PHASES, FINAL_PHASES };
