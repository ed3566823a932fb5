import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileResultStore, type JobRunner, UwsService } from '../../src/uws/index.js';
import { tempFolder, untilFinal, uwsDatabase } from './helpers.js';

/*
 * Issue 13, "0 run twice": a worker taken for dead while it still runs (its heartbeats late:
 * a paused process, a missed notification) must not end or overwrite the run that replaced
 * it, even when the new run belongs to the same worker id. Each claim takes a new lease
 * (045_uws_runs.sql) and only the current lease may list results and end the run.
 */

let db: Awaited<ReturnType<typeof uwsDatabase>>;
let store: ReturnType<typeof tempFolder>;

beforeAll(async () => {
  db = await uwsDatabase();
  store = tempFolder();
});
afterAll(async () => {
  await db?.close();
  store?.remove();
});

/** A runner that waits for its gate, ignoring its abort signal (a runner slow to stop). */
function gatedRunner() {
  const gates = new Map<number, () => void>();
  const started = new Map<number, () => void>();
  const startedP = new Map<number, Promise<void>>();
  const ended = new Map<number, Promise<string>>();
  const once = (attempt: number) => {
    if (!startedP.has(attempt)) startedP.set(attempt, new Promise((r) => started.set(attempt, r)));
    return startedP.get(attempt)!;
  };
  const runner: JobRunner = async (job) => {
    once(job.attempt);
    const open = new Promise<void>((r) => gates.set(job.attempt, r));
    let settle!: (s: string) => void;
    ended.set(job.attempt, new Promise((r) => (settle = r)));
    started.get(job.attempt)!();
    await open;
    try {
      await job.addResult('out', Readable.from([Buffer.from(`run ${job.attempt}`)]), 'text/plain');
      settle('stored');
    } catch (err) {
      settle(`refused: ${(err as Error).message}`);
      throw err;
    }
    return undefined;
  };
  return {
    runner,
    started: once,
    open: (attempt: number) => gates.get(attempt)!(),
    ended: (attempt: number) => ended.get(attempt)!,
  };
}

function service(runner: JobRunner, listen: boolean, concurrency = 1): UwsService {
  return new UwsService({
    pool: db.pool,
    schema: db.schema,
    resultStore: new FileResultStore(store.path),
    runners: { test: runner },
    // One process, taken for dead and starting again with the same name.
    workerId: 'same-worker',
    ...(listen ? {} : { listen: false as const }),
    // Heartbeats so rare that the old run never learns, by itself, that it lost the job.
    limits: {
      concurrency,
      pollInterval: 200,
      heartbeatInterval: 60_000,
      staleAfter: 120_000,
      abortGrace: 100,
    },
    logger: { warn: () => {}, error: () => {} },
  });
}

describe('a stale run is fenced off by the lease (issue 13)', () => {
  it('cannot list a result or end the job once another run holds it, even under the same worker id', async () => {
    const gated = gatedRunner();
    const old = service(gated.runner, false);
    await old.start();
    let fresh: UwsService | undefined;
    try {
      const job = await old.create({ kind: 'test', owner: null, parameters: [], run: true });
      await gated.started(1);
      // The old process stops sending heartbeats (paused): its job is taken for orphaned.
      await db.pool.query(
        `UPDATE ${db.schema}.jobs SET heartbeat = now() - interval '1 hour' WHERE id = $1`,
        [job.id],
      );
      fresh = service(gated.runner, true);
      await fresh.start();
      await gated.started(2);
      // The old run wakes up and tries to finish its work.
      gated.open(1);
      expect(await gated.ended(1)).toMatch(/^refused: .*no longer running here/);
      const during = await fresh.storage.get(job.id);
      expect(during?.phase).toBe('EXECUTING');
      expect(during?.results).toEqual([]);
      gated.open(2);
      expect(await untilFinal(fresh, job.id)).toBe('COMPLETED');
      const result = await fresh.openResult(job.id, null, 'out');
      if ('href' in result) throw new Error('expected a stored result');
      const chunks: Buffer[] = [];
      for await (const c of result.stream) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe('run 2');
      const runs = await db.pool.query(
        `SELECT lease::int, outcome FROM ${db.schema}.runs WHERE job_id = $1 ORDER BY lease`,
        [job.id],
      );
      expect(runs.rows).toEqual([
        { lease: 1, outcome: 'LOST' },
        { lease: 2, outcome: 'COMPLETED' },
      ]);
    } finally {
      await old.stop();
      await fresh?.stop();
    }
  });

  it('stops the earlier run when its own process claims the job again', async () => {
    const gated = gatedRunner();
    // More than one slot, so the same process can claim the job while the old run holds one.
    const svc = service(gated.runner, true, 2);
    await svc.start();
    try {
      const job = await svc.create({ kind: 'test', owner: null, parameters: [], run: true });
      await gated.started(1);
      await db.pool.query(
        `UPDATE ${db.schema}.jobs SET heartbeat = now() - interval '1 hour' WHERE id = $1`,
        [job.id],
      );
      await svc.recover();
      await gated.started(2);
      gated.open(1);
      expect(await gated.ended(1)).toMatch(/^refused/);
      gated.open(2);
      expect(await untilFinal(svc, job.id)).toBe('COMPLETED');
      const done = await svc.storage.get(job.id);
      expect(done?.results.map((r) => r.id)).toEqual(['out']);
      expect(done?.lease).toBe(2);
    } finally {
      await svc.stop();
    }
  });
});
