import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { message, type ResolvedData, type StagingProgress } from './model.js';
import * as store from './store.js';

/**
 * The PREPARING step of sessions whose data lives elsewhere (issue 21, item 3; EB-51 "preparing",
 * EB-93): each product is streamed from its source into the session's scratch
 * (`<work>/staged/<name>/<file>`), hashed as it arrives (SHA-256 always, and the checksum the
 * client gave, if any), checked against the announced length, and counted against the
 * session's storage grant; the copy is written to a temporary name and renamed when whole.
 * Progress goes into the session's `data` (bytes, total), so a client watching the session
 * sees it. The copy runs beside the driver, so one slow transfer holds up no other session;
 * the table broker.staging says which attempt is current, so any node process may take a
 * transfer over when the one doing it stops.
 */

const GIB = 2 ** 30;
/** Progress is written at most this often. */
const PROGRESS_MS = 500;
/** A transfer whose row has not moved for this long is taken over by another pass or process. */
const STALE_SECONDS = 60;

type Log = { warn(o: object, m: string): void };

interface Row {
  state: 'waiting' | 'running' | 'done' | 'claimed' | 'failed';
  bearer: string | null;
  attempt: string | null;
  stale: boolean;
}

export const needsStaging = (s: { data: readonly ResolvedData[] }): boolean => s.data.some((d) => d.stage);

