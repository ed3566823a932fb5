import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UwsService } from '../../src/uws/index.js';
import {
  newRunLog,
  newService,
  type RunLog,
  tempFolder,
  testRunner,
  untilFinal,
  untilPhase,
  uwsDatabase,
} from './helpers.js';

let db: Awaited<ReturnType<typeof uwsDatabase>>;
let store: ReturnType<typeof tempFolder>;
let log: RunLog;
let service: UwsService;

beforeAll(async () => {
  db = await uwsDatabase();
  store = tempFolder();
  log = newRunLog();
  service = newService(db.pool, db.schema, store.path, { test: testRunner(log) }, { concurrency: 4 });
  await service.start();
});

afterAll(async () => {
  await service?.stop();
  await db?.close();
  store?.remove();
});

const params = (p: Record<string, string>) => Object.entries(p).map(([id, value]) => ({ id, value }));

describe('UwsService lifecycle', () => {
  it('creates a PENDING job unless PHASE=RUN is given (UWS-17, UWS-18)', async () => {
    const job = await service.create({ kind: 'test', owner: 'alice', parameters: params({ MODE: 'quick' }) });
    expect(job.phase).toBe('PENDING');
    expect(job.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(job.executionDuration).toBe(service.limits.defaultExecutionDuration);
    expect(job.destruction).not.toBeNull();
    expect(job.creationTime).toBeInstanceOf(Date);
    await service.delete(job.id, 'alice');
  });

  it('runs a job created with PHASE=RUN to COMPLETED with its result', async () => {
    const job = await service.create({
      kind: 'test',
      owner: null,
      parameters: params({ MODE: 'result', TEXT: 'forty-two' }),
      run: true,
    });
    expect(job.phase).toBe('QUEUED');
    expect(await untilFinal(service, job.id)).toBe('COMPLETED');
    const done = await service.get(job.id, null);
    expect(done.startTime).not.toBeNull();
    expect(done.endTime).not.toBeNull();
    expect(done.results).toEqual([{ id: 'out', mimeType: 'text/plain', size: 9 }]);
    const opened = await service.openResult(job.id, null, 'out');
    if ('href' in opened) throw new Error('expected a stored result');
    const chunks: Buffer[] = [];
    for await (const c of opened.stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('forty-two');
    expect(opened.size).toBe(9);
  });

  it('moves PENDING to QUEUED on run, and refuses RUN once finished (UWS-19, UWS-51)', async () => {
    const job = await service.create({ kind: 'test', owner: 'bob', parameters: params({ MODE: 'quick' }) });
    await service.run(job.id, 'bob');
    expect(await untilFinal(service, job.id)).toBe('COMPLETED');
    await expect(service.run(job.id, 'bob')).rejects.toMatchObject({ status: 403 });
    await expect(service.abort(job.id, 'bob')).rejects.toMatchObject({ status: 403 });
  });

  it('reports a thrown JobFailure as ERROR with summary and detail (UWS-22)', async () => {
    const job = await service.create({
      kind: 'test',
      owner: null,
      parameters: params({ MODE: 'fail' }),
      run: true,
    });
    expect(await untilFinal(service, job.id)).toBe('ERROR');
    const failed = await service.get(job.id, null);
    expect(failed.error).toEqual({
      type: 'fatal',
      message: 'the test runner was asked to fail',
      hasDetail: true,
    });
    const { detail } = await service.errorDetail(job.id, null);
    expect(detail).toEqual({ mime: 'text/plain', body: 'detailed failure report' });
  });

  it('reports an error outcome as ERROR with its type', async () => {
    const job = await service.create({
      kind: 'test',
      owner: null,
      parameters: params({ MODE: 'outcome' }),
      run: true,
    });
    expect(await untilFinal(service, job.id)).toBe('ERROR');
    expect((await service.get(job.id, null)).error).toEqual({
      type: 'transient',
      message: 'reported failure',
      hasDetail: false,
    });
    await expect(
      service.errorDetail((await service.create({ kind: 'test', owner: null, parameters: [] })).id, null),
    ).rejects.toMatchObject({ status: 404 });
  });

  it('aborts a running job through its AbortSignal (UWS-25)', async () => {
    const job = await service.create({
      kind: 'test',
      owner: null,
      parameters: params({ MODE: 'sleep' }),
      run: true,
    });
    await untilPhase(service, job.id, 'EXECUTING');
    const aborted = await service.abort(job.id, null);
    expect(aborted.phase).toBe('ABORTED');
    await expect.poll(() => log.aborted.has(job.id), { timeout: 20_000 }).toBe(true);
    expect((await service.get(job.id, null)).phase).toBe('ABORTED');
  });

  it('enforces the execution duration: the runner is aborted and the job is ERROR (UWS-8)', async () => {
    const job = await service.create({
      kind: 'test',
      owner: null,
      parameters: params({ MODE: 'sleep' }),
      executionDuration: 1,
      run: true,
    });
    expect(job.executionDuration).toBe(1);
    expect(await untilFinal(service, job.id)).toBe('ERROR');
    const failed = await service.get(job.id, null);
    expect(failed.error?.message).toContain('execution duration limit of 1 s');
    await expect.poll(() => log.aborted.has(job.id), { timeout: 20_000 }).toBe(true);
  });

  it('can report the execution-duration limit as ABORTED with the summary, as UWS 1.1 §2.1.4 reads', async () => {
    const strict = new (await import('../../src/uws/index.js')).UwsService({
      pool: db.pool,
      schema: db.schema,
      resultStore: service.resultStore,
      runners: { strict: testRunner() },
      timeoutPhase: 'ABORTED',
      limits: { pollInterval: 500, heartbeatInterval: 200, staleAfter: 2000 },
    });
    await strict.start();
    try {
      const job = await strict.create({
        kind: 'strict',
        owner: null,
        parameters: params({ MODE: 'sleep' }),
        executionDuration: 1,
        run: true,
      });
      expect(await untilFinal(strict, job.id)).toBe('ABORTED');
      expect((await strict.get(job.id, null)).error?.message).toContain('execution duration limit of 1 s');
    } finally {
      await strict.stop();
    }
  });

  it('clamps execution duration to the configured maximum', async () => {
    const job = await service.create({ kind: 'test', owner: null, parameters: [], executionDuration: 0 });
    expect(job.executionDuration).toBe(service.limits.maxExecutionDuration);
    const set = await service.setExecutionDuration(job.id, null, 10 ** 9);
    expect(set.executionDuration).toBe(service.limits.maxExecutionDuration);
    expect((await service.setExecutionDuration(job.id, null, 30)).executionDuration).toBe(30);
    await expect(service.setExecutionDuration(job.id, null, -1)).rejects.toMatchObject({ status: 400 });
  });

  it('clamps destruction to now + maxDestruction (UWS-27)', async () => {
    const job = await service.create({ kind: 'test', owner: null, parameters: [] });
    const far = new Date(Date.now() + 10 * 365 * 86400_000);
    const set = await service.setDestruction(job.id, null, far);
    expect(set.destruction!.getTime()).toBeLessThan(far.getTime());
    const near = new Date(Date.now() + 3600_000);
    expect((await service.setDestruction(job.id, null, near)).destruction!.getTime()).toBe(near.getTime());
  });

  it('updates parameters only while PENDING; single values replace, multi-valued accumulate (UWS-29)', async () => {
    const job = await service.create({
      kind: 'test',
      owner: 'carol',
      parameters: params({ MODE: 'quick', RUNID: 'first', UPLOAD: 'a,param:a' }),
      runId: 'first',
    });
    const updated = await service.updateParameters(
      job.id,
      'carol',
      [
        { id: 'runId', value: 'second' },
        { id: 'upload', value: 'b,param:b' },
      ],
      ['UPLOAD'],
    );
    expect(updated.runId).toBe('second');
    expect(updated.parameters).toEqual([
      { id: 'MODE', value: 'quick' },
      { id: 'UPLOAD', value: 'a,param:a' },
      { id: 'runId', value: 'second' },
      { id: 'upload', value: 'b,param:b' },
    ]);
    await service.run(job.id, 'carol');
    await untilFinal(service, job.id);
    await expect(service.updateParameters(job.id, 'carol', params({ MODE: 'x' }))).rejects.toMatchObject({
      status: 403,
    });
  });

  it('shows owners only their own jobs, and gives 403 for another owner (UWS-53)', async () => {
    const mine = await service.create({ kind: 'test', owner: 'dave', parameters: [] });
    await expect(service.get(mine.id, 'erin')).rejects.toMatchObject({ status: 403 });
    await expect(service.get(mine.id, null)).rejects.toMatchObject({ status: 403 });
    await expect(service.get('no-such-job', 'dave')).rejects.toMatchObject({ status: 404 });
    const anon = await service.create({ kind: 'test', owner: null, parameters: [] });
    expect((await service.get(anon.id, 'erin')).id).toBe(anon.id);
    expect((await service.list('test', 'erin')).map((j) => j.id)).not.toContain(mine.id);
    expect((await service.list('test', 'dave')).map((j) => j.id)).toContain(mine.id);
    expect(await service.list('test', null)).toEqual([]);
  });

  it('filters the list by PHASE (union), AFTER and LAST, newest first (UWS-31..36)', async () => {
    const owner = 'frank';
    // Distinct creation instants (milliseconds), so that newest-first has one answer.
    const tick = () => new Promise((r) => setTimeout(r, 5));
    const a = await service.create({ kind: 'test', owner, parameters: [] });
    await tick();
    const b = await service.create({ kind: 'test', owner, parameters: params({ MODE: 'quick' }), run: true });
    await untilFinal(service, b.id);
    await tick();
    const c = await service.create({ kind: 'test', owner, parameters: [] });
    await service.abort(c.id, owner);
    const all = await service.list('test', owner);
    expect(all.map((j) => j.id)).toEqual([c.id, b.id, a.id]);
    expect((await service.list('test', owner, { phases: ['PENDING'] })).map((j) => j.id)).toEqual([a.id]);
    expect(
      (await service.list('test', owner, { phases: ['PENDING', 'ABORTED'] })).map((j) => j.id).sort(),
    ).toEqual([a.id, c.id].sort());
    expect((await service.list('test', owner, { last: 2 })).map((j) => j.id)).toEqual([c.id, b.id]);
    expect((await service.list('test', owner, { after: a.creationTime })).map((j) => j.id)).toEqual([
      c.id,
      b.id,
    ]);
    expect(
      (await service.list('test', owner, { after: a.creationTime, phases: ['ABORTED'] })).map((j) => j.id),
    ).toEqual([c.id]);
    expect(await service.list('test', owner, { phases: ['ARCHIVED'] })).toEqual([]);
  });

  it('waits for a phase change without holding a database connection (UWS-38)', async () => {
    const job = await service.create({ kind: 'test', owner: null, parameters: params({ MODE: 'quick' }) });
    // More waiters than the pool has connections: if a waiter held one, RUN below could not proceed.
    const waits = Array.from({ length: 12 }, () => service.waitForChange(job.id, 'PENDING', 60));
    await service.run(job.id, null);
    await Promise.all(waits);
    expect((await service.get(job.id, null)).phase).not.toBe('PENDING');
  });

  it('deletes a job and its result files (UWS-26)', async () => {
    const job = await service.create({
      kind: 'test',
      owner: null,
      parameters: params({ MODE: 'result' }),
      run: true,
    });
    await untilFinal(service, job.id);
    // Stored under the lease of the run that wrote it (issue 13's fencing): the first run's.
    expect(existsSync(join(store.path, job.id, 'l1-out'))).toBe(true);
    await service.delete(job.id, null);
    await expect(service.get(job.id, null)).rejects.toMatchObject({ status: 404 });
    expect(existsSync(join(store.path, job.id))).toBe(false);
  });

  it('destroys jobs past their destruction time, rows and files (UWS-9)', async () => {
    const job = await service.create({
      kind: 'test',
      owner: null,
      parameters: params({ MODE: 'result' }),
      run: true,
    });
    await untilFinal(service, job.id);
    const keep = await service.create({ kind: 'test', owner: null, parameters: [] });
    await service.setDestruction(job.id, null, new Date(Date.now() - 1000));
    const swept = await service.sweep();
    expect(swept).toContain(job.id);
    expect(swept).not.toContain(keep.id);
    await expect(service.get(job.id, null)).rejects.toMatchObject({ status: 404 });
    expect(existsSync(join(store.path, job.id))).toBe(false);
    expect((await service.get(keep.id, null)).phase).toBe('PENDING');
  });
});

describe('UwsService across processes', () => {
  it('two services sharing one database run each of 200 jobs exactly once', async () => {
    const shared = newRunLog();
    const other = db.extraPool();
    const runner = testRunner(shared);
    const one = newService(db.pool, db.schema, store.path, { many: runner }, { concurrency: 3 }, 'one');
    const two = newService(other, db.schema, store.path, { many: runner }, { concurrency: 3 }, 'two');
    await Promise.all([one.start(), two.start()]);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 200; i++) {
        const creator = i % 2 === 0 ? one : two;
        const job = await creator.create({
          kind: 'many',
          owner: `user${i % 7}`,
          parameters: params({ MODE: i % 3 === 0 ? 'result' : 'quick' }),
          run: true,
        });
        ids.push(job.id);
      }
      const phases = await Promise.all(ids.map((id) => untilFinal(one, id)));
      expect(phases.every((p) => p === 'COMPLETED')).toBe(true);
      expect(shared.overlaps).toEqual([]);
      expect(ids.every((id) => shared.started.get(id) === 1)).toBe(true);
      const r = await db.pool.query(
        `SELECT count(*)::int AS n, sum(attempts)::int AS a FROM ${db.schema}.jobs WHERE kind = 'many'`,
      );
      expect(r.rows[0]).toEqual({ n: 200, a: 200 });
    } finally {
      await Promise.all([one.stop(), two.stop()]);
    }
  });

  it('re-queues jobs orphaned by a dead process, and fails them after maxAttempts', async () => {
    const seen = newRunLog();
    const creator = newService(
      db.pool,
      db.schema,
      store.path,
      { crash: testRunner(seen) },
      { maxAttempts: 2 },
    );
    // Not started: it only creates, like a process that dies before running anything.
    const retry = await creator.create({
      kind: 'crash',
      owner: null,
      parameters: params({ MODE: 'result' }),
    });
    const spent = await creator.create({
      kind: 'crash',
      owner: null,
      parameters: params({ MODE: 'result' }),
    });
    const fresh = await creator.create({ kind: 'crash', owner: null, parameters: params({ MODE: 'quick' }) });
    // A process that claimed these jobs and died: EXECUTING with a heartbeat long past.
    await db.pool.query(
      `UPDATE ${db.schema}.jobs SET phase = 'EXECUTING', claimed_by = 'dead-host:1', start_time = now(),
         heartbeat = now() - interval '1 hour', attempts = CASE WHEN id = $2 THEN 2 ELSE 1 END
       WHERE id = ANY($1::text[])`,
      [[retry.id, spent.id], spent.id],
    );
    await db.pool.query(
      `INSERT INTO ${db.schema}.results (job_id, id, mime_type, size, position) VALUES ($1, 'partial', 'text/plain', 3, 0)`,
      [retry.id],
    );
    // A live process whose heartbeat is fresh must be left alone.
    await db.pool.query(
      `UPDATE ${db.schema}.jobs SET phase = 'EXECUTING', claimed_by = 'alive-host:1', heartbeat = now(), attempts = 1
       WHERE id = $1`,
      [fresh.id],
    );
    const survivor = newService(
      db.pool,
      db.schema,
      store.path,
      { crash: testRunner(seen) },
      { maxAttempts: 2 },
    );
    await survivor.start();
    try {
      expect(await untilFinal(survivor, retry.id)).toBe('COMPLETED');
      const done = await survivor.get(retry.id, null);
      expect(done.attempts).toBe(2);
      expect(done.results.map((r) => r.id)).toEqual(['out']);
      const failed = await survivor.get(spent.id, null);
      expect(failed.phase).toBe('ERROR');
      expect(failed.error?.message).toContain('stopped unexpectedly');
      expect(seen.started.has(spent.id)).toBe(false);
      expect((await survivor.get(fresh.id, null)).phase).toBe('EXECUTING');
      expect(seen.started.has(fresh.id)).toBe(false);
    } finally {
      await survivor.stop();
    }
  });

  it('runs at most perOwnerConcurrency jobs of one owner at once, while others proceed', async () => {
    const seen = newRunLog();
    const worker = newService(
      db.pool,
      db.schema,
      store.path,
      { owners: testRunner(seen) },
      { concurrency: 4, perOwnerConcurrency: 1 },
    );
    await worker.start();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const owner = i < 4 ? 'busy' : 'other';
        const job = await worker.create({
          kind: 'owners',
          owner,
          parameters: params({ MODE: 'sleep', SLEEP: '50' }),
          run: true,
        });
        ids.push(job.id);
      }
      for (const id of ids) expect(await untilFinal(worker, id)).toBe('COMPLETED');
      expect(seen.maxPerOwner.get('busy')).toBe(1);
      expect(seen.maxPerOwner.get('other')).toBe(1);
    } finally {
      await worker.stop();
    }
  });

  it('stops a runner whose job was taken from it without a notification (heartbeat fencing)', async () => {
    const seen = newRunLog();
    const worker = newService(db.pool, db.schema, store.path, { fence: testRunner(seen) }, {}, 'fenced');
    await worker.start();
    try {
      const job = await worker.create({
        kind: 'fence',
        owner: null,
        parameters: params({ MODE: 'sleep' }),
        run: true,
      });
      await untilPhase(worker, job.id, 'EXECUTING');
      // As if recovery elsewhere had re-queued it and another worker claimed it: no NOTIFY.
      await db.pool.query(`UPDATE ${db.schema}.jobs SET claimed_by = 'someone-else' WHERE id = $1`, [job.id]);
      await expect.poll(() => seen.aborted.has(job.id), { timeout: 20_000 }).toBe(true);
      const after = await worker.storage.get(job.id);
      expect(after?.phase).toBe('EXECUTING');
      expect(after?.results).toEqual([]);
    } finally {
      await worker.stop();
    }
  });

  it('runs jobs and answers waits by polling alone when notifications are off', async () => {
    const { UwsService, FileResultStore } = await import('../../src/uws/index.js');
    const quiet = new UwsService({
      pool: db.pool,
      schema: db.schema,
      resultStore: new FileResultStore(store.path),
      runners: { quiet: testRunner() },
      listen: false,
      limits: { pollInterval: 100, heartbeatInterval: 200, staleAfter: 2000 },
    });
    // The creator is a separate front end, so nothing in-process wakes the worker.
    const front = new UwsService({
      pool: db.pool,
      schema: db.schema,
      resultStore: new FileResultStore(store.path),
      runners: { quiet: testRunner() },
      listen: false,
      runWorkers: false,
      limits: { pollInterval: 100, heartbeatInterval: 200, staleAfter: 2000 },
    });
    await Promise.all([quiet.start(), front.start()]);
    try {
      const job = await front.create({
        kind: 'quiet',
        owner: null,
        parameters: params({ MODE: 'result' }),
        run: true,
      });
      expect(await untilFinal(front, job.id)).toBe('COMPLETED');
    } finally {
      await Promise.all([quiet.stop(), front.stop()]);
    }
  });

  it('puts RUN requests beyond maxQueuedPerOwner in HELD, and RUN again queues them (UWS-18)', async () => {
    const idle = newService(db.pool, db.schema, store.path, { held: testRunner() }, { maxQueuedPerOwner: 1 });
    const first = await idle.create({ kind: 'held', owner: 'gina', parameters: [], run: true });
    const second = await idle.create({ kind: 'held', owner: 'gina', parameters: [], run: true });
    expect(first.phase).toBe('QUEUED');
    expect(second.phase).toBe('HELD');
    await idle.abort(first.id, 'gina');
    expect((await idle.run(second.id, 'gina')).phase).toBe('QUEUED');
  });

  it('gives a stopping worker’s running job back to the queue without counting the attempt', async () => {
    const seen = newRunLog();
    const leaving = newService(db.pool, db.schema, store.path, { leave: testRunner(seen) }, {}, 'leaving');
    await leaving.start();
    const job = await leaving.create({
      kind: 'leave',
      owner: null,
      parameters: params({ MODE: 'sleep' }),
      run: true,
    });
    await untilPhase(leaving, job.id, 'EXECUTING');
    // EXECUTING is committed at the claim, a moment before the runner begins; a stop in that
    // moment gives the job back without running it, and there is no run to abort.
    for (let i = 0; i < 500 && !seen.started.has(job.id); i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen.started.get(job.id)).toBe(1);
    await leaving.stop();
    const back = await leaving.storage.get(job.id);
    expect(back?.phase).toBe('QUEUED');
    expect(back?.attempts).toBe(0);
    expect(seen.aborted.has(job.id)).toBe(true);
  });
});
