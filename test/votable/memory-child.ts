/*
 * Run as a child process by memory.test.ts (and the bench): streams N synthetic 10-column
 * rows through an encoder, optionally back through the reader, and prints the peak RSS.
 * With `copy DATABASE_URL` the rows come from PostgreSQL through the node's query path
 * (executeQuery: every format transcoded from COPY, binary or text as copyFormatFor says).
 */
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { ANONYMOUS } from '../../src/auth/index.js';
import { executeQuery } from '../../src/tap/execute.js';
import { copyFormatFor, encode, type Field, type OutputFormat, readVOTable } from '../../votable/index.js';

export const BENCH_FIELDS: Field[] = [
  { name: 'id', datatype: 'long' },
  { name: 'ra', datatype: 'double', unit: 'deg' },
  { name: 'dec', datatype: 'double', unit: 'deg' },
  { name: 'mag', datatype: 'float' },
  { name: 'err', datatype: 'float' },
  { name: 'n', datatype: 'int' },
  { name: 'k', datatype: 'short' },
  { name: 'flag', datatype: 'boolean' },
  { name: 'name', datatype: 'char', arraysize: '*' },
  { name: 't', datatype: 'char', arraysize: '*', xtype: 'timestamp' },
];

export function* syntheticRows(n: number): Generator<unknown[]> {
  const t0 = Date.UTC(2020, 0, 1);
  for (let i = 0; i < n; i++) {
    yield [
      String(i),
      (i * 0.0001) % 360,
      ((i * 0.00007) % 180) - 90,
      15 + (i % 1000) / 100,
      i % 7 === 0 ? null : 0.01,
      i,
      i % 30000,
      i % 2 === 0,
      `source ${i}`,
      new Date(t0 + i * 1000),
    ];
  }
}

/** The synthetic rows, made by PostgreSQL: one SELECT streaming N rows. */
export function syntheticSql(n: number): string {
  return `SELECT i::bigint AS id, ((i * 0.0001) % 360)::float8 AS ra, (((i * 0.00007) % 180) - 90)::float8 AS dec,
       (15 + (i % 1000) / 100.0)::real AS mag, CASE WHEN i % 7 = 0 THEN NULL ELSE 0.01 END::real AS err,
       i::int AS n, (i % 30000)::smallint AS k, i % 2 = 0 AS flag, 'source ' || i AS name,
       timestamp '2020-01-01' + i * interval '1 second' AS t
FROM (SELECT generate_series(0, ${n - 1}) AS i) AS s`;
}

async function fromDatabase(url: string, n: number, format: OutputFormat): Promise<number> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  let bytes = 0;
  try {
    const result = await executeQuery(
      pool,
      async () => ({ sql: syntheticSql(n), params: [], columns: BENCH_FIELDS }),
      {
        identity: ANONYMOUS,
        maxrec: n,
        timeoutSeconds: 3600,
        copyFormat: copyFormatFor(format),
      },
    );
    try {
      for await (const c of encode(format, { fields: result.fields, rows: result.rows, copy: result.copy }))
        bytes += c.length;
    } finally {
      await result.close();
    }
  } finally {
    await pool.end();
  }
  return bytes;
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 100000);
  const format = (process.argv[3] ?? 'votable/binary2') as OutputFormat;
  if (process.argv[4] === 'copy') {
    const bytes = await fromDatabase(process.argv[5], n, format);
    const maxRssMB = process.resourceUsage().maxRSS / 1024;
    process.stdout.write(`${JSON.stringify({ rows: n, format, bytes, rowsBack: 0, maxRssMB })}\n`);
    return;
  }
  const roundTrip = process.argv[4] === 'read';
  let bytes = 0;
  let rowsBack = 0;
  const chunks = encode(format, { fields: BENCH_FIELDS, rows: syntheticRows(n) });
  if (roundTrip) {
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const c of chunks) {
        bytes += c.length;
        yield c;
      }
    }
    for await (const ev of readVOTable(counted(), {
      maxRows: Number.MAX_SAFE_INTEGER,
      maxBytes: Number.MAX_SAFE_INTEGER,
    }))
      if (ev.kind === 'rows') rowsBack += ev.rows.length;
  } else {
    for await (const c of chunks) bytes += c.length;
  }
  const maxRssMB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ rows: n, format, bytes, rowsBack, maxRssMB })}\n`);
}

// Run only as a program (the bench imports nothing from here, but tests bundle it).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
