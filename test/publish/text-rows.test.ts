/**
 * The loader's text path for CSV (src/publish/text-rows.ts): rows encoded straight from
 * their line must be the very bytes the general path (typed values, then the binary
 * encoder) writes, whatever the line holds; lines it does not take are left to the general
 * path, which words the errors, naming the row and column.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CatalogueDescription,
  type ColumnDescription,
  CopyBinaryWriter,
  planTable,
  publishCatalogue,
  rowEncoder,
  type TableDescription,
} from '../../src/publish/index.js';
import { openDataSource } from '../../src/publish/readers/index.js';
import { DECLINED } from '../../src/publish/text-rows.js';
import { testDatabaseUrl } from '../support/db.js';
import { recordingStore } from './load-support.js';

const SCHEMA = `pubt_${Math.random().toString(36).slice(2, 8)}`;

const COLUMNS: ColumnDescription[] = [
  { name: 'id', datatype: 'long', nullable: false, description: 'id' },
  { name: 'ra', datatype: 'double', unit: 'deg', description: 'ra' },
  { name: 'dec', datatype: 'double', unit: 'deg', description: 'dec' },
  { name: 'flux', datatype: 'float', description: 'flux' },
  { name: 'n', datatype: 'int', description: 'n' },
  { name: 's', datatype: 'short', description: 's' },
  { name: 'ok', datatype: 'boolean', description: 'ok' },
  { name: 'flag', datatype: 'unsignedByte', description: 'flag' },
  { name: 'label', datatype: 'char', arraysize: '*', description: 'label' },
  { name: 'big', datatype: 'long', description: 'big' },
];

const table = (name: string): TableDescription => ({
  schema: SCHEMA,
  name,
  description: 'text path tests',
  primaryKey: ['id'],
  position: { ra: 'ra', dec: 'dec' },
  columns: COLUMNS,
});

const catalogue = (t: TableDescription): CatalogueDescription => ({
  schemas: [{ name: SCHEMA, description: 'tables of the text path tests' }],
  tables: [t],
});

/** Every kind of cell the text path takes, and each kind it must leave to the general path. */
const LINES = [
  'id,ra,dec,flux,n,s,ok,flag,label,big',
  // The first rows are the type sample: split by the reader, always the general path.
  '1,10.5,-30.25,0.5,7,3,t,200,abc,12',
  '2,11,-31,0.25,8,4,f,1,def,13',
  // Plain forms: the text path.
  '3,204.72910373210837,-45.123456789012345,0.30000001192092896,-2147483648,-32768,FALSE,0,x y,999999999999999',
  '4,1.5e2,2.5E-1,1e-7,2147483647,32767,1,255,z,-5',
  '5,0.1234567890123456,-0.0,-1.5e-320,0,0,True,2,plain,0',
  '6,359.9999999,90,3.4e38,1,1,T,3,Q,1\r',
  '7,,,,,,,,,',
  // Left to the general path: quotes, blanks, words, 18 digits, non-ASCII.
  '8,1,2,3,4,5,t,6,"quoted, text",7',
  '9, 12.5 ,-1,+3.25,+5,-0,true,1,  padded  ,-9',
  '10,0,0,NaN,1,1,T,3,z,1',
  '11,0,0,Infinity,1,1,T,3,z,1',
  '12,0,0,-inf,1,1,F,3,z,123456789012345678',
  '13,1,1,1,1,1,1,1,ünïcode,1',
  '14,2,2,2,2,2,0,2,last,2',
];

/** The file's rows as COPY binary, by the text path (with its declines) or the general path. */
async function encodeAll(path: string, text: boolean) {
  const desc = table('t');
  const types = Object.fromEntries(COLUMNS.map((c) => [c.name, c.datatype]));
  const source = await openDataSource(path, { types, sampleRows: 2 });
  const encoder = rowEncoder(planTable(desc), source);
  const w = new CopyBinaryWriter();
  const keys: number[] = [];
  let declined = 0;
  if (text) {
    const write = encoder.text;
    if (!write || !source.textRows) throw new Error('the CSV source has no text path');
    for await (const b of source.textRows())
      for (let i = 0; i < b.count; i++) {
        let key = b.starts[i] >= 0 ? write(w, b.text, b.starts[i], b.ends[i]) : DECLINED;
        if (key === DECLINED) {
          declined++;
          key = encoder.write(w, b.values(i), b.firstRow + i);
        }
        keys.push(key);
      }
  } else
    for await (const b of source.batches()) {
      let row = b.firstRow;
      for (const values of b.rows) keys.push(encoder.write(w, values, row++));
    }
  await source.close();
  return { bytes: Buffer.from(w.buffer.subarray(0, w.pos)), keys, declined };
}

