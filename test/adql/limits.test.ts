// Size, nesting and character limits of the ADQL compiler, and chains of any length
// compiled without recursion in their length (issue 13: long chains overflowed the stack
// and gave 500; NUL bytes gave 500; a long query held the event loop for minutes).
import { describe, expect, it } from 'vitest';
import { AdqlError, compile, MAX_NESTING, MAX_QUERY_LENGTH } from '../../adql/index.js';
import { demoCatalogue } from './fixtures.js';

const cat = demoCatalogue();
const N = 100_000;
const chain = (term: string, op: string, n = N) => Array(n).fill(term).join(op);
/** Long enough for any of the chains below, so they are compiled rather than refused. */
const LONG = { maxLength: 8 * 1024 * 1024 };

function refusal(adql: string, options = {}): AdqlError {
  try {
    compile(adql, cat, options);
  } catch (e) {
    expect(e).toBeInstanceOf(AdqlError);
    return e as AdqlError;
  }
  throw new Error(`compiled: ${adql.slice(0, 80)}`);
}

describe('query length', () => {
  it('refuses a query longer than the default limit (256 KiB), naming both lengths', () => {
    expect(MAX_QUERY_LENGTH).toBe(256 * 1024);
    const q = `SELECT ra FROM demo.sources WHERE flag IN (${chain('1', ',', 150_000)})`;
    const e = refusal(q);
    expect(e.kind).toBe('syntax');
    expect(e.message).toContain(`query is ${q.length} characters long; the limit is ${MAX_QUERY_LENGTH}`);
    expect([e.line, e.column]).toEqual([1, 1]);
  });

  it('takes the limit as an option: the same query compiles under a higher one, and a lower one refuses a short query', () => {
    const q = `SELECT ra FROM demo.sources WHERE flag IN (${chain('1', ',', 150_000)})`;
    const c = compile(q, cat, { maxLength: q.length });
    expect(c.sql.match(/, 1/g)?.length).toBe(150_000 - 1);
    expect(refusal('SELECT ra FROM demo.sources', { maxLength: 10 }).message).toMatch(/the limit is 10\b/);
  });
});

