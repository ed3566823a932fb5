import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CatalogueTable, type CompiledQuery, compile } from '../../adql/index.js';
import { ANONYMOUS, READER_ROLE } from '../../src/auth/index.js';
import { catalogueOf } from '../../src/tap/catalogue.js';
import { executeQuery, type QueryResult } from '../../src/tap/execute.js';
import { copyFormatFor, encode, type OutputFormat } from '../../votable/index.js';
import { testPool } from '../support/db.js';
import { collect, readAll, run as runTool } from '../votable/helpers.js';

/*
 * Results stream from PostgreSQL's COPY (binary for BINARY2, text for TABLEDATA) instead of
 * through a cursor (issue 4's throughput). These tests hold the COPY path to the row path:
 * same values for every type the catalogue publishes, same statuses, same errors, and a
 * connection that is clean afterwards however the stream ended.
 */

type Pool = Awaited<ReturnType<typeof testPool>>;
let pool: Pool;
let table: CatalogueTable;

beforeAll(async () => {
  pool = await testPool();
  await pool.query(`CREATE TABLE "${pool.schema}".things AS
    SELECT i::bigint AS id, (i % 30000)::smallint AS k, i * 7 AS n,
           CASE WHEN i % 11 = 0 THEN NULL WHEN i % 13 = 0 THEN 'NaN' WHEN i = 17 THEN '-Infinity' WHEN i = 19 THEN 'Infinity' ELSE i / 3.0 END::float8 AS x,
           (i / 7.0)::real AS mag,
           CASE WHEN i % 5 = 0 THEN NULL ELSE i % 2 = 0 END AS flag,
           CASE i % 9 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'a&b<c>d "q" ''s''' WHEN 3 THEN E'tab\\there\\nline\\\\back\\rcr'
             WHEN 4 THEN 'Zürich ☃ 𝄞' WHEN 5 THEN E'ctl\\x01\\x1fend' WHEN 6 THEN E'\\uFFFE nonchar' ELSE 'src ' || i END AS name,
           CASE WHEN i % 4 = 0 THEN NULL ELSE timestamp '2024-02-29 23:59:59' + i * interval '1.5 second' + (i % 3) * interval '0.0004 second' END AS t,
           ARRAY[i * 0.5, -i * 0.25]::float8[] AS pt,
           CASE WHEN i % 3 = 0 THEN NULL ELSE ARRAY[0, 0, i, 0, i, i]::float8[] END AS poly,
           (i * 1.25)::numeric(12, 2) AS amount,
           CASE WHEN i % 6 = 0 THEN NULL WHEN i % 2 = 0 THEN 'S' ELSE 'M' END::char(1) AS code
    FROM generate_series(1, 5000) AS i`);
  // Queries run as the reader role with the caller's identity, as published tables are read.
  await pool.query(`GRANT USAGE ON SCHEMA "${pool.schema}" TO ${READER_ROLE}`);
  await pool.query(`GRANT SELECT ON "${pool.schema}".things TO ${READER_ROLE}`);
  table = {
    schema: 'lab',
    name: 'things',
    sql: { schema: pool.schema, table: 'things' },
    columns: [
      { name: 'id', datatype: 'long' },
      { name: 'k', datatype: 'short' },
      { name: 'n', datatype: 'int' },
      { name: 'x', datatype: 'double' },
      { name: 'mag', datatype: 'float' },
      { name: 'flag', datatype: 'boolean' },
      { name: 'name', datatype: 'char', arraysize: '*' },
      { name: 't', datatype: 'char', arraysize: '*', xtype: 'timestamp' },
      { name: 'pt', datatype: 'double', arraysize: '2', xtype: 'point' },
      { name: 'poly', datatype: 'double', arraysize: '*', xtype: 'polygon' },
      { name: 'amount', datatype: 'double' },
      // A one-letter code: bpchar, a scalar char in VOTable.
      { name: 'code', datatype: 'char' },
    ],
  };
});
afterAll(async () => {
  await pool.close();
});

function adql(query: string, maxrec: number) {
  return async () => compile(query, catalogueOf([table], []), { maxrec });
}

async function run(
  build: () => Promise<CompiledQuery>,
  format: OutputFormat,
  opts: { copy: boolean; maxrec?: number; readAheadBytes?: number; timeoutSeconds?: number },
): Promise<{ result: QueryResult; xml: string }> {
  const maxrec = opts.maxrec ?? 100_000;
  const result = await executeQuery(pool, build, {
    identity: ANONYMOUS,
    maxrec,
    timeoutSeconds: opts.timeoutSeconds ?? 60,
    copyFormat: opts.copy ? copyFormatFor(format) : undefined,
    readAheadBytes: opts.readAheadBytes,
  });
  try {
    const body = await collect(
      encode(format, {
        fields: result.fields,
        rows: result.rows,
        copy: result.copy,
        leadingStatus: result.leadingStatus,
        trailingStatus: result.trailingStatus,
      }),
    );
    return { result, xml: body.toString('utf8') };
  } finally {
    await result.close();
  }
}

