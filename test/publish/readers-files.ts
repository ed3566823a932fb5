/**
 * Data files for the reader tests, written in a temp folder: FITS binary tables from a
 * hand-coded header (so every TFORM/TNULL/TZERO case is exact), and the other formats
 * through the repository's encoders and hyparquet-writer.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parquetWriteFile } from 'hyparquet-writer';
import { encodeHeader } from '../../src/fits/index.js';
import type { DataSource } from '../../src/publish/source.js';
import { encode, type Field, type OutputFormat } from '../../votable/index.js';

export const tempDir = () => mkdtempSync(join(tmpdir(), 'vonode-readers-'));

export async function readAll(ds: DataSource): Promise<{ rows: unknown[][]; firstRows: number[] }> {
  const rows: unknown[][] = [];
  const firstRows: number[] = [];
  try {
    for await (const b of ds.batches()) {
      firstRows.push(b.firstRow);
      for (const r of b.rows) rows.push([...r]);
    }
  } finally {
    await ds.close();
  }
  return { rows, firstRows };
}

const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((2880 - (b.length % 2880)) % 2880)]);

/**
 * A FITS file: empty primary HDU, a small IMAGE extension (to be skipped), then a BINTABLE
 * with every column kind the reader maps. Three rows; the expected values are EXPECTED_FITS.
 */
export function handFits(): Buffer {
  const primary = encodeHeader([
    { keyword: 'SIMPLE', value: true },
    { keyword: 'BITPIX', value: 8 },
    { keyword: 'NAXIS', value: 0 },
    { keyword: 'EXTEND', value: true },
  ]);
  const image = Buffer.concat([
    encodeHeader([
      { keyword: 'XTENSION', value: 'IMAGE' },
      { keyword: 'BITPIX', value: 16 },
      { keyword: 'NAXIS', value: 1 },
      { keyword: 'NAXIS1', value: 3 },
      { keyword: 'PCOUNT', value: 0 },
      { keyword: 'GCOUNT', value: 1 },
    ]),
    pad(Buffer.from([0, 1, 0, 2, 0, 3])),
  ]);
  // name, TFORM, bytes, extra cards
  const cols: [string, string, number, Record<string, string | number>][] = [
    ['id', 'K', 8, { TUCD: 'meta.id;meta.main', TCOMM: 'Source identifier' }],
    ['RA_deg', 'D', 8, { TUNIT: 'deg', TUCD: 'pos.eq.ra;meta.main', TCOMM: 'Right ascension' }],
    ['DEJ2000', 'D', 8, { TUNIT: 'deg' }],
    ['flux', 'E', 4, { TUNIT: 'Jy', TDISP: 'F8.3' }],
    ['n', 'J', 4, { TNULL: -99 }],
    ['u16', 'I', 2, { TZERO: 32768 }],
    ['b', 'B', 1, {}],
    ['ok', 'L', 1, {}],
    ['name', '8A', 8, {}],
    ['vec', '3E', 12, {}],
    ['flags', '4X', 1, {}],
    ['scaled', 'J', 4, { TSCAL: 0.5, TZERO: 10 }],
    ['u32', 'J', 4, { TZERO: 2147483648 }],
    ['spec', '1PE(2)', 8, {}],
  ];
  const rowBytes = cols.reduce((a, c) => a + c[2], 0);
  const n = 3;
  const cards: { keyword: string; value: string | number | boolean; comment?: string }[] = [
    { keyword: 'XTENSION', value: 'BINTABLE' },
    { keyword: 'BITPIX', value: 8 },
    { keyword: 'NAXIS', value: 2 },
    { keyword: 'NAXIS1', value: rowBytes },
    { keyword: 'NAXIS2', value: n },
    { keyword: 'PCOUNT', value: 12 },
    { keyword: 'GCOUNT', value: 1 },
    { keyword: 'TFIELDS', value: cols.length },
    { keyword: 'EXTNAME', value: 'SOURCES' },
    { keyword: 'RADESYS', value: 'ICRS' },
  ];
  cols.forEach(([name, tform, , extra], i) => {
    cards.push({
      keyword: `TTYPE${i + 1}`,
      value: name,
      ...(name === 'flux' && { comment: 'Peak flux density' }),
    });
    cards.push({ keyword: `TFORM${i + 1}`, value: tform });
    for (const [k, v] of Object.entries(extra)) cards.push({ keyword: `${k}${i + 1}`, value: v });
  });
  const data = Buffer.alloc(rowBytes * n + 12);
  const rows: {
    id: bigint;
    ra: number;
    dec: number;
    flux: number;
    n: number;
    u16: number;
    b: number;
    ok: number;
    name: string;
    vec: number[];
    flags: number;
    scaled: number;
    u32: number;
    spec: [number, number];
  }[] = [
    {
      id: 1n,
      ra: 10.5,
      dec: -20.25,
      flux: 1.5,
      n: 7,
      u16: 32767,
      b: 200,
      ok: 84,
      name: 'alpha',
      vec: [1, 2, 3],
      flags: 0xa0,
      scaled: 4,
      u32: 0,
      spec: [2, 0],
    },
    {
      id: 2n,
      ra: 11,
      dec: Number.NaN,
      flux: Number.NaN,
      n: -99,
      u16: -32768,
      b: 0,
      ok: 0,
      name: '',
      vec: [Number.NaN, 1, 2],
      flags: 0,
      scaled: 0,
      u32: 5,
      spec: [0, 0],
    },
    {
      id: 3n,
      ra: 359.999,
      dec: 89.5,
      flux: -0.25,
      n: 0,
      u16: 0,
      b: 1,
      ok: 70,
      name: 'gamma de',
      vec: [0, 0, 0],
      flags: 0xf0,
      scaled: -2,
      u32: -2147483648,
      spec: [1, 8],
    },
  ];
  let o = 0;
  for (const r of rows) {
    data.writeBigInt64BE(r.id, o);
    data.writeDoubleBE(r.ra, o + 8);
    data.writeDoubleBE(r.dec, o + 16);
    data.writeFloatBE(r.flux, o + 24);
    data.writeInt32BE(r.n, o + 28);
    data.writeInt16BE(r.u16, o + 32);
    data[o + 34] = r.b;
    data[o + 35] = r.ok;
    data.write(r.name.padEnd(8, ' '), o + 36, 'latin1');
    r.vec.forEach((v, k) => {
      data.writeFloatBE(v, o + 44 + 4 * k);
    });
    data[o + 56] = r.flags;
    data.writeInt32BE(r.scaled, o + 57);
    data.writeInt32BE(r.u32, o + 61);
    data.writeInt32BE(r.spec[0], o + 65);
    data.writeInt32BE(r.spec[1], o + 69);
    o += rowBytes;
  }
  // heap: row 1 [0.5, 1.5], row 3 [2.5]
  data.writeFloatBE(0.5, o);
  data.writeFloatBE(1.5, o + 4);
  data.writeFloatBE(2.5, o + 8);
  return Buffer.concat([primary, image, encodeHeader(cards), pad(data)]);
}

