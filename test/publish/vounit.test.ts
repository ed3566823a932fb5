import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseUnit } from '../../adql/units.js';
import { checkVOUnit } from '../../src/publish/vounit.js';

/*
 * VOUnits 1.1 (REC 2023-12-15): section numbers below are that document's. Each case is a
 * unit string, what the checker must say (clean: valid with no remark; remark: valid but
 * reported, with a fragment of the remark; invalid: not in the grammar), and why.
 */
type Case = readonly [unit: string, verdict: 'clean' | 'remark' | 'invalid', fragment: string, why: string];

const CASES: readonly Case[] = [
  // §2.4 known units, §2.6 prefixes, §2.10 combinations
  ['deg', 'clean', '', 'known unit'],
  ['Jy/beam', 'clean', '', 'one division'],
  ['mJy/beam', 'clean', '', 'SI prefix on Jy'],
  ['nJy', 'clean', '', 'nano-jansky (Rubin fluxes)'],
  ['km/s', 'clean', '', 'prefixed metre over second'],
  ['mas.yr**-1', 'clean', '', 'product and signed power'],
  ['W.m**-2.Hz**-1', 'clean', '', 'product of powers'],
  ['kg.m**2.s**-2', 'clean', '', 'kilogram is k + g'],
  ['m**(1/2)', 'clean', '', 'rational power in parentheses'],
  ['m**(1.5)', 'clean', '', 'decimal power in parentheses'],
  ['pixel**2', 'clean', '', 'miscellaneous unit squared'],
  ['Pa', 'clean', '', '§2.3: Pa is the pascal, not a peta-year'],
  ['cd', 'clean', '', 'Table 7: cd is the candela, not a centi-day'],
  ['dB', 'clean', '', 'decibel is a unit of its own'],
  ['ha', 'clean', '', 'Table 7: hecto-year'],
  ['mas', 'clean', '', 'milliarcsecond is a known symbol'],
  ['1', 'clean', '', '§2.2: dimensionless'],
  ['%', 'clean', '', 'percent'],
  ['10**-3m', 'clean', '', '§2.11 scale factor 10**n'],
  ['1.5e3Jy', 'clean', '', 'VOUFLOAT scale factor'],
  ['0.1nm', 'clean', '', 'VOUFLOAT below one'],
  ['log(Hz)', 'clean', '', '§2.9 known function'],
  ["'furlong'", 'clean', '', '§2.12 quoted unknown unit is conformant'],
  ["m'furlong'", 'clean', '', 'decimal prefix on a quoted unit'],
  ['(km/s)/Mpc', 'clean', '', 'a parenthesised expression before the division'],
  ['km/(s.Mpc)', 'clean', '', 'a parenthesised expression after the division'],
  ['GiB', 'clean', '', 'binary prefix on byte'],
  // reported: parses, but clients will warn
  ['furlong', 'remark', "'furlong' is not a known VOUnit", '§2.4 unknown units parse but are reported'],
  ['jy', 'remark', "case-sensitive: 'Jy'", '§2.1 case matters'],
  ['erg', 'remark', 'deprecated', 'Table 4: deprecated'],
  ['angstrom', 'remark', 'deprecated', 'Table 4: deprecated'],
  ['dam', 'remark', "'da' prefix must not be used", '§2.7'],
  ['kmas', 'remark', "'mas' takes no prefix", 'mas has no s flag'],
  ['sinh(Hz)', 'remark', 'not a function VOUnits knows', '§2.9 unknown functions are accepted but reported'],
  ['unknown', 'remark', 'unit was lost', '§2.2 reserved string'],
  // invalid: not in the grammar
  ['', 'invalid', 'empty unit', '§2.2: the empty string is not a unit'],
  ['km/s/Mpc', 'invalid', 'only one division', '§B.4: one division at the top level'],
  ['m s', 'invalid', 'whitespace', 'no whitespace in VOUnits'],
  ['m^2', 'invalid', "'**'", 'powers are **'],
  ['m2', 'invalid', "'**'", 'FITS-style implicit power is not VOUnits'],
  ['erg*s', 'invalid', "products '.'", 'products are dots'],
  ['0m', 'invalid', 'scale factor', 'VOUFLOAT excludes zero'],
  ['m**', 'invalid', 'integer power', 'power without exponent'],
  ['(m', 'invalid', "expected ')'", 'unbalanced parenthesis'],
  ["'furlong", 'invalid', 'closing quote', 'unterminated quoted unit'],
  ['/s', 'invalid', 'expected a unit symbol', 'nothing before the division'],
];

