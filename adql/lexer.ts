import { AdqlError, type Position } from './errors.js';
import { RESERVED } from './keywords.js';

export type TokenType = 'keyword' | 'ident' | 'delimited' | 'number' | 'string' | 'op' | 'eof';

export interface Token {
  readonly type: TokenType;
  /** Identifier/delimited: the name; keyword: upper-case; string: unescaped value; number/op: text. */
  readonly value: string;
  /** The exact source text of the token (for error messages). */
  readonly text: string;
  readonly pos: Position;
  /** True when whitespace or a comment precedes the token (needed to reject `selectxfrom`-like glue). */
  readonly spaced: boolean;
}

/**
 * Longest query text accepted by default (characters): a named limit so a client cannot make
 * the compiler allocate or work without bound. 256 KiB holds an IN list or polygon of some
 * 20,000 values (longer lists belong in a TAP_UPLOAD table) and compiles in tens of ms.
 */
export const MAX_QUERY_LENGTH = 256 * 1024;

export interface LexOptions {
  /** Longest query text accepted, in characters (default MAX_QUERY_LENGTH). */
  readonly maxLength?: number;
}

const OPS2 = new Set(['<>', '!=', '<=', '>=', '||']);
const OPS1 = new Set(['(', ')', ',', '.', '*', '+', '-', '/', '<', '>', '=', ';']);

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * ADQL-1: the language is written in letters, digits, special characters and white space.
 * A control character that is not white space (NUL above all: PostgreSQL text cannot hold
 * it) is refused wherever it stands, comments and literals included, naming its place.
 */
