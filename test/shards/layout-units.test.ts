import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDescription } from '../../src/publish/index.js';
import {
  balancedRanges,
  cellCount,
  cellStart,
  controlFile,
  extensionScript,
  extensionVersion,
  layoutFor,
  layoutFromEnv,
  selfCrossmatchSql,
  shardOf,
  shardUnavailable,
} from '../../src/shards/index.js';

// The pure parts of the layout (src/shards); the layouts themselves, on real servers, are
// conformance/shards.test.ts (conformance/shards.sh).
describe('partition boundaries balanced by rows', () => {
  it('cut whole cells into ranges of about equal rows that cover the sky', () => {
    const counts = [
      { cell: 3n, rows: 10 },
      { cell: 4n, rows: 10 },
      { cell: 40n, rows: 50 },
      { cell: 41n, rows: 10 },
      { cell: 100n, rows: 20 },
    ];
    const r = balancedRanges(counts, 4, 2);
    expect(r.reduce((s, x) => s + x.rows, 0)).toBe(100);
    expect(r[0].lo).toBeUndefined();
    expect(r.at(-1)?.hi).toBeUndefined();
    expect(r.at(-1)?.lastCell).toBe(cellCount(2) - 1n);
    for (let k = 1; k < r.length; k++) {
      expect(r[k].firstCell).toBe(r[k - 1].lastCell + 1n);
      expect(r[k].lo).toBe(cellStart(r[k].firstCell, 2));
      expect(r[k - 1].hi).toBe(r[k].lo);
    }
    // The one dense cell is a partition of its own.
    expect(r.some((x) => x.firstCell <= 40n && x.lastCell >= 40n && x.rows === 50)).toBe(true);
  });

  it('give fewer ranges than asked when there are fewer cells with rows', () => {
    expect(balancedRanges([{ cell: 7n, rows: 5 }], 8, 3)).toHaveLength(1);
  });

  it('place partitions on shards in contiguous runs', () => {
    expect(Array.from({ length: 8 }, (_, k) => shardOf(k, 8, 4))).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect(Array.from({ length: 5 }, (_, k) => shardOf(k, 5, 2))).toEqual([0, 0, 0, 1, 1]);
  });
});

describe('layout settings', () => {
  it('come from VONODE_* settings, checked, and a description overrides them', () => {
    const s = layoutFromEnv({
      VONODE_PARTITION_MIN_ROWS: '1000',
      VONODE_SHARDS: 'postgres://u:p@127.0.0.1:5433/db',
    });
    expect(s.minRows).toBe(1000);
    expect(s.shards).toHaveLength(1);
    expect(layoutFor(s, { partitions: 3 }).partitions).toBe(3);
    expect(() => layoutFromEnv({ VONODE_PARTITION_ORDER: '40' })).toThrow(/VONODE_PARTITION_ORDER=40/);
    expect(() => layoutFromEnv({ VONODE_SHARDS: 'http://x:secret@h/db' })).toThrow(/not a PostgreSQL URL/);
    expect(() => layoutFromEnv({ VONODE_SHARDS: 'http://x:secret@h/db' })).not.toThrow(/secret/);
  });

  it('a description file may set partitioning; a wrong value names where', () => {
    const yaml = (p: string) =>
      `schema: {name: s, description: d}\ntables:\n  - name: t\n    description: d\n    position: {ra: ra, dec: dec}\n    partitioning: ${p}\n    columns:\n      - {name: ra, datatype: double, description: ra}\n      - {name: dec, datatype: double, description: dec}\n`;
    const ok = parseDescription(
      yaml('{minRows: 1000000, order: 6, partitions: 32, marginArcsec: 5}'),
      't.yaml',
    );
    expect(ok.tables[0].partitioning).toEqual({
      minRows: 1000000,
      order: 6,
      partitions: 32,
      marginArcsec: 5,
    });
    expect(() => parseDescription(yaml('{order: 20}'), 't.yaml')).toThrow(/order.*1 to 12/);
    expect(() => parseDescription(yaml('{parts: 3}'), 't.yaml')).toThrow(/parts/);
  });
});

