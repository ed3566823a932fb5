import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CatalogueTable, type CompiledQuery, compile } from '../../adql/index.js';
import { ANONYMOUS, READER_ROLE } from '../../src/auth/index.js';
import { catalogueOf } from '../../src/tap/catalogue.js';
import { executeQuery, type QueryResult } from '../../src/tap/execute.js';
import { copyFormatFor, encode, type OutputFormat } from '../../votable/index.js';
import { testPool } from '../support/db.js';
import { collect, readAll, run as runTool, tempDir, writeTemp } from '../votable/helpers.js';

/*
 * VOTable BINARY, FITS (both from binary COPY) and JSON (from text COPY) are transcoded from
 * PostgreSQL's COPY output instead of rows read through a cursor (issue 20). These tests hold
 * each to the row path's output for every datatype the node emits: the same bytes (BINARY's
 * base64 may break its lines elsewhere: the decoded bytes are compared), read back by astropy
 * and JSON.parse, and the same statuses at MAXREC and on an error mid-stream (DALI-44..46).
 */

type Pool = Awaited<ReturnType<typeof testPool>>;
let pool: Pool;
let table: CatalogueTable;
const dir = tempDir();

const ROWS = 3000;

beforeAll(async () => {
  pool = await testPool();
  await pool.query(`CREATE TABLE "${pool.schema}".kinds AS
    SELECT i::bigint AS id,
      CASE WHEN i % 10 = 0 THEN NULL WHEN i = 1 THEN -32768 WHEN i = 2 THEN 32767 ELSE i % 30000 END::smallint AS k,
      CASE WHEN i % 10 = 1 THEN NULL WHEN i = 2 THEN -2147483648 WHEN i = 3 THEN 2147483647 ELSE i * 7 END::int AS n,
      CASE WHEN i % 10 = 2 THEN NULL WHEN i = 4 THEN 9223372036854775807 WHEN i = 5 THEN -9223372036854775807
           ELSE i::bigint * 1000000007 END::bigint AS big,
      CASE WHEN i % 11 = 0 THEN NULL WHEN i % 13 = 0 THEN 'NaN' WHEN i = 17 THEN '-Infinity' WHEN i = 19 THEN 'Infinity'
           WHEN i = 23 THEN '-0' ELSE (i / 3.0) * power(10.0, (i % 45) - 22) * (1 - 2 * (i % 2)) END::float8 AS x,
      CASE WHEN i % 12 = 0 THEN NULL WHEN i % 14 = 0 THEN 'NaN' WHEN i = 18 THEN '-Infinity' WHEN i = 20 THEN 'Infinity'
           WHEN i = 25 THEN '-0' ELSE (i / 7.0) * power(10.0, (i % 21) - 10) END::real AS mag,
      CASE WHEN i % 5 = 0 THEN NULL ELSE i % 2 = 0 END AS flag,
      CASE i % 9 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'a&b<c>d "q" ''s''' WHEN 3 THEN E'tab\\there\\nline\\\\back\\rcr'
        WHEN 4 THEN 'Zürich ☃ 𝄞' WHEN 5 THEN E'ctl\\x01\\x1fend' WHEN 6 THEN E'\\uFFFE nonchar' ELSE 'src ' || i END AS name,
      CASE i % 5 WHEN 0 THEN NULL WHEN 1 THEN 'Zürich ☃ 𝄞' WHEN 2 THEN '' ELSE 'ü' || i END AS u,
      CASE WHEN i % 6 = 0 THEN NULL WHEN i % 2 = 0 THEN 'S' ELSE 'M' END::char(1) AS code,
      CASE WHEN i % 7 = 0 THEN NULL ELSE 'ab' || (i % 100) END::char(5) AS fx,
      CASE WHEN i % 4 = 0 THEN NULL ELSE timestamp '2024-02-29 23:59:59' + i * interval '1.5 second' + (i % 3) * interval '0.0004 second' END AS t,
      CASE WHEN i % 4 = 1 THEN NULL ELSE timestamptz '1999-12-31 23:59:59.999+00' + i * interval '1 day 0.001 second' END AS tz,
      ARRAY[i * 0.5, -i * 0.25]::float8[] AS pt,
      CASE WHEN i % 3 = 0 THEN NULL ELSE ARRAY[0, 0, i, 0, i, i]::float8[] END AS poly,
      CASE WHEN i % 8 = 0 THEN NULL ELSE ARRAY[i % 3, -(i % 5), 32767]::smallint[] END AS sa,
      CASE WHEN i % 9 = 0 THEN NULL WHEN i % 9 = 1 THEN '{}' ELSE ARRAY[i, -i, 2147483647] END::int[] AS ia,
      CASE WHEN i % 6 = 0 THEN NULL ELSE ARRAY[i, NULL] END::int[] AS ian,
      CASE WHEN i % 10 = 3 THEN NULL ELSE ARRAY[i::bigint * 4294967296, -1] END::bigint[] AS la,
      CASE WHEN i % 10 = 4 THEN NULL ELSE ARRAY[i / 3.0, 'NaN', '-Infinity', NULL]::real[] END AS fa
    FROM generate_series(1, ${ROWS}) AS i`);
  await pool.query(`GRANT USAGE ON SCHEMA "${pool.schema}" TO ${READER_ROLE}`);
  await pool.query(`GRANT SELECT ON "${pool.schema}".kinds TO ${READER_ROLE}`);
  table = {
    schema: 'lab',
    name: 'kinds',
    sql: { schema: pool.schema, table: 'kinds' },
    columns: [
      { name: 'id', datatype: 'long' },
      { name: 'k', datatype: 'short' },
      { name: 'n', datatype: 'int' },
      { name: 'big', datatype: 'long' },
      { name: 'x', datatype: 'double' },
      { name: 'mag', datatype: 'float' },
      { name: 'flag', datatype: 'boolean' },
      { name: 'name', datatype: 'char', arraysize: '*' },
      { name: 'u', datatype: 'unicodeChar', arraysize: '*' },
      { name: 'code', datatype: 'char' },
      { name: 'fx', datatype: 'char', arraysize: '5' },
      { name: 't', datatype: 'char', arraysize: '*', xtype: 'timestamp' },
      { name: 'tz', datatype: 'char', arraysize: '*', xtype: 'timestamp' },
      { name: 'pt', datatype: 'double', arraysize: '2', xtype: 'point' },
      { name: 'poly', datatype: 'double', arraysize: '*', xtype: 'polygon' },
      { name: 'sa', datatype: 'short', arraysize: '3' },
      { name: 'ia', datatype: 'int', arraysize: '*' },
      { name: 'ian', datatype: 'int', arraysize: '*' },
      { name: 'la', datatype: 'long', arraysize: '*' },
      { name: 'fa', datatype: 'float', arraysize: '*' },
    ],
  };
});
afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

