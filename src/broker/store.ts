import type pg from 'pg';
import type {
  Allocation,
  ExecutionRequest,
  Message,
  OfferSet,
  Phase,
  ResolvedData,
  Session,
} from './model.js';

/** SQL on the tables of sql/090_broker.sql; nothing else touches them. */

interface SessionRow {
  uuid: string;
  offerset: string | null;
  owner: string;
  owner_groups: string[];
  site: string;
  phase: Phase;
  created: Date;
  expires: Date | null;
  request: ExecutionRequest;
  allocation: Allocation;
  data: ResolvedData[];
  backend: string;
  backend_ref: string | null;
  work_dir: string;
  started: Date | null;
  finished: Date | null;
  exit_code: number | null;
  messages: Message[];
  cancel_requested: boolean;
  srcnet: Record<string, unknown> | null;
}

export interface StoredSession extends Session {
  readonly cancelRequested: boolean;
  readonly srcnet: Record<string, unknown> | null;
}

const toSession = (r: SessionRow): StoredSession => ({
  uuid: r.uuid,
  offerset: r.offerset,
  owner: r.owner,
  groups: r.owner_groups,
  site: r.site,
  phase: r.phase,
  created: r.created,
  expires: r.expires,
  request: r.request,
  allocation: r.allocation,
  data: r.data,
  backend: r.backend,
  backendRef: r.backend_ref,
  workDir: r.work_dir,
  started: r.started,
  finished: r.finished,
  exitCode: r.exit_code,
  messages: r.messages,
  remoteUrl: null,
  cancelRequested: r.cancel_requested,
  srcnet: r.srcnet,
});

export interface NewOffer {
  readonly uuid: string;
  readonly expires: Date;
  readonly allocation: Allocation;
  readonly data: readonly ResolvedData[];
  readonly workDir: string;
}

/** Inserts an offer set and its offers; the caller holds the ledger's transaction (withLedgerLock). */
export async function insertOfferSet(
  client: pg.PoolClient,
  set: {
    uuid: string;
    owner: string;
    groups: readonly string[];
    site: string;
    name: string | null;
    result: 'YES' | 'NO';
    messages: Message[];
    remote: unknown[];
  },
  request: ExecutionRequest | undefined,
  backend: string,
  offers: readonly NewOffer[],
): Promise<void> {
  await client.query(
    'INSERT INTO broker.offersets (uuid, owner, name, result, messages, remote_offers) VALUES ($1, $2, $3, $4, $5, $6)',
    [set.uuid, set.owner, set.name, set.result, JSON.stringify(set.messages), JSON.stringify(set.remote)],
  );
  for (const [rank, o] of offers.entries()) {
    await client.query(
      `INSERT INTO broker.sessions (uuid, offerset, owner, owner_groups, site, phase, expires, request, allocation, data, cores, backend, work_dir, rank)
       VALUES ($1, $2, $3, $4, $5, 'OFFERED', $6, $7, $8, $9, $10, $11, $12, $13)`,
      [
        o.uuid,
        set.uuid,
        set.owner,
        [...set.groups],
        set.site,
        o.expires,
        JSON.stringify(request),
        JSON.stringify(o.allocation),
        JSON.stringify(o.data),
        o.allocation.cores,
        backend,
        o.workDir,
        rank,
      ],
    );
  }
}

/**
 * Runs `fn` in one transaction that holds the lock of a site's ledger on one backend, so that
 * reading what is granted and granting more (an offer, an accept within the quotas, an early
 * start) is one step: two requests at the same moment cannot both take the last core, and
 * two accepts cannot both pass a quota with one place left (issue 21 item 2).
 */
