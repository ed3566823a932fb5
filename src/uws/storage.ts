import type pg from 'pg';
import type { ErrorDetail, ErrorSummary, Job, JobParameter, JobResult, JobSummary, Phase } from './types.js';

/** The columns a new job starts with. */
export interface NewJobRow {
  readonly id: string;
  readonly kind: string;
  readonly owner: string | null;
  readonly runId: string | null;
  readonly phase: Phase;
  readonly parameters: readonly JobParameter[];
  readonly executionDuration: number;
  /** Seconds from now; the database clock decides the instant. */
  readonly destructionIn: number | null;
  readonly destruction: Date | null;
  /** Where the creating request came from; anonymous jobs are capped per address. */
  readonly clientAddress?: string | null;
}

/** The run a worker holds: the job and the lease its claim took (the fencing token). */
export interface Held {
  readonly id: string;
  readonly lease: number;
}

/** Phases of a job that is not finished: it may still run, and its files are kept. */
export const UNFINISHED: readonly Phase[] = ['PENDING', 'QUEUED', 'HELD', 'EXECUTING', 'SUSPENDED'];

export interface ListFilter {
  readonly kind: string;
  /** undefined: every owner (administrative use); null: anonymous jobs only. */
  readonly owner?: string | null;
  readonly phases?: readonly Phase[];
  readonly after?: Date;
  readonly limit: number;
}

interface JobRow {
  id: string;
  kind: string;
  owner: string | null;
  run_id: string | null;
  phase: Phase;
  parameters: JobParameter[];
  quote: Date | null;
  execution_duration: number;
  destruction: Date | null;
  creation_time: Date;
  start_time: Date | null;
  end_time: Date | null;
  error_type: 'transient' | 'fatal' | null;
  error_message: string | null;
  error_has_detail: boolean;
  attempts: number;
  lease: string | number;
  results?: { id: string; href: string | null; mime_type: string | null; size: string | number | null }[];
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,50}$/;

const JOB_COLUMNS = `id, kind, owner, run_id, phase, parameters, quote, execution_duration, destruction,
  creation_time, start_time, end_time, error_type, error_message, error_has_detail, attempts, lease`;

/**
 * SQL for the UWS tables (sql/040_uws.sql). Every statement that changes a phase also
 * sends `pg_notify` in the same statement, so listeners hear of it exactly when it commits.
 */
export class UwsStorage {
  readonly schema: string;
  /** The LISTEN/NOTIFY channel: one per schema so that separate job stores stay apart. */
  readonly channel: string;
  private readonly t: { jobs: string; results: string; runs: string };

  constructor(
    readonly pool: pg.Pool,
    schema = 'uws',
  ) {
    if (!IDENTIFIER.test(schema))
      throw new Error(`UWS schema name ${JSON.stringify(schema)} is not a plain identifier`);
    this.schema = schema;
    this.channel = `${schema}_jobs`;
    this.t = { jobs: `${schema}.jobs`, results: `${schema}.results`, runs: `${schema}.runs` };
  }

  async insert(row: NewJobRow): Promise<Job> {
    const r = await this.pool.query<JobRow>(
      `WITH u AS (
         INSERT INTO ${this.t.jobs} (id, kind, owner, run_id, phase, parameters, execution_duration, destruction, queued_time, client_address)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7,
                 COALESCE($9::timestamptz, clock_timestamp() + make_interval(secs => $8::double precision)),
                 CASE WHEN $5 = 'QUEUED' THEN clock_timestamp() END, $11)
         RETURNING ${JOB_COLUMNS})
       SELECT u.*, pg_notify($10, u.phase || ':' || u.id) AS _n FROM u`,
      [
        row.id,
        row.kind,
        row.owner,
        row.runId,
        row.phase,
        JSON.stringify(row.parameters),
        row.executionDuration,
        row.destructionIn,
        row.destruction,
        this.channel,
        row.clientAddress ?? null,
      ],
    );
    return toJob(r.rows[0]);
  }

  async get(id: string): Promise<Job | null> {
    const r = await this.pool.query<JobRow>(
      `SELECT ${JOB_COLUMNS},
         COALESCE((SELECT json_agg(json_build_object('id', r.id, 'href', r.href, 'mime_type', r.mime_type,
                     'size', r.size) ORDER BY r.position)
                   FROM ${this.t.results} r WHERE r.job_id = j.id), '[]'::json) AS results
       FROM ${this.t.jobs} j WHERE id = $1`,
      [id],
    );
    return r.rowCount ? toJob(r.rows[0]) : null;
  }