const ALL = `SELECT ${[
  'id',
  'k',
  'n',
  'big',
  'x',
  'mag',
  'flag',
  'name',
  'u',
  'code',
  'fx',
  't',
  'tz',
  'pt',
  'poly',
  'sa',
  'ia',
  'ian',
  'la',
  'fa',
].join(', ')} FROM lab.kinds ORDER BY id`;

const adql = (query: string, maxrec: number) => async () =>
  compile(query, catalogueOf([table], []), { maxrec });

async function run(
  build: () => Promise<CompiledQuery>,
  format: OutputFormat,
  opts: { copy: boolean; maxrec?: number; readAheadBytes?: number },
): Promise<{ result: QueryResult; body: Buffer }> {
  const result = await executeQuery(pool, build, {
    identity: ANONYMOUS,
    maxrec: opts.maxrec ?? 100_000,
    timeoutSeconds: 60,
    copyFormat: opts.copy ? copyFormatFor(format) : undefined,
    readAheadBytes: opts.readAheadBytes,
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
        },
        { tmpDir: dir },
      ),
    );
    return { result, body };
  } finally {
    await result.close();
  }
}

/** A BINARY document as its text around the STREAM and the decoded bytes of the STREAM. */
function splitStream(xml: string): { text: string; raw: Buffer } {
  const m = /(<STREAM encoding="base64">)([^<]*)(<\/STREAM>)/.exec(xml);
  if (!m) throw new Error('no STREAM');
  return {
    text: xml.slice(0, m.index) + m[1] + m[3] + xml.slice(m.index + m[0].length),
    raw: Buffer.from(m[2].replace(/\s+/g, ''), 'base64'),
  };
}

const statuses = (xml: string) => [...xml.matchAll(/name="QUERY_STATUS" value="(\w+)"/g)].map((m) => m[1]);

