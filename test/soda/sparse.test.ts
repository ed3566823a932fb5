import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from 'vitest';

// The planner and cutout writer on a 5 GB cube (a sparse file, so it costs no disk): only
// the pixels of the box are read, and memory does not grow with the file.
test('a 100×100×20 cutout of a 5 GB cube reads < 10 MB with bounded RSS', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sparse-cube-'));
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'sparse-cutout.ts'), join(dir, 'cube.fits')],
      { cwd: join(import.meta.dirname, '../..'), maxBuffer: 1 << 20 },
    );
    const r = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
      fileBytes: number;
      box: { from: number; to: number }[];
      written: number;
      read: number;
      maxRssBytes: number;
    };
    expect(r.fileBytes).toBeGreaterThan(5e9);
    const sizes = r.box.map((b) => b.to - b.from + 1);
    expect(sizes[2]).toBe(20);
    expect(r.box[2]).toEqual({ from: 141, to: 160 });
    for (const n of sizes.slice(0, 2)) {
      expect(n).toBeGreaterThanOrEqual(99);
      expect(n).toBeLessThanOrEqual(102);
    }
    const pixelsBytes = sizes.reduce((a, b) => a * b, 1) * 4;
    expect(r.written).toBeGreaterThanOrEqual(pixelsBytes);
    expect(r.read).toBeLessThan(10 * 1024 * 1024);
    // reads are the box's rows (plus the header), nothing like the file
    expect(r.read).toBeLessThan(pixelsBytes * 2 + 1024 * 1024);
    expect(r.maxRssBytes).toBeLessThan(400 * 1024 * 1024);
    console.log(
      `sparse cube: file ${r.fileBytes} B, cutout ${sizes.join('x')}, read ${r.read} B, max RSS ${r.maxRssBytes} B`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 120000);
