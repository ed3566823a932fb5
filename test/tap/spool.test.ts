import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ResultSpool, SpoolBudget } from '../../src/tap/spool.js';

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
