import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type NodeProcess, spawnNode } from '../support/process.js';

/**
 * Issue 13: the database process dying is an error the node survives and recovers from,
 * and a node killed with SIGKILL leaves nothing that stops the next one from starting.
 * Real node processes on their own embedded PostgreSQL (no DATABASE_URL), real signals.
 * Nothing here is timed: recovery is awaited with a bounded poll and its duration printed.
 */

/** A node on a fresh folder runs initdb: on a busy machine that takes a while. */
const NODE_TIMEOUT = 180_000;

const QUERY = 'SELECT TOP 1 table_name FROM TAP_SCHEMA.tables';
const SYNC = `/tap/sync?REQUEST=doQuery&LANG=ADQL&QUERY=${encodeURIComponent(QUERY)}`;

/** No demo catalogue: the TAP_SCHEMA is enough to query, and the node starts in seconds. */
function embeddedEnv(dataDir: string): Record<string, string> {
  return { DATABASE_URL: '', VONODE_DATA_DIR: dataDir, VONODE_DEMO_ROWS: '0', VONODE_LOG_LEVEL: 'warn' };
}

function freshDataDir(): string {
  // As root the cluster belongs to the postgres user, which must reach the folder.
  const dir = mkdtempSync(join(tmpdir(), 'vonode-dbrec-'));
  chmodSync(dir, 0o755);
  return dir;
}

function lockFile(dataDir: string): string {
  return join(dataDir, 'pg', 'postmaster.pid');
}

/** The postmaster's pid and port, from the lock file PostgreSQL writes. */
function postmaster(dataDir: string): { pid: number; port: number } {
  const lines = readFileSync(lockFile(dataDir), 'utf8').split('\n');
  return { pid: Number(lines[0]), port: Number(lines[3]) };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A killed child not yet reaped is a zombie: dead for our purposes.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, tries = 600): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function get(
  url: string,
): Promise<{ status: number; type: string; body: string; retryAfter: string | null }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    body: await res.text(),
    retryAfter: res.headers.get('retry-after'),
  };
}

const started: NodeProcess[] = [];
/** One folder for every test (initdb is the slow part); each test's nodes stop after it. */
let dataDir: string;

beforeAll(() => {
  dataDir = freshDataDir();
});

afterEach(async () => {
  for (const n of started.splice(0)) await n.stop('SIGTERM');
});

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the embedded PostgreSQL killed under a running node', () => {
  let node: NodeProcess;

  it('answers 503 meanwhile, stays alive, and answers again with no manual step', {
    timeout: NODE_TIMEOUT,
  }, async () => {
    node = await spawnNode(embeddedEnv(dataDir));
    started.push(node);
    expect((await get(`${node.url}${SYNC}`)).status).toBe(200);
    const before = postmaster(dataDir);

    // Queries in flight when the server dies (their connections are checked out of the
    // pool: a lost connection there must not become an uncaught exception).
    const inFlight = Array.from({ length: 6 }, () => get(`${node.url}${SYNC}`).catch((e: Error) => e));
    const t0 = Date.now();
    process.kill(before.pid, 'SIGKILL');
    await until('the old postmaster to be gone', () => !alive(before.pid));

    const during = await get(`${node.url}${SYNC}`);
    const availability = await get(`${node.url}/tap/availability`);
    const statuses = new Map<number, number>();
    for (const r of await Promise.all(inFlight)) {
      const status = r instanceof Error ? -1 : r.status;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    let recovered = false;
    await until('the node to answer queries again', async () => {
      const r = await get(`${node.url}${SYNC}`);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      recovered = r.status === 200;
      return recovered;
    });
    const seconds = (Date.now() - t0) / 1000;
    console.log(`database SIGKILLed and back: the node answered again after ${seconds.toFixed(1)} s`);
    console.log(
      node
        .log()
        .split('\n')
        .filter((l) => /"msg":"[^"]*(database|PostgreSQL)/.test(l))
        .join('\n'),
    );

    // DALI error form, 503 with Retry-After: the service is unavailable, not broken.
    expect(during.status).toBe(503);
    expect(during.retryAfter).toMatch(/^\d+$/);
    expect(during.type).toMatch(/votable/);
    expect(during.body).toContain('QUERY_STATUS');
    expect(during.body).toMatch(/value="ERROR"/);
    // VOSI-19: 200 with available=false and the reason.
    expect(availability.status).toBe(200);
    expect(availability.body).toMatch(/<(\w+:)?available>false</);
    expect(availability.body).toMatch(/database/);
    // No request was answered 500, none failed at the transport level (-1), the node lives.
    expect(statuses.has(500)).toBe(false);
    expect(statuses.has(-1)).toBe(false);
    expect(recovered).toBe(true);
    expect(node.child.exitCode).toBeNull();
    expect(node.child.signalCode).toBeNull();
    expect(node.log()).not.toMatch(/uncaught|unhandled/i);

    // The same folder and port, a new postmaster; /availability agrees.
    const after = postmaster(dataDir);
    expect(after.pid).not.toBe(before.pid);
    expect(after.port).toBe(before.port);
    expect((await get(`${node.url}/tap/availability`)).body).toMatch(/<(\w+:)?available>true</);
  });

  it('survives every backend being terminated (pg_terminate_backend), LISTEN included', {
    timeout: NODE_TIMEOUT,
  }, async () => {
    node = await spawnNode(embeddedEnv(dataDir));
    started.push(node);
    const { port } = postmaster(dataDir);
    const admin = new pg.Client({ connectionString: `postgres://vonode:vonode@127.0.0.1:${port}/vonode` });
    admin.on('error', () => {});
    await admin.connect();
    try {
      const inFlight = Array.from({ length: 4 }, () => get(`${node.url}${SYNC}`).catch((e: Error) => e));
      const killed = await admin.query<{ n: string }>(
        `SELECT count(pg_terminate_backend(pid))::text AS n FROM pg_stat_activity
          WHERE pid <> pg_backend_pid() AND datname = current_database()`,
      );
      expect(Number(killed.rows[0].n)).toBeGreaterThan(0);
      for (const r of await Promise.all(inFlight)) {
        expect(r).not.toBeInstanceOf(Error);
        expect([200, 503]).toContain((r as { status: number }).status);
      }
      await until(
        'the node to answer queries again',
        async () => (await get(`${node.url}${SYNC}`)).status === 200,
      );
      // The UWS notifiers listen again: their sessions are back in pg_stat_activity.
      await until('LISTEN to be re-established', async () => {
        const r = await admin.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'`,
        );
        return (r.rowCount ?? 0) > 0;
      });
      // An async job still runs to completion: workers were woken after the reconnect.
      const created = await fetch(`${node.url}/tap/async`, {
        method: 'POST',
        body: new URLSearchParams({ LANG: 'ADQL', QUERY, PHASE: 'RUN' }),
        redirect: 'manual',
      });
      expect(created.status).toBe(303);
      const job = created.headers.get('location') ?? '';
      await until(
        'the async job to complete',
        async () => (await get(`${job}/phase`)).body.trim() === 'COMPLETED',
      );
      expect(node.child.exitCode).toBeNull();
    } finally {
      await admin.end().catch(() => {});
    }
  });
});