  /** The cheap read behind polling and WAIT. */
  async phaseOf(id: string): Promise<{ phase: Phase; owner: string | null; kind: string } | null> {
    const r = await this.pool.query<{ phase: Phase; owner: string | null; kind: string }>(
      `SELECT phase, owner, kind FROM ${this.t.jobs} WHERE id = $1`,
      [id],
    );
    return r.rows[0] ?? null;
  }

  async errorDetail(id: string): Promise<ErrorDetail | null> {
    const r = await this.pool.query<{ error_detail: string | null; error_detail_mime: string | null }>(
      `SELECT error_detail, error_detail_mime FROM ${this.t.jobs} WHERE id = $1`,
      [id],
    );
    const row = r.rows[0];
    if (!row || row.error_detail === null) return null;
    return { body: row.error_detail, mime: row.error_detail_mime ?? 'text/plain' };
  }

  async list(filter: ListFilter): Promise<JobSummary[]> {
    const where = ['kind = $1'];
    const args: unknown[] = [filter.kind];
    if (filter.owner !== undefined) {
      if (filter.owner === null) where.push('owner IS NULL');
      else {
        args.push(filter.owner);
        where.push(`owner = $${args.length}`);
      }
    }
    if (filter.phases && filter.phases.length > 0) {
      args.push(filter.phases);
      where.push(`phase = ANY($${args.length}::text[])`);
    } else {
      // ARCHIVED jobs appear only when asked for by PHASE (UWS-31, UWS-32).
      where.push(`phase <> 'ARCHIVED'`);
    }
    if (filter.after) {
      args.push(filter.after);
      where.push(`creation_time > $${args.length}`);
    }
    args.push(filter.limit);
    const r = await this.pool.query<{
      id: string;
      phase: Phase;
      run_id: string | null;
      owner: string | null;
      creation_time: Date;
    }>(
      `SELECT id, phase, run_id, owner, creation_time FROM ${this.t.jobs}
       WHERE ${where.join(' AND ')}
       ORDER BY creation_time DESC, id DESC LIMIT $${args.length}`,
      args,
    );
    return r.rows.map((x) => ({
      id: x.id,
      phase: x.phase,
      runId: x.run_id,
      owner: x.owner,
      creationTime: x.creation_time,
    }));
  }

  /**
   * Moves a job to `to` if its phase is one of `from`; returns the new row, or null when
   * the job is missing or in another phase (the caller tells which).
   */
  async transition(id: string, from: readonly Phase[], to: Phase): Promise<Job | null> {
    const r = await this.pool.query<JobRow>(
      `WITH u AS (
         UPDATE ${this.t.jobs} SET phase = $3,
           queued_time = CASE WHEN $3 = 'QUEUED' THEN clock_timestamp() ELSE queued_time END,
           end_time = CASE WHEN $3 IN ('ABORTED', 'ERROR', 'COMPLETED') THEN clock_timestamp() ELSE end_time END
         WHERE id = $1 AND phase = ANY($2::text[])
         RETURNING ${JOB_COLUMNS}),
       r AS (UPDATE ${this.t.runs} x SET end_time = clock_timestamp(), outcome = u.phase FROM u
         WHERE u.phase = 'ABORTED' AND x.job_id = u.id AND x.lease = u.lease AND x.end_time IS NULL)
       SELECT u.*, pg_notify($4, u.phase || ':' || u.id) AS _n FROM u`,
      [id, from, to, this.channel],
    );
    return r.rowCount ? toJob(r.rows[0]) : null;
  }

