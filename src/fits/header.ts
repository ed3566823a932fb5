import { FitsError } from './errors.js';

export const BLOCK_SIZE = 2880;
export const CARD_SIZE = 80;
export const CARDS_PER_BLOCK = 36;

export interface FitsComplex {
  re: number;
  im: number;
}

/** A keyword value: null is a card with an undefined (blank) value field (FITS-11). */
export type FitsValue = string | number | bigint | boolean | FitsComplex | null;

export interface FitsCard {
  keyword: string;
  /** Present for value cards (`= ` in bytes 9-10); absent for COMMENT, HISTORY, blank and other commentary. */
  value?: FitsValue;
  comment?: string;
  /** Commentary text (bytes 9-80) for COMMENT/HISTORY/blank/HIERARCH cards. */
  text?: string;
}

const COMMENTARY = new Set(['COMMENT', 'HISTORY', '']);
const KEYWORD_RE = /^[A-Z0-9_-]{0,8}$/;

/**
 * A parsed header: the cards in order, plus first-occurrence lookup (FITS-16: with duplicates the first
 * wins, and the duplicates are listed so a caller can warn).
 */
export class FitsHeader {
  readonly cards: readonly FitsCard[];
  readonly duplicates: readonly string[];
  private readonly index = new Map<string, FitsCard>();

  constructor(cards: readonly FitsCard[]) {
    this.cards = cards;
    const dups: string[] = [];
    for (const card of cards) {
      if (card.value === undefined) continue;
      if (this.index.has(card.keyword)) dups.push(card.keyword);
      else this.index.set(card.keyword, card);
    }
    this.duplicates = dups;
  }

  has(keyword: string): boolean {
    return this.index.has(keyword.toUpperCase());
  }

  /** The value of the first card with this keyword; undefined when absent, null when blank. */
  get(keyword: string): FitsValue | undefined {
    return this.index.get(keyword.toUpperCase())?.value;
  }

  comment(keyword: string): string | undefined {
    return this.index.get(keyword.toUpperCase())?.comment;
  }

  /** A numeric value; a bigint beyond 2^53 is converted with rounding. Throws when present but not numeric. */
  number(keyword: string): number | undefined {
    const v = this.get(keyword);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    throw new FitsError('BAD_HEADER', `keyword ${keyword} should be numeric but is ${JSON.stringify(v)}`);
  }

  integer(keyword: string): number | undefined {
    const v = this.number(keyword);
    if (v !== undefined && !Number.isInteger(v)) {
      throw new FitsError('BAD_HEADER', `keyword ${keyword} should be an integer but is ${v}`);
    }
    return v;
  }

  string(keyword: string): string | undefined {
    const v = this.get(keyword);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    throw new FitsError('BAD_HEADER', `keyword ${keyword} should be a string but is ${String(v)}`);
  }

