import { spawn } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode, type Field, type PgBinaryType } from '../../votable/index.js';
import { testDatabaseUrl, testPool } from '../support/db.js';
import { collect, readAll } from './helpers.js';

/** psql's `\copy ... to stdout`: the same bytes a COPY TO STDOUT stream carries. */
function psqlCopyBinary(sql: string): AsyncGenerator<Buffer> {
  return psqlCopy(sql, true);
}

async function* psqlCopy(sql: string, binary: boolean): AsyncGenerator<Buffer> {
  const u = new URL(testDatabaseUrl());
  const options = binary ? ' with (format binary)' : '';
  // The session settings the node's query path uses: ISO dates in UTC.
  const p = spawn('/usr/bin/psql', ['-X', '-q', '-c', `\\copy (${sql}) to stdout${options}`], {
    env: {
      ...process.env,
      PGHOST: u.hostname,
      PGPORT: u.port,
      PGUSER: decodeURIComponent(u.username),
      PGPASSWORD: decodeURIComponent(u.password),
      PGDATABASE: u.pathname.slice(1),
      PGTZ: 'UTC',
      PGDATESTYLE: 'ISO, YMD',
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
        encode('votable/binary2', {
          fields: FIELDS,
          copy: { format: 'binary', stream: psqlCopyBinary(sql), types: TYPES },
        }),
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
      encode('csv', {
        fields: FIELDS,
        copy: { format: 'binary', stream: psqlCopyBinary('SELECT 1'), types: TYPES },
      }),
    ).toThrow(/a binary COPY stream cannot be transcoded to csv/);
  });

  it('stops at maxRecords with a trailing OVERFLOW (DALI-45)', async () => {
    const xml = (
      await collect(
        encode('votable/binary2', {
          fields: FIELDS,
          copy: {
            format: 'binary',
            stream: psqlCopyBinary(`SELECT * FROM ${table} ORDER BY id`),
            types: TYPES,
            maxRecords: 7,
          },
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
      await collect(
        encode('votable/binary2', {
          fields: FIELDS,
          copy: { format: 'binary', stream: cut(), types: TYPES },
        }),
      )
    ).toString();
    expect(xml).toContain('value="ERROR">the COPY stream ended before its trailer (truncated)</INFO>');
    const bad = (
      await collect(
        encode('votable/binary2', {
          fields: FIELDS,
          copy: {
            format: 'binary',
            stream: psqlCopyBinary(`SELECT * FROM ${table}`),
            types: ['int4', ...TYPES.slice(1)],
          },
        }),
      )
    ).toString();
    expect(bad).toContain('value="ERROR">column "id": a PostgreSQL int4 cannot be transcoded to long</INFO>');
  });
});

describe('TABLEDATA straight from PostgreSQL text COPY', () => {
  const text = (sql: string) => psqlCopy(sql, false);
  // node-postgres's parsers, as the node gives them: float8[] (OID 1022) always goes through
  // one; timestamp (1114) only for values its fast path does not take (BC, infinity).
  const parsers = TYPES.map((t) =>
    t.endsWith('[]')
      ? pg.types.getTypeParser(1022 as never, 'text')
      : t === 'timestamp'
        ? pg.types.getTypeParser(1114 as never, 'text')
        : undefined,
  );

  it('gives the same values as the binary path', async () => {
    const sql = `SELECT * FROM ${table} ORDER BY id`;
    const fromText = await readAll(
      await collect(
        encode('votable/td', {
          fields: FIELDS,
          copy: { format: 'text', stream: text(sql), types: TYPES, parsers },
        }),
      ),
    );
    const fromBinary = await readAll(
      await collect(
        encode('votable/binary2', {
          fields: FIELDS,
          copy: { format: 'binary', stream: psqlCopyBinary(sql), types: TYPES },
        }),
      ),
    );
    expect(fromText.rows.length).toBe(2001);
    // Same values, but for two differences of the serialisations: char cells keep their UTF-8
    // in TABLEDATA where BINARY2 char is ASCII, and TABLEDATA cannot tell an empty string or
    // array from null (VOT-26).
    const ascii = (rows: unknown[][]) =>
      rows.map((r) =>
        r.map((v, i) =>
          v === '' || (Array.isArray(v) && v.length === 0)
            ? null
            : i === 6 && typeof v === 'string'
              ? v.replace(/[^\x00-\x7f]/g, '?')
              : v,
        ),
      );
    expect(ascii(fromText.rows)).toEqual(ascii(fromBinary.rows));
  });

  it('a line with too few or too many fields, or a stream cut inside a line, ends with a trailing ERROR', async () => {
    const fields: Field[] = [
      { name: 'a', datatype: 'int' },
      { name: 'b', datatype: 'char', arraysize: '*' },
    ];
    const doc = (lines: string[]) => ({
      fields,
      copy: {
        format: 'text' as const,
        stream: (async function* () {
          for (const l of lines) yield Buffer.from(l);
        })(),
        types: ['int4', 'text'],
      },
    });
    const few = (await collect(encode('votable/td', doc(['1\tx\n', '2\n'])))).toString();
    expect(few).toContain('value="ERROR">a COPY line has 1 fields for 2 FIELDs</INFO>');
    expect((await readAll(few)).rows).toEqual([[1, 'x']]);
    const many = (await collect(encode('votable/td', doc(['1\tx\t3\n'])))).toString();
    expect(many).toContain('value="ERROR">a COPY line has more than 2 fields</INFO>');
    const cut = (await collect(encode('votable/td', doc(['1\tx\n2\t', 'y'])))).toString();
    expect(cut).toContain('value="ERROR">the COPY stream ended inside a row (truncated) after 1 rows');
    const split = (await collect(encode('votable/td', doc(['1\tx\n2\t', 'y\n3\t\\N\n'])))).toString();
    expect((await readAll(split)).rows).toEqual([
      [1, 'x'],
      [2, 'y'],
      [3, null],
    ]);
  });
});
