import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, DuckDBListValue, DuckDBTimestampValue } from '@duckdb/node-api';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CatalogueTable, type CompiledQuery, compile } from '../../adql/index.js';
import { ANONYMOUS, READER_ROLE } from '../../src/auth/index.js';
import { catalogueOf } from '../../src/tap/catalogue.js';
import { executeQuery } from '../../src/tap/execute.js';
import {
  copyFormatFor,
  encode,
  type OutputFormat,
  VOPARQUET_CONTENT_KEY,
  VOPARQUET_VERSION_KEY,
} from '../../votable/index.js';
import { isoFromMillis } from '../../votable/values.js';
import { testPool } from '../support/db.js';
import { collect, readAll, run as runTool } from '../votable/helpers.js';

/*
 * VOParquet output (IVOA Note "Parquet in the VO" 1.0 §2.2; DALI 1.2 RESPONSEFORMAT parquet,
 * DALI-17..19): the node's own query path (executeQuery + encode, from binary COPY and from a
 * cursor), read back by DuckDB and by hyparquet, holds the same values as the BINARY2 result
 * for every column type the catalogue publishes; the footer's VOTable is valid for votlint
 * and carries the FIELD metadata and the true QUERY_STATUS (DALI-44..46).
 */

type Pool = Awaited<ReturnType<typeof testPool>>;
let pool: Pool;
let table: CatalogueTable;
let dir: string;
let duck: Awaited<ReturnType<Awaited<ReturnType<typeof DuckDBInstance.create>>['connect']>>;

beforeAll(async () => {
  pool = await testPool();
  dir = mkdtempSync(join(tmpdir(), 'vonode-parquet-'));
  duck = await (await DuckDBInstance.create(':memory:')).connect();
  await pool.query(`CREATE TABLE "${pool.schema}".pq_things AS
    SELECT i::bigint AS id, (i % 30000 - 15000)::smallint AS k, i * 7 - 20000 AS n,
           CASE WHEN i % 11 = 0 THEN NULL WHEN i % 13 = 0 THEN 'NaN' WHEN i = 17 THEN '-Infinity' WHEN i = 19 THEN 'Infinity' ELSE i / 3.0 END::float8 AS x,
           (i / 7.0)::real AS mag,
           CASE WHEN i % 5 = 0 THEN NULL ELSE i % 2 = 0 END AS flag,
           CASE i % 9 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'a&b<c>d "q" ''s''' WHEN 3 THEN E'tab\\there\\nline'
             WHEN 4 THEN 'Zürich ☃ 𝄞' ELSE 'src ' || i END AS name,
           CASE WHEN i % 4 = 0 THEN NULL ELSE timestamp '2024-02-29 23:59:59' + i * interval '1.5 second' + (i % 3) * interval '0.0004 second' END AS t,
           ARRAY[i * 0.5, -i * 0.25]::float8[] AS pt,
           CASE WHEN i % 3 = 0 THEN NULL ELSE ARRAY[0, 0, i, 0, i, i]::float8[] END AS poly,
           CASE WHEN i % 7 = 0 THEN NULL ELSE ARRAY[i, -i, i % 5]::int4[] END AS ints,
           CASE WHEN i % 8 = 0 THEN NULL ELSE ARRAY[i::bigint * 1000000000000]::int8[] END AS longs,
           (i * 1.25)::numeric(12, 2) AS amount,
           CASE WHEN i % 6 = 0 THEN NULL WHEN i % 2 = 0 THEN 'S' ELSE 'M' END::char(1) AS code
    FROM generate_series(1, 3000) AS i`);
  await pool.query(`GRANT USAGE ON SCHEMA "${pool.schema}" TO ${READER_ROLE}`);
  await pool.query(`GRANT SELECT ON "${pool.schema}".pq_things TO ${READER_ROLE}`);
  table = {
    schema: 'lab',
    name: 'things',
    sql: { schema: pool.schema, table: 'pq_things' },
    columns: [
      { name: 'id', datatype: 'long', ucd: 'meta.id;meta.main' },
      { name: 'k', datatype: 'short' },
      { name: 'n', datatype: 'int', unit: 'count' },
      { name: 'x', datatype: 'double', unit: 'deg', ucd: 'pos.eq.ra', description: 'a double' },
      { name: 'mag', datatype: 'float', unit: 'mag', ucd: 'phot.mag' },
      { name: 'flag', datatype: 'boolean' },
      { name: 'name', datatype: 'char', arraysize: '*' },
      { name: 'uname', sqlName: 'name', datatype: 'unicodeChar', arraysize: '*' },
      { name: 't', datatype: 'char', arraysize: '*', xtype: 'timestamp', ucd: 'time.epoch' },
      { name: 'pt', datatype: 'double', arraysize: '2', xtype: 'point', unit: 'deg' },
      { name: 'poly', datatype: 'double', arraysize: '*', xtype: 'polygon', unit: 'deg' },
      { name: 'ints', datatype: 'int', arraysize: '*' },
      { name: 'longs', datatype: 'long', arraysize: '*' },
      { name: 'amount', datatype: 'double' },
      { name: 'code', datatype: 'char' },
    ],
  } as CatalogueTable;
});
afterAll(async () => {
  duck?.closeSync();
  rmSync(dir, { recursive: true, force: true });
  await pool.close();
});

