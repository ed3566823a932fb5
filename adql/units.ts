// A small VOUnit reader for IN_UNIT (ADQL-50): enough to convert between the units
// catalogues actually carry (angles, lengths, times, masses, frequencies, flux
// densities). An unknown unit or a dimension mismatch is an error, never a guess.
import type { Expr } from './ast.js';
import { AdqlError, type Position } from './errors.js';

// Dimensions: m, kg, s, rad, K, A, mol, cd.
type Dims = [number, number, number, number, number, number, number, number];
interface Unit {
  factor: number;
  dims: Dims;
}

const D = (m = 0, kg = 0, s = 0, rad = 0, K = 0, A = 0): Dims => [m, kg, s, rad, K, A, 0, 0];
const PI = Math.PI;

/** Symbols; `true` marks those that take SI prefixes. */
const UNITS: Record<string, [number, Dims, boolean]> = {
  m: [1, D(1), true],
  g: [1e-3, D(0, 1), true],
  s: [1, D(0, 0, 1), true],
  rad: [1, D(0, 0, 0, 1), true],
  sr: [1, D(0, 0, 0, 2), true],
  K: [1, D(0, 0, 0, 0, 1), true],
  A: [1, D(0, 0, 0, 0, 0, 1), true],
  Hz: [1, D(0, 0, -1), true],
  J: [1, D(2, 1, -2), true],
  W: [1, D(2, 1, -3), true],
  N: [1, D(1, 1, -2), true],
  Pa: [1, D(-1, 1, -2), true],
  Jy: [1e-26, D(0, 1, -2), true],
  eV: [1.602176634e-19, D(2, 1, -2), true],
  erg: [1e-7, D(2, 1, -2), false],
  pc: [3.085677581491367e16, D(1), true],
  AU: [1.495978707e11, D(1), false],
  au: [1.495978707e11, D(1), false],
  lyr: [9.4607304725808e15, D(1), false],
  Angstrom: [1e-10, D(1), false],
  angstrom: [1e-10, D(1), false],
  solMass: [1.98847e30, D(0, 1), false],
  solRad: [6.957e8, D(1), false],
  solLum: [3.828e26, D(2, 1, -3), false],
  deg: [PI / 180, D(0, 0, 0, 1), false],
  arcmin: [PI / 10800, D(0, 0, 0, 1), false],
  arcsec: [PI / 648000, D(0, 0, 0, 1), false],
  mas: [PI / 648000e3, D(0, 0, 0, 1), false],
  uas: [PI / 648000e6, D(0, 0, 0, 1), false],
  min: [60, D(0, 0, 1), false],
  h: [3600, D(0, 0, 1), false],
  d: [86400, D(0, 0, 1), false],
  yr: [31557600, D(0, 0, 1), true],
  a: [31557600, D(0, 0, 1), true],
};
const PREFIXES: Record<string, number> = {
  y: 1e-24,
  z: 1e-21,
  a: 1e-18,
  f: 1e-15,
  p: 1e-12,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  c: 1e-2,
  d: 1e-1,
  da: 1e1,
  h: 1e2,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Z: 1e21,
  Y: 1e24,
};

function symbol(s: string): Unit | undefined {
  const direct = UNITS[s];
  if (direct) return { factor: direct[0], dims: [...direct[1]] as Dims };
  for (const plen of [2, 1]) {
    const p = PREFIXES[s.slice(0, plen)];
    const u = UNITS[s.slice(plen)];
    if (p !== undefined && u?.[2]) return { factor: p * u[0], dims: [...u[1]] as Dims };
  }
  return undefined;
}

/** Parses a VOUnit string such as `km/s`, `mas.yr**-1`, `W.m**-2`. Returns undefined if not understood. */
export function parseUnit(text: string): Unit | undefined {
  const s = text.trim();
  if (!s || s.length > 100) return undefined;
  const out: Unit = { factor: 1, dims: D() };
  const re = /([./]?)([A-Za-z]+)(?:\*\*\(?([+-]?\d+)\)?)?/y;
  let i = 0;
  let first = true;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m || (first && m[1]) || (!first && !m[1])) return undefined;
    const u = symbol(m[2]);
    if (!u) return undefined;
    const pow = (m[3] ? Number(m[3]) : 1) * (m[1] === '/' ? -1 : 1);
    out.factor *= u.factor ** pow;
    for (let k = 0; k < 8; k++) out.dims[k] += u.dims[k] * pow;
    i = re.lastIndex;
    first = false;
  }
  return out;
}