// astropy's reading of a FITS table or a VOTable, nulls (masked) as null, non-finite floats spelled.
const ASTROPY_DUMP = `
import sys, json, math, warnings
import numpy as np
from astropy.table import Table
warnings.simplefilter('ignore')
def conv(v):
    if v is np.ma.masked: return None
    if isinstance(v, np.ma.MaskedArray):
        mm = np.ma.getmaskarray(v)
        return [None if mm.flat[i] else conv(v.data.flat[i]) for i in range(v.size)]
    if isinstance(v, np.ndarray): return [conv(x) for x in v.flat]
    if isinstance(v, np.generic): v = v.item()
    if isinstance(v, bytes): return v.decode('ascii', 'replace')
    if isinstance(v, float):
        if math.isnan(v): return 'NaN'
        if math.isinf(v): return '+Inf' if v > 0 else '-Inf'
        if v == 0 and math.copysign(1, v) < 0: return '-0'
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53: return str(v)
    return v
out = []
for path, fmt in zip(sys.argv[1::2], sys.argv[2::2]):
    if fmt == 'fits':
        from astropy.io import fits
        with fits.open(path) as h:
            h.verify('exception')
        t = Table.read(path, format='fits')
    else:
        t = Table.read(path, format='votable')
    out.append({"names": t.colnames, "rows": [[conv(t[c][i]) for c in t.colnames] for i in range(len(t))]})
print(json.dumps(out))
`;

