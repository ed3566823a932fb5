import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { islandJobs } from '../support/island-jobs.js';
import { type OwnDatabase, ownDatabase } from '../support/own-database.js';
import { type NodeProcess, spawnNode } from '../support/process.js';

/*
 * Issue 13's acceptance: "200 queued jobs across a node SIGKILL and restart: 0 lost, 0 run
 * twice, no manual step". A real `vonode serve` is killed with SIGKILL while it works through
 * 200 queued TAP jobs; a second process on the same database finishes them. Every job must end
 * COMPLETED with the right answer, and uws.runs (one row per run, 045_uws_runs.sql) must show
 * each job completed by exactly one run: a run cut short by the kill ends LOST, and only jobs
 * that were executing at the kill may have run a second time.
 */

// Heartbeats each second, a dead process's jobs taken back after 3 s.
const FAST_RECOVERY = { VONODE_UWS_HEARTBEAT: '1', VONODE_UWS_STALE_AFTER: '3', VONODE_UWS_CONCURRENCY: '4' };
const JOBS = 200;
// A database of its own: on the shared one the other files' nodes took these jobs from the
// common queue, and the queue was empty before the kill.
let own: OwnDatabase;
let db: pg.Client;

beforeAll(async () => {
  own = await ownDatabase('sigkill');
  db = own.db;
});
afterAll(async () => {
  await own?.drop();
});

const { expected, submit, counts, runs } = islandJobs(() => db, 50);

describe('TAP async jobs across a node SIGKILL (issue 13)', () => {
  it('200 queued jobs, SIGKILL mid-run, restart: all COMPLETED, none lost, none completed twice', async () => {
    const runId = `sigkill-${Date.now()}`;
    // One job at a time before the kill, so a fast machine cannot drain the queue before it.
    let node: NodeProcess = await spawnNode({ ...FAST_RECOVERY, ...own.env, VONODE_UWS_CONCURRENCY: '1' });
    const ids: string[] = [];
    const index = new Map<string, number>();
    let executingAtKill: string[] = [];
    try {
      await Promise.all(
        Array.from({ length: 4 }, async (_, client) => {
          for (let k = 0; k < JOBS / 4; k++) {
            const i = client * (JOBS / 4) + k;
            const id = await submit(node.url, i, runId);
            ids.push(id);
            index.set(id, i);
          }
        }),
      );
      // Kill it in the middle of the queue, with jobs executing.
      const t0 = Date.now();
      while (Date.now() - t0 < 60_000) {
        const c = await counts(runId);
        if ((c.COMPLETED ?? 0) >= 3 && (c.EXECUTING ?? 0) > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await node.stop('SIGKILL');
      // Statements the killed process had already sent (a claim, a completion) still commit:
      // give PostgreSQL a moment to finish them, so the snapshot is what the kill left.
      // Under load a backend can take longer than that: wait (at most 5 s) until no other
      // statement is still active in the database.
      await new Promise((r) => setTimeout(r, 500));
      for (const until = Date.now() + 5000; Date.now() < until; ) {
        const { rows } = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'`,
        );
        if (rows[0].n === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      executingAtKill =
        // Caught by the kill: EXECUTING, or holding a run that had been opened (a claim commits
        // the run before the phase, so a job can be taken without being EXECUTING yet).
        (
          await db.query<{ id: string }>(
            `SELECT j.id FROM uws.jobs j WHERE j.run_id = $1 AND (j.phase = 'EXECUTING'
              OR EXISTS (SELECT 1 FROM uws.runs r WHERE r.job_id = j.id AND r.end_time IS NULL))`,
            [runId],
          )
        ).rows.map((r) => r.id);
      const before = await counts(runId);
      expect(before.QUEUED ?? 0, JSON.stringify(before)).toBeGreaterThan(0);

      // No manual step: the same command again, on the same database.
      const restarted = Date.now();
      node = await spawnNode({ ...FAST_RECOVERY, ...own.env });
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline) {
        const c = await counts(runId);
        if ((c.COMPLETED ?? 0) + (c.ERROR ?? 0) + (c.ABORTED ?? 0) === JOBS) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      // A figure for the note, not an assertion: how long the restarted node took.
      console.log(
        `SIGKILL with ${executingAtKill.length} jobs executing and ${before.QUEUED} queued: all ${JOBS} ended ${((Date.now() - restarted) / 1000).toFixed(1)} s after the restart began`,
      );
      expect(ids).toHaveLength(JOBS);
      // 0 lost: every job COMPLETED (none ERROR, none left waiting).
      expect(await counts(runId)).toEqual({ COMPLETED: JOBS });

      // 0 run twice: exactly one completed run per job; every other run was cut short by the
      // kill (LOST), and only jobs that were executing then ran again.
      const jobRuns = await runs(runId);
      expect(jobRuns).toHaveLength(JOBS);
      const killed = new Set(executingAtKill);
      for (const r of jobRuns) {
        expect(r.completed, `job ${r.id} completed ${r.completed} times`).toBe(1);
        expect(r.open, `job ${r.id} has a run that never ended`).toBe(0);
        // A run that did not complete ended without a result: cut by the kill (LOST, only for a
        // job executing at the kill) or handed back before it did any work (RELEASED: results
        // dropped, attempt not counted). Nothing else may run a job.
        expect(r.runs, `job ${r.id}: ${JSON.stringify(r)}`).toBe(1 + r.lost + r.released);
        expect(r.lost, `job ${r.id}: ${JSON.stringify(r)}`).toBeLessThanOrEqual(killed.has(r.id) ? 1 : 0);
      }

      // One listed result per job, with the right answer.
      const listed = await db.query<{ job_id: string; n: number }>(
        `SELECT r.job_id, count(*)::int AS n FROM uws.results r JOIN uws.jobs j ON j.id = r.job_id
          WHERE j.run_id = $1 GROUP BY r.job_id`,
        [runId],
      );
      expect(listed.rows).toHaveLength(JOBS);
      for (const row of listed.rows) expect(row.n).toBe(1);
      for (const id of ids) {
        const body = await (await fetch(`${node.url}/tap/async/${id}/results/result`)).text();
        expect(Number(body.trim().split(/\r?\n/)[1]), `result of job ${id}`).toBe(
          await expected(index.get(id)!),
        );
      }
    } finally {
      await node.stop('SIGKILL');
    }
  }, 240_000);
});