describe('VOUnits checker', () => {
  it.each(CASES)('%s is %s (%s)', (unit, verdict, fragment) => {
    const r = checkVOUnit(unit);
    if (verdict === 'clean') expect(r).toEqual({ valid: true, problems: [] });
    if (verdict === 'remark') {
      expect(r.valid).toBe(true);
      expect(r.problems.join('\n')).toContain(fragment);
    }
    if (verdict === 'invalid') {
      expect(r.valid).toBe(false);
      expect(r.problems).toHaveLength(1);
      expect(r.problems[0]).toContain(fragment);
    }
  });

  it('knows, as clean VOUnits, the units IN_UNIT converts (adql/units.ts)', () => {
    // The symbols adql/units.ts converts, prefixed where it allows prefixes; its extra
    // deprecated symbols (erg, Angstrom) and 'uas' (not a VOUnit, which would be uarcsec) are
    // left out.
    const units =
      'm km g kg s ms rad sr K A Hz MHz GHz J W N Pa Jy mJy eV keV pc kpc Mpc AU au lyr solMass solRad solLum deg arcmin arcsec mas min h d yr Myr a km/s mas.yr**-1 W.m**-2'.split(
        ' ',
      );
    for (const u of units) {
      expect(parseUnit(u), u).toBeDefined();
      expect(checkVOUnit(u), u).toEqual({ valid: true, problems: [] });
    }
  });

  it('agrees with astropy (VOUnit format) on what parses', () => {
    // astropy 5.2 implements VOUnits 1.0; the differences with 1.1 are listed and expected.
    const ASTROPY_DIFFERS: Record<string, string> = {
      '%': 'percent became a VOUnit in 1.1',
      'log(Hz)': "astropy's VOUnit format does not read functions",
      'sinh(Hz)': "astropy's VOUnit format does not read functions",
      "m'furlong'": "astropy's quoted-unit handling fails on a prefixed quoted unit",
      'm s': 'astropy accepts whitespace as a product',
      '0m': 'astropy takes 0 as a scale factor',
      m2: 'astropy reads the FITS implicit power',
      'erg*s': 'astropy reads * as a product',
      '(km/s)/Mpc': 'astropy 5.2 refuses a parenthesised numerator (the 1.1 grammar allows it)',
      'm^2': 'astropy reads ^ as a power',
      unknown: 'astropy maps it to an unrecognised unit',
      '/s': 'astropy reads a leading division as a power of -1',
    };
    const cases = CASES.filter(([u]) => u !== '' && !(u in ASTROPY_DIFFERS));
    const script =
      'import sys, json, warnings\nimport astropy.units as u\nout = {}\nfor s in json.load(sys.stdin):\n' +
      "  with warnings.catch_warnings():\n    warnings.simplefilter('ignore')\n" +
      "    try:\n      u.Unit(s, format='vounit'); out[s] = True\n    except Exception:\n      out[s] = False\n" +
      'print(json.dumps(out))\n';
    const run = spawnSync('/usr/bin/python3', ['-c', script], {
      input: JSON.stringify(cases.map(([u]) => u)),
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const astropy = JSON.parse(run.stdout) as Record<string, boolean>;
    const disagree = cases
      .filter(([unit, verdict]) => astropy[unit] !== (verdict !== 'invalid'))
      .map(([u]) => u);
    expect(disagree).toEqual([]);
    expect(Object.keys(astropy)).toHaveLength(cases.length);
  });
});