async function astropy(
  files: [string, 'fits' | 'votable'][],
): Promise<{ names: string[]; rows: unknown[][] }[]> {
  const r = await runTool('/usr/bin/python3', ['-c', ASTROPY_DUMP, ...files.flat()]);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

const col = (name: string) => table.columns.findIndex((c) => c.name === name);

describe('VOTable BINARY from binary COPY', () => {
  it('is the row path document, decoded byte for byte, for every datatype, and astropy reads the same', async () => {
    for (const readAheadBytes of [undefined, 4096]) {
      const viaCopy = await run(adql(ALL, 100_000), 'votable/binary', { copy: true, readAheadBytes });
      expect(viaCopy.result.copy?.format).toBe('binary');
      const viaRows = await run(adql(ALL, 100_000), 'votable/binary', { copy: false });
      expect(viaRows.result.copy).toBeUndefined();
      const a = splitStream(viaCopy.body.toString('utf8'));
      const b = splitStream(viaRows.body.toString('utf8'));
      expect(a.text).toBe(b.text);
      expect(a.raw.equals(b.raw)).toBe(true);
      expect(statuses(a.text)).toEqual(['OK']);
      expect((await readAll(viaCopy.body)).rows.length).toBe(ROWS);
      if (readAheadBytes === undefined) {
        const [c, r] = await astropy([
          [writeTemp(dir, 'copy.vot', viaCopy.body), 'votable'],
          [writeTemp(dir, 'rows.vot', viaRows.body), 'votable'],
        ]);
        expect(c).toEqual(r);
        expect(c.names).toEqual(table.columns.map((x) => x.name));
        const row = (id: number) => c.rows[id - 1];
        expect(row(17)[col('x')]).toBe('-Inf');
        expect(row(19)[col('x')]).toBe('+Inf');
        // A null double is NaN in BINARY (VOT-32); astropy masks NaN either way.
        expect(row(13)[col('x')]).toBeNull();
        expect(row(11)[col('x')]).toBeNull();
        expect(row(4)[col('big')]).toBe('9223372036854775807');
        expect(row(3)[col('n')]).toBe(2147483647);
        // The smallest int is BINARY's default null (VOT-28): astropy reads it as null, on both paths.
        expect(row(2)[col('n')]).toBeNull();
        expect(row(1)[col('u')]).toBe('Zürich ☃ 𝄞');
        expect(row(10)[col('k')]).toBeNull(); // the magic value, declared in VALUES null
        expect(row(7)[col('ian')]).toEqual([7, null]);
      }
    }
  });

  it('puts OVERFLOW up front within the read-ahead and after the TABLE beyond it; an error after rows ends it with ERROR', async () => {
    const q = 'SELECT id, x, name FROM lab.kinds';
    const small = await run(adql(q, 100), 'votable/binary', { copy: true, maxrec: 100 });
    expect(small.result.copy?.complete).toBe(true);
    expect(statuses(small.body.toString())).toEqual(['OVERFLOW']);
    expect((await readAll(small.body)).rows.length).toBe(100);
    const large = await run(adql(q, 2000), 'votable/binary', {
      copy: true,
      maxrec: 2000,
      readAheadBytes: 1024,
    });
    expect(large.result.copy?.complete).toBe(false);
    const xml = large.body.toString();
    expect(statuses(xml)).toEqual(['OK', 'OVERFLOW']);
    expect(xml.lastIndexOf('value="OVERFLOW"')).toBeGreaterThan(xml.indexOf('</TABLE>'));
    expect((await readAll(large.body)).rows.length).toBe(2000);

    const late = () =>
      Promise.resolve<CompiledQuery>({
        sql: 'SELECT 1 / (i - 200000) AS v FROM generate_series(1, 300000) AS i',
        params: [],
        columns: [{ name: 'v', datatype: 'int' }],
      });
    const failed = await run(late, 'votable/binary', { copy: true, readAheadBytes: 1024, maxrec: 1_000_000 });
    expect(failed.result.copy).toBeDefined();
    const text = failed.body.toString();
    expect(statuses(text)).toEqual(['OK', 'ERROR']);
    expect(text).toMatch(/value="ERROR">division by zero<\/INFO>\s*<\/RESOURCE>\s*<\/VOTABLE>\s*$/);
    expect((await readAll(failed.body)).rows.length).toBeGreaterThan(1000);
  });
});

describe('JSON from text COPY', () => {
  it('is the row path text byte for byte for every datatype, and JSON.parse reads it', async () => {
    for (const readAheadBytes of [undefined, 4096]) {
      const viaCopy = await run(adql(ALL, 100_000), 'json', { copy: true, readAheadBytes });
      expect(viaCopy.result.copy?.format).toBe('text');
      const viaRows = await run(adql(ALL, 100_000), 'json', { copy: false });
      expect(viaRows.result.copy).toBeUndefined();
      expect(viaCopy.body.toString('utf8')).toBe(viaRows.body.toString('utf8'));
      const doc = JSON.parse(viaCopy.body.toString('utf8'));
      expect(doc.status).toBe('OK');
      expect(doc.data).toHaveLength(ROWS);
      const row = (id: number) => doc.data[id - 1];
      expect(row(17)[col('x')]).toBeNull(); // JSON has no infinities
      expect(row(13)[col('x')]).toBeNull();
      expect(Object.is(row(23)[col('x')], 0)).toBe(true);
      expect(row(3)[col('n')]).toBe(2147483647);
      expect(row(1)[col('k')]).toBe(-32768);
      expect(row(2)[col('flag')]).toBe(true);
      expect(row(5)[col('flag')]).toBeNull();
      expect(row(3)[col('name')]).toBe('tab\there\nline\\back\rcr');
      expect(row(4)[col('name')]).toBe('Zürich ☃ 𝄞');
      expect(row(2)[col('name')]).toBe('a&b<c>d "q" \'s\'');
      expect(row(1)[col('u')]).toBe('Zürich ☃ 𝄞');
      expect(row(1)[col('t')]).toBe('2024-03-01T00:00:00.500');
      expect(row(4)[col('t')]).toBeNull();
      expect(row(7)[col('ian')]).toEqual([7, null]);
      expect(row(4)[col('fa')]).toBeNull();
      expect(row(5)[col('fa')].slice(1)).toEqual([null, null, null]); // NaN, -Infinity, NULL
      // Beyond 2^53 the digits are PostgreSQL's, unrounded.
      expect(viaCopy.body.toString()).toContain('9223372036854775807');
    }
  });

  it('says OVERFLOW at MAXREC and ERROR with the message after the rows, still one JSON document', async () => {
    const capped = await run(adql('SELECT id, name FROM lab.kinds', 10), 'json', { copy: true, maxrec: 10 });
    const small = JSON.parse(capped.body.toString());
    expect(small.data).toHaveLength(10);
    expect(small.status).toBe('OVERFLOW');
    const large = await run(adql('SELECT id, name FROM lab.kinds', 2000), 'json', {
      copy: true,
      maxrec: 2000,
      readAheadBytes: 1024,
    });
    expect(large.result.copy?.complete).toBe(false);
    const big = JSON.parse(large.body.toString());
    expect(big.data).toHaveLength(2000);
    expect(big.status).toBe('OVERFLOW');
    const exact = await run(adql('SELECT TOP 2000 id FROM lab.kinds', 2000), 'json', {
      copy: true,
      maxrec: 2000,
      readAheadBytes: 1024,
    });
    expect(JSON.parse(exact.body.toString()).status).toBe('OK');

    const late = () =>
      Promise.resolve<CompiledQuery>({
        sql: 'SELECT 1 / (i - 200000) AS v FROM generate_series(1, 300000) AS i',
        params: [],
        columns: [{ name: 'v', datatype: 'int' }],
      });
    const failed = await run(late, 'json', { copy: true, readAheadBytes: 1024, maxrec: 1_000_000 });
    expect(failed.result.copy).toBeDefined();
    const doc = JSON.parse(failed.body.toString());
    expect(doc.status).toBe('ERROR');
    expect(doc.message).toBe('division by zero');
    expect(doc.data.length).toBeGreaterThan(1000);
  });
});

describe('FITS binary table from binary COPY', () => {
  it('is the row path file byte for byte for every datatype, and astropy reads the same', async () => {
    for (const readAheadBytes of [undefined, 4096]) {
      const viaCopy = await run(adql(ALL, 100_000), 'fits', { copy: true, readAheadBytes });
      expect(viaCopy.result.copy?.format).toBe('binary');
      const viaRows = await run(adql(ALL, 100_000), 'fits', { copy: false });
      expect(viaRows.result.copy).toBeUndefined();
      expect(viaCopy.body.length % 2880).toBe(0);
      expect(viaCopy.body.equals(viaRows.body)).toBe(true);
    }
    const viaCopy = await run(adql(ALL, 100_000), 'fits', { copy: true });
    const [c] = await astropy([[writeTemp(dir, 'copy.fits', viaCopy.body), 'fits']]);
    expect(c.names).toEqual(table.columns.map((x) => x.name));
    expect(c.rows).toHaveLength(ROWS);
    const row = (id: number) => c.rows[id - 1];
    expect(row(17)[col('x')]).toBe('-Inf');
    // FITS floats have NaN for null (FITS 4.0 §7.3.3); astropy masks NaN either way.
    expect(row(13)[col('x')]).toBeNull();
    expect(row(11)[col('x')]).toBeNull();
    expect(row(4)[col('big')]).toBe('9223372036854775807');
    expect(row(10)[col('k')]).toBeNull(); // TNULL
    expect(row(1)[col('u')]).toBe('Z?rich ? ??'); // FITS text is ASCII
    expect(row(1)[col('t')]).toBe('2024-03-01T00:00:00.500');
    expect(row(2)[col('ia')]).toEqual([2, -2, 2147483647]);
  });

  it('holds MAXREC rows at MAXREC; an error after the first rows is thrown before any byte', async () => {
    const capped = await run(adql('SELECT id, name FROM lab.kinds', 2000), 'fits', {
      copy: true,
      maxrec: 2000,
      readAheadBytes: 1024,
    });
    expect(capped.result.copy?.complete).toBe(false);
    const [c] = await astropy([[writeTemp(dir, 'capped.fits', capped.body), 'fits']]);
    expect(c.rows).toHaveLength(2000);

    const late = () =>
      Promise.resolve<CompiledQuery>({
        sql: 'SELECT 1 / (i - 200000) AS v FROM generate_series(1, 300000) AS i',
        params: [],
        columns: [{ name: 'v', datatype: 'int' }],
      });
    const result = await executeQuery(pool, late, {
      identity: ANONYMOUS,
      maxrec: 1_000_000,
      timeoutSeconds: 60,
      copyFormat: 'binary',
      readAheadBytes: 1024,
    });
    expect(result.copy).toBeDefined();
    let bytes = 0;
    try {
      await expect(
        (async () => {
          for await (const c of encode('fits', { fields: result.fields, copy: result.copy }, { tmpDir: dir }))
            bytes += c.length;
        })(),
      ).rejects.toThrow(/division by zero/);
    } finally {
      await result.close();
    }
    // NAXIS2 comes first in FITS: the spool is read to its end before the header, so the
    // caller still answers with an error document, not a cut file.
    expect(bytes).toBe(0);
  });
});
