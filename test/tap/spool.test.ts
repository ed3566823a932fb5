import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyRequest } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { QueryStopped } from '../../src/tap/execute.js';
import { ResultSpool, SpoolBudget } from '../../src/tap/spool.js';
import { SyncGate, type SyncTicket } from '../../src/tap/spooled.js';

const dir = mkdtempSync(join(tmpdir(), 'vonode-spool-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(spool: ResultSpool): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (;;) {
    const c = await spool.read();
    if (c === null) return Buffer.concat(parts);
    parts.push(c);
  }
}

describe('the result spool (issue 13: slow readers)', () => {
  it('gives back every byte in order through memory, file and memory again, and frees its disk', async () => {
    const budget = new SpoolBudget(1e9, join(dir, 'a'));
    const spool = new ResultSpool(budget, 10_000);
    const chunks = Array.from({ length: 300 }, (_, i) => randomBytes(1 + ((i * 7919) % 4000)));
    let peakDisk = 0;
    let reading: Promise<Buffer> | undefined;
    let backToMemory = false;
    for (const [i, c] of chunks.entries()) {
      await spool.write(c);
      if (peakDisk > 0 && budget.usedBytes === 0) backToMemory = true;
      peakDisk = Math.max(peakDisk, budget.usedBytes);
      // The reader starts late (the file fills), then catches up now and then (it is emptied).
      if (i === 100) reading = readAll(spool);
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    spool.end();
    expect((await reading)?.equals(Buffer.concat(chunks))).toBe(true);
    expect(peakDisk).toBeGreaterThan(0);
    expect(backToMemory).toBe(true);
    expect(spool.drained).toBe(true);
    await spool.dispose();
    expect(budget.usedBytes).toBe(0);
    // The file was unlinked when opened: nothing is left behind.
    expect(readdirSync(join(dir, 'a'))).toEqual([]);
  });

  it('holds what a reader has not taken on disk, counted in the budget, and says when the budget is passed', async () => {
    const budget = new SpoolBudget(50_000, join(dir, 'b'));
    const spool = new ResultSpool(budget, 8192);
    const chunk = randomBytes(8192);
    await spool.write(chunk);
    expect(budget.usedBytes).toBe(0);
    for (let i = 0; i < 6; i++) await spool.write(chunk);
    expect(budget.usedBytes).toBe(6 * 8192);
    expect(spool.overBudget).toBe(false);
    await spool.write(chunk);
    expect(spool.overBudget).toBe(true);
    expect(spool.pending).toBe(8 * 8192);
    // A second spool shares the budget.
    const other = new ResultSpool(budget, 1);
    await other.write(Buffer.from('xy'));
    expect(other.overBudget).toBe(true);
    await other.dispose();
    await spool.dispose();
    expect(budget.usedBytes).toBe(0);
    expect(await spool.read()).toBeNull();
  });

  it('hands a producer failure to the reader after the bytes before it', async () => {
    const spool = new ResultSpool(new SpoolBudget(1e6, join(dir, 'c')), 1024);
    await spool.write(Buffer.from('rows'));
    spool.fail(new Error('encoder broke'));
    expect((await spool.read())?.toString()).toBe('rows');
    await expect(spool.read()).rejects.toThrow('encoder broke');
    await spool.dispose();
  });
});

describe('production places of synchronous results (issue 13: many results cannot starve the node)', () => {
  const limits = {
    maxConcurrent: 10,
    maxPerClient: 10,
    maxProducing: 2,
    spoolMemoryBytes: 4096,
    spoolDiskBytes: 1e6,
    statusSpoolBytes: 0,
    minReadRate: 0,
    readGraceSeconds: 30,
  };
  // admit() reads only who is asking: the token's subject, else the address.
  const asking = (ip: string) => ({ ip, identity: undefined }) as unknown as FastifyRequest;
  const ticketOf = (gate: SyncGate, ip: string): SyncTicket => {
    const t = gate.admit(asking(ip));
    if (typeof t === 'string') throw new Error(t);
    return t;
  };

  it('lets VONODE_SYNC_PRODUCERS results be produced at once; the next waits and takes a freed place', async () => {
    const gate = new SyncGate(limits, join(dir, 'gate-a'));
    const [a, b, c] = ['1.1.1.1', '1.1.1.2', '1.1.1.3'].map((ip) => ticketOf(gate, ip));
    const never = new AbortController().signal;
    await a.startProducing(never);
    await b.startProducing(never);
    let cStarted = false;
    const cWaits = c.startProducing(never).then(() => {
      cStarted = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(cStarted).toBe(false);
    a.doneProducing();
    a.doneProducing(); // a second give-back must not free a second place
    await cWaits;
    expect(cStarted).toBe(true);
    const d = ticketOf(gate, '1.1.1.4');
    let dStarted = false;
    const dWaits = d.startProducing(never).then(() => {
      dStarted = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(dStarted).toBe(false);
    b.release(); // releasing the ticket gives its place back too
    await dWaits;
    expect(dStarted).toBe(true);
  });

  it('a client that leaves while waiting gives up its turn and takes no place', async () => {
    const gate = new SyncGate({ ...limits, maxProducing: 1 }, join(dir, 'gate-b'));
    const a = ticketOf(gate, '2.2.2.1');
    const b = ticketOf(gate, '2.2.2.2');
    const c = ticketOf(gate, '2.2.2.3');
    const never = new AbortController().signal;
    await a.startProducing(never);
    const leaving = new AbortController();
    const bWaits = b.startProducing(leaving.signal);
    leaving.abort('client-gone');
    await expect(bWaits).rejects.toBeInstanceOf(QueryStopped);
    let cStarted = false;
    const cWaits = c.startProducing(never).then(() => {
      cStarted = true;
    });
    a.release();
    await cWaits;
    expect(cStarted).toBe(true);
    b.release();
    c.release();
  });
});