/** The factor converting a value in `from` to `to`, or a reason it cannot. */
export function conversionFactor(from: string, to: string): number | { error: string } {
  const a = parseUnit(from);
  if (!a) return { error: `the column unit '${from}' is not a VOUnit this service understands` };
  const b = parseUnit(to);
  if (!b) return { error: `'${to}' is not a valid VOUnit (or not one this service knows)` };
  if (a.dims.some((d, k) => d !== b.dims[k]))
    return { error: `cannot convert '${from}' to '${to}': different dimensions` };
  return a.factor / b.factor;
}

// ---------------------------------------------------------------------------------------
// Unit inference for IN_UNIT of an expression (ADQL-50: "computed expressions are unitless
// unless the service implements unit inference"; this one does). The unit of a value
// expression is worked out from the declared units of its columns with the usual algebra:
// products and quotients multiply, powers scale dimensions, sums need one unit on both
// sides. What cannot be inferred is an AdqlError saying why, never a guess.

/**
 * What an expression is worth in units: a quantity in a known unit (`scale` times the SI
 * base units of `dims` per unit of the SQL value), or a pure number: a literal, PI(), a
 * COUNT, or a column declaring no unit (`column` names it so messages can point at it).
 */
export type InferredUnit =
  | { readonly kind: 'unit'; readonly scale: number; readonly dims: Dims; readonly text: string }
  | { readonly kind: 'number'; readonly column?: string };

/** The one thing unit inference needs from name resolution: a column's declared unit. */
export type ColumnUnitOf = (column: Extract<Expr, { kind: 'column' }>) => string | undefined;

const NUMBER: InferredUnit = { kind: 'number' };
const RAD_PER_DEG = PI / 180;

/**
 * The unit of the numeric value expression `e` (ADQL-50), or an AdqlError naming the
 * sub-expression whose unit cannot be inferred and why.
 */
export function inferUnit(e: Expr, columnUnit: ColumnUnitOf): InferredUnit {
  const infer = (x: Expr): InferredUnit => inferUnit(x, columnUnit);
  switch (e.kind) {
    case 'number':
    case 'null':
      return NUMBER;
    case 'paren':
      return infer(e.arg);
    case 'unary':
      return infer(e.arg);
    case 'column': {
      const name = e.parts.map((p) => p.name).join('.');
      const text = columnUnit(e);
      if (!text) return { kind: 'number', column: name };
      const u = parseUnit(text);
      if (!u) cannot(e, `the unit '${text}' of column '${name}' is not a VOUnit this service understands`);
      return { kind: 'unit', scale: u.factor, dims: u.dims, text };
    }
    case 'binary':
      return binaryUnit(e, infer(e.left), infer(e.right));
    case 'cast':
      if (['SMALLINT', 'INTEGER', 'BIGINT', 'REAL', 'DOUBLE PRECISION'].includes(e.target.type))
        return infer(e.arg);
      return cannot(e, `CAST to ${e.target.type} is not a number`);
    case 'aggregate':
      if (e.name === 'COUNT' || !e.arg) return NUMBER;
      return infer(e.arg);
    case 'call':
      return callUnit(e, infer);
    case 'string':
      return cannot(e, 'a string has no unit');
    case 'udf':
      return cannot(e, `the unit of the result of ${e.name.name}() is not known`);
    case 'case':
      return cannot(e, 'the unit of a CASE expression is not inferred');
    case 'scalar':
      return cannot(e, 'the unit of a subquery is not inferred');
  }
}

