// Fuzzing: randomly mutated queries (seeded, so failures reproduce) must either compile
// or raise AdqlError; anything else is a bug. The slowest compile is printed, not asserted.
import { describe, expect, it } from 'vitest';
import { AdqlError, compile } from '../../adql/index.js';
import { demoCatalogue, prng } from './fixtures.js';

const SEEDS = [
  'SELECT TOP 10 ra, dec, flux FROM demo.sources WHERE 1 = CONTAINS(POINT(ra, dec), CIRCLE(10, 20, 0.5)) ORDER BY flux DESC',
  'SELECT s.source_id, m.id, DISTANCE(POINT(s.ra, s.dec), POINT(m.ra, m.dec)) AS d FROM demo.sources AS s JOIN TAP_UPLOAD.mine AS m ON DISTANCE(s.ra, s.dec, m.ra, m.dec) < 5 / 3600.0',
  "SELECT field_id, COUNT(*) AS n, AVG(flux) FROM demo.sources WHERE field_id LIKE 'F%' GROUP BY field_id HAVING COUNT(*) > 2 ORDER BY n DESC OFFSET 1",
  'WITH a AS (SELECT ra, dec FROM demo.sources WHERE dec > 0) SELECT * FROM a UNION ALL SELECT s_ra, s_dec FROM ivoa.obscore',
  'SELECT * FROM ivoa.obscore WHERE 1 = INTERSECTS(s_region, POLYGON(10, 10, 12, 10, 11, 12)) AND t_min BETWEEN 1 AND 2',
  'SELECT footprint, AREA(footprint) FROM ivoa.obscore WHERE 1 = CONTAINS(POINT(s_ra, s_dec), footprint) UNION SELECT footprint, 0 FROM ivoa.obscore',
  "SELECT CAST(flux AS INTEGER), COALESCE(flux, 0), IN_UNIT(maj_axis, 'deg'), LOWER(field_id) || 'x' FROM demo.sources",
  'SELECT ROUND(flux, 2), TRUNCATE(ra, -1), MOD(flag, 3), LOG(flux), LOG10(flux), POWER(2, flag), SQRT(ABS(dec)) FROM demo.sources',
  "SELECT CASE WHEN flux > 1 THEN 'a' ELSE 'b' END FROM demo.sources AS a NATURAL JOIN TAP_UPLOAD.mine",
  'SELECT ra FROM demo.sources WHERE source_id IN (SELECT id FROM TAP_UPLOAD.mine) AND NOT EXISTS (SELECT 1 FROM ivoa.obscore)',
  "SELECT AREA(BOX(1, 2, 3, 4)), CENTROID(s_region), COORD1(POINT(1, 2)), REGION('CIRCLE ICRS 1 2 3') FROM ivoa.obscore",
  'SELECT DISTINCT TOP 5 "size", "MixedCase" FROM demo.sources a LEFT OUTER JOIN ivoa.obscore o ON (a.ra = o.s_ra AND (a.dec > 0 OR a.dec < -1))',
];

const VOCAB = [
  'SELECT',
  'FROM',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  '(',
  ')',
  ',',
  '.',
  '*',
  '+',
  '-',
  '/',
  '||',
  '=',
  '<',
  '>=',
  '<>',
  'TOP',
  '10',
  '1.5e3',
  "'x'",
  "''",
  '"q"',
  '""',
  'ra',
  'dec',
  'demo',
  'sources',
  'CONTAINS',
  'POINT',
  'CIRCLE',
  'POLYGON',
  'BOX',
  'DISTANCE',
  'COUNT',
  'GROUP',
  'BY',
  'ORDER',
  'HAVING',
  'UNION',
  'INTERSECT',
  'JOIN',
  'ON',
  'USING',
  'NATURAL',
  'IN',
  'BETWEEN',
  'LIKE',
  'IS',
  'NULL',
  'EXISTS',
  'CAST',
  'AS',
  'WITH',
  'OFFSET',
  'CASE',
  'WHEN',
  'THEN',
  'END',
  '--',
  '\n',
  ';',
  '%',
  '[',
  '$',
  '_x',
  '0',
  '-1',
  '90',
  '1e308',
  '9999999999999999999999',
  'REGION',
  'AREA',
  'IN_UNIT',
  "'deg'",
];

function mutate(q: string, rnd: () => number): string {
  const steps = rnd() < 0.6 ? 1 : 1 + Math.floor(rnd() * 3);
  for (let s = 0; s < steps; s++) {
    const at = Math.floor(rnd() * (q.length + 1));
    const len = Math.floor(rnd() * 12);
    const word = VOCAB[Math.floor(rnd() * VOCAB.length)];
    switch (Math.floor(rnd() * 6)) {
      case 0:
        q = q.slice(0, at) + q.slice(at + len);
        break;
      case 1:
        q = `${q.slice(0, at)} ${word} ${q.slice(at)}`;
        break;
      case 2:
        q = q.slice(0, at) + word + q.slice(at + len);
        break;
      case 3: {
        const from = Math.floor(rnd() * q.length);
        q = q.slice(0, at) + q.slice(from, from + len) + q.slice(at);
        break;
      }
      case 4:
        q = q.slice(0, at) + String.fromCharCode(32 + Math.floor(rnd() * 95)) + q.slice(at + 1);
        break;
      default: {
        const words = q.split(/(\s+)/);
        const i = Math.floor(rnd() * words.length);
        const j = Math.floor(rnd() * words.length);
        [words[i], words[j]] = [words[j], words[i]];
        q = words.join('');
      }
    }
  }
  return q;
}

describe('fuzzing compile()', () => {
  it('10,000 mutated queries either compile or raise AdqlError', () => {
    const cat = demoCatalogue();
    const rnd = prng(20261122);
    let compiled = 0;
    let rejected = 0;
    let maxMs = 0;
    let slowest = '';
    const kinds = new Map<string, number>();
    // Warm the JIT on the unmutated corpus so the maximum reflects compile work, not start-up.
    for (let i = 0; i < 20; i++) for (const q of SEEDS) compile(q, cat);
    for (let n = 0; n < 10_000; n++) {
      const q = mutate(SEEDS[n % SEEDS.length], rnd);
      const t0 = performance.now();
      try {
        compile(q, cat, { maxrec: 100 });
        compiled++;
      } catch (e) {
        if (!(e instanceof AdqlError)) {
          throw new Error(`non-AdqlError for query #${n}: ${JSON.stringify(q)}: ${(e as Error).stack}`);
        }
        expect(e.message.length).toBeGreaterThan(10);
        expect(e.line).toBeGreaterThanOrEqual(1);
        expect(e.column).toBeGreaterThanOrEqual(1);
        kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
        rejected++;
      }
      const ms = performance.now() - t0;
      if (ms > maxMs) {
        maxMs = ms;
        slowest = q;
      }
    }
    console.log(
      `fuzz: ${compiled} compiled, ${rejected} rejected (${[...kinds].map(([k, v]) => `${k} ${v}`).join(', ')}); ` +
        `slowest ${maxMs.toFixed(2)} ms (target < 50 ms): ${JSON.stringify(slowest.slice(0, 120))}`,
    );
    expect(compiled + rejected).toBe(10_000);
    expect(compiled).toBeGreaterThan(0);
  });
});
