// The remaining ADQL 2.1 gaps of issue 15, at compile level: adjacent string literals
// (ADQL-6, ADQL-9), signed operands of || (ADQL-11, ADQL-20), IN_UNIT of an expression
// with unit inference (ADQL-50, ADQL-52), and the bounding-cap filter written before the
// exact polygon-against-polygon test (ADQL-37, ADQL-38). The rows that filter returns are
// checked on PostgreSQL in gaps-polygons.test.ts.
import { describe, expect, it } from 'vitest';
import { AdqlError, type Catalogue, compile, parse } from '../../adql/index.js';
import { demoCatalogue } from './fixtures.js';

const demo = demoCatalogue();

/** Proper motions, a distance and a time, with units as catalogues write them. */
const stars: Catalogue = {
  tables: () => [
    {
      schema: 'gaia',
      name: 'stars',
      sql: { schema: 'gaia', table: 'stars' },
      columns: [
        { name: 'id', datatype: 'long' },
        { name: 'pmx', datatype: 'double', unit: 'mas/yr' },
        { name: 'pmy', datatype: 'double', unit: 'mas.yr**-1' },
        { name: 'd', datatype: 'double', unit: 'pc' },
        { name: 't', datatype: 'double', unit: 'yr' },
        { name: 'ra', datatype: 'double', unit: 'deg' },
        { name: 'sz', datatype: 'double', unit: 'arcsec' },
        { name: 'flux', datatype: 'double', unit: 'mJy' },
        { name: 'n', datatype: 'int' },
        { name: 'odd', datatype: 'double', unit: 'furlong' },
        { name: 'label', datatype: 'char', arraysize: '*' },
      ],
    },
  ],
};

function fails(adql: string, cat: Catalogue = demo): AdqlError {
  try {
    compile(adql, cat);
  } catch (e) {
    if (e instanceof AdqlError) return e;
    throw e;
  }
  throw new Error(`compiled, but should not have: ${adql}`);
}

describe('adjacent string literals are one literal (ADQL-6, ADQL-9; ADQL 2.1 <character_string_literal>)', () => {
  it("'abc' newline 'def' is 'abcdef'", () => {
    const c = compile("SELECT 'abc'\n'def' AS s FROM demo.sources", demo);
    expect(c.params).toEqual(['abcdef']);
    expect(c.columns).toEqual([{ name: 's', datatype: 'char', arraysize: '*' }]);
  });
  it('spaces, tabs, several lines and -- comments may separate the parts', () => {
    const c = compile("SELECT 'a' \t 'b'\n\n  -- part c\n'c' -- end\n 'd' AS s FROM demo.sources", demo);
    expect(c.params).toEqual(['abcd']);
  });
  it("'' inside a part is still one quote, and without a separator '' is not a join", () => {
    expect(compile("SELECT 'it''s'\n' ok' AS s FROM demo.sources", demo).params).toEqual(["it's ok"]);
    expect(compile("SELECT 'a''b' AS s FROM demo.sources", demo).params).toEqual(["a'b"]);
  });
  it('works wherever a literal does: LIKE patterns, IN lists, REGION, IN_UNIT units', () => {
    const c = compile(
      "SELECT IN_UNIT(ra, 'arc'\n'min') AS am FROM demo.sources WHERE field_id LIKE 'F'\n'%' AND field_id IN ('x' 'y', 'z')",
      demo,
    );
    expect(c.columns[0]).toMatchObject({ name: 'am', unit: 'arcmin' });
    expect(c.params).toEqual(['F%', 'xy', 'z']);
    const r = compile("SELECT REGION('CIRCLE ICRS'\n' 10 20 1') AS r FROM demo.sources", demo);
    expect(r.sql).toContain('ARRAY[10::float8, 20::float8, 1::float8]');
  });
  it('line numbers after a literal spanning lines stay right', () => {
    const e = fails("SELECT 'a'\n'b'\n  AS s FROM demo.sources WHERE nope = 1");
    expect([e.line, e.column, e.kind]).toEqual([3, 32, 'semantic']);
  });
  it('an unterminated later part is reported where it starts', () => {
    const e = fails("SELECT 'a'\n  'b FROM demo.sources");
    expect([e.kind, e.line, e.column]).toEqual(['syntax', 2, 3]);
    expect(e.message).toMatch(/unterminated string literal/);
  });
});

