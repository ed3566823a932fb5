import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CatalogueTable, compile } from '../../adql/index.js';
import { ANONYMOUS, READER_ROLE } from '../../src/auth/index.js';
import { catalogueOf } from '../../src/tap/catalogue.js';
import { executeQuery } from '../../src/tap/execute.js';
import { ResultSpool, SpoolBudget } from '../../src/tap/spool.js';
import { copyFormatFor, encode, type OutputFormat } from '../../votable/index.js';
import { testPool } from '../support/db.js';
import { collect } from '../votable/helpers.js';

/*
 * Issue 19: pyvo 1.2 reads only the leading QUERY_STATUS, so a result truncated at MAXREC
 * showed OK when it was larger than the read-ahead. Up to VONODE_SYNC_STATUS_SPOOL bytes the
 * result is now read to its end (into a spool, memory then disk) before the first byte, and
 * OVERFLOW leads (DALI-44, TAP-44); beyond that bound it still follows the table (DALI-45).
 */

type Pool = Awaited<ReturnType<typeof testPool>>;
let pool: Pool;
let table: CatalogueTable;
let dir: string;
let budget: SpoolBudget;

const ROWS = 50_000;

beforeAll(async () => {
  pool = await testPool();
  await pool.query(`CREATE TABLE "${pool.schema}".many AS
    SELECT i::bigint AS id, 'source ' || i AS name, (i / 3.0)::float8 AS x FROM generate_series(1, ${ROWS}) AS i`);
  await pool.query(`GRANT USAGE ON SCHEMA "${pool.schema}" TO ${READER_ROLE}`);
  await pool.query(`GRANT SELECT ON "${pool.schema}".many TO ${READER_ROLE}`);
  table = {
    schema: 'lab',
    name: 'many',
    sql: { schema: pool.schema, table: 'many' },
    columns: [
      { name: 'id', datatype: 'long' },
      { name: 'name', datatype: 'char', arraysize: '*' },
      { name: 'x', datatype: 'double' },
    ],
  };
  dir = mkdtempSync(join(tmpdir(), 'vonode-status-spool-'));
  budget = new SpoolBudget(1e9, dir);
});
afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(format: OutputFormat, maxrec: number, spoolMaxBytes: number | undefined) {
  const result = await executeQuery(
    pool,
    async () => compile('SELECT id, name, x FROM lab.many ORDER BY id', catalogueOf([table], []), { maxrec }),
    {
      identity: ANONYMOUS,
      maxrec,
      timeoutSeconds: 60,
      copyFormat: copyFormatFor(format),
      // A read-ahead far smaller than the result: without the spool its status would trail.
      readAheadBytes: 1024,
      ...(spoolMaxBytes !== undefined
        ? { statusSpool: () => ({ spool: new ResultSpool(budget, 4096), maxBytes: spoolMaxBytes }) }
        : {}),
    },
  );
  try {
    expect(result.copy).toBeDefined();
    const body = await collect(
      encode(format, {
        fields: result.fields,
        rows: result.rows,
        copy: result.copy,
        leadingStatus: result.leadingStatus,
        trailingStatus: result.trailingStatus,
      }),
    );
    return body.toString('utf8');
  } finally {
    await result.close();
  }
}

const statuses = (xml: string) => [...xml.matchAll(/name="QUERY_STATUS" value="(\w+)"/g)].map((m) => m[1]);

describe('the status spool puts OVERFLOW first (DALI-44, TAP-44)', () => {
  it.each<OutputFormat>(['votable/td', 'votable/binary2'])(
    '%s: truncated at MAXREC, OVERFLOW leads and nothing trails',
    async (format) => {
      const xml = await run(format, 30_000, 10 * 1024 * 1024);
      expect(statuses(xml)).toEqual(['OVERFLOW']);
      if (format === 'votable/td') expect(xml.match(/<TR>/g)).toHaveLength(30_000);
    },
  );

  it.each([
    [ROWS, 'exactly MAXREC rows'],
    [100_000, 'fewer rows than MAXREC'],
  ])('MAXREC %i (%s): OK, every row', async (maxrec) => {
    const xml = await run('votable/td', maxrec, 10 * 1024 * 1024);
    expect(statuses(xml)).toEqual(['OK']);
    expect(xml.match(/<TR>/g)).toHaveLength(ROWS);
    expect(xml).toContain('<TD>source 50000</TD>');
  });

  it('a result larger than the spool bound streams, and says OVERFLOW after the table (DALI-45)', async () => {
    // Each COPY chunk is some 64 KiB: the spool stops after the first, far before the end.
    const xml = await run('votable/td', 30_000, 4096);
    expect(statuses(xml)).toEqual(['OK', 'OVERFLOW']);
    expect(xml.match(/<TR>/g)).toHaveLength(30_000);
  });

  it('a result within the read-ahead does not wait for the unused spool', async () => {
    const result = await executeQuery(
      pool,
      async () =>
        compile('SELECT TOP 3 id FROM lab.many ORDER BY id', catalogueOf([table], []), { maxrec: 2 }),
      {
        identity: ANONYMOUS,
        maxrec: 2,
        timeoutSeconds: 60,
        copyFormat: 'text',
        statusSpool: () => ({ spool: new ResultSpool(budget, 4096), maxBytes: 1e6 }),
      },
    );
    const xml = (
      await collect(
        encode('votable/td', {
          fields: result.fields,
          copy: result.copy,
          leadingStatus: result.leadingStatus,
          trailingStatus: result.trailingStatus,
        }),
      )
    ).toString('utf8');
    await result.close();
    expect(statuses(xml)).toEqual(['OVERFLOW']);
    expect(xml.match(/<TR>/g)).toHaveLength(2);
  });

  it('without a spool the status trails, as before', async () => {
    expect(statuses(await run('votable/td', 30_000, undefined))).toEqual(['OK', 'OVERFLOW']);
  });

  it('gives its disk back: no bytes counted, no file left', async () => {
    expect(budget.usedBytes).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
  });
});
