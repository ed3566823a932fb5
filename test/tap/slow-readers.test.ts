import { connect, type Socket } from 'node:net';
import type pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.js';

/*
 * Issue 13, "no anonymous way to stop the node": a database connection is held only while
 * PostgreSQL works, never while a slow client reads; slow clients are cut after the minimum
 * read rate's grace period; a full pool is 503 with Retry-After in the DALI error form
 * (DALI-43), and the VOSI availability check (VOSI-16) does not queue behind queries.
 */

type TestNode = Awaited<ReturnType<typeof startTestNode>>;
const nodes: TestNode[] = [];
const sockets: Socket[] = [];

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});
afterAll(async () => {
  for (const n of nodes) await n.stop();
});

async function node(env: Record<string, string>): Promise<TestNode> {
  const n = await startTestNode(env);
  nodes.push(n);
  return n;
}

// About 80 bytes a row as CSV: 300,000 rows are far more than the socket buffers and the spool's memory.
const BIG =
  'SELECT TOP 300000 a.source_id, a.ra, a.dec, b.source_id AS other, b.ra AS ra2, b.dec AS dec2 FROM demo.sources AS a, demo.sources AS b';

interface SlowReader {
  socket: Socket;
  /** The first bytes the node sent (the status line and headers), read before pausing. */
  head: Promise<string>;
  /** Resolves when the node closes the connection. */
  closed: Promise<void>;
}

/** A client that sends the request, reads the first bytes, then reads nothing more. */
function slowReader(url: string, path: string, http = '1.1'): SlowReader {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  sockets.push(socket);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const head = new Promise<string>((resolve, reject) => {
    socket.once('data', (d: Buffer) => {
      socket.pause();
      resolve(d.toString('latin1'));
    });
    socket.once('error', reject);
  });
  socket.write(`GET ${path} HTTP/${http}\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`);
  return { socket, head, closed };
}

const syncPath = (params: Record<string, string>) => `/tap/sync?${new URLSearchParams(params)}`;

const inUse = (pool: pg.Pool) => pool.totalCount - pool.idleCount;

/** Client connections the node's HTTP server holds open (a client's own view lags while it does not read). */
const connections = (n: TestNode) =>
  new Promise<number>((resolve, reject) =>
    n.app.server.getConnections((err, count) => (err ? reject(err) : resolve(count))),
  );

async function until(what: string, ok: () => boolean | Promise<boolean>): Promise<void> {
  // Polls without asserting on time; the test's own timeout is the limit.
  for (;;) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 100));
    if (process.env.VONODE_TEST_TRACE) console.log(`waiting: ${what}`);
  }
}

