import { existsSync } from 'node:fs';
import { chown, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type pg from 'pg';
import { type Backend, OUTPUT_DIR, STDERR_FILE, type WorkState } from './backend.js';
import { earliestStart, type fits } from './capacity.js';
import { containerName, containerStopArgv, ENV_FILE, envFileText } from './container.js';
import { tailInside } from './files.js';
import { type Ledger, want } from './ledger.js';
import { readExit } from './local.js';
import { message, type Phase } from './model.js';
import { prepareNotebook } from './notebook.js';
import type { Retention } from './retention.js';
import { folderBytes, storageExceeded } from './scratch.js';
import type { BrokerSettings } from './settings.js';
import type { SlurmSnapshot } from './slurm-queue.js';
import { Staging } from './staging.js';
import * as store from './store.js';

type Log = { warn(o: object, m: string): void; error(o: object, m: string): void };

/** Runs `fn` on every item, at most `limit` at a time. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (t: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Walks accepted sessions through WAITING → PREPARING → AVAILABLE → RUNNING → RELEASING →
 * COMPLETED|FAILED (EB-72, EB-73). Each pass:
 *  1. starts every accepted session that fits now next to what is granted (capacity.ts) —
 *     at its planned start, or earlier when what was booked before it finished early — in
 *     one transaction under the ledger's lock, so two drivers never start the same cores;
 *  2. looks at the work of handed-over sessions, least recently checked first and several at
 *     a time, so a new session is looked at within a pass or two however many are live
 *     (issue 21: a new 1-second job waited 122 s behind 205 running ones);
 *  3. removes finished sessions past their retention (retention.ts).
 * Every transition is one conditional UPDATE, so several processes may drive one database.
 */
export class Driver {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  /** Data brought to the job while PREPARING, beside the driver (staging.ts). */
  private readonly staging: Staging;

  constructor(
    private readonly pool: pg.Pool,
    private readonly settings: BrokerSettings,
    private readonly backend: Backend,
    private readonly ledger: Ledger,
    private readonly retention: Retention,
    private readonly log: Log,
  ) {
    this.staging = new Staging(pool, log);
  }

  start(): void {
    this.stopped = false;
    const loop = () => {
      if (this.stopped) return;
      this.timer = setTimeout(async () => {
        await this.tick();
        loop();
      }, this.settings.pollMs);
      this.timer.unref();
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
  }

  /** Runs a pass soon (after an accept); during a pass, another right after it. */
  kick(): void {
    if (this.stopped) return;
    if (this.ticking) this.again = true;
    else setImmediate(() => void this.tick());
  }

  tick(): Promise<void> {
    this.ticking ??= (async () => {
      do {
        this.again = false;
        await this.pass().catch((err) => this.log.error({ err }, 'broker: driver pass failed'));
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async pass(): Promise<void> {
    if (this.stopped) return;
    await store.expireOffers(this.pool);
    // Work interrupted between claim and start (a node stopped mid-way) is started again;
    // sessions whose data is being staged are the staging's to resume (staging.ts).
    await this.pool.query(
      `UPDATE broker.sessions s SET phase = 'ACCEPTED', updated = now()
        WHERE phase IN ('PREPARING', 'AVAILABLE') AND backend_ref IS NULL AND updated < now() - interval '30 seconds' AND backend = $1
          AND NOT EXISTS (SELECT 1 FROM broker.staging g WHERE g.session = s.uuid AND g.state IN ('waiting', 'running', 'done'))`,
      [this.backend.name],
    );
    let slurm: SlurmSnapshot | undefined;
    try {
      const outside = await this.ledger.outside();
      slurm = outside.slurm;
      const claimed = await this.claimStarts(outside.capacity, slurm);
      // Claimed now, or claimed before and waiting for their data to arrive.
      const claimedIds = new Set(claimed.map((s) => s.uuid));
      const staging = (await store.toStage(this.pool, this.backend.name)).filter(
        (s) => !claimedIds.has(s.uuid),
      );
      await eachLimited([...claimed, ...staging], this.settings.driverConcurrency, (s) =>
        this.guard(s, () => this.startWork(s)),
      );
    } catch (err) {
      this.log.error({ err }, 'broker: starting sessions failed');
    }
    if (this.stopped) return;
    const list = await store.toCheck(this.pool, [this.backend.name], this.settings.driverBatch);
    await eachLimited(list, this.settings.driverConcurrency, (s) =>
      this.guard(s, () => this.check(s, slurm)),
    );
    await this.retention
      .maybeSweep()
      .catch((err) => this.log.warn({ err }, 'broker: retention sweep failed'));
  }

  /** A session whose step throws is FAILED with the reason, never left half-way. */
  private async guard(s: store.StoredSession, step: () => Promise<void>): Promise<void> {
    if (this.stopped) return;
    try {
      await step();
    } catch (err) {
      this.log.error({ err, session: s.uuid }, 'broker: advancing a session failed');
      const now = await store.getSession(this.pool, s.uuid);
      if (!now) return;
      await store.transition(this.pool, s.uuid, [now.phase], 'FAILED', {
        finished: true,
        message: message(
          'ERROR',
          'uri:internal-error',
          `the node could not advance this session: ${(err as Error).message}`,
        ),
      });
    }
  }

  /**
   * Conservative backfilling over the accepted sessions not yet handed to the backend, in the
   * order they were planned: each gets the earliest slot that fits next to the work already
   * started (granted, not merely offered: an offer accepted later starts when it fits) and the
   * slots given to the sessions before it. A session whose slot is now goes to PREPARING; the
   * others wait (WAITING) with their slot as their new planned start, so that a late session
   * shifts the ones after it instead of being blocked by their old plans, a later small one
   * may fill a gap but never delays an earlier one, and the cores busy never exceed the cores.
   */
  private async claimStarts(
    capacity: Parameters<typeof fits>[0],
    slurm: SlurmSnapshot | undefined,
  ): Promise<store.StoredSession[]> {
    return store.withLedgerLock(this.pool, this.ledger.key, async (c) => {
      const list = await store.toStart(c, this.backend.name, this.settings.site);
      if (list.length === 0) return [];
      const now = Date.now();
      const waiting = new Set(list.map((s) => s.uuid));
      const started = (await store.ledgerRows(c, this.backend.name, this.settings.site)).filter(
        (r) => r.phase !== 'OFFERED' && !waiting.has(r.uuid),
      );
      const ended = slurm ? await store.recentRefs(c, this.backend.name, this.settings.site) : [];
      const plan = this.ledger.bookings(started, now, slurm, ended);
      const out: store.StoredSession[] = [];
      for (const s of list) {
        const a = s.allocation;
        const dur = a.durationSeconds * 1000;
        const from = Math.max(now, s.request.schedule?.earliest ?? 0);
        // More than the backend has (its size changed since the offer): planned for never.
        const t = earliestStart(capacity, plan, want(a), from, dur) ?? Number.MAX_SAFE_INTEGER;
        if (t <= now) {
          const r = await c.query(
            `UPDATE broker.sessions SET phase = 'PREPARING', updated = now(),
               allocation = jsonb_set(allocation, '{start}', to_jsonb($2::bigint))
             WHERE uuid = $1 AND phase IN ('ACCEPTED', 'WAITING') AND backend_ref IS NULL RETURNING uuid`,
            [s.uuid, now],
          );
          if (r.rowCount) {
            out.push({ ...s, phase: 'PREPARING', allocation: { ...a, start: now } });
            plan.push({ holder: s.uuid, start: now, end: now + dur, ...want(a) });
          }
          continue;
        }
        if (t < Number.MAX_SAFE_INTEGER) plan.push({ holder: s.uuid, start: t, end: t + dur, ...want(a) });
        // The planned start the session shows follows the queue (kept when it moves less than a second).
        if (Math.abs(t - a.start) > 1000 && t < Number.MAX_SAFE_INTEGER) {
          await c.query(
            `UPDATE broker.sessions SET allocation = jsonb_set(allocation, '{start}', to_jsonb($2::bigint))
              WHERE uuid = $1 AND phase IN ('ACCEPTED', 'WAITING') AND backend_ref IS NULL`,
            [s.uuid, t],
          );
        }
        if (s.phase === 'ACCEPTED') await store.transition(c, s.uuid, ['ACCEPTED'], 'WAITING');
      }
      return out;
    });
  }

  /** PREPARING → AVAILABLE → handed to the backend: RUNNING, or WAITING while the backend queues it. */
  private async startWork(s: store.StoredSession): Promise<void> {
    const a = s.allocation;
    // Data from elsewhere is copied into scratch first (EB-51); the session stays PREPARING,
    // holding its grant, and is looked at again each pass until the copy is done.
    if (!(await this.staging.ready(s))) return;
    for (const d of s.data) {
      if (!d.path || !existsSync(d.path)) {
        await this.fail(
          s.uuid,
          'PREPARING',
          'uri:data-not-local',
          `product ${d.did} is no longer at ${d.path}`,
        );
        return;
      }
    }
    await this.prepareFolder(s);
    if (!(await store.transition(this.pool, s.uuid, ['PREPARING'], 'AVAILABLE'))) return;
    let ref: string;
    try {
      ref = await this.backend.start({
        uuid: s.uuid,
        workDir: s.workDir,
        argv: a.argv,
        kind: a.container ? 'container' : 'command',
        cores: a.cores,
        memoryGiB: a.memoryGiB,
        seconds: a.durationSeconds,
        gpus: a.gpus,
        scratchBytes: a.storageGiB * 2 ** 30,
        stopArgv: this.stopArgv(s),
        readable: s.data.flatMap((d) => (d.path ? [d.path] : [])),
      });
    } catch (err) {
      await this.fail(
        s.uuid,
        'AVAILABLE',
        'uri:backend-failed',
        `the ${this.backend.name} backend could not start the work: ${(err as Error).message}`,
      );
      return;
    }
    // A batch system may queue the work: then the session waits, and its time starts later.
    const w = this.backend.name === 'slurm' ? await this.backend.poll(ref, s.workDir) : undefined;
    const next = w?.state === 'queued' ? 'WAITING' : 'RUNNING';
    const moved = await store.transition(this.pool, s.uuid, ['AVAILABLE'], next, {
      backendRef: ref,
      started: next === 'RUNNING',
      ...(next === 'WAITING'
        ? {
            message: message(
              'INFO',
              'uri:queued',
              `queued by ${this.backend.name} as ${ref}; the time limit starts when it runs`,
            ),
          }
        : {}),
    });
    if (!moved) await this.backend.cancel(ref, s.workDir, this.stopArgv(s)); // cancelled while starting
  }

  /** The state of handed-over work; on Slurm, read from the queue snapshot of this pass when it has the job. */
  private async workState(
    s: store.StoredSession,
    slurm?: SlurmSnapshot,
  ): Promise<WorkState & { since?: number }> {
    const ref = s.backendRef as string;
    const job = slurm?.jobs.find((j) => j.id === ref);
    if (job) {
      const code = await readExit(s.workDir);
      if (code !== undefined) return { state: 'exited', code };
      if (job.state === 'PENDING') return { state: 'queued' };
      if (job.state === 'RUNNING' || job.state === 'CONFIGURING' || job.state === 'COMPLETING')
        return { state: 'running', since: job.start };
    }
    return this.backend.poll(ref, s.workDir);
  }

  private async check(s: store.StoredSession, slurm?: SlurmSnapshot): Promise<void> {
    const a = s.allocation;
    if ((s.phase === 'CANCELLED' || s.phase === 'FAILED') && s.cancelRequested) {
      await this.stopWork(s);
      return;
    }
    if (s.phase === 'RELEASING') {
      await this.release(s);
      return;
    }
    if ((s.phase !== 'RUNNING' && s.phase !== 'WAITING') || !s.backendRef) return;
    const w = await this.workState(s, slurm);
    if (w.state === 'queued') return;
    if (s.phase === 'WAITING') {
      // Left the queue: the work really starts now (Slurm's own start time when known).
      const since = w.state === 'running' && w.since && w.since <= Date.now() ? new Date(w.since) : true;
      const running = await store.transition(this.pool, s.uuid, ['WAITING'], 'RUNNING', { started: since });
      if (!running) return;
      s = running;
    }
    // The storage grant is a quota on the work folder, watched here (scratch.ts).
    if (s.phase === 'RUNNING') {
      const grant = a.storageGiB * 2 ** 30;
      const used = await folderBytes(s.workDir, grant);
      if (used > grant) {
        if (w.state === 'running')
          await this.backend.cancel(s.backendRef as string, s.workDir, this.stopArgv(s));
        await this.fail(s.uuid, 'RUNNING', 'uri:storage-exceeded', storageExceeded(used, a.storageGiB));
        return;
      }
    }
    if (w.state === 'running') {
      const deadline = (s.started?.getTime() ?? Date.now()) + a.durationSeconds * 1000;
      if (Date.now() > deadline) {
        await this.backend.cancel(s.backendRef as string, s.workDir, this.stopArgv(s));
        await this.fail(
          s.uuid,
          'RUNNING',
          'uri:time-limit',
          `the work reached its time limit of ${a.durationSeconds} s and was stopped`,
        );
      }
      return;
    }
    if (w.state === 'lost') {
      await this.fail(s.uuid, 'RUNNING', 'uri:work-lost', w.reason);
      return;
    }
    const releasing = await store.transition(this.pool, s.uuid, ['RUNNING'], 'RELEASING', {
      exitCode: w.code,
    });
    if (releasing) await this.release(releasing);
  }

  /**
   * Stops the work of a cancelled or failed session. A session on another backend (or a
   * cancel that failed) keeps cancel_requested, and the driver of its backend retries.
   */
  /** A container session's stop argv (removes the container by its name); none for a command. */
  private stopArgv(s: store.StoredSession): readonly string[] | undefined {
    const policy = this.settings.container;
    return s.allocation.container && policy
      ? containerStopArgv(policy.runtime, containerName(s.uuid))
      : undefined;
  }

  async stopWork(s: store.StoredSession): Promise<void> {
    if (!s.backendRef || s.backend !== this.backend.name) return;
    try {
      await this.backend.cancel(s.backendRef, s.workDir, this.stopArgv(s));
      await this.pool.query('UPDATE broker.sessions SET cancel_requested = false WHERE uuid = $1', [s.uuid]);
    } catch (err) {
      this.log.warn({ err, session: s.uuid }, 'broker: cancelling work failed; the driver will retry');
    }
  }

  /** Results stay in the work folder and are served from there; a non-zero exit is FAILED (EB-73). */
  private async release(s: store.StoredSession): Promise<void> {
    if (s.exitCode === 0) {
      await store.transition(this.pool, s.uuid, ['RELEASING'], 'COMPLETED', { finished: true });
      return;
    }
    const tail = await tailInside(s.workDir, [STDERR_FILE], 2000);
    await this.fail(
      s.uuid,
      'RELEASING',
      'uri:execution-failed',
      `the work exited with status ${s.exitCode}${tail.trim() ? `: ${tail.trim().slice(-500)}` : ''}`,
    );
  }

  /**
   * The work folder, private to the node (0700); the output folder inside it belongs to the
   * container's unprivileged user when the node runs as root; the container's environment
   * goes to a file only the engine reads (`--env-file`), never into the host's environment.
   */
  private async prepareFolder(s: store.StoredSession): Promise<void> {
    const a = s.allocation;
    // The folder of all work folders: others may pass through (a pipeline's user reaches its own), not list it.
    const parent = dirname(s.workDir);
    if (!existsSync(parent)) await mkdir(parent, { recursive: true, mode: 0o711 });
    await mkdir(s.workDir, { recursive: true, mode: 0o700 });
    const output = join(s.workDir, OUTPUT_DIR);
    await mkdir(output, { recursive: true, mode: 0o700 });
    if (a.outputOwner && process.getuid?.() === 0) await chown(output, a.outputOwner.uid, a.outputOwner.gid);
    const env = a.environment ?? {};
    if (Object.keys(env).length > 0)
      await writeFile(join(s.workDir, ENV_FILE), envFileText(env), { mode: 0o600 });
    await prepareNotebook(s, this.settings.notebook);
  }

  private async fail(uuid: string, from: Phase, type: string, text: string): Promise<void> {
    await store.transition(this.pool, uuid, [from], 'FAILED', {
      finished: true,
      message: message('ERROR', type, text),
    });
  }
}