function refuseControlCharacters(src: string): void {
  // One regular-expression scan: linear, and fast on the common all-clean text.
  const bad = /[\u0000-\u0008\u000e-\u001f\u007f]/.exec(src);
  if (!bad) return;
  const offset = bad.index;
  let line = 1;
  let lineStart = 0;
  for (let i = src.indexOf('\n'); i !== -1 && i < offset; i = src.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  const code = src.charCodeAt(offset).toString(16).toUpperCase().padStart(4, '0');
  throw new AdqlError(
    'syntax',
    `control character U+${code}${code === '0000' ? ' (NUL)' : ''} is not allowed in ADQL text`,
    { line, column: offset - lineStart + 1, offset },
    `U+${code}`,
  );
}

/**
 * The end of the run of <separator>s (white space and `--` comments, ADQL-9) starting at
 * `from`, with the offsets of the newlines in it. A comment runs to its newline; a comment
 * ending the text has none.
 */
function skipSeparators(src: string, from: number): { end: number; newlines: number[] } {
  const newlines: number[] = [];
  let i = from;
  for (;;) {
    const c = src.charCodeAt(i);
    if (c === 10) newlines.push(i);
    if (c === 10 || c === 32 || c === 9 || c === 13 || c === 12 || c === 11) i++;
    else if (c === 45 && src.charCodeAt(i + 1) === 45) {
      const nl = src.indexOf('\n', i);
      if (nl === -1) return { end: src.length, newlines };
      i = nl;
    } else return { end: i, newlines };
  }
}

/** The position of offset `off` on a line starting at `lineStart` (a function, not a closure per call of tokenize). */
function posAt(line: number, lineStart: number, off: number): Position {
  return { line, column: off - lineStart + 1, offset: off };
}

/** Splits ADQL text into tokens (ADQL-1..9). Comments are dropped: they never reach SQL. */
export function tokenize(src: string, options: LexOptions = {}): Token[] {
  const maxLength = options.maxLength ?? MAX_QUERY_LENGTH;
  if (src.length > maxLength) {
    throw new AdqlError(
      'syntax',
      `query is ${src.length} characters long; the limit is ${maxLength} (larger value lists belong in a TAP_UPLOAD table)`,
      { line: 1, column: 1, offset: 0 },
    );
  }
  refuseControlCharacters(src);
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let spaced = true;
  const n = src.length;
  while (i < n) {
    const c = src.charCodeAt(i);
    if (c === 10) {
      i++;
      line++;
      lineStart = i;
      spaced = true;
      continue;
    }
    if (c === 32 || c === 9 || c === 13 || c === 12 || c === 11) {
      i++;
      spaced = true;
      continue;
    }
    // ADQL-9: `--` comment to end of line.
    if (c === 45 && src.charCodeAt(i + 1) === 45) {
      while (i < n && src.charCodeAt(i) !== 10) i++;
      spaced = true;
      continue;
    }
    const start = i;
    const pos = posAt(line, lineStart, start);
    if (isLetter(c)) {
      i++;
      while (i < n) {
        const d = src.charCodeAt(i);
        if (isLetter(d) || isDigit(d) || d === 95) i++;
        else break;
      }
      const text = src.slice(start, i);
      const upper = text.toUpperCase();
      if (RESERVED.has(upper)) tokens.push({ type: 'keyword', value: upper, text, pos, spaced });
      else tokens.push({ type: 'ident', value: text, text, pos, spaced });
    } else if (isDigit(c) || (c === 46 && isDigit(src.charCodeAt(i + 1)))) {
      while (i < n && isDigit(src.charCodeAt(i))) i++;
      if (src.charCodeAt(i) === 46) {
        i++;
        while (i < n && isDigit(src.charCodeAt(i))) i++;
      }
      const e = src.charCodeAt(i);
      if (e === 69 || e === 101) {
        let j = i + 1;
        const s = src.charCodeAt(j);
        if (s === 43 || s === 45) j++;
        if (isDigit(src.charCodeAt(j))) {
          while (j < n && isDigit(src.charCodeAt(j))) j++;
          i = j;
        }
      }
      const text = src.slice(start, i);
      tokens.push({ type: 'number', value: text, text, pos, spaced });
    } else if (c === 39) {
      // ADQL-6: '' inside a string is one quote. Strings may span lines.
      // Copied a run at a time between quotes (not a character at a time): a long literal
      // costs one slice.
      let value = '';
      let segment = start;
      i++;
      for (;;) {
        const q = src.indexOf("'", i);
        if (q === -1)
          throw new AdqlError(
            'syntax',
            'unterminated string literal',
            segment === start ? pos : posAt(line, lineStart, segment),
            src.slice(segment, segment + 20),
          );
        for (let nl = src.indexOf('\n', i); nl !== -1 && nl < q; nl = src.indexOf('\n', nl + 1)) {
          line++;
          lineStart = nl + 1;
        }
        value += src.slice(i, q);
        if (src.charCodeAt(q + 1) === 39) {
          value += "'";
          i = q + 2;
          continue;
        }
        i = q + 1;
        // ADQL 2.1 BNF <character_string_literal> (as SQL-92): quoted parts separated only
        // by <separator>s (spaces, newlines, comments) are one literal: 'abc' \n 'def' is
        // 'abcdef'. Without a separator '' is an escaped quote, handled above.
        const next = skipSeparators(src, i);
        if (next.end > i && src.charCodeAt(next.end) === 39) {
          for (const nl of next.newlines) {
            line++;
            lineStart = nl + 1;
          }
          segment = next.end;
          i = next.end + 1;
          continue;
        }
        break;
      }
      tokens.push({ type: 'string', value, text: src.slice(start, i), pos, spaced });
    } else if (c === 34) {
      // ADQL-4: delimited identifier, "" inside is one quote.
      let value = '';
      i++;
      for (;;) {
        if (i >= n)
          throw new AdqlError(
            'syntax',
            'unterminated delimited identifier',
            pos,
            src.slice(start, start + 20),
          );
        const d = src.charCodeAt(i);
        if (d === 34) {
          if (src.charCodeAt(i + 1) === 34) {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (d === 10)
          throw new AdqlError('syntax', 'line break inside a delimited identifier', pos, src.slice(start, i));
        value += src[i];
        i++;
      }
      if (value.length === 0) throw new AdqlError('syntax', 'empty delimited identifier', pos, '""');
      tokens.push({ type: 'delimited', value, text: src.slice(start, i), pos, spaced });
    } else {
      const two = src.slice(i, i + 2);
      if (OPS2.has(two)) {
        i += 2;
        tokens.push({ type: 'op', value: two, text: two, pos, spaced });
      } else if (OPS1.has(src[i])) {
        i++;
        tokens.push({ type: 'op', value: src[start], text: src[start], pos, spaced });
      } else {
        const ch = String.fromCodePoint(src.codePointAt(i) ?? 0);
        const hints: Record<string, string> = {
          _: 'a regular identifier must start with a letter; quote it as "..."',
          '%': 'ADQL has no % operator; use MOD(x, y)',
          '[': 'ADQL has no array subscripts',
          '&': 'ADQL has no bitwise operators',
          '|': 'ADQL has no bitwise operators; || joins strings',
        };
        const hint = hints[ch];
        throw new AdqlError('syntax', `unexpected character '${ch}'${hint ? ` (${hint})` : ''}`, pos, ch);
      }
    }
    spaced = false;
  }
  tokens.push({
    type: 'eof',
    value: '',
    text: '<end of query>',
    pos: posAt(line, lineStart, n),
    spaced: true,
  });
  return tokens;
}