function binaryUnit(e: Extract<Expr, { kind: 'binary' }>, l: InferredUnit, r: InferredUnit): InferredUnit {
  switch (e.op) {
    case '||':
      return cannot(e, 'a string has no unit');
    case '*':
    case '/': {
      if (l.kind === 'number' && r.kind === 'number') return NUMBER;
      const sign = e.op === '*' ? 1 : -1;
      const a = asUnit(l);
      const b = asUnit(r);
      const dims = a.dims.map((d, k) => d + sign * b.dims[k]) as Dims;
      const scale = e.op === '*' ? a.scale * b.scale : a.scale / b.scale;
      const text =
        r.kind === 'number'
          ? a.text
          : l.kind === 'number'
            ? sign > 0
              ? b.text
              : `1/${wrap(b.text)}`
            : `${wrap(a.text)}${e.op === '*' ? '.' : '/'}${wrap(b.text)}`;
      return { kind: 'unit', scale, dims, text };
    }
    default: {
      // + and -: one unit on both sides. A literal takes the other side's unit (`ra + 1` is
      // in degrees); a column without a unit does not, and two scales of one dimension
      // (deg + arcsec) would add numbers that mean different things.
      if (l.kind === 'number' && r.kind === 'number') return NUMBER;
      const verb = e.op === '+' ? 'add' : 'subtract';
      if (l.kind === 'number' || r.kind === 'number') {
        const bare = (l.kind === 'number' ? l : r) as { column?: string };
        const other = (l.kind === 'unit' ? l : r) as { text: string };
        if (!bare.column) return l.kind === 'unit' ? l : r;
        return cannot(
          e,
          `cannot ${verb} '${bare.column}', which has no unit, and a quantity in '${other.text}'`,
        );
      }
      if (!sameDims(l.dims, r.dims))
        return cannot(e, `cannot ${verb} quantities in '${l.text}' and '${r.text}': different dimensions`);
      if (Math.abs(l.scale - r.scale) > 1e-12 * Math.abs(l.scale))
        return cannot(
          e,
          `cannot ${verb} quantities in '${l.text}' and '${r.text}' without converting one; write IN_UNIT(..., '${l.text}') around the other`,
        );
      return l;
    }
  }
}

function callUnit(e: Extract<Expr, { kind: 'call' }>, infer: (x: Expr) => InferredUnit): InferredUnit {
  const arg = (i: number) => infer(e.args[i]);
  switch (e.name) {
    case 'ABS':
    case 'CEILING':
    case 'FLOOR':
    case 'ROUND':
    case 'TRUNCATE':
      return arg(0);
    case 'MOD': {
      const a = arg(0);
      const b = arg(1);
      if (b.kind === 'unit' && (a.kind !== 'unit' || !sameDims(a.dims, b.dims) || a.scale !== b.scale))
        return cannot(e, `MOD of ${describe(a)} by a quantity in '${b.text}'`);
      return a;
    }
    case 'SQRT':
      return power(arg(0), 0.5);
    case 'POWER': {
      const base = arg(0);
      if (base.kind === 'number' && arg(1).kind === 'number') return NUMBER;
      const n = constantOf(e.args[1]);
      if (n === undefined)
        return cannot(e, 'POWER of a quantity with units needs a constant exponent, such as POWER(x, 2)');
      return power(base, n);
    }
    case 'DEGREES':
    case 'RADIANS': {
      // degrees(x) is x * 180/pi: a number read as radians becomes degrees; an angle keeps
      // its dimension with the scale changed accordingly.
      const a = arg(0);
      const toDeg = e.name === 'DEGREES';
      if (a.kind === 'number' && !a.column) return toDeg ? unitOf('deg') : unitOf('rad');
      if (a.kind === 'unit' && sameDims(a.dims, ANGLE)) {
        const scale = toDeg ? a.scale * RAD_PER_DEG : a.scale / RAD_PER_DEG;
        if (Math.abs(scale - RAD_PER_DEG) < 1e-15) return unitOf('deg');
        if (Math.abs(scale - 1) < 1e-15) return unitOf('rad');
        return { kind: 'unit', scale, dims: a.dims, text: `${e.name}(${a.text})` };
      }
      return cannot(e, `${e.name} needs an angle, got ${describe(a)}`);
    }
    case 'ACOS':
    case 'ASIN':
    case 'ATAN':
    case 'ATAN2':
      return unitOf('rad');
    case 'COS':
    case 'SIN':
    case 'TAN':
    case 'COT':
    case 'EXP':
    case 'LOG':
    case 'LOG10':
    case 'PI':
    case 'RAND':
    case 'CONTAINS':
    case 'INTERSECTS':
      return NUMBER;
    case 'DISTANCE':
    case 'COORD1':
    case 'COORD2':
      return unitOf('deg');
    case 'AREA':
      return unitOf('deg**2');
    case 'IN_UNIT': {
      const target = e.args[1];
      const text = target.kind === 'string' ? target.value : '';
      const u = parseUnit(text);
      if (!u) return cannot(target, `'${text}' is not a valid VOUnit (or not one this service knows)`);
      return { kind: 'unit', scale: u.factor, dims: u.dims, text };
    }
    case 'COALESCE': {
      let out: InferredUnit | undefined;
      for (const a of e.args) {
        const u = infer(a);
        if (u.kind === 'number' && !u.column) continue;
        if (
          out &&
          !(u.kind === 'unit' && out.kind === 'unit' && sameDims(u.dims, out.dims) && u.scale === out.scale)
        )
          return cannot(e, `COALESCE of values in ${describe(out)} and ${describe(u)}`);
        out = u;
      }
      return out ?? NUMBER;
    }
    default:
      return cannot(e, `${e.name} is not a number`);
  }
}

