// Database round trips of one synchronous TAP query (issue 20, item 1): counted on the wire
// between the node's pool and PostgreSQL, as the messages after which pg waits for an
// answer (Query, Sync, Flush: protocol-message-formats in the PostgreSQL manual).
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;

/** One checkout of a pooled connection: what was asked of PostgreSQL, in order. */
interface Session {
  readonly trips: string[];
}

const QUERY = 0x51; // 'Q': a simple-protocol query string
const PARSE = 0x50; // 'P': an extended-protocol statement, answered at the next Sync
const SYNC = 0x53; // 'S'
const FLUSH = 0x48; // 'H'

let node: TestNode;
const sessions: Session[] = [];

/** The frontend messages of one write (pg writes whole messages) added to `session`. */
function record(session: Session, chunk: Buffer, pending: { text: string }): void {
  for (let i = 0; i + 5 <= chunk.length; ) {
    const type = chunk[i];
    const length = chunk.readUInt32BE(i + 1);
    const body = chunk.subarray(i + 5, i + 1 + length);
    if (type === QUERY) session.trips.push(body.subarray(0, body.indexOf(0)).toString());
    if (type === PARSE) {
      const name = body.indexOf(0);
      pending.text = body.subarray(name + 1, body.indexOf(0, name + 1)).toString();
    }
    if (type === SYNC || type === FLUSH) session.trips.push(pending.text);
    i += 1 + length;
  }
}

function instrument(pool: pg.Pool): void {
  const current = new WeakMap<object, Session>();
  const wrapped = new WeakSet<object>();
  pool.on('acquire', (client) => {
    if (!wrapped.has(client)) {
      wrapped.add(client);
      const stream = (
        client as unknown as { connection: { stream: { write: (...a: unknown[]) => boolean } } }
      ).connection.stream;
      const write = stream.write.bind(stream);
      const pending = { text: '' };
      stream.write = (chunk: unknown, ...rest: unknown[]) => {
        const s = current.get(client);
        if (s && Buffer.isBuffer(chunk)) record(s, chunk, pending);
        return write(chunk, ...rest);
      };
    }
    const session: Session = { trips: [] };
    current.set(client, session);
    sessions.push(session);
  });
}

beforeAll(async () => {
  node = await startTestNode();
  instrument(node.db.pool);
});
afterAll(async () => {
  await node?.stop();
});