export class Staging {
  private readonly running = new Map<string, AbortController>();
  private lastPurge = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly log: Log,
  ) {}

  /**
   * Driver hook: true when the session's data is all here (nothing to stage, or staging
   * done and claimed by this caller), false while it is being brought (the session is then
   * PREPARING; a failed copy has already failed the session).
   */
  async ready(s: store.StoredSession): Promise<boolean> {
    await this.purgeTokens();
    if (!needsStaging(s)) return true;
    const row = await this.row(s.uuid);
    if (s.phase !== 'PREPARING') {
      if (!(await store.transition(this.pool, s.uuid, [s.phase], 'PREPARING'))) return false;
      if (row && (row.state === 'done' || row.state === 'claimed') && this.allThere(s)) {
        await this.pool.query(
          "UPDATE broker.staging SET state = 'done', updated = now() WHERE session = $1",
          [s.uuid],
        );
        return false;
      }
      await this.begin(s);
      return false;
    }
    if (
      !row ||
      row.state === 'waiting' ||
      (row.state === 'running' && row.stale && !this.running.has(s.uuid))
    ) {
      await this.begin(s);
      return false;
    }
    if (row.state !== 'done') return false;
    const claimed = await this.pool.query(
      "UPDATE broker.staging SET state = 'claimed', updated = now() WHERE session = $1 AND state = 'done'",
      [s.uuid],
    );
    return (claimed.rowCount ?? 0) > 0;
  }

  /**
   * Drops kept tokens no copy will use: sessions past PREPARING, and SRCNet jobs submitted
   * with data that needs none. At most every 30 s, from the driver's pass.
   */
  private async purgeTokens(): Promise<void> {
    if (Date.now() - this.lastPurge < 30_000) return;
    this.lastPurge = Date.now();
    await this.pool.query(
      `UPDATE broker.staging g SET bearer = NULL FROM broker.sessions x
        WHERE x.uuid = g.session AND g.bearer IS NOT NULL
          AND (x.phase NOT IN ('OFFERED', 'ACCEPTED', 'WAITING', 'PREPARING')
               OR (x.phase <> 'OFFERED' AND NOT x.data @> '[{"stage":{"token":true}}]'::jsonb))`,
    );
  }

  private allThere(s: store.StoredSession): boolean {
    return s.data.every((d) => !d.stage || (d.path !== null && existsSync(d.path)));
  }

  private async row(uuid: string): Promise<Row | undefined> {
    const r = await this.pool.query<Row>(
      `SELECT state, bearer, attempt::text AS attempt, updated < now() - make_interval(secs => $2) AS stale
         FROM broker.staging WHERE session = $1`,
      [uuid, STALE_SECONDS],
    );
    return r.rows[0];
  }

  /** Marks a new attempt current and starts it beside the driver. */
  private async begin(s: store.StoredSession): Promise<void> {
    const attempt = randomUUID();
    await this.pool.query(
      `INSERT INTO broker.staging (session, state, attempt) VALUES ($1, 'running', $2)
       ON CONFLICT (session) DO UPDATE SET state = 'running', attempt = $2, updated = now()`,
      [s.uuid, attempt],
    );
    this.running.get(s.uuid)?.abort();
    const ac = new AbortController();
    this.running.set(s.uuid, ac);
    void this.copyAll(s, attempt, ac.signal)
      .catch((err) => this.log.warn({ err, session: s.uuid }, 'broker: staging failed'))
      .finally(() => {
        if (this.running.get(s.uuid) === ac) this.running.delete(s.uuid);
      });
  }

  private async copyAll(s: store.StoredSession, attempt: string, signal: AbortSignal): Promise<void> {
    const auth = await this.pool.query<{ authorization: string | null }>(
      'SELECT bearer AS authorization FROM broker.staging WHERE session = $1',
      [s.uuid],
    );
    const authorization = auth.rows[0]?.authorization ?? undefined;
    const data = [...s.data];
    let budget = s.allocation.storageGiB * GIB;
    const publish = async (): Promise<boolean> => {
      // Only the current attempt of a session still PREPARING writes; anything else stops the copy.
      const r = await this.pool.query(
        `UPDATE broker.sessions x SET data = $2, updated = now() FROM broker.staging g
          WHERE x.uuid = $1 AND x.phase = 'PREPARING' AND g.session = x.uuid AND g.attempt = $3`,
        [s.uuid, JSON.stringify(data), attempt],
      );
      await this.pool.query('UPDATE broker.staging SET updated = now() WHERE session = $1 AND attempt = $2', [
        s.uuid,
        attempt,
      ]);
      return (r.rowCount ?? 0) > 0;
    };
    // The work folder as the driver makes it (service.ts prepareFolder): parent passable, folder private.
    const parent = dirname(s.workDir);
    if (!existsSync(parent)) await mkdir(parent, { recursive: true, mode: 0o711 });
    await mkdir(s.workDir, { recursive: true, mode: 0o700 });
    for (const [i, d] of data.entries()) {
      if (!d.stage || !d.path) continue;
      const started = Date.now();
      try {
        const got = await this.copy(d, authorization, budget, signal, async (p) => {
          data[i] = { ...d, staging: p };
          if (!(await publish())) throw new Error('the session left PREPARING; staging stopped');
        });
        budget -= got.bytes;
        const seconds = (Date.now() - started) / 1000;
        data[i] = {
          ...d,
          staging: { state: 'done', bytes: got.bytes, total: got.bytes, sha256: got.sha256, seconds },
        };
        if (!(await publish())) return;
        await this.observe(d.stage.url, got.bytes, seconds);
      } catch (err) {
        const text = `data resource ${d.name}: staging from ${d.stage.url} failed: ${(err as Error).message}`;
        data[i] = {
          ...d,
          staging: { state: 'failed', bytes: d.staging?.bytes ?? 0, total: d.stage.sizeBytes, message: text },
        };
        if (signal.aborted || !(await publish())) return;
        await this.pool.query(
          "UPDATE broker.staging SET state = 'failed', bearer = NULL, updated = now() WHERE session = $1 AND attempt = $2",
          [s.uuid, attempt],
        );
        await store.transition(this.pool, s.uuid, ['PREPARING'], 'FAILED', {
          finished: true,
          message: message('ERROR', 'uri:staging-failed', text),
        });
        return;
      }
    }
    // The token is needed no longer than the copies.
    await this.pool.query(
      "UPDATE broker.staging SET state = 'done', bearer = NULL, updated = now() WHERE session = $1 AND attempt = $2",
      [s.uuid, attempt],
    );
  }

  /** Streams one source into its scratch path; throws with the reason it cannot. */
  private async copy(
    d: ResolvedData,
    authorization: string | undefined,
    budget: number,
    signal: AbortSignal,
    progress: (p: StagingProgress) => Promise<void>,
  ): Promise<{ bytes: number; sha256: string }> {
    const src = d.stage!;
    const target = d.path!;
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    const res = await fetch(src.url, {
      headers: src.token && authorization ? { authorization } : {},
      signal,
      redirect: 'follow',
    });
    if (!res.ok || !res.body) throw new Error(`the source answered HTTP ${res.status}`);
    const lenHeader = res.headers.get('content-length');
    const total = lenHeader && /^\d+$/.test(lenHeader) ? Number(lenHeader) : src.sizeBytes;
    if (total !== null && total > budget)
      throw new Error(`${total} bytes exceed the session's storage grant (${budget} bytes left)`);
    const sha256 = createHash('sha256');
    const extra = checksumHash(src.checksum?.type);
    let bytes = 0;
    let lastWrite = 0;
    let pending: Promise<void> = Promise.resolve();
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        if (bytes > budget) {
          done(new Error(`more than the session's storage grant (${budget} bytes) arrived`));
          return;
        }
        sha256.update(chunk);
        extra?.update(chunk);
        const now = Date.now();
        if (now - lastWrite >= PROGRESS_MS) {
          lastWrite = now;
          pending = pending.then(() => progress({ state: 'running', bytes, total }));
        }
        done(null, chunk);
      },
    });
    const part = `${target}.part-${randomUUID().slice(0, 8)}`;
    try {
      await pipeline(
        Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
        meter,
        createWriteStream(part, { mode: 0o644 }),
        { signal },
      );
      await pending;
      if (total !== null && bytes !== total)
        throw new Error(`${bytes} bytes arrived of the ${total} announced`);
      const digest = sha256.digest('hex');
      if (src.checksum) {
        const got = src.checksum.type === 'sha256' ? digest : extra?.digest();
        if (got === undefined)
          throw new Error(`checksum type ${src.checksum.type} is not supported (sha256, md5, adler32)`);
        if (got !== src.checksum.value)
          throw new Error(
            `${src.checksum.type} checksum ${got} differs from the expected ${src.checksum.value}`,
          );
      }
      await rename(part, target);
      return { bytes, sha256: digest };
    } catch (err) {
      await rm(part, { force: true });
      throw err;
    }
  }

  /** The rate seen from an origin, averaged with what was seen before (offers estimate from it). */
  private async observe(url: string, bytes: number, seconds: number): Promise<void> {
    if (bytes < 1 << 20 || seconds <= 0) return; // too small to say anything about the rate
    const rate = bytes / seconds;
    await this.pool.query(
      `INSERT INTO broker.staging_rates (origin, bytes_per_second) VALUES ($1, $2)
       ON CONFLICT (origin) DO UPDATE SET
         bytes_per_second = (broker.staging_rates.bytes_per_second + EXCLUDED.bytes_per_second) / 2,
         samples = broker.staging_rates.samples + 1, updated = now()`,
      [new URL(url).origin, rate],
    );
  }
}

/** A running hash of a checksum type other than SHA-256 (Rucio gives adler32 and md5). */
function checksumHash(type: string | undefined): { update(b: Buffer): void; digest(): string } | undefined {
  if (type === 'md5') {
    const h = createHash('md5');
    return { update: (b) => h.update(b), digest: () => h.digest('hex') };
  }
  if (type === 'adler32') {
    let a = 1;
    let b = 0;
    return {
      update(buf) {
        for (let i = 0; i < buf.length; i++) {
          a = (a + buf[i]) % 65521;
          b = (b + a) % 65521;
        }
      },
      digest: () => (((b << 16) | a) >>> 0).toString(16).padStart(8, '0'),
    };
  }
  return undefined;
}