const ALL =
  'SELECT id, k, n, x, mag, flag, name, uname, t, pt, poly, ints, longs, amount, code FROM lab.things';

function adql(query: string, maxrec: number) {
  return async () => compile(query, catalogueOf([table], []), { maxrec });
}

async function run(
  build: () => Promise<CompiledQuery>,
  format: OutputFormat,
  opts: { copy: boolean; maxrec?: number },
): Promise<{ body: Buffer; viaCopy: boolean }> {
  const maxrec = opts.maxrec ?? 100_000;
  const result = await executeQuery(pool, build, {
    identity: ANONYMOUS,
    maxrec,
    timeoutSeconds: 60,
    copyFormat: opts.copy ? copyFormatFor(format) : undefined,
    readAheadBytes: 4096,
  });
  try {
    const body = await collect(
      encode(
        format,
        {
          fields: result.fields,
          rows: result.rows,
          copy: result.copy,
          leadingStatus: result.leadingStatus,
          trailingStatus: result.trailingStatus,
          infos: [{ name: 'QUERY', value: 'the query' }],
        },
        { parquetRowGroupRows: 1000 },
      ),
    );
    return { body, viaCopy: result.copy !== undefined };
  } finally {
    await result.close();
  }
}

let files = 0;
function save(body: Buffer): string {
  const p = join(dir, `r${files++}.parquet`);
  writeFileSync(p, body);
  return p;
}

/** DuckDB's values in the reader's mapping: timestamps as DALI text (ms), lists as arrays. */
function fromDuck(v: unknown): unknown {
  if (v instanceof DuckDBTimestampValue) return isoFromMillis(Number(v.micros / 1000n));
  if (v instanceof DuckDBListValue) return v.items.map(fromDuck);
  return v;
}

function fromHyparquet(v: unknown): unknown {
  if (v instanceof Date) return isoFromMillis(v.getTime());
  if (Array.isArray(v)) return v.map(fromHyparquet);
  return v ?? null;
}

async function duckRows(file: string): Promise<unknown[][]> {
  const r = await duck.runAndReadAll(`SELECT * FROM read_parquet('${file}')`);
  return r.getRows().map((row) => row.map(fromDuck));
}

async function footer(file: string): Promise<Record<string, string>> {
  const r = await duck.runAndReadAll(
    `SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata('${file}')`,
  );
  return Object.fromEntries(r.getRows().map(([k, v]) => [String(k), String(v)]));
}

