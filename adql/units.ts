// A small VOUnit reader for IN_UNIT (ADQL-50): enough to convert between the units
// catalogues actually carry (angles, lengths, times, masses, frequencies, flux
// densities). An unknown unit or a dimension mismatch is an error, never a guess.

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
