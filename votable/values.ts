import { VOTableEncodeError } from './errors.js';

/*
 * Value mapping from node-postgres (array row mode) to VOTable cells; see README.md.
 * Each function takes a non-null value and throws VOTableEncodeError naming the column when
 * the value cannot be represented.
 */

export function fail(column: string, what: string, v: unknown): never {
  let shown: string;
  try {
    shown = typeof v === 'string' ? JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v) : String(v);
  } catch {
    shown = typeof v;
  }
  throw new VOTableEncodeError(`column "${column}": cannot write ${shown} as ${what}`);
}

export function toNumber(v: unknown, column: string, what: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const t = v.trim();
    if (t === 'NaN') return Number.NaN;
    if (t === '+Inf' || t === 'Inf' || t === 'Infinity' || t === '+Infinity') return Number.POSITIVE_INFINITY;
    if (t === '-Inf' || t === '-Infinity') return Number.NEGATIVE_INFINITY;
    const n = Number(t);
    if (t !== '' && !Number.isNaN(n)) return n;
    return fail(column, what, v);
  }
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return fail(column, what, v);
}

export function toInteger(v: unknown, column: string, what: string, min: number, max: number): number {
  const n = toNumber(v, column, what);
  if (!Number.isInteger(n) || n < min || n > max) fail(column, what, v);
  return n;
}

const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;
const DECIMAL = /^[+-]?[0-9]+$/;

/** A long as a canonical decimal string (pg returns int8 as a string). */
export function longText(v: unknown, column: string): string {
  if (typeof v === 'string') {
    if (v.length < 16 && DECIMAL.test(v)) return v.charCodeAt(0) === 43 ? v.slice(1) : v;
    return String(toBigInt(v, column));
  }
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return String(v);
    return String(toBigInt(v, column));
  }
  return String(toBigInt(v, column));
}

export function toBigInt(v: unknown, column: string): bigint {
  let b: bigint;
  try {
    if (typeof v === 'bigint') b = v;
    else if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
    else if (typeof v === 'string' && DECIMAL.test(v.trim())) b = BigInt(v.trim());
    else if (typeof v === 'string' && /^0x[0-9a-f]{1,16}$/i.test(v.trim()))
      b = BigInt.asIntN(64, BigInt(v.trim()));
    else return fail(column, 'long', v);
  } catch {
    return fail(column, 'long', v);
  }
  if (b < LONG_MIN || b > LONG_MAX) fail(column, 'long', v);
  return b;
}

export function toBoolean(v: unknown, column: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (v === 1) return true;
    if (v === 0) return false;
  }
  if (typeof v === 'string') {
    const t = v.trim().toLowerCase();
    if (t === 't' || t === 'true' || t === '1') return true;
    if (t === 'f' || t === 'false' || t === '0') return false;
  }
  return fail(column, 'boolean', v);
}

/** Text of a char/unicodeChar cell: strings as they are, Date as ISO 8601 (DALI timestamp). */
export function toText(v: unknown, column: string): string {
  if (typeof v === 'string') return v;
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) fail(column, 'timestamp', v);
    return isoTimestamp(v);
  }
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (Buffer.isBuffer(v)) return v.toString('hex');
  if (typeof v === 'object' && v !== null) {
    try {
      return JSON.stringify(v);
    } catch {
      return fail(column, 'text', v);
    }
  }
  return fail(column, 'text', v);
}

const PAD2: string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : String(i)));
const DAY_MS = 86_400_000;
let lastDay = Number.NaN;
let lastDayText = '';

/**
 * DALI timestamp: YYYY-MM-DDThh:mm:ss[.sss], UTC, without a zone designator. Date#toISOString
 * dominated the encoders' profile, so the civil date is computed here (days-to-civil
 * arithmetic) and cached for consecutive values on the same day.
 */
export function isoTimestamp(d: Date): string {
  return isoFromMillis(d.getTime());
}