/**
 * The BINARY2 rows as Parquet holds them: char is 7-bit in BINARY2 (VOT-37: non-ASCII becomes
 * '?'), Parquet strings are UTF-8, so char cells are compared with that one substitution.
 */
function asBinary2(rows: unknown[][], charColumns: number[]): unknown[][] {
  return rows.map((r) =>
    r.map((v, i) => (charColumns.includes(i) && typeof v === 'string' ? v.replace(/[^\x00-\x7f]/g, '?') : v)),
  );
}

describe('VOParquet results hold the BINARY2 values (Note §2.2, DALI-17)', () => {
  for (const copy of [true, false]) {
    it(`from ${copy ? 'binary COPY' : 'the cursor'}: DuckDB and hyparquet read every type, nulls, NaN, infinities, unicode`, async () => {
      const q = `${ALL} ORDER BY id`;
      const b2 = await readAll((await run(adql(q, 100_000), 'votable/binary2', { copy })).body);
      const pq = await run(adql(q, 100_000), 'parquet', { copy });
      // numeric (amount) has no binary transcoding: both formats then read the cursor.
      expect(pq.viaCopy).toBe(false);
      const file = save(pq.body);
      const want = b2.rows;
      expect(want.length).toBe(3000);
      const viaDuck = await duckRows(file);
      const chars = [6, 14];
      expect(asBinary2(viaDuck, chars)).toEqual(want);
      const ab = new Uint8Array(pq.body).buffer;
      const viaHy = await parquetReadObjects({ file: ab });
      expect(
        asBinary2(
          viaHy.map((r) => Object.values(r).map(fromHyparquet)),
          chars,
        ),
      ).toEqual(want);
      // Parquet keeps what BINARY2's char cannot: the UTF-8 text, the same as unicodeChar.
      expect(viaDuck[3][6]).toBe('Zürich ☃ 𝄞');
      expect(viaDuck[3][7]).toBe('Zürich ☃ 𝄞');
      // Row groups as configured, so a reader never needs the whole file in memory.
      expect(parquetMetadata(ab).row_groups.length).toBe(3);
    });
  }

  it('streams from binary COPY when every column type has a transcoding', async () => {
    const q =
      'SELECT id, k, n, x, mag, flag, name, uname, t, pt, poly, ints, longs, code FROM lab.things ORDER BY id';
    const pq = await run(adql(q, 100_000), 'parquet', { copy: true });
    expect(pq.viaCopy).toBe(true);
    const b2 = await run(adql(q, 100_000), 'votable/binary2', { copy: true });
    expect(b2.viaCopy).toBe(true);
    const want = (await readAll(b2.body)).rows;
    const got = await duckRows(save(pq.body));
    expect(asBinary2(got, [6, 13])).toEqual(want);
    // Parquet's own types, so readers see numbers and times, not text.
    const schema = await duck.runAndReadAll(
      `SELECT name, type, converted_type, logical_type::VARCHAR FROM parquet_schema('${join(dir, `r${files - 1}.parquet`)}')`,
    );
    const types = Object.fromEntries(schema.getRows().map(([n, t, c, l]) => [String(n), [t, c, l]]));
    expect(types.id[0]).toBe('INT64');
    expect(types.k).toEqual(['INT32', 'INT_16', expect.stringContaining('bitWidth')]);
    expect(types.flag[0]).toBe('BOOLEAN');
    expect(types.mag[0]).toBe('FLOAT');
    expect(types.name[1]).toBe('UTF8');
    expect(String(types.t[2])).toMatch(/TimestampType\(isAdjustedToUTC=0, .*MICROS=MicroSeconds/);
    expect(types.pt[1]).toBe('LIST');
    // Timestamps keep PostgreSQL's microseconds (BINARY2's DALI text stops at milliseconds).
    const t = await duck.runAndReadAll(
      `SELECT strftime(t, '%Y-%m-%dT%H:%M:%S.%f') FROM read_parquet('${join(dir, `r${files - 1}.parquet`)}') WHERE id = 2`,
    );
    expect(t.getRows()[0][0]).toBe('2024-03-01T00:00:02.000800');
  });

  it('carries the data-less VOTable of the Note in its footer: version 1.0, FIELDs with units and UCDs, votlint-clean', async () => {
    const pq = await run(adql(`${ALL} ORDER BY id`, 100_000), 'parquet', { copy: true });
    const file = save(pq.body);
    const kv = await footer(file);
    expect(kv[VOPARQUET_VERSION_KEY]).toBe('1.0');
    const xml = kv[VOPARQUET_CONTENT_KEY];
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>/);
    expect(xml).not.toMatch(/<DATA/);
    expect(xml).toMatch(/<INFO name="QUERY_STATUS" value="OK"\/>/);
    const meta = await readAll(xml);
    expect(meta.serialization).toBe('none');
    expect(meta.rows).toEqual([]);
    // One FIELD per top-level Parquet column, in order (Note §2.3), describing its real type.
    expect(meta.fields.map((f) => f.name)).toEqual(table.columns.map((c) => c.name));
    const byName = Object.fromEntries(meta.fields.map((f) => [f.name, f]));
    expect(byName.x).toMatchObject({
      datatype: 'double',
      unit: 'deg',
      ucd: 'pos.eq.ra',
      description: 'a double',
    });
    expect(byName.mag).toMatchObject({ datatype: 'float', unit: 'mag', ucd: 'phot.mag' });
    expect(byName.pt).toMatchObject({ datatype: 'double', arraysize: '2', xtype: 'point' });
    expect(byName.t).toMatchObject({ datatype: 'long', ucd: 'time.epoch' });
    expect(byName.t.xtype).toBeUndefined();
    // The Note: "must be a schema-valid and legal VOTable instance".
    const vot = join(dir, 'footer.vot');
    writeFileSync(vot, xml);
    const r = await runTool('stilts', ['votlint', `votable=${vot}`]);
    const problems = `${r.stdout}\n${r.stderr}`
      .split('\n')
      .filter((l) => /^(ERROR|WARNING)|Exception/.test(l));
    expect(problems).toEqual([]);
  });

  it('says OVERFLOW in the footer when MAXREC cuts the result, from COPY and from the cursor (DALI-44)', async () => {
    for (const copy of [true, false]) {
      const pq = await run(adql('SELECT id, x FROM lab.things ORDER BY id', 100), 'parquet', {
        copy,
        maxrec: 100,
      });
      const file = save(pq.body);
      expect((await duckRows(file)).length).toBe(100);
      expect((await footer(file))[VOPARQUET_CONTENT_KEY]).toMatch(
        /<INFO name="QUERY_STATUS" value="OVERFLOW"\/>/,
      );
    }
  });

  it('MAXREC=0 gives a valid file with the columns and no rows (TAP-22)', async () => {
    const pq = await run(adql('SELECT id, name FROM lab.things', 0), 'parquet', { copy: true, maxrec: 0 });
    const file = save(pq.body);
    expect(await duckRows(file)).toEqual([]);
    const d = await duck.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
    expect(d.getRows().map((r) => [r[0], r[1]])).toEqual([
      ['id', 'BIGINT'],
      ['name', 'VARCHAR'],
    ]);
  });

  it('an error mid-stream keeps the rows before it and says ERROR in the footer (DALI-46)', async () => {
    // Division by zero at id 2500, after two row groups have been sent.
    const q = 'SELECT id, 1 / (2500 - id) AS r FROM lab.things';
    const pq = await run(adql(q, 100_000), 'parquet', { copy: true });
    const file = save(pq.body);
    const rows = await duckRows(file);
    expect(rows.length % 1000).toBe(0);
    expect(rows.length).toBeLessThan(2500);
    expect((await footer(file))[VOPARQUET_CONTENT_KEY]).toMatch(
      /<INFO name="QUERY_STATUS" value="ERROR">[^<]*division by zero/,
    );
  });
});
