import { rmSync } from 'node:fs';

import { DuckDBInstance, DuckDBListValue } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode, type Field, VOPARQUET_CONTENT_KEY } from '../../votable/index.js';
import { collect, readAll, tempDir, writeTemp } from './helpers.js';

/*
 * The Parquet encoder on rows (no database): every VOTable datatype and shape, written by the
 * row path, read back by DuckDB with the values the BINARY2 encoder's reader gives
 * (VOParquet Note §2.2/§2.3; VOT-17 datatypes, VOT-36 array order).
 */

const dir = tempDir();
let duck: Awaited<ReturnType<Awaited<ReturnType<typeof DuckDBInstance.create>>['connect']>>;
beforeAll(async () => {
  duck = await (await DuckDBInstance.create(':memory:')).connect();
});
afterAll(() => {
  duck?.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

const FIELDS: Field[] = [
  { name: 'b', datatype: 'boolean' },
  { name: 'bit', datatype: 'bit' },
  { name: 'u', datatype: 'unsignedByte' },
  { name: 's', datatype: 'short' },
  { name: 'i', datatype: 'int' },
  { name: 'l', datatype: 'long' },
  { name: 'f', datatype: 'float' },
  { name: 'd', datatype: 'double' },
  { name: 'fc', datatype: 'floatComplex' },
  { name: 'dc', datatype: 'doubleComplex', arraysize: '*' },
  { name: 'c', datatype: 'char', arraysize: '8*' },
  { name: 'c1', datatype: 'char' },
  { name: 'uc', datatype: 'unicodeChar', arraysize: '*' },
  { name: 'c2', datatype: 'char', arraysize: '3x*' },
  { name: 'ba', datatype: 'boolean', arraysize: '*' },
  { name: 'ua', datatype: 'unsignedByte', arraysize: '3' },
  { name: 'sa', datatype: 'short', arraysize: '*' },
  { name: 'la', datatype: 'long', arraysize: '2' },
  { name: 'm', datatype: 'double', arraysize: '2x2' },
];

const ROWS: unknown[][] = [
  [
    true,
    true,
    255,
    -32768,
    2147483647,
    '-9223372036854775808',
    1.5,
    Number.POSITIVE_INFINITY,
    [1.5, -2],
    [1, 2, 3, 4],
    'abc',
    'x',
    'ω ∞',
    ['abc', 'de '],
    [true, false],
    [0, 128, 255],
    [-1, 1],
    ['9223372036854775807', 0n],
    [
      [1, 2],
      [3, 4],
    ],
  ],
  Array(19).fill(null),
  [
    false,
    false,
    0,
    0,
    0,
    0,
    Number.NaN,
    -0.0,
    [0, 0],
    [],
    '',
    'y',
    '',
    [],
    [],
    [1, 2, 3],
    [],
    [5n, 6n],
    [9, 8, 7, 6],
  ],
];

function fromDuck(v: unknown): unknown {
  if (v instanceof DuckDBListValue) return v.items.map(fromDuck);
  return v;
}

describe('Parquet from JavaScript rows, every datatype and shape', () => {
  it('DuckDB reads the values BINARY2 holds (complex as pairs, arrays flattened first dimension fastest)', async () => {
    const pq = await collect(encode('parquet', { fields: FIELDS, rows: ROWS }, { parquetRowGroupRows: 2 }));
    const file = writeTemp(dir, 'types.parquet', pq);
    const got = (await duck.runAndReadAll(`SELECT * FROM read_parquet('${file}')`))
      .getRows()
      .map((r) => r.map(fromDuck));
    const b2 = await readAll(await collect(encode('votable/binary2', { fields: FIELDS, rows: ROWS })));
    // The reader gives complex cells as [re, im] (pairs of pairs for arrays); Parquet keeps the
    // flat pairs, the UTF-8 text (uc), the blanks of a 3x* slice (the reader trims them) and a
    // 255 in a fixed unsignedByte array (the BINARY2 round trip reads it as null: VALUES null).
    const want = b2.rows.map((r) =>
      r.map((v, i) => {
        if (FIELDS[i].datatype.endsWith('Complex') && Array.isArray(v)) return v.flat(2);
        if (['uc', 'c2', 'ua'].includes(FIELDS[i].name) && v !== null) return ROWS[b2.rows.indexOf(r)][i];
        if (FIELDS[i].name === 'la' && Array.isArray(v)) return v.map((x) => BigInt(x as bigint));
        return v;
      }),
    );
    expect(got).toEqual(want);
    expect(got[0][12]).toBe('ω ∞');
  });

  it('declares in the footer what each column really is (Note §2.3)', async () => {
    const pq = await collect(encode('parquet', { fields: FIELDS, rows: ROWS }));
    const file = writeTemp(dir, 'meta.parquet', pq);
    const kv = await duck.runAndReadAll(
      `SELECT decode(value) FROM parquet_kv_metadata('${file}') WHERE decode(key) = '${VOPARQUET_CONTENT_KEY}'`,
    );
    const meta = await readAll(String(kv.getRows()[0][0]));
    const by = Object.fromEntries(meta.fields.map((f) => [f.name, f]));
    expect(by.fc).toMatchObject({ datatype: 'float', arraysize: '2' });
    expect(by.dc).toMatchObject({ datatype: 'double', arraysize: '2x*' });
    expect(by.c).toMatchObject({ datatype: 'char', arraysize: '*' });
    expect(by.m).toMatchObject({ datatype: 'double', arraysize: '2x2' });
    const schema = await duck.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
    const types = Object.fromEntries(schema.getRows().map((r) => [String(r[0]), String(r[1])]));
    expect(types).toMatchObject({
      b: 'BOOLEAN',
      u: 'UTINYINT',
      s: 'SMALLINT',
      i: 'INTEGER',
      l: 'BIGINT',
      f: 'FLOAT',
      d: 'DOUBLE',
      c: 'VARCHAR',
      c2: 'VARCHAR[]',
      ba: 'BOOLEAN[]',
      la: 'BIGINT[]',
      m: 'DOUBLE[]',
    });
  });

  it('refuses a value its datatype cannot hold: the rows before it stay, the footer says ERROR', async () => {
    const rows = [...Array.from({ length: 5 }, (_, i) => [i]), [70000], [1]];
    const pq = await collect(
      encode('parquet', { fields: [{ name: 's', datatype: 'short' }], rows }, { parquetRowGroupRows: 5 }),
    );
    const file = writeTemp(dir, 'bad.parquet', pq);
    const got = (await duck.runAndReadAll(`SELECT s FROM read_parquet('${file}')`))
      .getRows()
      .map((r) => r[0]);
    expect(got).toEqual([0, 1, 2, 3, 4]);
    const kv = await duck.runAndReadAll(
      `SELECT decode(value) FROM parquet_kv_metadata('${file}') WHERE decode(key) = '${VOPARQUET_CONTENT_KEY}'`,
    );
    expect(String(kv.getRows()[0][0])).toMatch(
      /<INFO name="QUERY_STATUS" value="ERROR">column "s": cannot write 70000/,
    );
  });
});