describe('a signed operand of || is refused (ADQL-11, ADQL-20: a <character_factor> is not signed)', () => {
  it("'id-' || -5 is a syntax error suggesting 'id-' || (-5)", () => {
    const e = fails("SELECT 'id-' || -5 AS s FROM demo.sources");
    expect(e.kind).toBe('syntax');
    expect([e.line, e.column, e.token]).toEqual([1, 17, '-']);
    expect(e.suggestion).toBe("'id-' || (-5)");
    expect(e.message).toMatch(/operand of \|\| cannot start with a sign.*parentheses/);
  });
  it("'id-' || (-5) is fine, and so is arithmetic inside the operand", () => {
    expect(compile("SELECT 'id-' || (-5) AS s FROM demo.sources", demo).sql).toContain(
      'CAST(((-5)) AS text)',
    );
    expect(() => compile("SELECT 'x' || flag - 1 AS s FROM demo.sources", demo)).not.toThrow();
  });
  it('a signed left operand and a + sign are refused too; the rewrite is shown', () => {
    expect(fails("SELECT -flag || 'x' AS s FROM demo.sources").suggestion).toBe('(-flag) ||');
    expect(fails("SELECT 'a' || +flag AS s FROM demo.sources").suggestion).toBe("'a' || (+flag)");
    expect(fails("SELECT field_id || 'a' || -flag * 2 AS s FROM demo.sources").suggestion).toBe(
      "field_id || 'a' || (-flag * 2)",
    );
  });
  it('subtraction is not a sign: 1 - 5 || x parses as before', () => {
    expect(() => parse("SELECT 1 - 5 || 'x' FROM t")).not.toThrow();
  });
});

describe('IN_UNIT of an expression infers its unit (ADQL-50)', () => {
  it('the length of a proper-motion vector in deg/yr', () => {
    const c = compile(
      "SELECT IN_UNIT(SQRT(POWER(pmx, 2) + POWER(pmy, 2)), 'deg/yr') AS pm FROM gaia.stars",
      stars,
    );
    expect(c.columns).toEqual([{ name: 'pm', datatype: 'double', unit: 'deg/yr' }]);
    // mas/yr -> deg/yr
    expect(c.sql).toContain(`* ${1 / 3.6e6})`);
  });
  it('a speed from two converted quantities: IN_UNIT(IN_UNIT(d, m) / IN_UNIT(t, s), km/s)', () => {
    const c = compile(
      "SELECT IN_UNIT(IN_UNIT(d, 'm') / IN_UNIT(t, 's'), 'km/s') AS v FROM gaia.stars",
      stars,
    );
    expect(c.columns[0]).toMatchObject({ name: 'v', unit: 'km/s' });
    expect(c.sql).toMatch(/\* 0\.001\) AS "v"/);
  });
  it('the same speed without the inner conversions carries pc/yr to km/s', () => {
    const c = compile("SELECT IN_UNIT(d / t, 'km/s') AS v FROM gaia.stars", stars);
    const factor = Number(/\* ([0-9.e+-]+)\) AS "v"/.exec(c.sql)?.[1]);
    expect(Math.abs(factor / (3.085677581491367e13 / 31557600) - 1)).toBeLessThan(1e-12);
  });
  it('literals take the unit of what they are added to, and scale products', () => {
    const c = compile("SELECT IN_UNIT(2 * (ra + 1) / 4, 'arcmin') AS a FROM gaia.stars", stars);
    expect(c.sql).toMatch(/\* 60\) AS "a"/);
  });
  it('functions: ABS, ROUND, DEGREES(ATAN2(...)), AVG, DISTANCE, AREA', () => {
    for (const [expr, unit] of [
      ["IN_UNIT(ABS(ROUND(pmx, 1)), 'arcsec/yr')", 'arcsec/yr'],
      ["IN_UNIT(DEGREES(ATAN2(pmy, pmx)), 'arcmin')", 'arcmin'],
      ["IN_UNIT(AVG(sz) * COUNT(*), 'deg')", 'deg'],
      ["IN_UNIT(DISTANCE(ra, 0, 0, 0), 'arcsec')", 'arcsec'],
      ["IN_UNIT(AREA(CIRCLE(ra, 0, 1)), 'arcmin**2')", 'arcmin**2'],
      ["IN_UNIT(flux * POWER(d, -2), 'W.m**-4.Hz**-1')", 'W.m**-4.Hz**-1'],
    ])
      expect(compile(`SELECT ${expr} AS x FROM gaia.stars`, stars).columns[0].unit).toBe(unit);
  });
  const cannot: Array<[string, RegExp]> = [
    ["IN_UNIT(ra + sz, 'deg')", /cannot add quantities in 'deg' and 'arcsec' without converting one/],
    ["IN_UNIT(ra - d, 'deg')", /cannot subtract quantities in 'deg' and 'pc': different dimensions/],
    ["IN_UNIT(ra + n, 'deg')", /cannot add 'n', which has no unit, and a quantity in 'deg'/],
    ["IN_UNIT(POWER(pmx, n), 'deg')", /POWER of a quantity with units needs a constant exponent/],
    ["IN_UNIT(odd * 2, 'm')", /unit 'furlong' of column 'odd' is not a VOUnit/],
    ["IN_UNIT(DEGREES(d), 'deg')", /DEGREES needs an angle, got 'pc'/],
    ["IN_UNIT(COALESCE(ra, sz), 'deg')", /COALESCE of values in 'deg' and 'arcsec'/],
    ["IN_UNIT(CASE WHEN n > 0 THEN ra ELSE 0 END, 'deg')", /unit of a CASE expression is not inferred/],
  ];
  for (const [expr, why] of cannot)
    it(`says why it cannot: ${expr}`, () => {
      const e = fails(`SELECT ${expr} FROM gaia.stars`, stars);
      expect(e.kind).toBe('semantic');
      expect(e.message).toMatch(/^IN_UNIT cannot infer the unit of this expression: /);
      expect(e.message).toMatch(why);
    });
  it('a unitless result and a wrong target dimension are errors as before (ADQL-50)', () => {
    expect(fails("SELECT IN_UNIT(n * 2, 'deg') FROM gaia.stars", stars).message).toMatch(
      /the expression has no unit to convert from/,
    );
    expect(fails("SELECT IN_UNIT(n, 'deg') FROM gaia.stars", stars).message).toMatch(
      /'n' has no unit to convert from/,
    );
    expect(fails("SELECT IN_UNIT(pmx * t, 'km/s') FROM gaia.stars", stars).message).toMatch(
      /cannot convert '\(mas\/yr\)\.yr' to 'km\/s': different dimensions/,
    );
  });
  it('a user-defined function has no known unit', () => {
    // No UDF is declared, so the name is unknown before units are considered.
    expect(fails("SELECT IN_UNIT(gavo_x(ra), 'deg') FROM gaia.stars", stars).message).toMatch(/gavo_x/);
  });
});

