/**
 * VOUnits 1.1 checker: is a unit string one every VO client reads without a warning?
 * A recursive-descent parser of the normative grammar (VOUnits §B.4, from the Unity
 * grammars), with its terminals (§B table "terminals" plus VOUFLOAT and QUOTED_STRING),
 * the known units of §2.4 (known-units.csv, "VOUnits" column), the SI and binary prefixes
 * of §2.6, and the known functions of §2.9.
 *
 * The standard says a parser should accept unknown units (§2.4) but be able to tell the
 * caller; a publisher wants exactly that report, because every unknown or deprecated
 * symbol becomes a warning in astropy, TOPCAT and pyvo for every user of the table. So
 * the result is "syntax error" or a list of such remarks (empty for a clean unit).
 *
 * adql/units.ts is a different job (conversion factors for IN_UNIT on a subset of units);
 * every symbol it converts is a known unit here (test/publish/vounit.test.ts checks).
 */

/** Known unit symbols: SI prefixes allowed, binary prefixes allowed, deprecated, preferred alternative. */
interface Known {
  readonly si: boolean;
  readonly binary?: boolean;
  /** Deprecated (VOUnits Table 4 'd'): what to write instead. */
  readonly instead?: string;
}

const K = (si: boolean, extra: Omit<Known, 'si'> = {}): Known => ({ si, ...extra });

/** VOUnits Table 4 (known-units.csv), the VOUnits column. */
const KNOWN: Readonly<Record<string, Known>> = {
  '%': K(false),
  A: K(true),
  a: K(true),
  adu: K(true),
  Angstrom: K(false, { instead: '0.1nm' }),
  angstrom: K(false, { instead: 'Angstrom (or 0.1nm)' }),
  arcmin: K(true),
  arcsec: K(true),
  AU: K(false),
  au: K(false),
  Ba: K(false, { instead: 'yr (Besselian years are deprecated)' }),
  barn: K(true, { instead: '1e-28m**2' }),
  beam: K(true),
  bin: K(true),
  bit: K(true, { binary: true }),
  byte: K(true, { binary: true }),
  B: K(true, { binary: true }),
  C: K(true),
  cd: K(true),
  chan: K(true),
  count: K(true),
  ct: K(true),
  d: K(true),
  dB: K(false),
  D: K(true),
  deg: K(true),
  erg: K(true, { instead: '1e-7J' }),
  eV: K(true),
  F: K(true),
  g: K(true),
  G: K(true, { instead: '1e-4T' }),
  H: K(true),
  h: K(true),
  Hz: K(true),
  J: K(true),
  Jy: K(true),
  K: K(true),
  lm: K(true),
  lx: K(true),
  lyr: K(true),
  m: K(true),
  mag: K(true),
  mas: K(false),
  min: K(true),
  mol: K(true),
  N: K(true),
  Ohm: K(true),
  Pa: K(true),
  pc: K(true),
  ph: K(true),
  photon: K(true),
  pix: K(true),
  pixel: K(true),
  R: K(true),
  rad: K(true),
  Ry: K(true),
  s: K(true),
  S: K(true),
  solLum: K(true),
  solMass: K(true),
  solRad: K(true),
  sr: K(true),
  // Table 6 (miscellaneous VOUnits): ratios relative to the Sun, e.g. abundances
  Sun: K(true),
  T: K(true),
  ta: K(false, { instead: 'yr (tropical years are deprecated)' }),
  u: K(true),
  V: K(true),
  voxel: K(true),
  W: K(true),
  Wb: K(true),
  yr: K(true),
};

/** §2.6 decimal prefixes (including ronna/quetta, ronto/quecto of the 27th CGPM). */
const SI_PREFIXES = [
  'da',
  'h',
  'k',
  'M',
  'G',
  'T',
  'P',
  'E',
  'Z',
  'Y',
  'R',
  'Q',
  'd',
  'c',
  'm',
  'u',
  'n',
  'p',
  'f',
  'a',
  'z',
  'y',
  'r',
  'q',
];
const BINARY_PREFIXES = ['Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei', 'Zi', 'Yi'];
/** §2.9 Table 8: functions known to VOUnits. */
const FUNCTIONS = ['log', 'ln', 'exp', 'sqrt'];

