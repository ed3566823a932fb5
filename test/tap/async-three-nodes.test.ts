import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { islandJobs } from '../support/island-jobs.js';
import { type OwnDatabase, ownDatabase } from '../support/own-database.js';
import { type NodeProcess, spawnNode } from '../support/process.js';

/*
 * Issue 22 item 3: any number of node processes share one database for the UWS queue. Three
 * `vonode serve` processes on the same database (and data folder, where results are written)
 * take 300 jobs submitted to all three in turn; one is SIGKILLed midway. Every job must end
 * COMPLETED exactly once with the right answer, readable from any surviving process, and the
 * work must really have been shared (runs by more than one process).
 *
 * A database and data folder of its own: on the shared test database the other files' nodes
 * would claim these jobs from the same queue, and these three theirs.
 */

// One job at a time in each process, so the kill comes with most of the queue still waiting.
const FAST_RECOVERY = { VONODE_UWS_HEARTBEAT: '1', VONODE_UWS_STALE_AFTER: '3', VONODE_UWS_CONCURRENCY: '1' };
const JOBS = 300;
let own: OwnDatabase;
let db: pg.Client;
let env: Record<string, string>;

beforeAll(async () => {
  own = await ownDatabase('three_nodes');
  db = own.db;
  env = { ...FAST_RECOVERY, ...own.env };
});
afterAll(async () => {
  await own?.drop();
});

const { expected, submit, counts, runs } = islandJobs(() => db, 400);

describe('three node processes on one database (issue 22)', () => {
  it('300 jobs spread over three processes, one SIGKILLed midway: each completed exactly once', async () => {
    const runId = `three-${Date.now()}`;
    // The first makes the database's demo data; the others start on it.
    const first = await spawnNode(env);
    const nodes: NodeProcess[] = [first, ...(await Promise.all([1, 2].map(() => spawnNode(env))))];
    const pids = nodes.map((n) => n.child.pid as number);
    const ids: string[] = [];
    const index = new Map<string, number>();
    try {
      // Submitted to each process in turn, as a load balancer would spread them.
      await Promise.all(
        nodes.map(async (node, k) => {
          for (let i = k; i < JOBS; i += nodes.length) {
            const id = await submit(node.url, i, runId);
            ids.push(id);
            index.set(id, i);
          }
        }),
      );
      const killed = nodes[1] as NodeProcess;
      for (const t0 = Date.now(); Date.now() - t0 < 60_000; ) {
        const c = await counts(runId);
        if ((c.COMPLETED ?? 0) >= 30 && (c.QUEUED ?? 0) > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await killed.stop('SIGKILL');
      const killedAt = await counts(runId);
      expect(killedAt.QUEUED ?? 0, JSON.stringify(killedAt)).toBeGreaterThan(0);

      const survivors = [nodes[0], nodes[2]] as NodeProcess[];
      for (const deadline = Date.now() + 180_000; Date.now() < deadline; ) {
        const c = await counts(runId);
        if ((c.COMPLETED ?? 0) + (c.ERROR ?? 0) + (c.ABORTED ?? 0) === JOBS) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(ids).toHaveLength(JOBS);
      expect(await counts(runId)).toEqual({ COMPLETED: JOBS });

      const jobRuns = await runs(runId);
      expect(jobRuns).toHaveLength(JOBS);
      for (const r of jobRuns) {
        expect(r.completed, `job ${r.id}: ${JSON.stringify(r)}`).toBe(1);
        expect(r.open, `job ${r.id} has a run that never ended`).toBe(0);
        // A run that did not complete was cut by the kill (LOST, at most once) or handed back.
        expect(r.runs, `job ${r.id}: ${JSON.stringify(r)}`).toBe(1 + r.lost + r.released);
        expect(r.lost).toBeLessThanOrEqual(1);
      }

      // The work was shared: completed runs by at least two of the three processes.
      const byWorker = await db.query<{ worker: string; n: number }>(
        `SELECT r.worker, count(*)::int AS n FROM uws.runs r JOIN uws.jobs j ON j.id = r.job_id
          WHERE j.run_id = $1 AND r.outcome = 'COMPLETED' GROUP BY r.worker`,
        [runId],
      );
      const ours = new Map<number, number>();
      for (const w of byWorker.rows) {
        const pid = Number(w.worker.split(':')[1]);
        if (pids.includes(pid)) ours.set(pid, (ours.get(pid) ?? 0) + w.n);
      }
      console.log(
        `three processes: completed runs by pid ${JSON.stringify(Object.fromEntries(ours))} (pid ${killed.child.pid} SIGKILLed at ${JSON.stringify(killedAt)})`,
      );
      expect(ours.size).toBeGreaterThanOrEqual(2);

      // Every result is readable through either survivor, whichever process ran the job.
      for (const [k, id] of ids.entries()) {
        const via = survivors[k % survivors.length] as NodeProcess;
        const body = await (await fetch(`${via.url}/tap/async/${id}/results/result`)).text();
        expect(Number(body.trim().split(/\r?\n/)[1]), `result of job ${id}`).toBe(
          await expected(index.get(id)!),
        );
      }
    } finally {
      await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
    }
  }, 300_000);
});