describe('the CSV text path', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vonode-text-rows-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the same COPY bytes and HEALPix keys as the general path, declining what it does not take', async () => {
    const path = join(dir, 'cells.csv');
    writeFileSync(path, `${LINES.join('\n')}\n`);
    const general = await encodeAll(path, false);
    const fast = await encodeAll(path, true);
    expect(fast.keys).toEqual(general.keys);
    expect(fast.bytes.equals(general.bytes)).toBe(true);
    expect(fast.keys).toHaveLength(LINES.length - 1);
    // The two sample rows, and rows 8 to 13: quoted, blanks, NaN, Infinity, -inf and 18 digits, non-ASCII.
    expect(fast.declined).toBe(2 + 6);
    // Row 7 has no position: no key (NULL index, sorted last).
    expect(fast.keys[6]).toBe(-1);
  });
});

describe('publishing a CSV through the text path', () => {
  let pool: pg.Pool;
  let dir: string;
  const store = recordingStore();
  const ROWS = 30_000;

  /** ROWS rows; `bad` puts a text in the flux cell of that row. */
  function csv(name: string, bad?: number): string {
    const lines = [LINES[0]];
    for (let i = 1; i <= ROWS; i++) {
      const flux = i === bad ? 'bright' : i % 7 === 0 ? '' : String(Math.fround(i / 977));
      const label = i % 1000 === 0 ? `"row, ${i}"` : `r${i}`;
      lines.push(
        `${i},${((i * 7919) % 36000) / 100},${((i * 104729) % 18000) / 100 - 90},${flux},${i},${i % 30000},${i % 2 ? 't' : 'f'},${i % 256},${label},${i * 1000003}`,
      );
    }
    const path = join(dir, name);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  }

  beforeAll(() => {
    pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 4 });
    dir = mkdtempSync(join(tmpdir(), 'vonode-text-publish-'));
  });
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await pool.end();
    rmSync(dir, { recursive: true, force: true });
  });

  const digest = async (name: string) =>
    (
      await pool.query<{ d: string; n: string }>(
        `SELECT md5(string_agg(t::text, '|' ORDER BY id)) AS d, count(*)::text AS n FROM ${SCHEMA}.${name}_v1 t`,
      )
    ).rows[0];

  it('publishes the same rows as the general path, sorting through temporary runs', async () => {
    const path = csv('good.csv');
    // A small sort memory: many runs go through temporary files.
    const opts = { store, validation: 'lax' as const, sortMemoryBytes: 256 * 1024 };
    const types = Object.fromEntries(COLUMNS.map((c) => [c.name, c.datatype]));
    // The same file with its text path hidden: every row through typed values.
    const general = async (p: string) => {
      const source = await openDataSource(p, { types });
      return { ...source, textRows: undefined, batches: () => source.batches() };
    };
    await publishCatalogue(pool, catalogue(table('one')), [path], { ...opts, openSource: general });
    await publishCatalogue(pool, catalogue(table('two')), [path], opts);
    const one = await digest('one');
    const two = await digest('two');
    expect(one.n).toBe(String(ROWS));
    expect(two).toEqual(one);
    // In HEALPix order: the physical order follows the index.
    const order = await pool.query<{ sorted: boolean }>(
      `SELECT bool_and(prev IS NULL OR prev <= h) AS sorted FROM (
         SELECT healpix AS h, lag(healpix) OVER (ORDER BY ctid) AS prev FROM ${SCHEMA}.two_v1) s`,
    );
    expect(order.rows[0].sorted).toBe(true);
  });

  it('names the row and column of a bad cell the text path declined', async () => {
    const path = csv('bad.csv', 25_001);
    await expect(
      publishCatalogue(pool, catalogue(table('bad')), [path], { store, validation: 'lax' }),
    ).rejects.toThrow(/row 25001, column "flux".*"bright" is not a float/);
    const left = await pool.query(
      'SELECT 1 FROM vonode.published_tables WHERE schema_name = $1 AND table_name = $2',
      [SCHEMA, 'bad'],
    );
    expect(left.rowCount).toBe(0);
  });
});
