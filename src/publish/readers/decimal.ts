/**
 * Decimal numbers read straight from text positions, without a string per cell: the
 * loaders' hot path (CSV cells). Each answers NaN for anything it does not take, and the
 * caller then takes the general path (Number(), BigInt) that also words the errors.
 */

const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * A plain decimal (sign, at most 16 significant digits making m < 2^53, point, exponent)
 * read from text[a..b) as the nearest double, NaN when it is anything else. With m < 2^53
 * and |e| <= 22 both m and 10^|e| are exact doubles, so the one division or multiplication
 * rounds correctly (Clinger's fast path): the same double Number() gives. (While the digits
 * read stay below 2^53 every step of m·10 + d is exact; a value that reaches 2^53 cannot
 * round back below it, so the final test is safe.)
 */
export function fastDecimal(text: string, a: number, b: number): number {
  let i = a;
  let c = text.charCodeAt(i);
  const neg = c === 45;
  if (neg || c === 43) i++;
  let m = 0;
  let digits = 0;
  let scale = 0;
  let any = false;
  let dot = false;
  let exp = 0;
  for (; i < b; i++) {
    c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      any = true;
      if (m === 0 && c === 48) {
        if (dot) scale++;
        continue;
      }
      if (digits === 16) return Number.NaN;
      m = m * 10 + (c - 48);
      digits++;
      if (dot) scale++;
    } else if (c === 46 && !dot) dot = true;
    else if ((c === 101 || c === 69) && any) {
      i++;
      c = text.charCodeAt(i);
      const eneg = c === 45;
      if (eneg || c === 43) i++;
      if (i >= b || b - i > 3) return Number.NaN;
      for (; i < b; i++) {
        c = text.charCodeAt(i) - 48;
        if (c < 0 || c > 9) return Number.NaN;
        exp = exp * 10 + c;
      }
      if (eneg) exp = -exp;
    } else return Number.NaN;
  }
  if (!any || m >= 9007199254740992) return Number.NaN;
  const e = exp - scale;
  let v: number;
  if (m === 0 || e === 0) v = m;
  else if (e > 0 && e <= 22) v = m * POW10[e];
  else if (e < 0 && e >= -22) v = m / POW10[-e];
  else return Number.NaN;
  return neg ? -v : v;
}

/** Digits with an optional sign, at most 15 of them, from text[a..b); NaN otherwise. */
export function fastInteger(text: string, a: number, b: number): number {
  let i = a;
  let c = text.charCodeAt(i);
  const neg = c === 45;
  if (neg || c === 43) i++;
  if (i >= b || b - i > 15) return Number.NaN;
  let v = 0;
  for (; i < b; i++) {
    c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return Number.NaN;
    v = v * 10 + c;
  }
  return neg ? -v : v;
}