describe('polygon against polygon: bounding caps before the exact test (ADQL-37, ADQL-38)', () => {
  it('a join tests per-row caps (computed once per row) before adql.geom_intersects', () => {
    const c = compile(
      'SELECT a.obs_id FROM ivoa.obscore AS a JOIN ivoa.obscore AS b ON 1 = INTERSECTS(a.s_region, b.s_region)',
      demo,
    );
    expect(c.sql).toContain('adql.polygon_cap("_t1"."s_region") AS "_pc');
    expect(c.sql).toMatch(
      /adql\.caps_meet\("_t1"\."_pc\d+", "_t2"\."_pc\d+"\) AND adql\.geom_intersects\("_t1"\."s_region", 'polygon', "_t2"\."s_region", 'polygon'\)/,
    );
  });
  it('a constant polygon gets its cap at compile time; the table keeps its plain FROM', () => {
    const c = compile(
      'SELECT obs_id FROM ivoa.obscore WHERE 1 = CONTAINS(s_region, POLYGON(10, 10, 12, 10, 11, 12))',
      demo,
    );
    expect(c.sql).toContain('FROM "demo"."obscore" AS "_t1" WHERE');
    expect(c.sql).toMatch(
      /adql\.caps_meet\(adql\.polygon_cap\("_t1"\."s_region"\), ARRAY\[[-0-9.e, ()]+\]::float8\[\]\) AND adql\.geom_contains/,
    );
  });
  it('0 = INTERSECTS negates the whole test; point and circle tests are unchanged', () => {
    expect(
      compile(
        'SELECT obs_id FROM ivoa.obscore WHERE 0 = INTERSECTS(s_region, POLYGON(1, 1, 2, 1, 2, 2))',
        demo,
      ).sql,
    ).toMatch(/NOT \(adql\.caps_meet\(.*\) AND adql\.geom_intersects\(/);
    expect(
      compile('SELECT obs_id FROM ivoa.obscore WHERE 1 = INTERSECTS(s_region, CIRCLE(1, 1, 1))', demo).sql,
    ).not.toContain('caps_meet');
  });
});
