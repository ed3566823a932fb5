import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseUrl } from '../support/db.js';
import { islandJobs } from '../support/island-jobs.js';
import { type NodeProcess, spawnNode } from '../support/process.js';

// UWS persistence through real node processes (issue: UWS 1.1 jobs and TAP async):
// a SIGKILL while jobs execute loses none, and two processes share one queue.

const FAST_RECOVERY = { VONODE_UWS_HEARTBEAT: '1', VONODE_UWS_STALE_AFTER: '3', VONODE_UWS_CONCURRENCY: '4' };
let db: pg.Client;

beforeAll(async () => {
  db = new pg.Client({ connectionString: testDatabaseUrl() });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
});

const { expected, submit } = islandJobs(() => db, 100);

async function phaseOf(url: string, id: string): Promise<string> {
  return (await (await fetch(`${url}/tap/async/${id}/phase`)).text()).trim();
}

async function waitAll(url: string, ids: string[], seconds: number): Promise<Map<string, string>> {
  const deadline = Date.now() + seconds * 1000;
  const phases = new Map<string, string>();
  while (Date.now() < deadline) {
    let open = 0;
    for (const id of ids) {
      const p = phases.get(id);
      if (p === 'COMPLETED' || p === 'ERROR' || p === 'ABORTED') continue;
      const now = await phaseOf(url, id);
      phases.set(id, now);
      if (!['COMPLETED', 'ERROR', 'ABORTED'].includes(now)) open++;
    }
    if (open === 0) return phases;
    await new Promise((r) => setTimeout(r, 250));
  }
  return phases;
}

async function checkResults(
  url: string,
  ids: string[],
  index: Map<string, number>,
  phases: Map<string, string>,
) {
  for (const id of ids) {
    const phase = phases.get(id);
    expect(['COMPLETED', 'ERROR'], `job ${id} ended ${phase}`).toContain(phase);
    if (phase === 'ERROR') {
      const err = await (await fetch(`${url}/tap/async/${id}/error`)).text();
      expect(err.length).toBeGreaterThan(0);
      continue;
    }
    const body = await (await fetch(`${url}/tap/async/${id}/results/result`)).text();
    expect(Number(body.trim().split(/\r?\n/)[1]), `result of job ${id}`).toBe(await expected(index.get(id)!));
  }
}

describe('TAP async jobs survive processes', () => {
  it('SIGKILL while 200 jobs from 8 clients run: after a restart every job is COMPLETED or ERROR, results intact', async () => {
    const runId = `crash-${Date.now()}`;
    let node: NodeProcess = await spawnNode(FAST_RECOVERY);
    const ids: string[] = [];
    const index = new Map<string, number>();
    try {
      await Promise.all(
        Array.from({ length: 8 }, async (_, client) => {
          for (let k = 0; k < 25; k++) {
            const i = client * 25 + k;
            const id = await submit(node.url, i, runId);
            ids.push(id);
            index.set(id, i);
          }
        }),
      );
      // Kill the node while jobs are executing.
      const t0 = Date.now();
      while (Date.now() - t0 < 20_000) {
        const r = await db.query(
          "SELECT count(*)::int AS n FROM uws.jobs WHERE run_id = $1 AND phase = 'EXECUTING'",
          [runId],
        );
        if (r.rows[0].n > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const executing = (
        await db.query("SELECT count(*)::int AS n FROM uws.jobs WHERE run_id = $1 AND phase = 'EXECUTING'", [
          runId,
        ])
      ).rows[0].n;
      await node.stop('SIGKILL');
      expect(executing).toBeGreaterThan(0);
      node = await spawnNode(FAST_RECOVERY);
      const phases = await waitAll(node.url, ids, 240);
      expect(ids).toHaveLength(200);
      const r = await db.query('SELECT count(*)::int AS n FROM uws.jobs WHERE run_id = $1', [runId]);
      expect(r.rows[0].n).toBe(200);
      await checkResults(node.url, ids, index, phases);
      // One stored result per completed job: no run wrote twice.
      const dup = await db.query(
        `SELECT job_id FROM uws.results r JOIN uws.jobs j ON j.id = r.job_id WHERE j.run_id = $1 GROUP BY job_id HAVING count(*) > 1`,
        [runId],
      );
      expect(dup.rows).toEqual([]);
    } finally {
      await node.stop('SIGKILL');
    }
  }, 400_000);

  it('two node processes on one database share the queue and run no job twice', async () => {
    const runId = `pair-${Date.now()}`;
    const a = await spawnNode({ VONODE_UWS_CONCURRENCY: '2' });
    const b = await spawnNode({ VONODE_UWS_CONCURRENCY: '2' });
    try {
      const ids: string[] = [];
      const index = new Map<string, number>();
      await Promise.all(
        [a, b].map(async (node, n) => {
          for (let k = 0; k < 40; k++) {
            const i = n * 40 + k;
            const id = await submit(node.url, i, runId);
            ids.push(id);
            index.set(id, i);
          }
        }),
      );
      const phases = await waitAll(a.url, ids, 240);
      await checkResults(a.url, ids, index, phases);
      const r = await db.query(
        'SELECT claimed_by, max(attempts)::int AS attempts, count(*)::int AS n FROM uws.jobs WHERE run_id = $1 GROUP BY claimed_by',
        [runId],
      );
      // Both processes worked, and every job ran once.
      // Other test nodes on the same database may take jobs too: at least two processes did.
      expect(r.rows.length, JSON.stringify(r.rows)).toBeGreaterThanOrEqual(2);
      for (const row of r.rows) expect(row.attempts).toBe(1);
    } finally {
      await a.stop();
      await b.stop();
    }
  }, 400_000);
});
