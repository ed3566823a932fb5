import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import type { Identity } from '../auth/index.js';
import { type Backend, OUTPUT_DIR } from './backend.js';
import { type Amount, describeShortfall, earliestStart, shortfall } from './capacity.js';
import { containerArgv, containerName, imageAllowed } from './container.js';
import { resolveData } from './data.js';
import { Driver } from './driver.js';
import { BrokerError, conflict, notFound } from './errors.js';
import { Ledger, want } from './ledger.js';
import type { Allocation, ExecutionRequest, Message, Phase, ResolvedData } from './model.js';
import { message } from './model.js';
import { notebookCommand } from './notebook.js';
import { pipelineArgv } from './pipelines.js';
import { type OutputArchive, Retention } from './retention.js';
import type { BrokerSettings } from './settings.js';
import { SlurmQueue } from './slurm-queue.js';
import { authorizationOf, placeStaged, type RemoteContext, stagingNeeds } from './staging-source.js';
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
  readonly ledger: Ledger;
  readonly retention: Retention;
  private readonly driver: Driver;

  constructor(
    private readonly pool: pg.Pool,
    readonly settings: BrokerSettings,
    private readonly backend: Backend,
    private readonly dataDir: string,
    log: { warn(o: object, m: string): void; error(o: object, m: string): void },
    /** Where outputs are kept before retention removes a session (none in vonode yet: retention.ts). */
    archive?: OutputArchive,
  ) {
    const slurm =
      backend.name === 'slurm' && settings.slurmConf
        ? new SlurmQueue(settings.slurmConf, settings.slurmPartition)
        : undefined;
    this.ledger = new Ledger(settings, backend.name, dataDir, slurm);
    this.retention = new Retention(
      pool,
      backend.name,
      settings.site,
      join(dataDir, 'broker'),
      settings.retentionSeconds,
      log,
      archive,
    );
    this.driver = new Driver(pool, settings, backend, this.ledger, this.retention, log);
  }

  /** Where products not held here may be staged from, with the caller's token (staging-source.ts). */
  private remote(identity: Identity): RemoteContext | undefined {
    const settings = this.settings.staging;
    return settings ? { pool: this.pool, settings, authorization: authorizationOf(identity) } : undefined;
  }

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
    let planned: store.NewOffer[] = [];
    // What the backend has, read before the lock: the Slurm clients are slow.
    let outside: Awaited<ReturnType<Ledger['outside']>> | undefined;
    if (request) {
      try {
        outside = await this.ledger.outside();
      } catch (err) {
        messages.push(
          message(
            'ERROR',
            'uri:backend-failed',
            `the ${this.backend.name} backend cannot say what it has free: ${(err as Error).message}`,
          ),
        );
        status = 503;
      }
    }
    if (request && outside) {
      try {
        planned = await this.plan(identity, request, messages, outside.capacity);
      } catch (err) {
        if (!(err instanceof BrokerError)) throw err;
        if (err.status === 403) throw err;
        messages.push(message('ERROR', err.type, err.message));
        status = err.status;
      }
    }
    // Quotas, the ledger and the new offers in one transaction under the ledger's lock (issue 21 item 2).
    return store.withLedgerLock(this.pool, this.ledger.key, async (client) => {
      const offers: store.NewOffer[] = [];
      if (request && outside && planned.length > 0) {
        const refused = await this.quotaProblems(client, identity, request.compute.cores.min);
        messages.push(...refused);
        if (refused.length === 0)
          offers.push(...(await this.schedule(client, request, planned, outside, messages)));
      }
      if (request && offers.length === 0 && status === 200) status = 422;
      const result = offers.length > 0 || remote.length > 0 ? 'YES' : 'NO';
      if (result === 'YES') status = 200;
      await store.insertOfferSet(
        client,
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
    });
  }

  /**
   * Each planned offer at the earliest time it fits next to everything granted or offered on
   * this backend, for its whole duration (capacity.ts): now when there is room, later when
   * now is full (EB-52: one slot per offer, inside the requested window). None fits ⇒ a NO
   * that says what is lacking.
   */
  private async schedule(
    client: pg.PoolClient,
    req: ExecutionRequest,
    planned: readonly store.NewOffer[],
    outside: Awaited<ReturnType<Ledger['outside']>>,
    messages: Message[],
  ): Promise<store.NewOffer[]> {
    const now = Date.now();
    const rows = await store.ledgerRows(client, this.backend.name, this.settings.site);
    const ended = outside.slurm ? await store.recentRefs(client, this.backend.name, this.settings.site) : [];
    const bookings = this.ledger.bookings(rows, now, outside.slurm, ended);
    const out: store.NewOffer[] = [];
    let reason: Message | undefined;
    for (const o of planned) {
      const a = o.allocation;
      const from = Math.max(now, a.start);
      const t = earliestStart(
        outside.capacity,
        bookings,
        want(a),
        from,
        a.durationSeconds * 1000,
        req.schedule.latest,
      );
      if (t !== undefined) {
        out.push({ ...o, allocation: { ...a, start: t } });
        continue;
      }
      const never = shortfall(outside.capacity, [], want(a), from, from + 1);
      const cap = outside.capacity;
      reason ??= never.length
        ? message(
            'ERROR',
            'uri:insufficient-resources',
            `this ${this.backend.name} backend has ${cap.cores} cores, ${cap.memoryGiB} GiB of memory, ${cap.gpus} GPUs and ${cap.storageGiB} GiB of scratch in all; the request needs more ${describeShortfall(never)}`,
            { path: 'compute' },
          )
        : message(
            'ERROR',
            'uri:fully-booked',
            `no slot of ${a.durationSeconds} s with ${a.cores} cores and ${a.memoryGiB} GiB starts before the latest requested start${req.schedule.latest ? ` (${new Date(req.schedule.latest).toISOString()})` : ''}: what is granted and offered fills this backend until then`,
            { path: 'schedule.requested.start' },
          );
    }
    if (out.length === 0 && reason) messages.push(reason);
    return out;
  }

  /** Per-user and per-group quotas on accepted, unfinished sessions; read inside the ledger's transaction. */
  private async quotaProblems(client: pg.PoolClient, identity: Identity, cores: number): Promise<Message[]> {
    const use = await store.usage(client, identity.sub as string, identity.groups);
    const s = this.settings;
    const out: Message[] = [];
    const no = (path: string, text: string) =>
      out.push(message('ERROR', 'uri:quota-exceeded', text, { path }));
    if (s.maxActivePerUser > 0 && use.userActive >= s.maxActivePerUser) {
      no('', `you have ${use.userActive} unfinished sessions; the limit per user is ${s.maxActivePerUser}`);
    }
    if (s.maxCoresPerUser > 0 && use.userCores + cores > s.maxCoresPerUser) {
      no(
        'compute.cores.min',
        `your sessions use ${use.userCores} cores; ${cores} more would exceed the per-user limit of ${s.maxCoresPerUser}`,
      );
    }
    if (s.maxActivePerGroup > 0) {
      for (const [g, n] of use.groupActive) {
        if (n >= s.maxActivePerGroup)
          no('', `group ${g} has ${n} unfinished sessions; the limit per group is ${s.maxActivePerGroup}`);
      }
    }
    return out;
  }

  /** One or two offers (minimum, and the maxima when they differ), or messages saying why not. */
  private async plan(
    identity: Identity,
    req: ExecutionRequest,
    messages: Message[],
    total: Amount,
  ): Promise<store.NewOffer[]> {
    // Cores, memory and GPUs of the backend (on Slurm, the partition's); scratch per session of the site.
    const cap = {
      ...this.settings.capacity,
      cores: total.cores,
      memoryGiB: total.memoryGiB,
      gpus: total.gpus,
    };
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
    const s = this.settings;
    const { resolved, messages: dataMessages } = await resolveData(
      this.pool,
      identity,
      req.data,
      this.dataDir,
      this.remote(identity),
    );
    messages.push(...dataMessages);
    // Staged products are copied into scratch: they count against the storage grant.
    const staged = stagingNeeds(resolved);
    if (staged.bytes > cap.storageGiB * 2 ** 30)
      no(
        'storage',
        'uri:insufficient-resources',
        `the data to stage (${staged.bytes} bytes) exceeds the ${cap.storageGiB} GiB sessions get`,
      );
    for (const d of resolved) {
      if (!d.stage && (!d.path || !existsSync(d.path))) {
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
    const base = (cores: number, memoryGiB: number, i: number): store.NewOffer => {
      const data = placeStaged(resolved, workDirs[i]);
      return {
        uuid: uuids[i],
        expires,
        workDir: workDirs[i],
        data,
        allocation: {
          cores,
          memoryGiB,
          gpus: Math.min(c.gpus.max, cap.gpus),
          storageGiB: Math.max(req.storage.size.min, 1, Math.ceil(staged.bytes / 2 ** 30)),
          start,
          durationSeconds: duration,
          // EB-51: the data is staged first; the work is available once it is here.
          preparingSeconds: staged.seconds,
          // throws (422) for an unknown pipeline or parameter, or a container this site will not run
          ...this.command(req, data, workDirs[i], cores, memoryGiB, {
            uuid: uuids[i],
            gpus: Math.min(c.gpus.max, cap.gpus),
            storageGiB: Math.max(req.storage.size.min, 1, Math.ceil(staged.bytes / 2 ** 30)),
            seconds: duration,
          }),
        } satisfies Allocation,
      };
    };
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
    grant: { uuid: string; gpus: number; storageGiB: number; seconds: number },
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
        name: containerName(grant.uuid),
        seconds: grant.seconds,
        storageBytes: grant.storageGiB * 2 ** 30,
        gpus: grant.gpus,
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
    const found = await resolveData(this.pool, identity, req.data, this.dataDir, this.remote(identity));
    if (found.messages.length)
      throw new BrokerError(422, found.messages[0].type, found.messages.map((m) => m.message).join('; '));
    const resolved = placeStaged(found.resolved, s.workDir);
    for (const d of resolved) {
      if (!d.stage && (!d.path || !existsSync(d.path)))
        throw new BrokerError(422, 'uri:data-not-local', `product ${d.did} has no copy on this node`);
    }
    const staged = stagingNeeds(resolved);
    if (staged.bytes > s.allocation.storageGiB * 2 ** 30)
      throw new BrokerError(
        422,
        'uri:insufficient-resources',
        `the data to stage (${staged.bytes} bytes) exceeds the provision's ${s.allocation.storageGiB} GiB of storage`,
      );
    const allocation: Allocation = {
      ...s.allocation,
      ...this.command(req, resolved, s.workDir, s.allocation.cores, s.allocation.memoryGiB, {
        uuid: s.uuid,
        gpus: s.allocation.gpus,
        storageGiB: s.allocation.storageGiB,
        seconds: s.allocation.durationSeconds,
      }),
      start: Math.max(Date.now(), s.allocation.start),
      preparingSeconds: staged.seconds,
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
        await store.transition(this.pool, uuid, ['OFFERED'], 'EXPIRED', {
          message: message(
            'INFO',
            'uri:offer-expired',
            `the offer was not accepted before it expired${s.expires ? ` at ${s.expires.toISOString()}` : ''}`,
          ),
        });
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
      // The quotas are read and the accept made in one transaction under the ledger's lock:
      // concurrent accepts are taken one after the other, each seeing the ones before it
      // (issue 21: 9 sessions were accepted against a limit of 8).
      const done = await store.withLedgerLock(this.pool, `${s.backend}:${s.site}`, async (client) => {
        const refused = await this.quotaProblems(client, identity, s.allocation.cores);
        if (refused.length > 0)
          throw new BrokerError(429, 'uri:quota-exceeded', refused.map((m) => m.message).join('; '));
        return store.accept(client, uuid, srcnet);
      });
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

  /** What this site offers and keeps, as `GET /broker/limits` shows it. */
  async limits(): Promise<Record<string, unknown>> {
    const s = this.settings;
    const outside = await this.ledger.outside().catch(() => undefined);
    return {
      site: s.site,
      backend: this.backend.name,
      capacity: outside?.capacity ?? null,
      perSession: {
        maxCores: s.capacity.cores,
        maxMemoryGiB: s.capacity.memoryGiB,
        maxGpus: s.capacity.gpus,
        gpuModel: s.capacity.gpuModel ?? null,
        maxStorageGiB: s.capacity.storageGiB,
      },
      offerSeconds: s.offerSeconds,
      defaultDurationSeconds: s.defaultDurationSeconds,
      maxDurationSeconds: s.maxDurationSeconds,
      quotas: {
        activePerUser: s.maxActivePerUser,
        activePerGroup: s.maxActivePerGroup,
        coresPerUser: s.maxCoresPerUser,
      },
      // 0: finished sessions are kept until removed by hand.
      retentionSeconds: s.retentionSeconds,
      outputsKept: false,
    };
  }

  // ------------------------------------------------------------------ driver (driver.ts)

  start(): void {
    this.driver.start();
  }

  stop(): Promise<void> {
    return this.driver.stop();
  }

  /** Runs a driver pass soon (after an accept) instead of at the next poll. */
  kick(): void {
    this.driver.kick();
  }

  tick(): Promise<void> {
    return this.driver.tick();
  }

  private stopWork(s: store.StoredSession): Promise<void> {
    return this.driver.stopWork(s);
  }
}

/** EB-74: phases a client may ask for now. */
export function optionsFor(phase: Phase): Phase[] {
  if (phase === 'OFFERED') return ['ACCEPTED', 'REJECTED'];
  if (['ACCEPTED', 'WAITING', 'PREPARING', 'AVAILABLE', 'RUNNING'].includes(phase)) return ['CANCELLED'];
  return [];
}