describe('a shard that does not answer (DALI-32)', () => {
  it('is a 503 naming the cells its partition holds', () => {
    const err = Object.assign(new Error('could not connect to server "vonode_s3_a1b2c3_o7_1200_2399"'), {
      code: '08001',
    });
    const e = shardUnavailable(err);
    expect(e?.status).toBe(503);
    expect(e?.message).toMatch(/HEALPix order 7 NESTED cells 1200 to 2399 \(shard 3\) is unavailable/);
  });

  it('other errors are left alone', () => {
    expect(shardUnavailable(Object.assign(new Error('division by zero'), { code: '22012' }))).toBeUndefined();
    expect(shardUnavailable(new Error('could not connect to server "elsewhere"'))).toBeUndefined();
  });
});

describe('the extension vonode_adql (postgres_fdw ships only extension members)', () => {
  const sql = (f: string) => readFileSync(join(import.meta.dirname, '..', '..', 'sql', f), 'utf8');

  it('defines every function a crossmatch sends to a shard, as the migrations define them', () => {
    const script = extensionScript();
    for (const f of [
      'sky.healpix_nest',
      'adql.xmatch_cover',
      'adql.xmatch_ranges',
      'adql.chord2',
      'adql.xmatch_within',
    ])
      expect(script).toContain(`CREATE OR REPLACE FUNCTION ${f}(`);
    // The latest definition comes last, as the migrations apply them.
    expect(script.lastIndexOf('FUNCTION adql.chord2(')).toBeGreaterThan(
      script.indexOf(sql('036_adql_xmatch.sql').slice(0, 200)),
    );
    expect(script).toContain(sql('160_adql_xmatch_cover.sql'));
    // Existing functions are adopted first; schemas are created only where missing.
    expect(script.indexOf('ALTER EXTENSION vonode_adql ADD FUNCTION')).toBeLessThan(
      script.indexOf('CREATE OR REPLACE FUNCTION'),
    );
    expect(script).not.toMatch(/^CREATE SCHEMA IF NOT EXISTS/m);
  });

  it('names the version after its script, in the control file', () => {
    expect(extensionVersion()).toMatch(/^1-[0-9a-f]{10}$/);
    expect(controlFile()).toContain(`default_version = '${extensionVersion()}'`);
    expect(controlFile()).toContain('relocatable = false');
  });
});

describe('the self-crossmatch on the shards (ADQL-39)', () => {
  const base = {
    sqlSchema: 'cat',
    versionTable: 'stars_v2',
    healpix: 'healpix',
    ra: 'ra',
    dec: 'dec',
    columnsA: ['source_id'],
    columnsB: ['source_id', 'mag'],
    marginArcsec: 10,
  };

  it('joins the two sides on the partition number, by the cover, with the crossmatch test', () => {
    const q = selfCrossmatchSql({ ...base, radiusDeg: 5 / 3600 });
    expect(q).toContain('FROM "cat"."stars_v2_xo" AS a JOIN "cat"."stars_v2_xi" AS b');
    expect(q).toContain('a.vonode_part = b.vonode_part');
    expect(q).toContain('b."healpix" < a.vonode_cover[8]');
    expect(q).toContain(`adql.xmatch_within(a."ra", a."dec", b."ra", b."dec", ${5 / 3600}::float8)`);
    expect(q).toContain('b."mag" AS "b_mag"');
  });

  it('refuses a radius beyond the margin or not a number', () => {
    expect(() => selfCrossmatchSql({ ...base, radiusDeg: 11 / 3600 })).toThrow(
      /beyond the layout's margin of 10 arcsec/,
    );
    expect(() => selfCrossmatchSql({ ...base, radiusDeg: Number.NaN })).toThrow(RangeError);
  });
});