describe('slow readers do not hold database connections', () => {
  it('releases every connection once PostgreSQL has produced the results, while the responses are still open; more than the per-client cap get 503', async () => {
    const n = await node({
      VONODE_DB_POOL: '3',
      // The machine may be slow: queries wait for a connection rather than fail here.
      VONODE_DB_ACQUIRE_TIMEOUT: '120',
      VONODE_SYNC_MAX_PER_CLIENT: '5',
      VONODE_SYNC_SPOOL_MEMORY: '65536',
      // No cut for slowness here: the point is that the connections are free while they stay.
      VONODE_SYNC_MIN_RATE: '0',
    });
    // Five readers, more than the three pooled connections; the COPY path (CSV) and the cursor path (JSON).
    const readers = Array.from({ length: 5 }, (_, i) =>
      slowReader(
        n.url,
        syncPath({ LANG: 'ADQL', QUERY: BIG, MAXREC: '300000', RESPONSEFORMAT: i % 2 ? 'json' : 'csv' }),
      ),
    );
    for (const r of readers) expect(await r.head).toMatch(/^HTTP\/1\.1 200 /);
    // Every query has finished in PostgreSQL: no pooled connection is in use...
    await until('the pool to be idle', () => inUse(n.db.pool) === 0 && n.db.pool.waitingCount === 0);
    // ...while all five responses are still open, unread.
    expect(await connections(n)).toBe(5);

    // The node still answers queries, and a sixth query of the same client is refused politely.
    const quick = await fetch(
      `${n.url}${syncPath({ LANG: 'ADQL', QUERY: 'SELECT TOP 3 source_id FROM demo.sources', RESPONSEFORMAT: 'csv' })}`,
    );
    expect(quick.status).toBe(503);
    expect(quick.headers.get('retry-after')).toMatch(/^\d+$/);
    const text = await quick.text();
    expect(text).toContain('<INFO name="QUERY_STATUS" value="ERROR"');
    expect(text).toMatch(/synchronous queries in progress/);
    for (const r of readers) r.socket.destroy();
    await Promise.all(readers.map((r) => r.closed));
    // With the readers gone their places are free again.
    await until('a place to be free', async () => {
      const res = await fetch(
        `${n.url}${syncPath({ LANG: 'ADQL', QUERY: 'SELECT TOP 3 source_id FROM demo.sources', RESPONSEFORMAT: 'csv' })}`,
      );
      const body = await res.text();
      if (res.status !== 200) return false;
      expect(body.trim().split(/\r?\n/)).toEqual(['source_id', '1', '2', '3']);
      return true;
    });
  });

  it('disconnects clients reading slower than the minimum rate after the grace period', async () => {
    const n = await node({
      VONODE_DB_POOL: '3',
      VONODE_DB_ACQUIRE_TIMEOUT: '120',
      VONODE_SYNC_MAX_PER_CLIENT: '10',
      VONODE_SYNC_SPOOL_MEMORY: '65536',
      VONODE_SYNC_MIN_RATE: '1000000',
      VONODE_SYNC_RATE_GRACE: '1',
    });
    const readers = Array.from({ length: 4 }, (_, i) =>
      slowReader(
        n.url,
        syncPath({
          LANG: 'ADQL',
          QUERY: BIG,
          MAXREC: '300000',
          RESPONSEFORMAT: i % 2 ? 'votable/td' : 'csv',
        }),
      ),
    );
    for (const r of readers) expect(await r.head).toMatch(/^HTTP\/1\.1 200 /);
    // The node closes every one of them (the sync timeout, 300 s, would be far later).
    await until('the node to drop the slow clients', async () => (await connections(n)) === 0);
    // Each client finds its connection reset or ended once it reads again.
    for (const r of readers) r.socket.on('error', () => {}).resume();
    await Promise.all(readers.map((r) => r.closed));
    await until('the pool to be idle', () => inUse(n.db.pool) === 0);
    // And goes on answering.
    const res = await fetch(`${n.url}/scs/query?RA=0&DEC=0&SR=1`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<INFO name="QUERY_STATUS" value="OK"');
  });
});

describe('the spool disk budget', () => {
  it('ends a result that passes it with the rows so far and an ERROR saying why (DALI-46), freeing the connection', async () => {
    const n = await node({
      VONODE_DB_POOL: '2',
      VONODE_DB_ACQUIRE_TIMEOUT: '120',
      VONODE_SYNC_SPOOL_MEMORY: '65536',
      VONODE_SYNC_SPOOL_DISK: '200000',
      VONODE_SYNC_MIN_RATE: '0',
    });
    const r = slowReader(
      n.url,
      syncPath({ LANG: 'ADQL', QUERY: BIG, MAXREC: '300000', RESPONSEFORMAT: 'votable/td' }),
      // HTTP/1.0: the body comes unchunked, so the document can be read as it is.
      '1.0',
    );
    const head = await r.head;
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    await until('the pool to be idle', () => inUse(n.db.pool) === 0);
    // Now read it all: the rows that fitted, then the error after the table.
    const parts: Buffer[] = [Buffer.from(head, 'latin1')];
    r.socket.on('data', (d: Buffer) => parts.push(d));
    r.socket.resume();
    await r.closed;
    const text = Buffer.concat(parts).toString('utf8');
    expect(text).toContain('</TABLEDATA>');
    expect(text).toMatch(/<INFO name="QUERY_STATUS" value="ERROR">[^<]*VONODE_SYNC_SPOOL_DISK/);
    expect(text.trimEnd().endsWith('</VOTABLE>')).toBe(true);
    const rows = text.match(/<TR>/g)?.length ?? 0;
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThan(300000);
  });
});

describe('a full pool', () => {
  it('is answered 503 with Retry-After in the DALI error form, while availability answers from its own connection', async () => {
    const n = await node({ VONODE_DB_POOL: '2', VONODE_DB_ACQUIRE_TIMEOUT: '1' });
    const held = [await n.db.pool.connect(), await n.db.pool.connect()];
    try {
      const tap = await fetch(
        `${n.url}${syncPath({ LANG: 'ADQL', QUERY: 'SELECT TOP 1 source_id FROM demo.sources' })}`,
      );
      expect(tap.status).toBe(503);
      expect(tap.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(tap.headers.get('content-type')).toMatch(/^application\/x-votable\+xml/);
      const tapText = await tap.text();
      expect(tapText).toContain('<INFO name="QUERY_STATUS" value="ERROR"');
      expect(tapText).toMatch(/busy/);

      const scs = await fetch(`${n.url}/scs/query?RA=10&DEC=10&SR=1`);
      expect(scs.status).toBe(503);
      expect(scs.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(await scs.text()).toContain('<INFO name="QUERY_STATUS" value="ERROR"');

      const sia = await fetch(`${n.url}/sia/query?POS=CIRCLE+83.8+-5.4+0.1`);
      expect(sia.status).toBe(503);
      expect(sia.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(sia.headers.get('content-type')).toMatch(/^application\/x-votable\+xml/);
      expect(await sia.text()).toContain('<INFO name="QUERY_STATUS" value="ERROR"');

      // VOSI-16: the check really asks the database, on a connection no query can take.
      const avail = await (await fetch(`${n.url}/tap/availability`)).text();
      expect(avail).toMatch(/<(\w+:)?available>true</);
      expect(avail).toMatch(/database connections are in use/);
    } finally {
      for (const c of held) c.release();
    }
    const ok = await fetch(
      `${n.url}${syncPath({ LANG: 'ADQL', QUERY: 'SELECT TOP 1 source_id FROM demo.sources', RESPONSEFORMAT: 'csv' })}`,
    );
    expect(ok.status).toBe(200);
    expect((await ok.text()).trim().split(/\r?\n/)).toEqual(['source_id', '1']);
  });
});