export function isoFromMillis(t: number): string {
  // Years 0001..9999 only; others keep toISOString's extended form.
  if (!(t >= -62135596800000 && t <= 253402300799999)) {
    const s = new Date(t).toISOString();
    return s.endsWith('Z') ? s.slice(0, -1) : s;
  }
  const day = Math.floor(t / DAY_MS);
  let ms = t - day * DAY_MS;
  if (day !== lastDay) {
    const z = day + 719468;
    const era = Math.floor(z / 146097);
    const doe = z - era * 146097;
    const yoe = Math.floor(
      (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
    );
    const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
    const mp = Math.floor((5 * doy + 2) / 153);
    const dd = doy - Math.floor((153 * mp + 2) / 5) + 1;
    const m = mp < 10 ? mp + 3 : mp - 9;
    const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
    lastDay = day;
    lastDayText = `${String(y).padStart(4, '0')}-${PAD2[m]}-${PAD2[dd]}T`;
  }
  splitDay(ms);
  const h = HMS[0];
  const mi = HMS[1];
  const sec = HMS[2];
  ms = HMS[3];
  // Whole seconds are written without a fraction (DALI-52 makes it optional), so a value
  // fits the 19 characters of a column declared arraysize="19", as uploads often are.
  const whole = `${lastDayText}${PAD2[h]}:${PAD2[mi]}:${PAD2[sec]}`;
  return ms === 0 ? whole : `${whole}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}`;
}

// Hours, minutes, seconds and milliseconds of a time of day, shared by both timestamp
// writers without allocating per call.
const HMS = new Int32Array(4);

function splitDay(ms: number): void {
  const h = Math.floor(ms / 3_600_000);
  let rest = ms - h * 3_600_000;
  const mi = Math.floor(rest / 60_000);
  rest -= mi * 60_000;
  const sec = Math.floor(rest / 1000);
  HMS[0] = h;
  HMS[1] = mi;
  HMS[2] = sec;
  HMS[3] = rest - sec * 1000;
}

let writeDay = Number.NaN;
const writeDayBytes = Buffer.alloc(11);

/**
 * isoFromMillis written straight into a buffer (the binary COPY path makes no string per
 * cell); returns the byte count, or 0 outside years 0001..9999 (use isoFromMillis then).
 */
export function writeIsoMillis(o: Buffer, p: number, t: number): number {
  if (!(t >= -62135596800000 && t <= 253402300799999)) return 0;
  const day = Math.floor(t / DAY_MS);
  if (day !== writeDay) {
    writeDayBytes.write(isoFromMillis(day * DAY_MS).slice(0, 11), 'latin1');
    writeDay = day;
  }
  for (let k = 0; k < 11; k++) o[p + k] = writeDayBytes[k];
  splitDay(t - day * DAY_MS);
  const h = HMS[0];
  const mi = HMS[1];
  const sec = HMS[2];
  const ms = HMS[3];
  o[p + 11] = 48 + Math.floor(h / 10);
  o[p + 12] = 48 + (h % 10);
  o[p + 13] = 58;
  o[p + 14] = 48 + Math.floor(mi / 10);
  o[p + 15] = 48 + (mi % 10);
  o[p + 16] = 58;
  o[p + 17] = 48 + Math.floor(sec / 10);
  o[p + 18] = 48 + (sec % 10);
  if (ms === 0) return 19;
  o[p + 19] = 46;
  o[p + 20] = 48 + Math.floor(ms / 100);
  o[p + 21] = 48 + (Math.floor(ms / 10) % 10);
  o[p + 22] = 48 + (ms % 10);
  return 23;
}

const SPLIT = /[\s,()[\]{}]+/;

/** Items of an array cell, flattened (2-D arrays may come nested); strings are split on blanks. */
export function toItems(v: unknown, column: string): unknown[] {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (Array.isArray(v[i])) return v.flat(Number.POSITIVE_INFINITY);
    return v;
  }
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
  if (typeof v === 'string') {
    const t = v.trim();
    return t === '' ? [] : t.split(SPLIT).filter((x) => x !== '');
  }
  return fail(column, 'an array', v);
}

/**
 * A decimal that reads back as the same IEEE single. The double's own shortest form always
 * does (rounding it to single gives the same value), and it is short when the number came
 * from PostgreSQL's text for a real; only long forms search for a shorter one.
 */
export function formatFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  const own = String(n);
  if (own.length <= 10) {
    const f = Math.fround(n);
    return Number.isFinite(f) ? own : f > 0 ? '+Inf' : '-Inf';
  }
  const f = Math.fround(n);
  if (!Number.isFinite(f)) return f > 0 ? '+Inf' : '-Inf';
  for (let p = 6; p < 10; p++) {
    const t = f.toPrecision(p);
    if (Math.fround(Number(t)) === f) return String(Number(t));
  }
  return String(f);
}

export function formatDouble(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}