/** The round trips of the connection that ran `marker`, once it is back in the pool. */
async function tripsOf(
  marker: string,
  ended = (trips: string[]) => trips.at(-1)?.endsWith('ROLLBACK') === true,
): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const s = sessions.find((x) => x.trips.some((t) => t.includes(marker)));
    // The ROLLBACK goes after the answer: wait for it, not for a fixed time.
    if (s && ended(s.trips)) return s.trips;
    if (Date.now() > deadline)
      throw new Error(`no finished session ran ${marker}: ${JSON.stringify(sessions)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const cone = (alias: string, ra: number, dec: number) =>
  `SELECT source_id AS ${alias}, ra, dec FROM demo.sources WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', ${ra}, ${dec}, 10))`;

async function sync(query: string, format?: string): Promise<string> {
  const res = await fetch(`${node.url}/tap/sync`, {
    method: 'POST',
    body: new URLSearchParams({ LANG: 'ADQL', QUERY: query, ...(format ? { FORMAT: format } : {}) }),
  });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return text;
}

const kind = (sql: string) =>
  sql.startsWith('BEGIN') && sql.includes('; COPY (') && sql.endsWith('; ROLLBACK')
    ? 'begin+settings+identity+copy+rollback'
    : sql.startsWith('BEGIN')
      ? 'begin+settings+identity'
      : sql.includes('LIMIT 0')
        ? 'result types'
        : sql.startsWith('COPY')
          ? 'copy'
          : sql === 'ROLLBACK'
            ? 'rollback'
            : sql;

describe('round trips of a synchronous query', () => {
  it('opens the transaction with the settings and the identity in one batch, and learns the result types once per query shape', async () => {
    // A column alias no other test uses: this shape is new to the node's types cache.
    const first = await sync(cone('rt_shape_a', 10, 10), 'csv');
    expect(first.split('\n').length).toBeGreaterThan(3);
    const cold = await tripsOf('rt_shape_a');
    expect(cold.map(kind)).toEqual(['begin+settings+identity', 'result types', 'copy', 'rollback']);
    sessions.length = 0;

    // Asked again: its types are known, and the whole query is one round trip.
    const again = await sync(cone('rt_shape_a', 10, 10), 'csv');
    const warm = await tripsOf('rt_shape_a');
    expect(warm.map(kind)).toEqual(['begin+settings+identity+copy+rollback']);
    expect(warm[0]).toMatch(
      /REPEATABLE READ, READ ONLY;.*statement_timeout.*SET LOCAL ROLE vonode_reader;.*current_user AS role; COPY \(/,
    );
    expect(again).toBe(first);
  });

  it('keeps one round trip for the same shape at another position, in BINARY2', async () => {
    // The constants differ, the number of HEALPix ranges does not (result-types.ts).
    await sync(cone('rt_shape_b', 40, 5));
    sessions.length = 0;
    const body = await sync(cone('rt_shape_b', 40.001, 5.001));
    expect(body).toMatch(/<BINARY2>/);
    expect((await tripsOf('rt_shape_b')).map(kind)).toEqual(['begin+settings+identity+copy+rollback']);
  });

  it('gives the same document in one round trip as in four, overflow and all (DALI-44)', async () => {
    for (const format of ['csv', 'votable/td', 'votable/b2']) {
      const q = `SELECT source_id AS rt_all, ra, dec, flux_int FROM demo.sources ORDER BY source_id`;
      const ask = () =>
        fetch(`${node.url}/tap/sync`, {
          method: 'POST',
          body: new URLSearchParams({ LANG: 'ADQL', QUERY: q, FORMAT: format, MAXREC: '700' }),
        }).then((r) => r.text());
      const cold = await ask();
      sessions.length = 0;
      const warm = await ask();
      expect((await tripsOf('rt_all')).map(kind)).toEqual(['begin+settings+identity+copy+rollback']);
      expect(warm).toBe(cold);
      if (format !== 'csv') expect(warm).toMatch(/<INFO name="QUERY_STATUS" value="OVERFLOW"/);
      else expect(warm.trim().split('\n')).toHaveLength(701);
    }
  });

  it('answers an error PostgreSQL raises in the batch as before, and the connection serves on', async () => {
    const q = 'SELECT source_id AS rt_err, 1 / (source_id - source_id) AS boom FROM demo.sources';
    const ask = () =>
      fetch(`${node.url}/tap/sync`, {
        method: 'POST',
        body: new URLSearchParams({ LANG: 'ADQL', QUERY: q }),
      });
    const cold = await ask();
    const coldText = await cold.text();
    const warm = await ask();
    const warmText = await warm.text();
    expect(cold.status).toBe(400);
    expect(warm.status).toBe(400);
    expect(warmText).toMatch(/division by zero/);
    expect(warmText).toBe(coldText);
    // Every connection of the pool still answers, outside any transaction.
    const pool = node.db.pool;
    const clients = await Promise.all(Array.from({ length: pool.totalCount }, () => pool.connect()));
    try {
      for (const c of clients) {
        const r = await c.query("SELECT current_user AS u, current_setting('transaction_read_only') AS ro");
        expect(r.rows[0]).toEqual({ u: 'vonode', ro: 'off' });
      }
    } finally {
      for (const c of clients) c.release();
    }
  });

  it('stops a one-round-trip query PostgreSQL is still streaming when the client leaves', async () => {
    const query = 'SELECT a.source_id AS rt_gone, b.source_id FROM demo.sources AS a, demo.sources AS b';
    const ask = (maxrec: string, signal?: AbortSignal) =>
      fetch(`${node.url}/tap/sync`, {
        method: 'POST',
        body: new URLSearchParams({ LANG: 'ADQL', QUERY: query, MAXREC: maxrec }),
        ...(signal ? { signal } : {}),
      });
    // MAXREC is a constant of the SQL: the small answer teaches the node the shape's types.
    await (await ask('10')).text();
    sessions.length = 0;
    const ac = new AbortController();
    const res = await ask('50000000', ac.signal);
    await res.body!.getReader().read();
    expect(sessions.some((x) => x.trips.some((t) => t.startsWith('BEGIN') && t.includes('rt_gone')))).toBe(
      true,
    );
    const running = async () =>
      Number(
        (
          await node.db.pool.query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE '%COPY (%rt_gone%' AND state = 'active' AND pid <> pg_backend_pid()",
          )
        ).rows[0].n,
      );
    expect(await running()).toBe(1);
    ac.abort();
    const deadline = Date.now() + 10_000;
    while ((await running()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await running()).toBe(0);
    // The batch never reached its ROLLBACK: the node sent its own, and the connection went back clean.
    const trips = await tripsOf('rt_gone', (t) => t.at(-1) === 'ROLLBACK');
    expect(trips.map(kind)).toEqual(['begin+settings+identity+copy+rollback', 'rollback']);
  });
});