export async function withLedgerLock<T>(
  pool: pg.Pool,
  key: string,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_advisory_xact_lock(hashtext('vonode.broker.ledger'), hashtext($1))", [key]);
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** A session as the ledger sees it: what it holds, and from when. */
export interface LedgerRow {
  readonly uuid: string;
  readonly offerset: string | null;
  readonly phase: Phase;
  /** Only what the ledger reads: not the argv and environment, which may be large. */
  readonly allocation: LedgerAllocation;
  readonly started: Date | null;
  readonly backendRef: string | null;
  readonly created: Date;
}

export type LedgerAllocation = Pick<
  Allocation,
  'cores' | 'memoryGiB' | 'gpus' | 'storageGiB' | 'start' | 'durationSeconds'
>;

/**
 * Backend handles of a site's sessions that ended in the last ten minutes: their batch jobs
 * may linger in the queue a little (COMPLETING), and are not someone else's work.
 */
export async function recentRefs(
  db: pg.PoolClient | pg.Pool,
  backend: string,
  site: string,
): Promise<string[]> {
  const r = await db.query<{ backend_ref: string }>(
    `SELECT backend_ref FROM broker.sessions
      WHERE backend = $1 AND site = $2 AND backend_ref IS NOT NULL
        AND phase IN ('COMPLETED', 'FAILED', 'CANCELLED') AND updated > now() - interval '10 minutes'`,
    [backend, site],
  );
  return r.rows.map((x) => x.backend_ref);
}

/** Live sessions and unexpired offers of a site on a backend: what is granted or reserved. */
export async function ledgerRows(
  db: pg.PoolClient | pg.Pool,
  backend: string,
  site: string,
): Promise<LedgerRow[]> {
  const r = await db.query<SessionRow>(
    `SELECT uuid, offerset, phase, started, backend_ref, created,
            jsonb_build_object('cores', allocation->'cores', 'memoryGiB', allocation->'memoryGiB',
              'gpus', allocation->'gpus', 'storageGiB', allocation->'storageGiB',
              'start', allocation->'start', 'durationSeconds', allocation->'durationSeconds') AS allocation
       FROM broker.sessions
      WHERE backend = $1 AND site = $2
        AND (phase IN ('ACCEPTED', 'WAITING', 'PREPARING', 'AVAILABLE', 'RUNNING', 'RELEASING')
             OR (phase = 'OFFERED' AND expires > now()))`,
    [backend, site],
  );
  return r.rows.map((x) => ({
    uuid: x.uuid,
    offerset: x.offerset,
    phase: x.phase,
    allocation: x.allocation,
    started: x.started,
    backendRef: x.backend_ref,
    created: x.created,
  }));
}

export async function getOfferSet(
  pool: pg.Pool,
  uuid: string,
): Promise<{ set: OfferSet & { remote: unknown[] }; offers: StoredSession[] } | undefined> {
  const r = await pool.query('SELECT * FROM broker.offersets WHERE uuid = $1', [uuid]);
  const row = r.rows[0];
  if (!row) return undefined;
  const s = await pool.query<SessionRow>(
    'SELECT * FROM broker.sessions WHERE offerset = $1 ORDER BY rank, created, uuid',
    [uuid],
  );
  return {
    set: {
      uuid: row.uuid,
      owner: row.owner,
      name: row.name,
      created: row.created,
      result: row.result,
      messages: row.messages,
      remote: row.remote_offers,
    },
    offers: s.rows.map(toSession),
  };
}

export async function getSession(
  pool: pg.Pool | pg.PoolClient,
  uuid: string,
  forUpdate = false,
): Promise<StoredSession | undefined> {
  const r = await pool.query<SessionRow>(
    `SELECT * FROM broker.sessions WHERE uuid = $1${forUpdate ? ' FOR UPDATE' : ''}`,
    [uuid],
  );
  return r.rows[0] ? toSession(r.rows[0]) : undefined;
}

export async function listSessions(pool: pg.Pool, owner: string, limit: number): Promise<StoredSession[]> {
  const r = await pool.query<SessionRow>(
    "SELECT * FROM broker.sessions WHERE owner = $1 AND phase NOT IN ('OFFERED', 'REJECTED', 'EXPIRED') ORDER BY created DESC LIMIT $2",
    [owner, limit],
  );
  return r.rows.map(toSession);
}

export interface Patch {
  readonly backendRef?: string | null;
  /** true: now; a date: when the backend says the work really started (a Slurm job leaving the queue). */
  readonly started?: boolean | Date;
  readonly finished?: boolean;
  readonly exitCode?: number | null;
  readonly message?: Message;
  readonly cancelRequested?: boolean;
  readonly srcnet?: Record<string, unknown>;
}

/**
 * Moves a session from one of `from` to `to` in one conditional statement, so that of
 * several nodes driving the same database exactly one makes each transition.
 */
export async function transition(
  db: pg.Pool | pg.PoolClient,
  uuid: string,
  from: readonly Phase[],
  to: Phase,
  patch: Patch = {},
): Promise<StoredSession | undefined> {
  const r = await db.query<SessionRow>(
    `UPDATE broker.sessions SET phase = $3, updated = now(),
       backend_ref = CASE WHEN $4 THEN $5 ELSE backend_ref END,
       started = CASE WHEN $6 THEN COALESCE($13::timestamptz, now()) ELSE started END,
       finished = CASE WHEN $7 THEN now() ELSE finished END,
       exit_code = CASE WHEN $8 THEN $9 ELSE exit_code END,
       messages = CASE WHEN $10::jsonb IS NULL THEN messages ELSE messages || $10::jsonb END,
       cancel_requested = COALESCE($11, cancel_requested),
       srcnet = COALESCE($12::jsonb, srcnet),
       expires = CASE WHEN $3 = 'OFFERED' THEN expires ELSE NULL END
     WHERE uuid = $1 AND phase = ANY($2::text[]) RETURNING *`,
    [
      uuid,
      [...from],
      to,
      patch.backendRef !== undefined,
      patch.backendRef ?? null,
      patch.started !== undefined && patch.started !== false,
      patch.finished === true,
      patch.exitCode !== undefined,
      patch.exitCode ?? null,
      patch.message ? JSON.stringify([patch.message]) : null,
      patch.cancelRequested ?? null,
      patch.srcnet ? JSON.stringify(patch.srcnet) : null,
      patch.started instanceof Date ? patch.started : null,
    ],
  );
  return r.rows[0] ? toSession(r.rows[0]) : undefined;
}

/**
 * Accepting one offer rejects its siblings (EB-72, EB-63); the caller holds the ledger's
 * transaction, in which it checked the quotas.
 */
export async function accept(
  client: pg.PoolClient,
  uuid: string,
  srcnet?: Record<string, unknown>,
): Promise<StoredSession | undefined> {
  const s = await client.query<SessionRow>(
    "UPDATE broker.sessions SET phase = 'ACCEPTED', updated = now(), expires = NULL, srcnet = COALESCE($2::jsonb, srcnet) WHERE uuid = $1 AND phase = 'OFFERED' AND expires > now() RETURNING *",
    [uuid, srcnet ? JSON.stringify(srcnet) : null],
  );
  const row = s.rows[0];
  if (row?.offerset) {
    await client.query(
      "UPDATE broker.sessions SET phase = 'REJECTED', updated = now(), expires = NULL WHERE offerset = $1 AND uuid <> $2 AND phase = 'OFFERED'",
      [row.offerset, uuid],
    );
  }
  return row ? toSession(row) : undefined;
}

export async function usage(
  pool: pg.Pool | pg.PoolClient,
  owner: string,
  groups: readonly string[],
): Promise<{ userActive: number; userCores: number; groupActive: Map<string, number> }> {
  const live = "phase IN ('ACCEPTED', 'WAITING', 'PREPARING', 'AVAILABLE', 'RUNNING', 'RELEASING')";
  const u = await pool.query<{ n: string; cores: string | null }>(
    `SELECT count(*) AS n, sum(cores) AS cores FROM broker.sessions WHERE owner = $1 AND ${live}`,
    [owner],
  );
  const g = await pool.query<{ g: string; n: string }>(
    `SELECT g, count(*) AS n FROM broker.sessions, unnest(owner_groups) AS g WHERE g = ANY($1::text[]) AND ${live} GROUP BY g`,
    [[...groups]],
  );
  return {
    userActive: Number(u.rows[0].n),
    userCores: Number(u.rows[0].cores ?? 0),
    groupActive: new Map(g.rows.map((r) => [r.g, Number(r.n)])),
  };
}

const LIVE = "('ACCEPTED', 'WAITING', 'PREPARING', 'AVAILABLE', 'RUNNING', 'RELEASING')";

/**
 * Sessions of a backend claimed for a start (PREPARING, holding their cores) whose data is
 * being staged (staging.ts): the driver looks at each pass until the copy is done or failed.
 */
export async function toStage(pool: pg.Pool, backend: string): Promise<StoredSession[]> {
  const r = await pool.query<SessionRow>(
    `SELECT s.* FROM broker.sessions s JOIN broker.staging g ON g.session = s.uuid
      WHERE s.phase = 'PREPARING' AND s.backend_ref IS NULL AND s.backend = $1
        AND g.state IN ('waiting', 'running', 'done')
      ORDER BY s.updated`,
    [backend],
  );
  return r.rows.map(toSession);
}

/** Accepted sessions of a site not handed to the backend yet, in the order they were planned. */
export async function toStart(
  client: pg.PoolClient,
  backend: string,
  site: string,
): Promise<StoredSession[]> {
  const r = await client.query<SessionRow>(
    `SELECT * FROM broker.sessions
      WHERE phase IN ('ACCEPTED', 'WAITING') AND backend_ref IS NULL AND backend = $1 AND site = $2
      ORDER BY (allocation->>'start')::bigint, created, uuid`,
    [backend, site],
  );
  return r.rows.map(toSession);
}

/**
 * Sessions whose work a driver looks at: handed to the backend (queued, running), being
 * released, or cancelled and not yet confirmed stopped. The least recently checked come
 * first; when there are more than `limit`, those taken are marked checked, so that every one
 * is still looked at in turn (issue 21: the oldest 200 used to starve every newer session).
 */
export async function toCheck(
  pool: pg.Pool,
  backends: readonly string[],
  limit: number,
): Promise<StoredSession[]> {
  const r = await pool.query<SessionRow>(
    `SELECT * FROM broker.sessions
      WHERE backend = ANY($1::text[])
        AND ((phase IN ${LIVE} AND (backend_ref IS NOT NULL OR phase = 'RELEASING'))
             OR (cancel_requested AND backend_ref IS NOT NULL))
      ORDER BY checked NULLS FIRST, updated
      LIMIT $2`,
    [[...backends], limit],
  );
  if (r.rows.length >= limit) {
    await pool.query('UPDATE broker.sessions SET checked = now() WHERE uuid = ANY($1::uuid[])', [
      r.rows.map((x) => x.uuid),
    ]);
  }
  return r.rows.map(toSession);
}

/** Offers not accepted in time become EXPIRED, saying so (issue 21 item 6: a session says why it ended). */
export async function expireOffers(pool: pg.Pool): Promise<number> {
  const r = await pool.query(
    `UPDATE broker.sessions SET phase = 'EXPIRED', updated = now(),
       messages = messages || jsonb_build_array(jsonb_build_object(
         'type', 'uri:offer-expired', 'level', 'INFO',
         'time', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
         'message', 'the offer was not accepted before it expired at '
           || to_char(expires AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
           || '; the resources it reserved are free again'))
     WHERE phase = 'OFFERED' AND expires <= now()`,
  );
  return r.rowCount ?? 0;
}

/** Finished sessions of a backend that ended more than `seconds` ago (retention.ts removes them). */
export async function finishedBefore(
  pool: pg.Pool,
  backend: string,
  site: string,
  seconds: number,
  limit: number,
): Promise<{ uuid: string; workDir: string; owner: string }[]> {
  const r = await pool.query<{ uuid: string; work_dir: string; owner: string }>(
    `SELECT uuid, work_dir, owner FROM broker.sessions
      WHERE phase IN ('REJECTED', 'EXPIRED', 'COMPLETED', 'FAILED', 'CANCELLED')
        AND backend = $1 AND site = $2 AND NOT cancel_requested
        AND updated < now() - make_interval(secs => $3)
      ORDER BY updated LIMIT $4`,
    [backend, site, seconds, limit],
  );
  return r.rows.map((x) => ({ uuid: x.uuid, workDir: x.work_dir, owner: x.owner }));
}

export async function deleteFinished(pool: pg.Pool, uuid: string): Promise<boolean> {
  const r = await pool.query(
    `DELETE FROM broker.sessions WHERE uuid = $1
       AND phase IN ('REJECTED', 'EXPIRED', 'COMPLETED', 'FAILED', 'CANCELLED') AND NOT cancel_requested`,
    [uuid],
  );
  return (r.rowCount ?? 0) > 0;
}

/** Offer sets older than `seconds` with no session left (a NO, or all its offers removed). */
export async function deleteEmptyOfferSets(pool: pg.Pool, seconds: number, limit: number): Promise<number> {
  const r = await pool.query(
    `DELETE FROM broker.offersets WHERE uuid IN (
       SELECT o.uuid FROM broker.offersets o
        WHERE o.created < now() - make_interval(secs => $1)
          AND NOT EXISTS (SELECT 1 FROM broker.sessions s WHERE s.offerset = o.uuid)
        LIMIT $2)`,
    [seconds, limit],
  );
  return r.rowCount ?? 0;
}
