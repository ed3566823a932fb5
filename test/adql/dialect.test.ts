// A dialect is an override, not a fork (issue 15 item 5): a dialect for a distributed
// PostgreSQL changes one construct by extending PostgresDialect, and the rest of the SQL is
// what the PostgreSQL dialect writes. Run on the real PostgreSQL: same rows either way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, PostgresDialect } from '../../adql/index.js';
import { testPool } from '../support/db.js';
import { demoCatalogue } from './fixtures.js';

type Pool = Awaited<ReturnType<typeof testPool>>;
let pool: Pool;
let cat: ReturnType<typeof demoCatalogue>;

/**
 * Row limits written the SQL:2008 way (`OFFSET n ROWS FETCH FIRST m ROWS ONLY`), as some
 * distributed engines want them pushed to shards; everything else inherited.
 */
class FetchFirstDialect extends PostgresDialect {
  override limitOffset(limit: number | undefined, offset: number | undefined): string {
    let sql = '';
    if (offset !== undefined) sql += ` OFFSET ${offset} ROWS`;
    if (limit !== undefined) sql += ` FETCH FIRST ${limit} ROWS ONLY`;
    return sql;
  }
}

beforeAll(async () => {
  pool = await testPool();
  cat = demoCatalogue(pool.schema);
  const s = `"${pool.schema}"`;
  await pool.query(`CREATE TABLE ${s}.sources (source_id bigint, ra float8, dec float8, hpx bigint, flux float8,
    maj_axis float8, field_id text, flag int, obs_time timestamp, pos float8[], size float8, mixedcase int)`);
  await pool.query(
    `INSERT INTO ${s}.sources (source_id, ra, dec, flux, field_id) SELECT g, g, 0, g * 1.5, 'F' || (g % 3) FROM generate_series(1, 20) g`,
  );
});

afterAll(async () => {
  await pool?.close();
});

describe('a Dialect override (adql/dialect.ts)', () => {
  const queries = [
    'SELECT TOP 5 source_id, flux FROM demo.sources ORDER BY flux DESC',
    'SELECT source_id FROM demo.sources ORDER BY source_id OFFSET 3',
    'SELECT TOP 2 field_id, COUNT(*) AS n FROM demo.sources GROUP BY field_id ORDER BY field_id OFFSET 1',
  ];
  for (const q of queries) {
    it(`changes only the row-limit clause: ${q}`, async () => {
      const pg = compile(q, cat, { maxrec: 100 });
      const fetch = compile(q, cat, { maxrec: 100 }, new FetchFirstDialect());
      expect(pg.sql).toMatch(/ LIMIT \d+/);
      expect(fetch.sql).not.toMatch(/ LIMIT /);
      expect(fetch.sql).toMatch(/ FETCH FIRST \d+ ROWS ONLY$/);
      // Up to the clause, the two statements are the same text.
      expect(fetch.sql.replace(/ (OFFSET \d+ ROWS )?FETCH FIRST .*$/, '')).toBe(
        pg.sql.replace(/ LIMIT .*$/, ''),
      );
      expect(fetch.params).toEqual(pg.params);
      expect(fetch.columns).toEqual(pg.columns);
      const a = await pool.query({ text: pg.sql, values: pg.params as unknown[] });
      const b = await pool.query({ text: fetch.sql, values: fetch.params as unknown[] });
      expect(b.rows).toEqual(a.rows);
      expect(a.rows.length).toBeGreaterThan(0);
    });
  }

  it('leaves queries without a row limit as the PostgreSQL dialect writes them', () => {
    const q = "SELECT source_id FROM demo.sources WHERE field_id LIKE 'F1%' AND LOG10(flux) > 0";
    expect(compile(q, cat, {}, new FetchFirstDialect()).sql).toBe(compile(q, cat).sql);
  });
});
