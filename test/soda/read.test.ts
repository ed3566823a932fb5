import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type AxisRange, FitsFile, writeCutout } from '../../src/fits/index.js';
import { demoPlan } from '../../src/ingest/demo.js';
import { writeDemoCube } from '../../src/ingest/demo-products.js';
import { planReads, streamCutout } from '../../src/soda/index.js';

let dir: string;
let file: FitsFile;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'soda-read-'));
  const spec = demoPlan(8).find((s) => s.kind === 'cube');
  if (!spec) throw new Error('no demo cube');
  await writeDemoCube(join(dir, 'cube.fits'), spec, []);
  file = await FitsFile.open(join(dir, 'cube.fits'));
}, 60000);

afterAll(async () => {
  await file?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const collect = () => {
  const chunks: Buffer[] = [];
  return {
    chunks,
    async write(c: Uint8Array) {
      chunks.push(Buffer.from(c));
    },
  };
};

test('merged, concurrent reads write the same bytes as the FITS module row by row', async () => {
  const hdu = file.primary;
  const [nx, ny, nz] = hdu.axes;
  const boxes: AxisRange[][] = [
    hdu.axes.map((n) => ({ from: 1, to: n })),
    [
      { from: 3, to: 9 },
      { from: 2, to: ny - 1 },
      { from: 2, to: 3 },
      ...hdu.axes.slice(3).map(() => ({ from: 1, to: 1 })),
    ],
    [
      { from: nx, to: nx },
      { from: 1, to: 1 },
      { from: nz, to: nz },
      ...hdu.axes.slice(3).map(() => ({ from: 1, to: 1 })),
    ],
  ];
  for (const box of boxes) {
    const reference = collect();
    await writeCutout(file, hdu, box, reference, { history: ['h'] });
    for (const [maxGapBytes, maxReadBytes, inFlight] of [
      [0, 4 * 1024 * 1024, 1],
      [4096, 4 * 1024 * 1024, 4],
      [1 << 20, 3000, 3],
    ]) {
      const mine = collect();
      const r = await streamCutout(file, hdu, box, mine, {
        history: ['h'],
        maxGapBytes,
        maxReadBytes,
        inFlight,
      });
      expect(Buffer.concat(mine.chunks).equals(Buffer.concat(reference.chunks))).toBe(true);
      expect(r.written).toBe(Buffer.concat(mine.chunks).length);
    }
  }
});

test('reads merge across gaps up to maxGap and never exceed maxRead', () => {
  const hdu = file.primary;
  const box: AxisRange[] = [
    { from: 1, to: 4 },
    { from: 1, to: 10 },
    ...hdu.axes.slice(2).map(() => ({ from: 1, to: 1 })),
  ];
  const rowBytes = hdu.axes[0] * 4;
  const gap = rowBytes - 16;
  expect(planReads(hdu, box, 1 << 20, gap - 1)).toHaveLength(10);
  const merged = planReads(hdu, box, 1 << 20, gap);
  expect(merged).toHaveLength(1);
  expect(merged[0].bytes).toBe(9 * rowBytes + 16);
  for (const r of planReads(hdu, box, 2 * rowBytes, gap)) expect(r.bytes).toBeLessThanOrEqual(2 * rowBytes);
});