const statuses = (xml: string) => [...xml.matchAll(/name="QUERY_STATUS" value="(\w+)"/g)].map((m) => m[1]);

async function idleConnections(): Promise<number> {
  const r = await pool.query(
    // This file's endless COPY only: other test files run their own queries meanwhile.
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'COPY (%generate_series(1, 1000000000000)%' AND state <> 'idle'",
  );
  return r.rows[0].n;
}

describe.each([
  ['votable/binary2', 'binary'],
  ['votable/td', 'text'],
] as const)('%s from %s COPY', (format, copyFormat) => {
  it('gives the same values as the row path for every published type, nulls, NaN, infinities and hostile text', async () => {
    const q = 'SELECT id, k, n, x, mag, flag, name, t, pt, poly, code FROM lab.things ORDER BY id';
    for (const readAheadBytes of [undefined, 4096]) {
      const viaCopy = await run(adql(q, 100_000), format, { copy: true, readAheadBytes });
      expect(viaCopy.result.copy?.format).toBe(copyFormat);
      const viaRows = await run(adql(q, 100_000), format, { copy: false });
      expect(viaRows.result.copy).toBeUndefined();
      const a = await readAll(viaCopy.xml);
      const b = await readAll(viaRows.xml);
      expect(a.rows.length).toBe(5000);
      expect(a.fields).toEqual(b.fields);
      expect(a.rows).toEqual(b.rows);
      expect(statuses(viaCopy.xml)).toEqual(['OK']);
    }
  });

  it('is a document STILTS votlint finds no error or warning in', async () => {
    // votlint 4.1.3 crashes on variable polygon columns in BINARY2 and rejects their empty
    // (null) TDs in TABLEDATA (votable/README.md): poly stays out.
    const { xml } = await run(
      adql('SELECT id, k, n, x, mag, flag, name, t, pt FROM lab.things ORDER BY id', 100_000),
      format,
      { copy: true },
    );
    const dir = mkdtempSync(join(tmpdir(), 'vonode-copy-lint-'));
    try {
      const file = join(dir, 'copy.xml');
      writeFileSync(file, xml);
      const r = await runTool('stilts', ['votlint', `votable=${file}`]);
      const problems = `${r.stdout}\n${r.stderr}`
        .split('\n')
        .filter((l) => /^(ERROR|WARNING)|Exception/.test(l));
      expect(problems).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes the text cells as the row path does, unescaped and XML-safe', async () => {
    const { xml } = await run(
      adql('SELECT id, name, t FROM lab.things WHERE id <= 9 ORDER BY id', 100),
      format,
      {
        copy: true,
      },
    );
    const rows = (await readAll(xml)).rows;
    expect(rows[1][1]).toBe('a&b<c>d "q" \'s\'');
    expect(rows[2][1]).toBe('tab\there\nline\\back\rcr');
    expect(rows[3][1]).toBe(format === 'votable/binary2' ? 'Z?rich ? ??' : 'Zürich ☃ 𝄞');
    expect(rows[4][1]).toBe(format === 'votable/binary2' ? 'ctl\u0001\u001fend' : 'ctl\ufffd\ufffdend');
    expect(rows[8][1]).toBeNull();
    expect(rows[0][1]).toBe(format === 'votable/binary2' ? '' : null);
    expect(rows[0][2]).toBe('2024-03-01T00:00:00.500');
    expect(rows[1][2]).toBe('2024-03-01T00:00:02');
    expect(rows[3][2]).toBeNull();
  });

  it('falls back to rows when a column type has no COPY transcoding for the format', async () => {
    // numeric has no binary fast path; text COPY reads it through the type parser.
    const { result, xml } = await run(adql('SELECT id, amount FROM lab.things WHERE id < 4', 100), format, {
      copy: true,
    });
    expect(result.copy === undefined).toBe(copyFormat === 'binary');
    expect((await readAll(xml)).rows).toEqual([
      [1n, 1.25],
      [2n, 2.5],
      [3n, 3.75],
    ]);
  });

  it('puts OVERFLOW up front for a result within the read-ahead and after the TABLE beyond it (DALI-44/45)', async () => {
    const q = 'SELECT id, x FROM lab.things';
    const small = await run(adql(q, 100), format, { copy: true, maxrec: 100 });
    expect(small.result.copy?.complete).toBe(true);
    expect(statuses(small.xml)).toEqual(['OVERFLOW']);
    expect((await readAll(small.xml)).rows.length).toBe(100);
    const large = await run(adql(q, 3000), format, { copy: true, maxrec: 3000, readAheadBytes: 1024 });
    expect(large.result.copy?.complete).toBe(false);
    expect(statuses(large.xml)).toEqual(['OK', 'OVERFLOW']);
    expect(large.xml.lastIndexOf('value="OVERFLOW"')).toBeGreaterThan(large.xml.indexOf('</TABLE>'));
    expect((await readAll(large.xml)).rows.length).toBe(3000);
    const exact = await run(adql('SELECT TOP 3000 id FROM lab.things', 3000), format, {
      copy: true,
      maxrec: 3000,
      readAheadBytes: 1024,
    });
    expect(statuses(exact.xml)).toEqual(['OK']);
    expect((await readAll(exact.xml)).rows.length).toBe(3000);
  });

  it('an error PostgreSQL raises before the first bytes is thrown; one after rows closes the table with ERROR', async () => {
    const early = () =>
      Promise.resolve<CompiledQuery>({
        sql: 'SELECT 1 / (i - 1) AS v FROM generate_series(1, 10) AS i',
        params: [],
        columns: [{ name: 'v', datatype: 'int' }],
      });
    await expect(run(early, format, { copy: true })).rejects.toMatchObject({ code: '22012' });
    const late = () =>
      Promise.resolve<CompiledQuery>({
        sql: 'SELECT 1 / (i - 200000) AS v FROM generate_series(1, 300000) AS i',
        params: [],
        columns: [{ name: 'v', datatype: 'int' }],
      });
    const { xml } = await run(late, format, { copy: true, readAheadBytes: 1024, maxrec: 1_000_000 });
    expect(statuses(xml)).toEqual(['OK', 'ERROR']);
    expect(xml).toMatch(/value="ERROR">division by zero<\/INFO>\s*<\/RESOURCE>\s*<\/VOTABLE>\s*$/);
    expect((await readAll(xml)).rows.length).toBeGreaterThan(1000);
  });

  it('the time limit stops a COPY mid-stream with a message that points to async', async () => {
    const endless = () =>
      Promise.resolve<CompiledQuery>({
        sql: 'SELECT generate_series(1, 1000000000000)::bigint AS i',
        params: [],
        columns: [{ name: 'i', datatype: 'long' }],
      });
    const t0 = Date.now();
    const { xml } = await run(endless, format, { copy: true, timeoutSeconds: 1, maxrec: 1_000_000_000 });
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(statuses(xml)).toEqual(['OK', 'ERROR']);
    expect(xml).toMatch(/1 s limit of this endpoint.*\/tap\/async/);
  });

  it('a consumer that leaves early (client gone) leaves no COPY running and a usable connection', async () => {
    for (let k = 0; k < 6; k++) {
      const result = await executeQuery(
        pool,
        async () => ({
          sql: 'SELECT generate_series(1, 1000000000000)::bigint AS i',
          params: [],
          columns: [{ name: 'i', datatype: 'long' }],
        }),
        { identity: ANONYMOUS, maxrec: 1_000_000_000, timeoutSeconds: 60, copyFormat: copyFormatFor(format) },
      );
      expect(result.copy).toBeDefined();
      let n = 0;
      for await (const _ of encode(format, { fields: result.fields, copy: result.copy })) if (++n > 3) break;
      await result.close();
    }
    expect(await idleConnections()).toBe(0);
    // The pool (4 connections) served six of these: each was given back clean.
    const r = await pool.query('SELECT 1 AS one');
    expect(r.rows[0].one).toBe(1);
  });
});

describe.each(['csv', 'tsv'] as const)('%s from text COPY', (format) => {
  it('is the same text as the row path, quoting and escapes included (RFC 4180, DALI-47)', async () => {
    const q = 'SELECT id, k, n, x, mag, flag, name, t, pt, poly, amount FROM lab.things ORDER BY id';
    const viaCopy = await run(adql(q, 100_000), format, { copy: true });
    expect(viaCopy.result.copy?.format).toBe('text');
    const viaRows = await run(adql(q, 100_000), format, { copy: false });
    expect(viaRows.result.copy).toBeUndefined();
    expect(viaCopy.xml.split('\r\n').length).toBe(5002);
    expect(viaCopy.xml).toBe(viaRows.xml);
    // A comma and quotes force RFC 4180 quoting; TSV escapes the tab and line breaks.
    expect(viaCopy.xml).toContain(
      format === 'csv' ? '"a&b<c>d ""q"" \'s\'"' : 'tab\\there\\nline\\\\back\\rcr',
    );
  });

  it('stops at MAXREC with no marker, and an error after rows ends the stream with the error', async () => {
    const capped = await run(adql('SELECT id FROM lab.things', 10), format, { copy: true, maxrec: 10 });
    expect(capped.xml.trim().split('\r\n')).toHaveLength(11);
    const late = () =>
      Promise.resolve<CompiledQuery>({
        sql: 'SELECT 1 / (i - 200000) AS v FROM generate_series(1, 300000) AS i',
        params: [],
        columns: [{ name: 'v', datatype: 'int' }],
      });
    await expect(run(late, format, { copy: true, readAheadBytes: 1024, maxrec: 1_000_000 })).rejects.toThrow(
      /division by zero/,
    );
  });
});