const ANGLE = D(0, 0, 0, 1);

function unitOf(text: string): InferredUnit {
  const u = parseUnit(text) as Unit;
  return { kind: 'unit', scale: u.factor, dims: u.dims, text };
}

function asUnit(u: InferredUnit): { scale: number; dims: Dims; text: string } {
  return u.kind === 'unit' ? u : { scale: 1, dims: D(), text: '' };
}

function power(base: InferredUnit, n: number): InferredUnit {
  if (base.kind === 'number') return NUMBER;
  const text = n === 0.5 ? `sqrt(${base.text})` : `${wrap(base.text)}**${n}`;
  return { kind: 'unit', scale: base.scale ** n, dims: base.dims.map((d) => d * n) as Dims, text };
}

/** The value of a constant exponent: a number literal, possibly signed or parenthesised. */
function constantOf(e: Expr): number | undefined {
  if (e.kind === 'number') return e.value;
  if (e.kind === 'paren') return constantOf(e.arg);
  if (e.kind === 'unary') {
    const v = constantOf(e.arg);
    return v === undefined ? undefined : e.op === '-' ? -v : v;
  }
  return undefined;
}

function sameDims(a: Dims, b: Dims): boolean {
  return a.every((d, k) => Math.abs(d - b[k]) < 1e-9);
}

function wrap(text: string): string {
  return /[./*]/.test(text) ? `(${text})` : text;
}

function describe(u: InferredUnit): string {
  if (u.kind === 'unit') return `'${u.text}'`;
  return u.column ? `'${u.column}' (no unit)` : 'a pure number';
}

function cannot(e: { pos: Position }, why: string): never {
  throw new AdqlError('semantic', `IN_UNIT cannot infer the unit of this expression: ${why}`, e.pos);
}

/**
 * The factor converting the SQL value of an expression whose unit was inferred to the
 * unit `to`, or a reason it cannot (ADQL-50).
 */
export function inferredConversion(from: InferredUnit, to: string): number | { error: string } {
  if (from.kind === 'number')
    return {
      error: from.column
        ? `'${from.column}' has no unit to convert from (ADQL-50)`
        : 'the expression has no unit to convert from (ADQL-50)',
    };
  const b = parseUnit(to);
  if (!b) return { error: `'${to}' is not a valid VOUnit (or not one this service knows)` };
  if (!sameDims(from.dims, b.dims))
    return { error: `cannot convert '${from.text}' to '${to}': different dimensions` };
  return from.scale / b.factor;
}