export const EXPECTED_FITS: unknown[][] = [
  [
    1n,
    10.5,
    -20.25,
    1.5,
    7,
    65535,
    200,
    true,
    'alpha',
    [1, 2, 3],
    [true, false, true, false],
    12,
    2147483648n,
    [0.5, 1.5],
  ],
  [
    2n,
    11,
    null,
    null,
    null,
    0,
    0,
    null,
    null,
    [Number.NaN, 1, 2],
    [false, false, false, false],
    10,
    2147483653n,
    null,
  ],
  [
    3n,
    359.999,
    89.5,
    -0.25,
    0,
    32768,
    1,
    false,
    'gamma de',
    [0, 0, 0],
    [true, true, true, true],
    9,
    0n,
    [2.5],
  ],
];

/** One logical table, written in every format by the repository's own writers. */
export const SAME_FIELDS: Field[] = [
  { name: 'source_id', datatype: 'long', ucd: 'meta.id;meta.main' },
  { name: 'ra', datatype: 'double', unit: 'deg', ucd: 'pos.eq.ra;meta.main' },
  { name: 'dec', datatype: 'double', unit: 'deg', ucd: 'pos.eq.dec;meta.main' },
  { name: 'flux', datatype: 'double', unit: 'mJy' },
  { name: 'label', datatype: 'char', arraysize: '*' },
  { name: 'resolved', datatype: 'boolean' },
];

export function sameRows(n: number): unknown[][] {
  const rows: unknown[][] = [];
  for (let i = 0; i < n; i++)
    rows.push([
      BigInt(i + 1) * 1_000_000_007n,
      (i * 0.37) % 360,
      -90 + ((i * 0.11) % 180),
      i % 7 === 0 ? null : i / 8,
      i % 5 === 0 ? null : `src "${i}", a`,
      i % 3 === 0 ? null : i % 2 === 0,
    ]);
  return rows;
}

export async function writeEncoded(
  path: string,
  format: OutputFormat,
  fields: Field[],
  rows: unknown[][],
  gzip = false,
) {
  const chunks: Buffer[] = [];
  for await (const c of encode(format, { fields, rows })) chunks.push(c);
  const all = Buffer.concat(chunks);
  writeFileSync(path, gzip ? gzipSync(all) : all);
}

export async function writeSameParquet(path: string, rows: unknown[][], rowGroupSize = 1000) {
  const col = (i: number) => rows.map((r) => r[i]);
  await parquetWriteFile({
    filename: path,
    rowGroupSize,
    columnData: [
      { name: 'source_id', data: col(0) as bigint[], type: 'INT64', nullable: false },
      { name: 'ra', data: col(1) as number[], type: 'DOUBLE' },
      { name: 'dec', data: col(2) as number[], type: 'DOUBLE' },
      { name: 'flux', data: col(3) as number[], type: 'DOUBLE' },
      { name: 'label', data: col(4) as string[], type: 'STRING' },
      { name: 'resolved', data: col(5) as boolean[], type: 'BOOLEAN' },
    ],
  });
}
