import type pg from 'pg';

export interface JobRuns {
  readonly id: string;
  readonly runs: number;
  readonly completed: number;
  readonly lost: number;
  readonly released: number;
  readonly open: number;
}

/**
 * TAP async jobs for tests that queue many of them: job i counts island pairs of the demo
 * catalogue up to source_id base+i, and PostgreSQL computes the answer directly over the
 * public rows, so every result can be checked.
 */
export function islandJobs(db: () => pg.Client, base: number) {
  const queryOf = (i: number) =>
    `SELECT COUNT(*) AS n FROM demo.sources AS a JOIN demo.sources AS b ON a.island_id = b.island_id WHERE a.source_id <= ${base + i}`;

  async function expected(i: number): Promise<number> {
    const r = await db().query(
      `SELECT count(*)::int AS n FROM demo.sources a JOIN demo.sources b ON a.island_id = b.island_id
        WHERE a.source_id <= $1 AND a.owner_group IS NULL AND b.owner_group IS NULL`,
      [base + i],
    );
    return r.rows[0].n;
  }

  /** Creates and starts job i (RUNID tags the batch); returns its id. */
  async function submit(url: string, i: number, runId: string): Promise<string> {
    const res = await fetch(`${url}/tap/async`, {
      method: 'POST',
      body: new URLSearchParams({
        LANG: 'ADQL',
        QUERY: queryOf(i),
        PHASE: 'RUN',
        RESPONSEFORMAT: 'csv',
        RUNID: runId,
      }),
      redirect: 'manual',
    });
    if (res.status !== 303) throw new Error(`job ${i}: HTTP ${res.status} ${await res.text()}`);
    return res.headers.get('location')?.split('/').pop() as string;
  }

  /** The batch's jobs by phase. */
  async function counts(runId: string): Promise<Record<string, number>> {
    const r = await db().query<{ phase: string; n: number }>(
      'SELECT phase, count(*)::int AS n FROM uws.jobs WHERE run_id = $1 GROUP BY phase',
      [runId],
    );
    return Object.fromEntries(r.rows.map((x) => [x.phase, x.n]));
  }

  /** Each job of the batch with its runs in uws.runs, by outcome (045_uws_runs.sql). */
  async function runs(runId: string): Promise<JobRuns[]> {
    const r = await db().query<JobRuns>(
      `SELECT j.id, count(r.*)::int AS runs,
              count(*) FILTER (WHERE r.outcome = 'COMPLETED')::int AS completed,
              count(*) FILTER (WHERE r.outcome = 'LOST')::int AS lost,
              count(*) FILTER (WHERE r.outcome = 'RELEASED')::int AS released,
              count(*) FILTER (WHERE r.end_time IS NULL)::int AS open
         FROM uws.jobs j LEFT JOIN uws.runs r ON r.job_id = j.id
        WHERE j.run_id = $1 GROUP BY j.id`,
      [runId],
    );
    return r.rows;
  }

  return { queryOf, expected, submit, counts, runs };
}