export interface VOUnitReport {
  /** False when the string is not in the VOUnits grammar at all. */
  readonly valid: boolean;
  /** The syntax error, or the remarks on a valid string (unknown or deprecated symbols...). */
  readonly problems: readonly string[];
}

class SyntaxError_ extends Error {}

/** Checks a unit string against VOUnits 1.1; an empty `problems` means a clean unit. */
export function checkVOUnit(text: string): VOUnitReport {
  if (text === '') return { valid: false, problems: ['an empty unit is not a VOUnit: leave the unit out'] };
  if (text === 'unknown' || text === 'UNKNOWN') {
    // §2.2: reserved for "there is a unit but it was lost"; not in the grammar
    return { valid: true, problems: [`'${text}' says the unit was lost: give the unit, or leave it out`] };
  }
  const p = new Parser(text);
  try {
    p.input();
  } catch (e) {
    if (e instanceof SyntaxError_) return { valid: false, problems: [e.message] };
    throw e;
  }
  return { valid: true, problems: p.remarks };
}

/** True when `text` is a valid VOUnit with no unknown or deprecated symbol. */
export function isCleanVOUnit(text: string): boolean {
  const r = checkVOUnit(text);
  return r.valid && r.problems.length === 0;
}

class Parser {
  private i = 0;
  readonly remarks: string[] = [];

  constructor(private readonly s: string) {}

  private fail(what: string): never {
    const at = this.i < this.s.length ? `at character ${this.i + 1} ('${this.s[this.i]}')` : 'at the end';
    throw new SyntaxError_(`'${this.s}' is not a VOUnit: ${what} ${at}`);
  }

  private peek(t: string): boolean {
    return this.s.startsWith(t, this.i);
  }

  private eat(t: string): boolean {
    if (!this.peek(t)) return false;
    this.i += t.length;
    return true;
  }

  private match(re: RegExp): string | undefined {
    const y = new RegExp(re.source, 'y');
    y.lastIndex = this.i;
    const m = y.exec(this.s);
    if (!m) return undefined;
    this.i += m[0].length;
    return m[0];
  }

  /** input: complete_expression | scalefactor complete_expression | LIT1 */
  input(): void {
    if (this.s === '1') return;
    if (/[ \t]/.test(this.s)) {
      this.i = this.s.search(/[ \t]/);
      this.fail('whitespace is not allowed (write products with a dot: N.m)');
    }
    if (/[0-9]/.test(this.s[0])) this.scalefactor();
    this.completeExpression();
    if (this.i < this.s.length) {
      if (this.peek('/'))
        this.fail('only one division is allowed at the top level (use **-1 or parentheses)');
      this.fail('unexpected character');
    }
  }

