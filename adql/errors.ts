/** A place in the ADQL text: 1-based line and column, 0-based character offset. */
export interface Position {
  readonly line: number;
  readonly column: number;
  readonly offset: number;
}

export type AdqlErrorKind = 'syntax' | 'semantic' | 'unsupported';

/**
 * The only error compile() and parse() throw. The message always says where
 * (line:column) and what (the offending token), so a TAP error document can be acted on.
 */
export class AdqlError extends Error {
  readonly line: number;
  readonly column: number;
  readonly offset: number;
  readonly token?: string;
  readonly suggestion?: string;
  readonly kind: AdqlErrorKind;

  constructor(kind: AdqlErrorKind, message: string, pos: Position, token?: string, suggestion?: string) {
    const where = `line ${pos.line}, column ${pos.column}`;
    const hint = suggestion ? `; did you mean ${suggestion}?` : '';
    super(`${message} (at ${where}${token !== undefined ? `, near '${token}'` : ''})${hint}`);
    this.name = 'AdqlError';
    this.kind = kind;
    this.line = pos.line;
    this.column = pos.column;
    this.offset = pos.offset;
    this.token = token;
    this.suggestion = suggestion;
  }

  /** The error as plain data (to cross a worker thread boundary); fromData restores it. */
  toData(): AdqlErrorData {
    return {
      kind: this.kind,
      message: this.message,
      line: this.line,
      column: this.column,
      offset: this.offset,
      token: this.token,
      suggestion: this.suggestion,
    };
  }

  static fromData(d: AdqlErrorData): AdqlError {
    const e = new AdqlError(
      d.kind,
      '',
      { line: d.line, column: d.column, offset: d.offset },
      d.token,
      d.suggestion,
    );
    e.message = d.message;
    return e;
  }
}

export interface AdqlErrorData {
  readonly kind: AdqlErrorKind;
  readonly message: string;
  readonly line: number;
  readonly column: number;
  readonly offset: number;
  readonly token?: string;
  readonly suggestion?: string;
}

/** The closest candidate by edit distance, if close enough to be a plausible typo. */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(w, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(2, Math.floor(w.length / 3));
  if (bestD <= limit) return best;
  // A shared stem is also a plausible slip ('raj2000' for 'ra', 'flux_peak' for 'flux').
  let stem: string | undefined;
  for (const c of candidates) {
    const l = c.toLowerCase();
    if (l.length >= 2 && (w.startsWith(l) || l.startsWith(w)) && (!stem || c.length > stem.length)) stem = c;
  }
  return stem;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 4) return 99;
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}
