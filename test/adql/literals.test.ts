import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, inlineParameters } from '../../adql/index.js';
import { testPool } from '../support/db.js';
import { demoCatalogue } from './fixtures.js';

type Pool = Awaited<ReturnType<typeof testPool>>;
let pool: Pool;

// Strings that break naive quoting: quotes of both kinds, backslashes, placeholders, unicode.
const NASTY = [
  "it's",
  "''",
  'back\\slash\\',
  "\\'",
  '$1',
  '$2 and "$1"',
  'x" FROM pg_authid --',
  "'; DROP TABLE t; --",
  'Zürich ☃ 𝄞',
  '',
];

beforeAll(async () => {
  pool = await testPool();
  const s = `"${pool.schema}"`;
  await pool.query(`CREATE TABLE ${s}.sources (source_id bigint, ra float8, dec float8, hpx bigint, flux float8, maj_axis float8,
    field_id text, flag int, obs_time timestamp, pos float8[], size float8, mixedcase int)`);
  await pool.query(
    `INSERT INTO ${s}.sources (source_id, ra, dec, field_id) SELECT i, i, 0, ($1::text[])[i % 10 + 1] FROM generate_series(0, 99) i`,
    [NASTY],
  );
});
afterAll(async () => {
  await pool.close();
});

describe('inlineParameters (COPY cannot take bind parameters)', () => {
  it('writes each string as a literal PostgreSQL reads back unchanged', async () => {
    for (const s of NASTY) {
      const sql = inlineParameters({ sql: 'SELECT $1::text AS v', params: [s] });
      expect(sql).toBeDefined();
      for (const conforming of ['on', 'off']) {
        const c = await pool.connect();
        try {
          await c.query(`SET standard_conforming_strings = ${conforming}`);
          const r = await c.query(sql as string);
          expect(r.rows[0].v).toBe(s);
        } finally {
          await c.query('RESET standard_conforming_strings');
          c.release();
        }
      }
    }
  });

  it("leaves $n inside quoted identifiers and the printer's own literals alone", () => {
    const sql = inlineParameters({
      sql: `SELECT "a$1""$2" , 'x$1''$2' , $2, $10 FROM t`,
      params: Array.from({ length: 10 }, (_, i) => `p${i + 1}`),
    });
    expect(sql).toBe(`SELECT "a$1""$2" , 'x$1''$2' , 'p2', 'p10' FROM t`);
  });

  it('gives the same rows as the parameterised query for ADQL with hostile strings and aliases', async () => {
    const cat = demoCatalogue(pool.schema);
    for (const s of NASTY) {
      const adql = `SELECT source_id AS "$1", field_id AS "it's ""$2""" FROM demo.sources WHERE field_id = '${s.replace(/'/g, "''")}' OR field_id LIKE '%$1%' ORDER BY source_id`;
      const compiled = compile(adql, cat);
      expect(compiled.params.length).toBeGreaterThan(0);
      const inline = inlineParameters(compiled);
      expect(inline).toBeDefined();
      const viaParams = await pool.query({ text: compiled.sql, values: compiled.params, rowMode: 'array' });
      const viaInline = await pool.query({ text: inline as string, rowMode: 'array' });
      expect(viaInline.rows).toEqual(viaParams.rows);
      expect(viaInline.rows.length).toBeGreaterThan(0);
    }
  });

  it('declines a string with NUL, which no literal can carry', () => {
    expect(inlineParameters({ sql: 'SELECT $1::text', params: ['a\u0000b'] })).toBeUndefined();
  });

  it('refuses a placeholder with no parameter rather than guessing', () => {
    expect(() => inlineParameters({ sql: 'SELECT $3', params: ['a'] })).toThrow(/\$3/);
  });
});