  /** scalefactor: LIT10 power numeric_power | LIT10 | LIT1 | VOUFLOAT */
  private scalefactor(): void {
    if (this.peek('10**')) {
      this.i += 4;
      this.numericPower();
      return;
    }
    const f = this.match(/0\.[0-9]+(?:[eE][+-]?[0-9]+)?|[1-9][0-9]*(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/);
    if (f === undefined) this.fail('a scale factor must be a number like 10**3, 1.5e-3 or 25.4');
    if (Number(f) === 0) this.fail('a scale factor of zero is meaningless');
  }

  /** complete_expression: product_of_units [ division unit_expression ] */
  private completeExpression(): void {
    this.unitExpression();
    while (this.eat('.')) this.unitExpression();
    if (this.eat('/')) this.unitExpression();
  }

  /** unit_expression: term | function_application | OPEN_P complete_expression CLOSE_P */
  private unitExpression(): void {
    if (this.eat('(')) {
      this.completeExpression();
      if (!this.eat(')')) this.fail("expected ')'");
      return;
    }
    if (this.eat('%')) {
      this.power();
      return;
    }
    const start = this.i;
    const word = this.match(/[a-zA-Z]+/);
    if (this.peek("'")) {
      // STRING QUOTED_STRING: a decimal prefix on a quoted (unknown) unit, m'furlong'
      if (word !== undefined && !SI_PREFIXES.includes(word)) {
        this.i = start;
        this.fail(`'${word}' is not a decimal prefix for a quoted unit`);
      }
      this.i++;
      if (this.match(/[a-zA-Z]+/) === undefined) this.fail('a quoted unit must be letters');
      if (!this.eat("'")) this.fail("expected the closing quote (')");
      this.power();
      return;
    }
    if (word === undefined) this.fail('expected a unit symbol');
    if (this.eat('(')) {
      // function_application: STRING OPEN_P function_operand CLOSE_P
      if (!FUNCTIONS.includes(word))
        this.remarks.push(`'${word}(...)' is not a function VOUnits knows (log, ln, exp, sqrt)`);
      if (/[0-9]/.test(this.s[this.i] ?? '')) this.scalefactor();
      this.completeExpression();
      if (!this.eat(')')) this.fail("expected ')'");
      return;
    }
    this.symbol(word);
    this.power();
  }

  /** [ STARSTAR numeric_power ] */
  private power(): void {
    if (this.eat('**')) this.numericPower();
    else if (this.peek('^') || this.peek('*'))
      this.fail("powers are written '**' (m**2), products '.' (N.m)");
    else if (/[0-9+-]/.test(this.s[this.i] ?? '')) this.fail("powers are written with '**' (m**2, s**-1)");
  }

  /** numeric_power: integer | OPEN_P integer CLOSE_P | OPEN_P FLOAT CLOSE_P | OPEN_P integer / UNSIGNED CLOSE_P */
  private numericPower(): void {
    if (this.eat('(')) {
      if (this.match(/[-+]?[0-9]+\.[0-9]+/) === undefined) {
        if (this.match(/[-+]?[0-9]+/) === undefined) this.fail('expected a number in the power');
        if (this.eat('/') && this.match(/[0-9]+/) === undefined) this.fail('expected a denominator');
      }
      if (!this.eat(')')) this.fail("expected ')'");
      return;
    }
    if (this.match(/[-+]?[0-9]+/) === undefined) this.fail('expected an integer power');
  }

  /** A unit symbol with an optional prefix (§2.3: known symbols win over prefix parses). */
  private symbol(word: string): void {
    const known = KNOWN[word];
    if (known) {
      if (known.instead) this.remarks.push(`'${word}' is deprecated in VOUnits: write ${known.instead}`);
      return;
    }
    for (const bp of BINARY_PREFIXES) {
      const base = KNOWN[word.slice(bp.length)];
      if (word.startsWith(bp) && base?.binary) return;
    }
    for (const p of SI_PREFIXES) {
      if (!word.startsWith(p) || word.length === p.length) continue;
      const baseName = word.slice(p.length);
      const base = KNOWN[baseName];
      if (!base) continue;
      if (p === 'da') {
        this.remarks.push(`'${word}': the 'da' prefix must not be used (VOUnits §2.7)`);
        return;
      }
      if (!base.si) this.remarks.push(`'${word}': '${baseName}' takes no prefix`);
      else if (base.instead)
        this.remarks.push(`'${baseName}' is deprecated in VOUnits: write ${base.instead}`);
      return;
    }
    const hint = KNOWN_LOWER.get(word.toLowerCase());
    this.remarks.push(
      hint
        ? `'${word}' is not a known VOUnit (units are case-sensitive: '${hint}'?)`
        : `'${word}' is not a known VOUnit (quote it as '${word}' in the unit string if it is meant)`,
    );
  }
}

const KNOWN_LOWER = new Map(Object.keys(KNOWN).map((k) => [k.toLowerCase(), k]));

/** The known symbols, for tests and documentation. */
export const KNOWN_VOUNITS: readonly string[] = Object.keys(KNOWN);
