import { spawn } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode, type Field, type PgBinaryType } from '../../votable/index.js';
import { testDatabaseUrl, testPool } from '../support/db.js';
import { collect, readAll } from './helpers.js';

/** psql's `\copy ... to stdout (format binary)`: the same bytes a COPY TO STDOUT stream carries. */
async function* psqlCopyBinary(sql: string): AsyncGenerator<Buffer> {
  const u = new URL(testDatabaseUrl());
  const p = spawn('/usr/bin/psql', ['-X', '-q', '-c', `\\copy (${sql}) to stdout with (format binary)`], {
    env: {
      ...process.env,
      PGHOST: u.hostname,
      PGPORT: u.port,
      PGUSER: decodeURIComponent(u.username),
      PGPASSWORD: decodeURIComponent(u.password),
      PGDATABASE: u.pathname.slice(1),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    for await (const c of p.stdout) yield c as Buffer;
  } finally {
    p.kill();
  }
}

const FIELDS: Field[] = [
  { name: 'id', datatype: 'long' },
  { name: 'ra', datatype: 'double' },
  { name: 'mag', datatype: 'float' },
  { name: 'n', datatype: 'int' },
  { name: 'k', datatype: 'short' },
  { name: 'flag', datatype: 'boolean' },
  { name: 'name', datatype: 'char', arraysize: '*' },
  { name: 'uname', datatype: 'unicodeChar', arraysize: '*' },
  { name: 't', datatype: 'char', arraysize: '*', xtype: 'timestamp' },
  { name: 'pt', datatype: 'double', arraysize: '2', xtype: 'point' },
  { name: 'poly', datatype: 'double', arraysize: '*', xtype: 'polygon' },
];
const TYPES: PgBinaryType[] = [
  'int8',
  'float8',
  'float4',
  'int4',
  'int2',
  'bool',
  'text',
  'text',
  'timestamp',
  'float8[]',
  'float8[]',
];

let pool: Awaited<ReturnType<typeof testPool>>;
let table: string;

beforeAll(async () => {
  pool = await testPool();
  table = `${pool.schema}.copy_src`;
  await pool.query(`CREATE TABLE ${table} AS
    SELECT i::bigint AS id, (i * 0.5)::float8 AS ra, (i / 3.0)::real AS mag, i * 1000 AS n, (i % 100)::smallint AS k,
           i % 2 = 0 AS flag, CASE WHEN i % 5 = 0 THEN NULL ELSE 'src ' || i END AS name,
           'Zürich ' || i AS uname, timestamp '2024-01-01 12:00:00.123' + i * interval '1 hour' AS t,
           ARRAY[i * 1.0, -i * 1.0]::float8[] AS pt,
           CASE WHEN i % 3 = 0 THEN NULL ELSE ARRAY[0, 0, i, 0, i, i]::float8[] END AS poly
    FROM generate_series(1, 2000) AS i
    UNION ALL SELECT 9223372036854775807, 'NaN', 'Infinity', NULL, NULL, NULL, 'x', '', NULL, ARRAY[1, 2]::float8[], '{}'
    ORDER BY 1`);
});
afterAll(async () => {
  await pool.close();
});

describe('BINARY2 straight from PostgreSQL binary COPY', () => {
  it('gives the same values as the row path', async () => {
    const sql = `SELECT * FROM ${table} ORDER BY id`;
    const fromCopy = await readAll(
      await collect(
        encode('votable/binary2', { fields: FIELDS, copy: { stream: psqlCopyBinary(sql), types: TYPES } }),
      ),
    );
    // The row path: node-postgres array rows, timestamps read as text in UTC.
    const client = await pool.connect();
    let rows: unknown[][];
    try {
      await client.query("SET TIME ZONE 'UTC'");
      const r = await client.query({
        text: sql,
        rowMode: 'array',
        types: {
          // biome-ignore lint/suspicious/noExplicitAny: pg's parser table is typed per format
          getTypeParser: ((oid: number, format?: any) =>
            oid === 1114 ? (v: string) => v.replace(' ', 'T') : pg.types.getTypeParser(oid, format)) as never,
        },
      });
      rows = r.rows as unknown[][];
    } finally {
      client.release();
    }
    const fromRows = await readAll(await collect(encode('votable/binary2', { fields: FIELDS, rows })));
    expect(fromCopy.rows.length).toBe(2001);
    expect(fromCopy.rows).toEqual(fromRows.rows);
    expect(fromCopy.rows[0]).toEqual([
      1n,
      0.5,
      Math.fround(1 / 3),
      1000,
      1,
      false,
      'src 1',
      'Zürich 1',
      '2024-01-01T13:00:00.123',
      [1, -1],
      [0, 0, 1, 0, 1, 1],
    ]);
    expect(fromCopy.rows[2000].slice(0, 3)).toEqual([
      9223372036854775807n,
      Number.NaN,
      Number.POSITIVE_INFINITY,
    ]);
  });

  it('is refused for other formats before anything is written', () => {
    expect(() =>
      encode('csv', { fields: FIELDS, copy: { stream: psqlCopyBinary('SELECT 1'), types: TYPES } }),
    ).toThrow(/only be transcoded to votable\/binary2/);
  });

  it('stops at maxRecords with a trailing OVERFLOW (DALI-45)', async () => {
    const xml = (
      await collect(
        encode('votable/binary2', {
          fields: FIELDS,
          copy: { stream: psqlCopyBinary(`SELECT * FROM ${table} ORDER BY id`), types: TYPES, maxRecords: 7 },
        }),
      )
    ).toString();
    expect(xml.indexOf('<INFO name="QUERY_STATUS" value="OVERFLOW"/>')).toBeGreaterThan(
      xml.indexOf('</TABLE>'),
    );
    expect((await readAll(xml)).rows.length).toBe(7);
  });

  it('a truncated COPY stream or a type mismatch ends with a trailing ERROR', async () => {
    async function* cut() {
      let n = 0;
      for await (const c of psqlCopyBinary(`SELECT * FROM ${table}`)) {
        yield c.subarray(0, Math.min(c.length, 5000 - n));
        n += c.length;
        if (n >= 5000) return;
      }
    }
    const xml = (
      await collect(encode('votable/binary2', { fields: FIELDS, copy: { stream: cut(), types: TYPES } }))
    ).toString();
    expect(xml).toContain('value="ERROR">the COPY stream ended before its trailer (truncated)</INFO>');
    const bad = (
      await collect(
        encode('votable/binary2', {
          fields: FIELDS,
          copy: { stream: psqlCopyBinary(`SELECT * FROM ${table}`), types: ['int4', ...TYPES.slice(1)] },
        }),
      )
    ).toString();
    expect(bad).toContain('value="ERROR">column "id": a PostgreSQL int4 cannot be transcoded to long</INFO>');
  });
});