  logical(keyword: string): boolean | undefined {
    const v = this.get(keyword);
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'boolean') return v;
    throw new FitsError('BAD_HEADER', `keyword ${keyword} should be T or F but is ${String(v)}`);
  }

  /** COMMENT or HISTORY texts, in order. */
  commentary(keyword: 'COMMENT' | 'HISTORY' | ''): string[] {
    return this.cards.filter((c) => c.keyword === keyword && c.value === undefined).map((c) => c.text ?? '');
  }

  /** Every keyword with a value, mapped to its first value (handy for WCS construction). */
  toRecord(): Record<string, FitsValue> {
    const out: Record<string, FitsValue> = {};
    for (const [k, card] of this.index) out[k] = card.value as FitsValue;
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** Parses one block-aligned run of cards; returns the cards before END and whether END was seen. */
export function parseCards(
  bytes: Uint8Array,
  into: FitsCard[],
  state: { pendingContinue: boolean },
): boolean {
  for (let off = 0; off + CARD_SIZE <= bytes.length; off += CARD_SIZE) {
    for (let i = off; i < off + CARD_SIZE; i++) {
      const b = bytes[i];
      if (b < 0x20 || b > 0x7e) {
        throw new FitsError(
          'BAD_HEADER',
          `header card ${into.length + 1} contains byte 0x${b.toString(16).padStart(2, '0')} outside printable ASCII (FITS-02)`,
        );
      }
    }
    const card = String.fromCharCode(...bytes.subarray(off, off + CARD_SIZE));
    const keyword = card.slice(0, 8).trimEnd();
    if (keyword === 'END' && card.slice(8).trim() === '') return true;
    if (keyword === 'CONTINUE' && state.pendingContinue) {
      const prev = into[into.length - 1];
      const parsed = parseValueField(card.slice(8), keyword);
      if (typeof prev.value === 'string' && typeof parsed.value === 'string') {
        prev.value = prev.value.slice(0, -1) + parsed.value;
        if (parsed.comment)
          prev.comment = prev.comment ? `${prev.comment} ${parsed.comment}` : parsed.comment;
        state.pendingContinue = parsed.value.endsWith('&');
        if (!state.pendingContinue) prev.value = prev.value.trimEnd();
        continue;
      }
    }
    state.pendingContinue = false;
    if (keyword === 'HIERARCH' || COMMENTARY.has(keyword) || card.slice(8, 10) !== '= ') {
      // FITS-14: HIERARCH cards are kept opaque; anything without a value indicator is commentary.
      into.push({ keyword, text: card.slice(8).trimEnd() });
      continue;
    }
    // FITS-14 tolerance: lower-case names are upper-cased; names with other characters stay opaque.
    const name = keyword.toUpperCase();
    if (!KEYWORD_RE.test(name)) {
      into.push({ keyword, text: card.slice(8).trimEnd() });
      continue;
    }
    const parsed = parseValueField(card.slice(10), name);
    const entry: FitsCard = { keyword: name, value: parsed.value };
    if (parsed.comment !== undefined) entry.comment = parsed.comment;
    into.push(entry);
    if (typeof parsed.value === 'string' && parsed.value.endsWith('&')) state.pendingContinue = true;
  }
  return false;
}

function parseValueField(field: string, keyword: string): { value: FitsValue; comment?: string } {
  const s = field.trimStart();
  if (s.startsWith("'")) {
    let i = 1;
    let out = '';
    for (;;) {
      if (i >= s.length) throw new FitsError('BAD_HEADER', `unterminated string value for ${keyword}`);
      const ch = s[i];
      if (ch === "'") {
        if (s[i + 1] === "'") {
          out += "'";
          i += 2;
          continue;
        }
        i++;
        break;
      }
      out += ch;
      i++;
    }
    const rest = s.slice(i);
    const slash = rest.indexOf('/');
    const comment = slash >= 0 ? rest.slice(slash + 1).trim() : undefined;
    // FITS-12: trailing spaces inside the quotes are not significant, leading ones are.
    const value = out.endsWith('&') ? out : out.trimEnd();
    return comment ? { value, comment } : { value };
  }
  const slash = s.indexOf('/');
  const raw = (slash >= 0 ? s.slice(0, slash) : s).trim();
  const comment = slash >= 0 ? s.slice(slash + 1).trim() : undefined;
  const value = parseScalar(raw, keyword);
  return comment ? { value, comment } : { value };
}

const INT_RE = /^[+-]?\d+$/;
const REAL_RE = /^[+-]?(\d+\.?\d*|\.\d+)([EeDd][+-]?\d+)?$/;

function parseScalar(raw: string, keyword: string): FitsValue {
  if (raw === '') return null;
  if (raw === 'T') return true;
  if (raw === 'F') return false;
  if (INT_RE.test(raw)) {
    const n = Number(raw);
    return Number.isSafeInteger(n) ? n : BigInt(raw);
  }
  if (REAL_RE.test(raw)) return Number(raw.replace(/[Dd]/, 'E'));
  if (raw.startsWith('(') && raw.endsWith(')')) {
    const parts = raw.slice(1, -1).split(',');
    if (parts.length === 2) {
      const re = parseScalar(parts[0].trim(), keyword);
      const im = parseScalar(parts[1].trim(), keyword);
      if (typeof re === 'number' && typeof im === 'number') return { re, im };
    }
  }
  throw new FitsError(
    'BAD_HEADER',
    `cannot parse value ${JSON.stringify(raw)} of keyword ${keyword} (FITS-11)`,
  );
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** A card to write; `value` undefined writes a commentary card (COMMENT/HISTORY/blank) with `comment` as text. */
export interface CardInput {
  keyword: string;
  value?: FitsValue;
  comment?: string;
}

/** Formats a real so it round-trips (FITS-15): shortest exact representation, always with `.` or `E`. */
export function formatReal(v: number): string {
  if (!Number.isFinite(v)) {
    throw new FitsError(
      'WRITE',
      `cannot write ${v} as a FITS header value (only finite numbers are allowed)`,
    );
  }
  let s = String(v);
  // Tiny magnitudes print as long 0.000... strings; the exponent form is shorter and as exact.
  if (!s.includes('e') && s.length > 20 && Math.abs(v) < 1) s = v.toExponential();
  if (s.includes('e')) {
    const [mant, exp] = s.split('e');
    const m = mant.includes('.') ? mant : `${mant}.0`;
    const sign = exp.startsWith('-') ? '-' : '+';
    const digits = exp.replace(/^[+-]/, '').padStart(2, '0');
    s = `${m}E${sign}${digits}`;
  } else if (!s.includes('.')) {
    s = `${s}.0`;
  }
  return s;
}

function formatValue(value: Exclude<FitsValue, string>): string {
  if (value === null) return '';
  if (typeof value === 'boolean') return value ? 'T' : 'F';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number')
    return Number.isInteger(value) && Math.abs(value) < 1e18 ? value.toFixed(0) : formatReal(value);
  return `(${formatReal(value.re)}, ${formatReal(value.im)})`;
}

function checkKeyword(keyword: string): string {
  const k = keyword.toUpperCase();
  if (!KEYWORD_RE.test(k)) {
    throw new FitsError(
      'WRITE',
      `invalid FITS keyword ${JSON.stringify(keyword)}: use up to 8 of A-Z 0-9 - _`,
    );
  }
  return k.padEnd(8, ' ');
}

function checkText(text: string, what: string): string {
  if (!/^[\x20-\x7e]*$/.test(text)) {
    throw new FitsError(
      'WRITE',
      `${what} contains characters outside printable ASCII: ${JSON.stringify(text)}`,
    );
  }
  return text;
}

function withComment(body: string, comment: string | undefined): string {
  if (!comment) return body.padEnd(CARD_SIZE, ' ');
  const room = CARD_SIZE - body.length - 3;
  if (room <= 0) return body.padEnd(CARD_SIZE, ' ');
  return `${body} / ${checkText(comment, 'comment').slice(0, room)}`.padEnd(CARD_SIZE, ' ');
}

/** One or more 80-character cards for a keyword (several for long strings via CONTINUE, FITS-13). */
export function formatCard(input: CardInput): string[] {
  const key = checkKeyword(input.keyword);
  const value = input.value;
  if (value === undefined) {
    const text = checkText(input.comment ?? '', 'commentary text');
    const lines: string[] = [];
    for (let i = 0; i === 0 || i < text.length; i += 72)
      lines.push(`${key}${text.slice(i, i + 72)}`.padEnd(80));
    return lines;
  }
  if (typeof value === 'string') {
    const escaped = checkText(value, `value of ${input.keyword}`).replace(/'/g, "''");
    if (escaped.length <= 68) {
      // FITS-12: opening quote in byte 11, closing quote at byte 20 or later.
      return [withComment(`${key}= '${escaped.padEnd(8, ' ')}'`, input.comment)];
    }
    const pieces: string[] = [];
    let rest = escaped;
    while (rest.length > 0) {
      let n = Math.min(rest.length, 67);
      // Never split an escaped quote pair across cards.
      if (n < rest.length) {
        let q = 0;
        for (let i = n - 1; i >= 0 && rest[i] === "'"; i--) q++;
        if (q % 2 === 1) n--;
      }
      pieces.push(rest.slice(0, n));
      rest = rest.slice(n);
    }
    return pieces.map((p, i) => {
      const last = i === pieces.length - 1;
      const body = `${i === 0 ? key : 'CONTINUE'}${i === 0 ? '= ' : '  '}'${last ? p : `${p}&`}'`;
      return last ? withComment(body, input.comment) : body.padEnd(CARD_SIZE, ' ');
    });
  }
  const text = formatValue(value);
  // FITS-12: fixed format ends the value in byte 30 when it fits.
  const body = `${key}= ${text.length <= 20 ? text.padStart(20, ' ') : text}`;
  if (body.length > CARD_SIZE)
    throw new FitsError('WRITE', `value of ${input.keyword} is too long for a card`);
  return [withComment(body, input.comment)];
}

/** The header bytes: cards, END, space padding to a whole block (FITS-02). */
export function encodeHeader(cards: readonly CardInput[]): Buffer {
  const lines: string[] = [];
  for (const c of cards) lines.push(...formatCard(c));
  lines.push('END'.padEnd(CARD_SIZE, ' '));
  const text = lines.join('');
  const size = Math.ceil(text.length / BLOCK_SIZE) * BLOCK_SIZE;
  return Buffer.from(text.padEnd(size, ' '), 'latin1');
}
