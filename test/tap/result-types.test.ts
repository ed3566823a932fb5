// The query shape result types are cached under (issue 20): numeric constants by type
// class, everything else as written.
import { describe, expect, it } from 'vitest';
import { queryShape } from '../../src/tap/result-types.js';

describe('queryShape', () => {
  it('replaces numeric constants by the type PostgreSQL gives them, whatever their value', () => {
    expect(queryShape('SELECT 1, 2147483647, 2147483648, 9223372036854775808, 1.5, .5, 1e3, 2.5E-7')).toBe(
      'SELECT #int4, #int4, #int8, #numeric, #numeric, #numeric, #numeric, #numeric',
    );
    const at = (ra: number, dec: number, top: number) =>
      `SELECT "_t1"."ra" FROM "demo"."sources_v1" AS "_t1" WHERE "_t1"."healpix" >= ${ra * 1e12} AND adql.chord2v("_t1"."ra", "_t1"."dec", (${ra}), (-${dec})) <= 0.0012 LIMIT ${top}`;
    expect(queryShape(at(10.5, 20.25, 101))).toBe(queryShape(at(200.125, 3.5, 1001)));
  });

  it('keeps identifiers, quoted names, strings and parameters as written', () => {
    const sql = `SELECT "col 1" AS "x2", 'it''s 42' AS s, t_2.a1, $1::int FROM sources_v3 AS t_2 WHERE b = '7'`;
    expect(queryShape(sql)).toBe(sql);
    // A constant in the select list changes the type, so it changes the shape.
    expect(queryShape('SELECT 1 AS x')).not.toBe(queryShape('SELECT 1.0 AS x'));
    expect(queryShape('SELECT 1 AS x')).not.toBe(queryShape('SELECT 3000000000 AS x'));
  });
});
