import { hasNul, NulInputError } from '../errors/index.js';
import { DaliError } from './errors.js';

/**
 * The parameters of one DALI request, gathered from the query string and the body:
 * names compared case-insensitively (DALI-13), values kept in order (DALI-14).
 */
export class DaliParams {
  private readonly values = new Map<string, string[]>();

  /** Adds the name/value pairs of a parsed query string or form body. */
  add(source: unknown): this {
    if (!source || typeof source !== 'object') return this;
    for (const [name, value] of Object.entries(source as Record<string, unknown>)) {
      const list = Array.isArray(value) ? value : [value];
      for (const v of list) {
        if (v === undefined || v === null) continue;
        if (typeof v === 'object') continue; // file parts are handled by the upload code
        this.push(name, String(v));
      }
    }
    return this;
  }

  /** Adds one parameter; a NUL character in its name or value is a bad request (issue 13). */
  push(name: string, value: string): void {
    if (hasNul(name) || hasNul(value))
      throw new DaliError(
        new NulInputError(hasNul(name) ? 'a parameter name' : `the parameter ${name}`).message,
      );
    const key = name.toUpperCase();
    const list = this.values.get(key);
    if (list) list.push(value);
    else this.values.set(key, [value]);
  }

  /** A single-valued parameter: repeats with different values are an error (DALI-14). */
  get(name: string): string | undefined {
    const list = this.values.get(name.toUpperCase());
    if (!list || list.length === 0) return undefined;
    const first = list[0];
    if (list.some((v) => v !== first)) {
      throw new DaliError(`${name.toUpperCase()} was given ${list.length} different values; give it once`);
    }
    return first;
  }

  all(name: string): readonly string[] {
    return this.values.get(name.toUpperCase()) ?? [];
  }

  has(name: string): boolean {
    return this.values.has(name.toUpperCase());
  }

  /** Every parameter as given (names upper-cased), e.g. to store in a UWS job. */
  entries(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const [k, list] of this.values) for (const v of list) out.push([k, v]);
    return out;
  }
}