  /** Number of jobs of this owner waiting to run, for the HELD policy. */
  async countQueued(kind: string, owner: string | null): Promise<number> {
    const r = await this.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${this.t.jobs} WHERE phase = 'QUEUED' AND kind = $1 AND owner IS NOT DISTINCT FROM $2`,
      [kind, owner],
    );
    return Number(r.rows[0].n);
  }

  /**
   * Unfinished jobs of one caller: the owner's, or for anonymous callers those created
   * from the same address.
   */
  async countUnfinished(kind: string, owner: string | null, address: string | null): Promise<number> {
    const r = await this.pool.query<{ n: string }>(
      owner === null
        ? `SELECT count(*) AS n FROM ${this.t.jobs} WHERE phase = ANY($3::text[]) AND kind = $1 AND owner IS NULL AND client_address = $2`
        : `SELECT count(*) AS n FROM ${this.t.jobs} WHERE phase = ANY($3::text[]) AND kind = $1 AND owner = $2`,
      [kind, owner ?? address, UNFINISHED],
    );
    return Number(r.rows[0].n);
  }

  /** Of these job ids, those whose jobs are not finished (their files must stay). */
  async unfinished(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const r = await this.pool.query<{ id: string }>(
      `SELECT id FROM ${this.t.jobs} WHERE id = ANY($1::text[]) AND phase = ANY($2::text[])`,
      [ids, UNFINISHED],
    );
    return new Set(r.rows.map((x) => x.id));
  }

  async updateParameters(
    id: string,
    parameters: readonly JobParameter[],
    runId: string | null | undefined,
  ): Promise<Job | null> {
    const r = await this.pool.query<JobRow>(
      `UPDATE ${this.t.jobs} SET parameters = $2::jsonb,
         run_id = CASE WHEN $3::boolean THEN $4 ELSE run_id END
       WHERE id = $1 AND phase = 'PENDING' RETURNING ${JOB_COLUMNS}`,
      [id, JSON.stringify(parameters), runId !== undefined, runId ?? null],
    );
    return r.rowCount ? toJob(r.rows[0]) : null;
  }

  async setExecutionDuration(id: string, seconds: number, phases: readonly Phase[]): Promise<Job | null> {
    const r = await this.pool.query<JobRow>(
      `UPDATE ${this.t.jobs} SET execution_duration = $2 WHERE id = $1 AND phase = ANY($3::text[])
       RETURNING ${JOB_COLUMNS}`,
      [id, seconds, phases],
    );
    return r.rowCount ? toJob(r.rows[0]) : null;
  }

  /** Sets destruction, never later than now + maxSeconds (when maxSeconds > 0). */
  async setDestruction(id: string, at: Date, maxSeconds: number): Promise<Job | null> {
    const r = await this.pool.query<JobRow>(
      `UPDATE ${this.t.jobs} SET destruction = CASE
           WHEN $3::double precision > 0 THEN LEAST($2::timestamptz, clock_timestamp() + make_interval(secs => $3::double precision))
           ELSE $2::timestamptz END
       WHERE id = $1 RETURNING ${JOB_COLUMNS}`,
      [id, at, maxSeconds],
    );
    return r.rowCount ? toJob(r.rows[0]) : null;
  }

  /** Deletes the job and its result rows; true if it existed. */
  async delete(id: string): Promise<boolean> {
    const r = await this.pool.query(
      `WITH d AS (DELETE FROM ${this.t.jobs} WHERE id = $1 RETURNING id)
       SELECT pg_notify($2, 'DELETED:' || d.id) AS _n FROM d`,
      [id, this.channel],
    );
    return (r.rowCount ?? 0) > 0;
  }

  /**
   * Claims the oldest QUEUED job of the given kinds for `worker`, skipping rows other
   * workers hold, and respecting a per-owner cap on running jobs (0 = none; anonymous
   * jobs are capped only by each process's concurrency).
   */
  async claim(kinds: readonly string[], worker: string, perOwner: number): Promise<Job | null> {
    const r = await this.pool.query<JobRow>(
      `WITH c AS (
         SELECT j.id FROM ${this.t.jobs} j
         WHERE j.phase = 'QUEUED' AND j.kind = ANY($1::text[])
           AND (j.owner IS NULL OR $3::int <= 0 OR
                (SELECT count(*) FROM ${this.t.jobs} e WHERE e.phase = 'EXECUTING' AND e.owner = j.owner) < $3::int)
         ORDER BY j.queued_time, j.id
         LIMIT 1
         FOR UPDATE SKIP LOCKED),
       u AS (
         UPDATE ${this.t.jobs} j SET phase = 'EXECUTING', start_time = clock_timestamp(), end_time = NULL,
           claimed_by = $2, heartbeat = clock_timestamp(), attempts = j.attempts + 1, lease = j.lease + 1
         FROM c WHERE j.id = c.id
         RETURNING ${JOB_COLUMNS.replace(/(^|,\s*)(\w+)/g, '$1j.$2')}),
       r AS (INSERT INTO ${this.t.runs} (job_id, lease, worker) SELECT u.id, u.lease, $2 FROM u)
       SELECT u.*, pg_notify($4, 'EXECUTING:' || u.id) AS _n FROM u`,
      [kinds, worker, perOwner, this.channel],
    );
    return r.rowCount ? toJob(r.rows[0]) : null;
  }

  /** Marks the worker's running jobs alive; returns the ids whose lease it still holds. */
  async heartbeat(worker: string, held: readonly Held[]): Promise<Set<string>> {
    if (held.length === 0) return new Set();
    const r = await this.pool.query<{ id: string }>(
      `UPDATE ${this.t.jobs} j SET heartbeat = clock_timestamp()
       FROM unnest($1::text[], $2::bigint[]) AS h(id, lease)
       WHERE j.id = h.id AND j.lease = h.lease AND j.claimed_by = $3 AND j.phase = 'EXECUTING' RETURNING j.id`,
      [held.map((h) => h.id), held.map((h) => h.lease), worker],
    );
    return new Set(r.rows.map((x) => x.id));
  }

  /**
   * Ends a run the worker still holds. Returns false when the job has meanwhile been
   * aborted, deleted or taken over, in which case nothing changes.
   */
  async finish(
    { id, lease }: Held,
    worker: string,
    phase: 'COMPLETED' | 'ERROR' | 'ABORTED',
    error: (ErrorSummary & { detail?: ErrorDetail }) | null,
  ): Promise<boolean> {
    const r = await this.pool.query(
      // claimed_by stays: after the end it records which process ran the job.
      `WITH u AS (
         UPDATE ${this.t.jobs} SET phase = $3, end_time = clock_timestamp(), heartbeat = NULL,
           error_type = $4, error_message = $5, error_has_detail = $6, error_detail = $7, error_detail_mime = $8
         WHERE id = $1 AND claimed_by = $2 AND lease = $10 AND phase = 'EXECUTING' RETURNING id, phase, lease),
       r AS (UPDATE ${this.t.runs} x SET end_time = clock_timestamp(), outcome = u.phase FROM u
         WHERE x.job_id = u.id AND x.lease = u.lease)
       SELECT pg_notify($9, u.phase || ':' || u.id) AS _n FROM u`,
      [
        id,
        worker,
        phase,
        error?.type ?? null,
        error?.message ?? null,
        error?.hasDetail ?? false,
        error?.detail?.body ?? null,
        error?.detail?.mime ?? null,
        this.channel,
        lease,
      ],
    );
    return (r.rowCount ?? 0) > 0;
  }

  /**
   * Hands a job this worker holds back to the queue without counting the attempt (used
   * at shutdown); results of the interrupted run are dropped.
   */
  async release({ id, lease }: Held, worker: string): Promise<boolean> {
    const r = await this.pool.query(
      `WITH u AS (
         UPDATE ${this.t.jobs} SET phase = 'QUEUED', claimed_by = NULL, heartbeat = NULL, start_time = NULL,
           attempts = GREATEST(attempts - 1, 0)
         WHERE id = $1 AND claimed_by = $2 AND lease = $4 AND phase = 'EXECUTING' RETURNING id, phase, lease),
       d AS (DELETE FROM ${this.t.results} r USING u WHERE r.job_id = u.id),
       ended AS (UPDATE ${this.t.runs} x SET end_time = clock_timestamp(), outcome = 'RELEASED' FROM u
         WHERE x.job_id = u.id AND x.lease = u.lease)
       SELECT pg_notify($3, u.phase || ':' || u.id) AS _n FROM u`,
      [id, worker, this.channel, lease],
    );
    return (r.rowCount ?? 0) > 0;
  }

  /** Lists a result on a job the worker holds; false if the job is no longer its own. */
  async addResult({ id: jobId, lease }: Held, worker: string, result: JobResult): Promise<boolean> {
    const r = await this.pool.query(
      `INSERT INTO ${this.t.results} (job_id, id, href, mime_type, size, position)
       SELECT j.id, $3, $4, $5, $6,
              COALESCE((SELECT max(position) + 1 FROM ${this.t.results} WHERE job_id = j.id), 0)
       FROM ${this.t.jobs} j WHERE j.id = $1 AND j.claimed_by = $2 AND j.lease = $7 AND j.phase = 'EXECUTING'
       ON CONFLICT (job_id, id) DO UPDATE SET href = EXCLUDED.href, mime_type = EXCLUDED.mime_type, size = EXCLUDED.size`,
      [jobId, worker, result.id, result.href ?? null, result.mimeType ?? null, result.size ?? null, lease],
    );
    return (r.rowCount ?? 0) > 0;
  }

  /**
   * Jobs left EXECUTING by a worker whose heartbeat is older than `staleSeconds`: back to
   * QUEUED (results of the dead attempt dropped) while attempts < maxAttempts, else ERROR.
   */
  async recoverStale(
    kinds: readonly string[],
    staleSeconds: number,
    maxAttempts: number,
  ): Promise<{ id: string; phase: Phase; attempts: number }[]> {
    const r = await this.pool.query<{ id: string; phase: Phase; attempts: number }>(
      `WITH s AS (
         SELECT id FROM ${this.t.jobs}
         WHERE phase = 'EXECUTING' AND kind = ANY($1::text[])
           AND heartbeat < clock_timestamp() - make_interval(secs => $2::double precision)
         FOR UPDATE SKIP LOCKED),
       u AS (
         UPDATE ${this.t.jobs} j SET
           phase = CASE WHEN j.attempts < $3 THEN 'QUEUED' ELSE 'ERROR' END,
           start_time = CASE WHEN j.attempts < $3 THEN NULL ELSE j.start_time END,
           end_time = CASE WHEN j.attempts < $3 THEN NULL ELSE clock_timestamp() END,
           claimed_by = NULL, heartbeat = NULL,
           error_type = CASE WHEN j.attempts < $3 THEN NULL ELSE 'fatal' END,
           error_has_detail = false,
           error_message = CASE WHEN j.attempts < $3 THEN NULL ELSE
             'the server process running this job stopped unexpectedly (attempt ' || j.attempts || ' of ' || $3 ||
             '); it will not be retried: resubmit the job, and if it fails again make it smaller' END
         FROM s WHERE j.id = s.id
         RETURNING j.id, j.phase, j.attempts, j.lease),
       d AS (DELETE FROM ${this.t.results} r USING u WHERE r.job_id = u.id AND u.phase = 'QUEUED'),
       ended AS (UPDATE ${this.t.runs} x SET end_time = clock_timestamp(), outcome = 'LOST' FROM u
         WHERE x.job_id = u.id AND x.lease = u.lease AND x.end_time IS NULL)
       SELECT u.id, u.phase, u.attempts, pg_notify($4, u.phase || ':' || u.id) AS _n FROM u`,
      [kinds, staleSeconds, maxAttempts, this.channel],
    );
    return r.rows.map((x) => ({ id: x.id, phase: x.phase, attempts: x.attempts }));
  }

  /** Deletes up to `limit` jobs past their destruction instant; returns their ids. */
  async deleteExpired(kinds: readonly string[], limit: number): Promise<string[]> {
    const r = await this.pool.query<{ id: string }>(
      `WITH s AS (
         SELECT id FROM ${this.t.jobs}
         WHERE destruction IS NOT NULL AND destruction <= clock_timestamp() AND kind = ANY($1::text[])
         ORDER BY destruction LIMIT $2 FOR UPDATE SKIP LOCKED),
       d AS (DELETE FROM ${this.t.jobs} j USING s WHERE j.id = s.id RETURNING j.id)
       SELECT d.id, pg_notify($3, 'DELETED:' || d.id) AS _n FROM d`,
      [kinds, limit, this.channel],
    );
    return r.rows.map((x) => x.id);
  }
}

function toJob(row: JobRow): Job {
  return {
    id: row.id,
    kind: row.kind,
    owner: row.owner,
    runId: row.run_id,
    phase: row.phase,
    parameters: row.parameters,
    quote: row.quote,
    executionDuration: row.execution_duration,
    destruction: row.destruction,
    creationTime: row.creation_time,
    startTime: row.start_time,
    endTime: row.end_time,
    error:
      row.error_type && row.error_message !== null
        ? { type: row.error_type, message: row.error_message, hasDetail: row.error_has_detail }
        : null,
    results: (row.results ?? []).map((x) => ({
      id: x.id,
      ...(x.href !== null ? { href: x.href } : {}),
      ...(x.mime_type !== null ? { mimeType: x.mime_type } : {}),
      ...(x.size !== null ? { size: Number(x.size) } : {}),
    })),
    attempts: row.attempts,
    lease: Number(row.lease ?? 0),
  };
}
