import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type pg from 'pg';
import type { Identity } from '../auth/index.js';
import { type Backend, OUTPUT_DIR, STDERR_FILE } from './backend.js';
import { containerArgv, ENV_FILE, envFileText, imageAllowed } from './container.js';
import { resolveData } from './data.js';
import { BrokerError, conflict, notFound } from './errors.js';
import { tailInside } from './files.js';
import type { Allocation, ExecutionRequest, Message, Phase, ResolvedData } from './model.js';
import { message } from './model.js';
import { notebookCommand, prepareNotebook } from './notebook.js';
import { pipelineArgv } from './pipelines.js';
import type { BrokerSettings } from './settings.js';
import * as store from './store.js';

export interface OfferOutcome {
  readonly uuid: string;
  readonly result: 'YES' | 'NO';
  /** HTTP status for the answer: 200 YES, 4xx for a NO (the brief: refusals are never empty successes). */
  readonly status: number;
}

/**
 * Offers, acceptance, cancellation and the driver that walks accepted sessions through
 * WAITING → PREPARING → AVAILABLE → RUNNING → RELEASING → COMPLETED|FAILED (EB-72, EB-73).
 * Every transition is one conditional UPDATE, so several processes may drive one database.
 */
export class BrokerService {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly pool: pg.Pool,
    readonly settings: BrokerSettings,
    private readonly backend: Backend,
    private readonly dataDir: string,
    private readonly log: { warn(o: object, m: string): void; error(o: object, m: string): void },
  ) {}

  // ------------------------------------------------------------------ offers

  async offer(
    identity: Identity,
    request: ExecutionRequest | undefined,
    readMessages: Message[],
    remote: unknown[],
  ): Promise<OfferOutcome> {
    const owner = identity.sub as string;
    const uuid = randomUUID();
    const messages = [...readMessages];
    let status = messages.length ? 400 : 200;
    const offers: store.NewOffer[] = [];
    if (request) {
      try {
        offers.push(...(await this.plan(identity, request, messages)));
      } catch (err) {
        if (!(err instanceof BrokerError)) throw err;
        if (err.status === 403) throw err;
        messages.push(message('ERROR', err.type, err.message));
        status = err.status;
      }
      if (offers.length === 0 && status === 200) status = 422;
    }
    const result = offers.length > 0 || remote.length > 0 ? 'YES' : 'NO';
    if (result === 'YES') status = 200;
    await store.insertOfferSet(
      this.pool,
      {
        uuid,
        owner,
        groups: identity.groups,
        site: this.settings.site,
        name: request?.name ?? null,
        result,
        messages,
        remote,
      },
      request,
      this.backend.name,
      offers,
    );
    return { uuid, result, status };
  }

  /** One or two offers (minimum, and the maxima when they differ), or messages saying why not. */
  private async plan(
    identity: Identity,
    req: ExecutionRequest,
    messages: Message[],
  ): Promise<store.NewOffer[]> {
    const cap = this.settings.capacity;
    const no = (path: string, type: string, text: string) =>
      messages.push(message('ERROR', type, text, { path }));
    const c = req.compute;
    if (c.cores.min > cap.cores)
      no(
        'compute.cores.min',
        'uri:insufficient-resources',
        `${c.cores.min} cores asked for; this node offers at most ${cap.cores}`,
      );
    if (c.memory.min > cap.memoryGiB)
      no(
        'compute.memory.min',
        'uri:insufficient-resources',
        `${c.memory.min} GiB of memory asked for; this node offers at most ${cap.memoryGiB} GiB`,
      );
    if (c.gpus.min > cap.gpus)
      no(
        'compute.gpus.min',
        'uri:insufficient-resources',
        `${c.gpus.min} GPUs asked for; this node has ${cap.gpus}`,
      );
    if (
      c.gpuModel &&
      c.gpuModel !== 'none' &&
      c.gpus.min > 0 &&
      cap.gpuModel &&
      c.gpuModel !== cap.gpuModel
    ) {
      no(
        'compute.gpu_model',
        'uri:insufficient-resources',
        `GPU model ${c.gpuModel} asked for; this node has ${cap.gpuModel}`,
      );
    }
    if (req.storage.size.min > cap.storageGiB)
      no(
        'storage',
        'uri:insufficient-resources',
        `${req.storage.size.min} GiB of storage asked for; sessions get at most ${cap.storageGiB} GiB`,
      );
    const duration = req.schedule.durationSeconds ?? this.settings.defaultDurationSeconds;
    if (duration > this.settings.maxDurationSeconds) {
      no(
        'schedule.requested.duration',
        'uri:insufficient-resources',
        `duration ${duration} s exceeds this node's limit of ${this.settings.maxDurationSeconds} s`,
      );
    }
    const now = Date.now();
    const start = Math.max(now, req.schedule.earliest ?? now);
    if (req.schedule.latest !== undefined && req.schedule.latest < now - 60_000) {
      no('schedule.requested.start', 'uri:invalid-schedule', 'the requested start window has already passed');
    }
    // Quotas count accepted, unfinished sessions.
    const use = await store.usage(this.pool, identity.sub as string, identity.groups);
    const s = this.settings;
    if (s.maxActivePerUser > 0 && use.userActive >= s.maxActivePerUser) {
      no(
        '',
        'uri:quota-exceeded',
        `you have ${use.userActive} unfinished sessions; the limit per user is ${s.maxActivePerUser}`,
      );
    }
    if (s.maxCoresPerUser > 0 && use.userCores + c.cores.min > s.maxCoresPerUser) {
      no(
        'compute.cores.min',
        'uri:quota-exceeded',
        `your sessions use ${use.userCores} cores; ${c.cores.min} more would exceed the per-user limit of ${s.maxCoresPerUser}`,
      );
    }
    if (s.maxActivePerGroup > 0) {
      for (const [g, n] of use.groupActive) {
        if (n >= s.maxActivePerGroup)
          no(
            '',
            'uri:quota-exceeded',
            `group ${g} has ${n} unfinished sessions; the limit per group is ${s.maxActivePerGroup}`,
          );
      }
    }
    const { resolved, messages: dataMessages } = await resolveData(
      this.pool,
      identity,
      req.data,
      this.dataDir,
    );
    messages.push(...dataMessages);
    for (const d of resolved) {
      if (!d.path || !existsSync(d.path)) {
        const elsewhere = d.replicas.filter((r) => !r.local).map((r) => r.site);
        no(
          `data`,
          'uri:data-not-local',
          `product ${d.did} has no copy on this node${elsewhere.length ? `; replicas are at ${elsewhere.join(', ')}: ask those sites' brokers` : ''}`,
        );
      }
    }
    if (messages.length > 0) return [];
    const uuids = [randomUUID(), randomUUID()];
    const workDirs = uuids.map((u) => join(this.dataDir, 'broker', u));
    const expires = new Date(now + s.offerSeconds * 1000);
    const base = (cores: number, memoryGiB: number, i: number): store.NewOffer => ({
      uuid: uuids[i],
      expires,
      workDir: workDirs[i],
      data: resolved,
      allocation: {
        cores,
        memoryGiB,
        gpus: Math.min(c.gpus.max, cap.gpus),
        storageGiB: Math.max(req.storage.size.min, 1),
        start,
        durationSeconds: duration,
        preparingSeconds: 0,
        // throws (422) for an unknown pipeline or parameter, or a container this site will not run
        ...this.command(req, resolved, workDirs[i], cores, memoryGiB),
      } satisfies Allocation,
    });
    const out = [base(c.cores.min, c.memory.min, 0)];
    const bigCores = Math.min(c.cores.max, cap.cores);
    const bigMem = Math.min(c.memory.max, cap.memoryGiB);
    if (bigCores > c.cores.min || bigMem > c.memory.min) out.push(base(bigCores, bigMem, 1));
    return out;
  }

  /** What the backend runs for a request: argv, the container's environment and the output folder's owner. */
  private command(
    req: ExecutionRequest,
    data: readonly ResolvedData[],
    workDir: string,
    cores: number,
    memoryGiB: number,
  ): Pick<Allocation, 'argv' | 'environment' | 'outputOwner' | 'container'> {
    const outputDir = join(workDir, OUTPUT_DIR);
    const ex = req.executable;
    if (ex.kind === 'pipeline') {
      const def = this.settings.pipelines.find((p) => p.name === ex.pipeline);
      if (!def) {
        throw new BrokerError(
          422,
          'uri:unknown-pipeline',
          `no pipeline "${ex.pipeline}" is registered at this site (registered: ${this.settings.pipelines.map((p) => p.name).join(', ') || 'none'})`,
        );
      }
      return { argv: pipelineArgv(def, ex.params, data, outputDir), environment: {} };
    }
    if (ex.kind === 'deferred') return { argv: [], environment: {} };
    if (ex.kind === 'container') {
      const policy = this.settings.container;
      if (!policy) {
        throw new BrokerError(
          422,
          'uri:unsupported-executable',
          'this site runs no containers (no container runtime is configured); use a registered pipeline',
        );
      }
      if (!imageAllowed(policy, ex.image)) {
        throw new BrokerError(
          422,
          'uri:unsupported-executable',
          `image ${ex.image.text} is not one this site runs (allowed: ${policy.images.join(', ')})`,
        );
      }
      // Data read-only under /data/<name>, results written to /output, the node's fixed
      // run options, and the environment through the engine's env file (container.ts).
      const argv = containerArgv(policy, {
        image: ex.image,
        entrypoint: ex.entrypoint,
        command: ex.command,
        hasEnvironment: Object.keys(ex.environment).length > 0,
        mounts: data.flatMap((d) => (d.path ? [{ source: d.path, name: d.name }] : [])),
        workDir,
        outputDir,
        cores,
        memoryGiB,
      });
      return { argv, environment: ex.environment, outputOwner: policy.user, container: true };
    }
    return notebookCommand(this.settings.notebook, ex, workDir, this.backend.name, this.settings.localUser);
  }

  /**
   * SRCNet submit (EB-103): the job arrives after the offer, so the offer's command and data
   * are planned now, within the offer's resources, and the offer is accepted.
   */
  async submit(
    identity: Identity,
    uuid: string,
    req: ExecutionRequest,
    srcnet: Record<string, unknown>,
  ): Promise<store.StoredSession> {
    const s = await this.owned(identity, uuid);
    if (s.phase !== 'OFFERED')
      throw conflict(
        'uri:invalid-transition',
        `provision ${uuid} is ${s.phase}; a job can be submitted once, to an unexpired provision`,
      );
    const { resolved, messages } = await resolveData(this.pool, identity, req.data, this.dataDir);
    if (messages.length)
      throw new BrokerError(422, messages[0].type, messages.map((m) => m.message).join('; '));
    for (const d of resolved) {
      if (!d.path || !existsSync(d.path))
        throw new BrokerError(422, 'uri:data-not-local', `product ${d.did} has no copy on this node`);
    }
    const allocation: Allocation = {
      ...s.allocation,
      ...this.command(req, resolved, s.workDir, s.allocation.cores, s.allocation.memoryGiB),
      start: Math.max(Date.now(), s.allocation.start),
    };
    const r = await this.pool.query(
      "UPDATE broker.sessions SET request = $2, allocation = $3, data = $4 WHERE uuid = $1 AND phase = 'OFFERED'",
      [
        uuid,
        JSON.stringify({ ...s.request, executable: req.executable, data: req.data }),
        JSON.stringify(allocation),
        JSON.stringify(resolved),
      ],
    );
    if (r.rowCount === 0)
      throw conflict('uri:invalid-transition', `provision ${uuid} changed while submitting; ask again`);
    return this.update(identity, uuid, 'ACCEPTED', srcnet);
  }

  // ------------------------------------------------------------------ updates

  /** A session the caller owns; anyone else's is reported as absent (not 403: its existence is private). */
  async owned(identity: Identity, uuid: string): Promise<store.StoredSession> {
    if (!/^[0-9a-f-]{36}$/i.test(uuid)) throw notFound(`no session ${uuid}`);
    const s = await store.getSession(this.pool, uuid);
    if (!s || s.owner !== identity.sub) throw notFound(`no session ${uuid}`);
    return s;
  }

  /** EB-72 client transitions. Refusals are 409 with a reason (the draft ignores them silently; EB-13). */
  async update(
    identity: Identity,
    uuid: string,
    requested: Phase,
    srcnet?: Record<string, unknown>,
  ): Promise<store.StoredSession> {
    const s = await this.owned(identity, uuid);
    if (requested === 'ACCEPTED') {
      // The driver may have marked it EXPIRED already: same answer either way.
      if (
        s.phase === 'EXPIRED' ||
        (s.phase === 'OFFERED' && s.expires && s.expires.getTime() <= Date.now())
      ) {
        await store.transition(this.pool, uuid, ['OFFERED'], 'EXPIRED');
        throw new BrokerError(
          409,
          'uri:offer-expired',
          `offer ${uuid} expired${s.expires ? ` at ${s.expires.toISOString()}` : ''}; ask for new offers`,
        );
      }
      if (s.phase !== 'OFFERED') {
        throw conflict(
          'uri:invalid-transition',
          `session ${uuid} is ${s.phase}; only an OFFERED session can be accepted, once`,
        );
      }
      const use = await store.usage(this.pool, identity.sub as string, identity.groups);
      if (this.settings.maxActivePerUser > 0 && use.userActive >= this.settings.maxActivePerUser) {
        throw new BrokerError(
          429,
          'uri:quota-exceeded',
          `you have ${use.userActive} unfinished sessions; the limit per user is ${this.settings.maxActivePerUser}`,
        );
      }
      const done = await store.accept(this.pool, uuid, srcnet);
      if (!done) return this.update(identity, uuid, requested); // lost a race: report what happened
      this.kick();
      return done;
    }
    if (requested === 'REJECTED') {
      const done = await store.transition(this.pool, uuid, ['OFFERED'], 'REJECTED');
      if (!done)
        throw conflict(
          'uri:invalid-transition',
          `session ${uuid} is ${s.phase}; only an OFFERED session can be rejected`,
        );
      return done;
    }
    if (requested === 'CANCELLED' || requested === 'FAILED') {
      const from: Phase[] = ['OFFERED', 'ACCEPTED', 'WAITING', 'PREPARING', 'AVAILABLE', 'RUNNING'];
      if (requested === 'FAILED') from.push('RELEASING');
      const done = await store.transition(this.pool, uuid, from, requested, {
        finished: true,
        cancelRequested: true,
        message: message('INFO', 'uri:client-request', `${requested.toLowerCase()} at the owner's request`),
      });
      if (!done)
        throw conflict(
          'uri:invalid-transition',
          `session ${uuid} is ${s.phase}; it can no longer be ${requested.toLowerCase()}`,
        );
      await this.stopWork(done);
      return done;
    }
    throw conflict(
      'uri:invalid-transition',
      `a client cannot set phase ${requested}; allowed: ${optionsFor(s.phase).join(', ') || 'none'}`,
    );
  }

  /**
   * Stops the work of a cancelled or failed session. A session on another backend (or a
   * cancel that failed) keeps cancel_requested, and the driver of its backend retries.
   */
  private async stopWork(s: store.StoredSession): Promise<void> {
    if (!s.backendRef || s.backend !== this.backend.name) return;
    try {
      await this.backend.cancel(s.backendRef, s.workDir);
      await this.pool.query('UPDATE broker.sessions SET cancel_requested = false WHERE uuid = $1', [s.uuid]);
    } catch (err) {
      this.log.warn({ err, session: s.uuid }, 'broker: cancelling work failed; the driver will retry');
    }
  }

  // ------------------------------------------------------------------ driver

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

  /** Runs a driver pass soon (after an accept) instead of at the next poll. */
  kick(): void {
    if (this.stopped) return;
    setImmediate(() => void this.tick());
  }

  tick(): Promise<void> {
    this.ticking ??= this.pass()
      .catch((err) => this.log.error({ err }, 'broker: driver pass failed'))
      .finally(() => {
        this.ticking = undefined;
      });
    return this.ticking;
  }

  private async pass(): Promise<void> {
    if (this.stopped) return;
    await store.expireOffers(this.pool);
    // Work interrupted between claim and start (a node stopped mid-way) is started again.
    await this.pool.query(
      `UPDATE broker.sessions SET phase = 'ACCEPTED', updated = now()
        WHERE phase IN ('PREPARING', 'AVAILABLE') AND backend_ref IS NULL AND updated < now() - interval '30 seconds' AND backend = $1`,
      [this.backend.name],
    );
    for (const s of await store.workList(this.pool, [this.backend.name], 200)) {
      if (this.stopped) return;
      try {
        await this.advance(s);
      } catch (err) {
        this.log.error({ err, session: s.uuid }, 'broker: advancing a session failed');
        await store.transition(this.pool, s.uuid, [s.phase], 'FAILED', {
          finished: true,
          message: message(
            'ERROR',
            'uri:internal-error',
            `the node could not advance this session: ${(err as Error).message}`,
          ),
        });
      }
    }
  }

  private async advance(s: store.StoredSession): Promise<void> {
    const a = s.allocation;
    if (s.phase === 'ACCEPTED' || s.phase === 'WAITING') {
      if (a.start > Date.now()) {
        if (s.phase === 'ACCEPTED') await store.transition(this.pool, s.uuid, ['ACCEPTED'], 'WAITING');
        return;
      }
      const claimed = await store.transition(this.pool, s.uuid, [s.phase], 'PREPARING');
      if (!claimed) return;
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
      const running = await store.transition(this.pool, s.uuid, ['AVAILABLE'], 'RUNNING', {
        backendRef: ref,
        started: true,
      });
      if (!running) await this.backend.cancel(ref, s.workDir); // cancelled while starting
      return;
    }
    if ((s.phase === 'CANCELLED' || s.phase === 'FAILED') && s.cancelRequested) {
      await this.stopWork(s);
      return;
    }
    if (s.phase === 'RUNNING' && s.backendRef) {
      const w = await this.backend.poll(s.backendRef, s.workDir);
      if (w.state === 'running') {
        const deadline = (s.started?.getTime() ?? Date.now()) + a.durationSeconds * 1000;
        if (Date.now() > deadline) {
          await this.backend.cancel(s.backendRef, s.workDir);
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
      return;
    }
    if (s.phase === 'RELEASING') await this.release(s);
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

/** EB-74: phases a client may ask for now. */
export function optionsFor(phase: Phase): Phase[] {
  if (phase === 'OFFERED') return ['ACCEPTED', 'REJECTED'];
  if (['ACCEPTED', 'WAITING', 'PREPARING', 'AVAILABLE', 'RUNNING'].includes(phase)) return ['CANCELLED'];
  return [];
}
