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

export async function insertOfferSet(
  pool: pg.Pool,
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
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
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
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
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
): Promise<StoredSession | undefined> {
  const r = await pool.query<SessionRow>('SELECT * FROM broker.sessions WHERE uuid = $1', [uuid]);
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
  readonly started?: boolean;
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
       started = CASE WHEN $6 THEN now() ELSE started END,
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
      patch.started === true,
      patch.finished === true,
      patch.exitCode !== undefined,
      patch.exitCode ?? null,
      patch.message ? JSON.stringify([patch.message]) : null,
      patch.cancelRequested ?? null,
      patch.srcnet ? JSON.stringify(patch.srcnet) : null,
    ],
  );
  return r.rows[0] ? toSession(r.rows[0]) : undefined;
}

/** Accepting one offer rejects its siblings (EB-72, EB-63) in the same transaction. */
export async function accept(
  pool: pg.Pool,
  uuid: string,
  srcnet?: Record<string, unknown>,
): Promise<StoredSession | undefined> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
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
    await client.query('COMMIT');
    return row ? toSession(row) : undefined;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

export async function usage(
  pool: pg.Pool,
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

/** Sessions a driver has work to do on: expired offers, and live sessions of its backends. */
export async function workList(
  pool: pg.Pool,
  backends: readonly string[],
  limit: number,
): Promise<StoredSession[]> {
  const r = await pool.query<SessionRow>(
    `SELECT * FROM broker.sessions
      WHERE (phase = 'OFFERED' AND expires <= now())
         OR (phase IN ('ACCEPTED', 'WAITING', 'PREPARING', 'AVAILABLE', 'RUNNING', 'RELEASING') AND backend = ANY($1::text[]))
         OR (cancel_requested AND backend_ref IS NOT NULL AND backend = ANY($1::text[]))
      ORDER BY updated LIMIT $2`,
    [[...backends], limit],
  );
  return r.rows.map(toSession);
}

export async function expireOffers(pool: pg.Pool): Promise<number> {
  const r = await pool.query(
    "UPDATE broker.sessions SET phase = 'EXPIRED', updated = now() WHERE phase = 'OFFERED' AND expires <= now()",
  );
  return r.rowCount ?? 0;
}