describe('nesting depth', () => {
  const nested = (n: number) => `SELECT ${'('.repeat(n)}flux${')'.repeat(n)} FROM demo.sources`;

  it('compiles parentheses up to the limit and refuses deeper ones with the place (default 100)', () => {
    expect(MAX_NESTING).toBe(100);
    expect(compile(nested(MAX_NESTING - 2), cat).sql).toContain(`${'('.repeat(MAX_NESTING - 2)}"_t1"."flux"`);
    const e = refusal(nested(MAX_NESTING + 1));
    expect(e.message).toMatch(/nested more than 100 levels deep/);
    expect(e.line).toBe(1);
  });

  it('takes the depth limit as an option', () => {
    expect(refusal(nested(20), { maxDepth: 10 }).message).toMatch(/nested more than 10 levels/);
    expect(compile(nested(150), cat, { maxDepth: 200 }).sql).toContain('(((');
  });

  it('counts subqueries, NOT, signs and JOINs', () => {
    let sub = 'SELECT ra FROM demo.sources';
    for (let i = 0; i < 120; i++) sub = `SELECT ra FROM (${sub}) AS q${i}`;
    expect(refusal(sub).message).toMatch(/nested more than/);
    expect(refusal(`SELECT ra FROM demo.sources WHERE ${'NOT '.repeat(N)}flag = 1`, LONG).message).toMatch(
      /nested more than/,
    );
    expect(refusal(`SELECT ${'- '.repeat(N)}1 FROM demo.sources`, LONG).message).toMatch(/nested more than/);
    const joins = (n: number) =>
      `SELECT s0.ra FROM demo.sources AS s0 ${Array.from({ length: n }, (_, i) => `JOIN demo.sources AS s${i + 1} ON s${i + 1}.flag = s${i}.flag`).join(' ')}`;
    expect(compile(joins(50), cat).sql.match(/ JOIN /g)?.length).toBe(50);
    expect(refusal(joins(N), LONG).message).toMatch(
      /nested more than 100 levels deep \(parentheses, subqueries, JOINs/,
    );
  });
});

describe('chains of 100,000 terms compile without overflowing the stack', () => {
  // Before: RangeError (Maximum call stack size exceeded) -> 500. Now each compiles, and
  // with the default length limit each is refused as too long (400), never a RangeError.
  const cases: Array<[string, string, RegExp, number]> = [
    ['a + a + ...', `SELECT ${chain('flux', ' + ')} AS s FROM demo.sources`, / \+ /g, N - 1],
    ['1 = 1 OR ...', `SELECT ra FROM demo.sources WHERE ${chain('1 = 1', ' OR ')}`, / OR /g, N - 1],
    ['x AND y AND ...', `SELECT ra FROM demo.sources WHERE ${chain('flag = 1', ' AND ')}`, / AND /g, N - 1],
    ['a || a || ...', `SELECT ${chain('field_id', ' || ')} AS s FROM demo.sources`, / \|\| /g, N - 1],
    ['2 * 2 * ...', `SELECT ${chain('2', ' * ')} AS s FROM demo.sources`, / \* /g, N - 1],
    [
      'HAVING ... OR ...',
      `SELECT flag, COUNT(*) AS n FROM demo.sources GROUP BY flag HAVING ${chain('COUNT(*) > 1', ' OR ')}`,
      / OR /g,
      N - 1,
    ],
    // 20,000 queries make 550 KB: as deep a chain as the others, for a fifth of the time.
    ['UNION ... UNION', chain('SELECT ra FROM demo.sources', ' UNION ', 20_000), / UNION /g, 20_000 - 1],
  ];
  for (const [name, q, op, count] of cases) {
    it(name, () => {
      const c = compile(q, cat, LONG);
      expect(c.sql.match(op)?.length).toBe(count);
      const e = refusal(q);
      expect(e.message).toMatch(/characters long; the limit is/);
    });
  }

  it('keeps the GROUP BY check on every link of a chain', () => {
    // (flux + 1) is grouped, so flux + 1 + 2 is allowed; flux + 2 + 1 reads flux ungrouped.
    expect(
      compile('SELECT flux + 1 + 2 AS x, COUNT(*) AS n FROM demo.sources GROUP BY flux + 1', cat).sql,
    ).toContain('GROUP BY ("_t1"."flux" + 1)');
    expect(refusal('SELECT flag + 2 + 1 AS x FROM demo.sources GROUP BY flag + 1').message).toMatch(
      /column 'flag' must appear in GROUP BY/,
    );
  });
});

describe('control characters', () => {
  it('refuses NUL in a string literal with its line and column (ADQL-1)', () => {
    const e = refusal("SELECT ra\nFROM demo.sources WHERE field_id = 'a\u0000b'");
    expect(e.kind).toBe('syntax');
    expect(e.message).toContain('control character U+0000 (NUL) is not allowed in ADQL text');
    expect([e.line, e.column, e.offset]).toEqual([2, 38, 47]);
  });

  it('refuses NUL anywhere: in a comment, a delimited identifier, between tokens', () => {
    for (const q of [
      'SELECT ra -- note \u0000\nFROM demo.sources',
      'SELECT "r\u0000a" FROM demo.sources',
      'SELECT ra\u0000FROM demo.sources',
    ]) {
      expect(refusal(q).message).toMatch(/U\+0000 \(NUL\)/);
    }
  });

  it('refuses other control characters but takes tab, CR, LF, VT and FF as white space', () => {
    expect(refusal("SELECT ra FROM demo.sources WHERE field_id = '\u0007'").message).toMatch(/U\+0007/);
    expect(refusal('SELECT ra FROM demo.sources\u001b').message).toMatch(/U\+001B/);
    expect(refusal('SELECT ra FROM demo.sources\u007f').message).toMatch(/U\+007F/);
    const c = compile('SELECT\tra\r\nFROM\u000bdemo.sources\u000cWHERE flag = 1', cat);
    expect(c.sql).toContain('"_t1"."flag" = 1');
  });
});
