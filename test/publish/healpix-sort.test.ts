import { describe, expect, it } from 'vitest';
import { HealpixSorter, radixOrder } from '../../src/publish/healpix-sort.js';

/** Rows as the loader writes them: a field count, an 8-byte key field, one text field. */
function sortRows(rows: { key: bigint | null; text: string }[], memoryBytes: number) {
  const s = new HealpixSorter({ memoryBytes });
  for (const r of rows) {
    const w = s.run;
    const start = w.pos;
    w.int16(2);
    let keyAt = -1;
    if (r.key === null) w.nullField();
    else {
      keyAt = w.pos + 4;
      w.bigint64Field(r.key);
    }
    w.text(r.text);
    s.added(start, keyAt);
  }
  const runs = s.runsOnDisk;
  const out = Buffer.concat([...s.sorted()]);
  // Header (19 bytes), rows, trailer (-1).
  expect(out.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
  const got: { key: bigint | null; text: string }[] = [];
  let p = 19;
  while (out.readInt16BE(p) !== -1) {
    p += 2;
    const klen = out.readInt32BE(p);
    p += 4;
    const key = klen < 0 ? null : out.readBigInt64BE(p);
    if (klen > 0) p += klen;
    const tlen = out.readInt32BE(p);
    got.push({ key, text: out.toString('utf8', p + 4, p + 4 + tlen) });
    p += 4 + tlen;
  }
  expect(p + 2).toBe(out.length);
  return { got, runs };
}

describe('HEALPix sort of encoded rows (external merge)', () => {
  it('orders rows by key through several temporary runs, rows longer than a read buffer included, NULL keys last', () => {
    let x = 3;
    const rnd = () => {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      return x / 0x7fffffff;
    };
    const rows = Array.from({ length: 5000 }, (_, i) => ({
      key: i % 997 === 5 ? null : BigInt(Math.floor(rnd() * 2 ** 30)) * BigInt(2 ** 31) + BigInt(i),
      text: i % 1500 === 7 ? 'x'.repeat(i === 1507 ? 1_200_000 : 400_000 + i) : `row ${i}`,
    }));
    const { got, runs } = sortRows(rows, 256 * 1024);
    expect(runs).toBeGreaterThan(2);
    const want = [...rows].sort((a, b) =>
      a.key === b.key ? 0 : a.key === null ? 1 : b.key === null ? -1 : a.key < b.key ? -1 : 1,
    );
    expect(got.map((r) => r.key)).toEqual(want.map((r) => r.key));
    expect(new Set(got.map((r) => r.text))).toEqual(new Set(rows.map((r) => r.text)));
    for (const r of got.filter((g) => g.key !== null))
      expect(r.text).toBe(rows.find((o) => o.key === r.key)?.text);
  });

  it('keeps one run in memory and writes no file when the rows fit', () => {
    const { got, runs } = sortRows(
      [
        { key: 5n, text: 'b' },
        { key: null, text: 'z' },
        { key: 1n, text: 'a' },
      ],
      1 << 20,
    );
    expect(runs).toBe(0);
    expect(got.map((r) => r.text)).toEqual(['a', 'b', 'z']);
  });

  it('radix-orders by the high word, then the low word', () => {
    const his = Uint32Array.from([2, 1, 1, 0xffffffff, 0]);
    const los = Uint32Array.from([0, 7, 3, 0xffffffff, 9]);
    expect([...radixOrder(his, los, 5)]).toEqual([4, 2, 1, 0, 3]);
  });
});
