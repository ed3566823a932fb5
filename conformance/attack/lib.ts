/**
 * Shared helpers of the attack suite (conformance/attack.sh): the node under attack, HTTP
 * with hard time limits, and the report every check writes. Loopback only: every URL is
 * built from ATTACK_BASE, which attack.sh sets to the node it started on 127.0.0.1.
 */
import { appendFileSync } from 'node:fs';

export const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run through conformance/attack.sh)`);
  return v;
};

export const BASE = (): string => env('ATTACK_BASE');
export const DATA = (): string => env('ATTACK_DATA');
export const SCRATCH = (): string => env('ATTACK_DIR');
/** alice, member of team-a (owns field-07). */
export const TOKEN_A = (): string => env('ATTACK_TOKEN_A');
/** bob, member of team-b (owns field-10). */
export const TOKEN_B = (): string => env('ATTACK_TOKEN_B');

/** An embargoed team-b product (field-10), and an ID no product has. */
export const EMBARGOED_DID = 'ivo://vonode.demo/ska?cube-02-low';
export const EMBARGOED_FILE = 'products/cube-02-low.fits';
export const MISSING_DID = 'ivo://vonode.demo/ska?cube-99-low';
/** A team-a product (field-07), and a public one. */
export const TEAM_A_DID = 'ivo://vonode.demo/ska?image-07-mid';
export const PUBLIC_DID = 'ivo://vonode.demo/ska?image-01-low';

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  ms: number;
  /** Set when no answer came within the time limit or the connection failed. */
  error?: string;
}

/** One HTTP exchange with a time limit; never throws. */
export async function http(
  method: string,
  path: string,
  opts: {
    token?: string;
    headers?: Record<string, string>;
    body?: string | FormData | URLSearchParams;
    form?: Record<string, string>;
    timeoutMs?: number;
    redirect?: 'manual' | 'follow' | 'error';
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body = opts.body;
  if (opts.form) {
    body = new URLSearchParams(opts.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  const t0 = performance.now();
  try {
    const res = await fetch(path.startsWith('http') ? path : `${BASE()}${path}`, {
      method,
      headers,
      body,
      redirect: opts.redirect ?? 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, ms: performance.now() - t0 };
  } catch (err) {
    const e = err as Error & { cause?: Error };
    return {
      status: 0,
      headers: new Headers(),
      text: '',
      ms: performance.now() - t0,
      error: `${e.name}: ${e.cause?.message ?? e.message}`,
    };
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** ADQL through /tap/sync as CSV. */
export function tapSync(
  query: string,
  opts: { token?: string; extra?: Record<string, string>; timeoutMs?: number } = {},
) {
  return http('POST', '/tap/sync', {
    token: opts.token,
    form: { LANG: 'ADQL', FORMAT: 'csv', QUERY: query, ...(opts.extra ?? {}) },
    timeoutMs: opts.timeoutMs,
  });
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

export const ms = (v: number) => `${Number.isFinite(v) ? v.toFixed(0) : '-'} ms`;

/**
 * Text that must never reach a client: the node's folders, stack frames, library paths.
 * Returns what was found, or undefined.
 */
export function internalLeak(text: string): string | undefined {
  const needles = [process.env.ATTACK_DATA, process.env.ATTACK_ROOT, process.env.ATTACK_DIR].filter(
    (x): x is string => !!x,
  );
  for (const n of needles) if (text.includes(n)) return `a server folder (${n})`;
  const m =
    /(\/(tmp|work|home|root|var|usr|opt|srv)\/[^\s"'<>]*)|node_modules|\n\s+at [\w.<>]+ \(|ECONNREFUSED|EISDIR|ENOENT/.exec(
      text,
    );
  return m ? `internal text "${m[0].slice(0, 60)}"` : undefined;
}

export interface Outcome {
  /** Check name, as in the summary table. */
  name: string;
  /** Attack family (broker, availability, input, auth, existence, resilience, fuzz). */
  family: string;
  pass: boolean;
  /** Attacks tried; each ends refused (held), with data or control obtained (leaked), or wrong (neither: a 500, a missing header). */
  tried: number;
  held: number;
  leaked: number;
  wrong: number;
  /** The measured figures, one line. */
  figures: string;
}

/** Prints the check's verdict and appends it to the suite's result file. */
export function report(o: Outcome): void {
  console.log(`${o.pass ? 'PASS' : 'FAIL'} ${o.name}: ${o.figures}`);
  console.log(`     attacks tried ${o.tried}, held ${o.held}, leaked ${o.leaked}, wrong ${o.wrong}`);
  const file = process.env.ATTACK_RESULTS;
  if (file) appendFileSync(file, `${JSON.stringify(o)}\n`);
}

/** Tally of attack attempts for one check. */
export class Tally {
  tried = 0;
  held = 0;
  leaked = 0;
  wrong = 0;
  readonly notes: string[] = [];

  hold(): void {
    this.tried++;
    this.held++;
  }

  leak(what: string): void {
    this.tried++;
    this.leaked++;
    this.notes.push(what);
    if (this.notes.length <= 5) console.log(`     leaked: ${what}`);
  }

  bad(what: string): void {
    this.tried++;
    this.wrong++;
    this.notes.push(what);
    if (this.notes.length <= 5) console.log(`     wrong: ${what}`);
  }

  outcome(name: string, family: string, figures: string, extraPass = true): Outcome {
    return {
      name,
      family,
      pass: extraPass && this.leaked === 0 && this.wrong === 0,
      tried: this.tried,
      held: this.held,
      leaked: this.leaked,
      wrong: this.wrong,
      figures,
    };
  }
}