describe('a node on DATABASE_URL whose server is killed', () => {
  it('answers 503 while the server is gone and again once it is back, with no manual step', {
    timeout: 2 * NODE_TIMEOUT,
  }, async () => {
    // The server: another node's embedded PostgreSQL, which that node restarts when killed.
    const host = await spawnNode(embeddedEnv(dataDir));
    started.push(host);
    const server = postmaster(dataDir);
    const ownDir = freshDataDir();
    try {
      const node = await spawnNode({
        ...embeddedEnv(ownDir),
        DATABASE_URL: `postgres://vonode:vonode@127.0.0.1:${server.port}/vonode`,
        // The recovery is said at info (the outage itself at warn).
        VONODE_LOG_LEVEL: 'info',
      });
      started.push(node);
      expect((await get(`${node.url}${SYNC}`)).status).toBe(200);
      const t0 = Date.now();
      process.kill(server.pid, 'SIGKILL');
      await until('the old postmaster to be gone', () => !alive(server.pid));
      const statuses: number[] = [];
      await until('the node on DATABASE_URL to answer again', async () => {
        const r = await get(`${node.url}${SYNC}`);
        statuses.push(r.status);
        return r.status === 200;
      });
      console.log(
        `DATABASE_URL server SIGKILLed and back: the node answered again after ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      expect(statuses[0]).toBe(503);
      expect(statuses).not.toContain(500);
      expect(node.child.exitCode).toBeNull();
      expect(node.log()).toMatch(/the database answers again after/);
    } finally {
      for (const n of started.splice(0)) await n.stop('SIGTERM');
      rmSync(ownDir, { recursive: true, force: true });
    }
  });
});

describe('a node killed with SIGKILL', () => {
  it('leaves an orphaned PostgreSQL that the next node on the folder stops, then starts normally', {
    timeout: 2 * NODE_TIMEOUT,
  }, async () => {
    const first = await spawnNode(embeddedEnv(dataDir));
    started.push(first);
    const orphan = postmaster(dataDir);
    await first.stop('SIGKILL');
    // The defect's precondition: the postmaster outlived its node.
    expect(alive(orphan.pid)).toBe(true);

    const second = await spawnNode(embeddedEnv(dataDir));
    started.push(second);
    expect((await get(`${second.url}${SYNC}`)).status).toBe(200);
    expect(alive(orphan.pid)).toBe(false);
    expect(postmaster(dataDir).pid).not.toBe(orphan.pid);
    expect(second.log()).toContain(`(pid ${orphan.pid}) left running by a node that was killed`);
  });

  it('refuses a second node on a folder in use, naming the running node', {
    timeout: 2 * NODE_TIMEOUT,
  }, async () => {
    const first = await spawnNode(embeddedEnv(dataDir));
    started.push(first);
    const owner = postmaster(dataDir);
    const refused = spawnNode(embeddedEnv(dataDir));
    await expect(refused).rejects.toThrow(
      new RegExp(`vonode exited with 2: vonode: .*running vonode node \\(pid ${first.child.pid}\\)`),
    );
    // The first node and its PostgreSQL were not touched.
    expect(alive(owner.pid)).toBe(true);
    expect((await get(`${first.url}${SYNC}`)).status).toBe(200);
  });

  it('is not blocked by a stale postmaster.pid naming a live process that is not PostgreSQL', {
    timeout: 2 * NODE_TIMEOUT,
  }, async () => {
    const first = await spawnNode(embeddedEnv(dataDir));
    const lock = readFileSync(lockFile(dataDir), 'utf8');
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(existsSync(lockFile(dataDir))).toBe(false);
    // A lock file left by a crash whose pid was reused, here by this test process.
    writeFileSync(lockFile(dataDir), lock.replace(/^\d+/, String(process.pid)));
    const second = await spawnNode(embeddedEnv(dataDir));
    started.push(second);
    expect((await get(`${second.url}${SYNC}`)).status).toBe(200);
  });
});
