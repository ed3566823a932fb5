import { DaliError } from './errors.js';

export interface MaxrecLimits {
  readonly maxrecDefault: number;
  readonly maxrecHard: number;
}

/**
 * MAXREC as a row count (DALI-21). Above the hard limit it is the hard limit: the
 * result is then an overflow at that limit, not an error (CLIENTS.md).
 */
export function parseMaxrec(raw: string | undefined, limits: MaxrecLimits): number {
  if (raw === undefined || raw.trim() === '') return limits.maxrecDefault;
  const text = raw.trim();
  if (!/^\+?\d+$/.test(text))
    throw new DaliError(`MAXREC='${raw}' is not a whole number of rows (0 or more)`);
  const n = Number(text);
  return Math.min(n, limits.maxrecHard);
}
