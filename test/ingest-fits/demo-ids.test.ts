import { describe, expect, it } from 'vitest';
import { demoFields } from '../../src/ingest/demo.js';
import { demoCatalogueRows } from '../../src/ingest/demo-catalogue.js';

/**
 * Issue 13, "existence": the demo catalogue's ids must not let anyone read the count or the
 * place of proprietary rows from the public ones. Columns: 0 source_id, 1 island_id,
 * 2 field_id, 21 owner_group.
 */
function rows(n: number, fields = demoFields(8), seed?: number) {
  return [...demoCatalogueRows({ rows: n, fields, ...(seed === undefined ? {} : { seed }) })];
}

describe('demo catalogue ids', () => {
  const all = rows(20_000);
  const partition = (r: unknown[]) => (r[21] === null ? '' : String(r[2]));

  it('numbers the public rows 1..N in storage order, islands without gaps', () => {
    const pub = all.filter((r) => r[21] === null);
    expect(pub.length).toBeGreaterThan(0);
    expect(pub.length).toBeLessThan(all.length);
    expect(pub.map((r) => r[0])).toEqual(pub.map((_, i) => BigInt(i + 1)));
    let last = 0n;
    for (const r of pub) {
      const island = r[1] as bigint;
      expect(island === last || island === last + 1n).toBe(true);
      last = island;
    }
  });

  it('gives each proprietary field a range of its own, unique ids, islands inside one field', () => {
    const ids = new Set(all.map((r) => r[0]));
    expect(ids.size).toBe(all.length);
    const islandOwner = new Map<bigint, string>();
    for (const r of all) {
      const p = partition(r);
      if (p !== '') expect(r[0] as bigint).toBeGreaterThanOrEqual(2n ** 32n);
      expect(r[0] as bigint).toBeLessThan(2n ** 53n);
      const seen = islandOwner.get(r[1] as bigint);
      if (seen !== undefined) expect(seen).toBe(p);
      islandOwner.set(r[1] as bigint, p);
    }
  });

  it('is deterministic for a seed', () => {
    const again = rows(20_000);
    expect(again.map((r) => r[0])).toEqual(all.map((r) => r[0]));
    expect(again.map((r) => r[1])).toEqual(all.map((r) => r[1]));
    const other = rows(20_000, demoFields(8), 7);
    expect(other.map((r) => r[0])).not.toEqual(all.map((r) => r[0]));
  });
});
