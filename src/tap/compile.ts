// ADQL compilation off the event loop. A short query compiles inline (well under a
// millisecond); a long one compiles in a worker thread, so a 256 KiB query costs the other
// requests nothing, with a time limit after which the worker is stopped and replaced.
import { Worker } from 'node:worker_threads';
import {
  AdqlError,
  type AdqlErrorData,
  type Catalogue,
  type CatalogueTable,
  type CompiledQuery,
  type CompileOptions,
  compile,
  MAX_NESTING,
  MAX_QUERY_LENGTH,
} from '../../adql/index.js';
import { ConfigError } from '../config/errors.js';
import { catalogueOf, tablesOf } from './catalogue.js';

export interface AdqlLimits {
  /** Longest ADQL text accepted, characters (VONODE_ADQL_MAX_LENGTH). */
  readonly maxLength: number;
  /** Deepest nesting of parentheses, subqueries, JOINs, NOT and signs (VONODE_ADQL_MAX_DEPTH). */
  readonly maxDepth: number;
  /** Longest a compilation in the worker may take, ms (VONODE_ADQL_COMPILE_TIMEOUT, seconds). */
  readonly timeoutMs: number;
}

/**
 * Queries up to this many characters compile on the event loop: the worker round trip
 * (structured clone of the catalogue, two messages) costs more than compiling them.
 * Measured (bench/adql-size.ts, warm): 0.1-0.6 ms per KB, so 8 KiB costs 1-5 ms at most.
 */
export const INLINE_BELOW = 8 * 1024;

export const DEFAULT_ADQL_LIMITS: AdqlLimits = {
  maxLength: MAX_QUERY_LENGTH,
  maxDepth: MAX_NESTING,
  timeoutMs: 10_000,
};

/** The limits from the environment (README, configuration); a bad value stops the node at start. */
export function adqlLimitsFromEnv(env: Record<string, string | undefined> = process.env): AdqlLimits {
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min || v > max)
      throw new ConfigError(`${name}=${raw} is not valid`, `set an integer from ${min} to ${max}`);
    return v;
  };
  return {
    maxLength: int('VONODE_ADQL_MAX_LENGTH', DEFAULT_ADQL_LIMITS.maxLength, 1024, 16 * 1024 * 1024),
    maxDepth: int('VONODE_ADQL_MAX_DEPTH', DEFAULT_ADQL_LIMITS.maxDepth, 10, 1000),
    timeoutMs: int('VONODE_ADQL_COMPILE_TIMEOUT', DEFAULT_ADQL_LIMITS.timeoutMs / 1000, 1, 3600) * 1000,
  };
}

/**
 * The environment's limits, read on first use. parseConfig reads them first when the node
 * starts, so a bad value stops the node with the configuration's one-line message rather
 * than a stack trace at import time.
 */
let envLimits: AdqlLimits | undefined;
const limitsFromProcessEnv = (): AdqlLimits => {
  envLimits ??= adqlLimitsFromEnv();
  return envLimits;
};

export interface CompileRequest {
  readonly id: number;
  readonly adql: string;
  readonly tables: readonly CatalogueTable[];
  readonly defaultSchema?: string;
  readonly options: CompileOptions;
}

export type CompileReply =
  | { readonly id: number; readonly ok: CompiledQuery }
  | { readonly id: number; readonly adqlError: AdqlErrorData }
  | { readonly id: number; readonly failure: string };

/**
 * ADQL -> SQL against the published tables plus this request's uploads, without holding
 * the event loop: inline when short, else in the compile worker. Rejects with AdqlError
 * (-> 400) for a bad, too long, too deep or too slow query.
 */
export async function compileAdql(
  adql: string,
  published: Catalogue | readonly CatalogueTable[],
  uploads: readonly CatalogueTable[] = [],
  options: Pick<CompileOptions, 'maxrec'> = {},
  limits: AdqlLimits = limitsFromProcessEnv(),
): Promise<CompiledQuery> {
  const full: CompileOptions = { ...options, maxLength: limits.maxLength, maxDepth: limits.maxDepth };
  // Too long is refused here, before the text is copied to the worker.
  if (adql.length <= INLINE_BELOW || adql.length > limits.maxLength)
    return compile(adql, catalogueOf(published, uploads), full);
  const catalogue = catalogueOf(published, uploads);
  return compilePool.run(adql, tablesOf(catalogue), catalogue.defaultSchema, full, limits.timeoutMs);
}

interface Pending {
  readonly request: CompileRequest;
  readonly timeoutMs: number;
  readonly resolve: (q: CompiledQuery) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * One worker thread and a queue: compilations of long queries take turns (one core is
 * the most they take from the node), and a slow one is stopped at its time limit, the
 * worker replaced. Written here rather than taken from a pool library: the whole need is
 * one thread, a FIFO and a per-task limit, and the worker's entry must register tsx.
 */
class CompilePool {
  private worker?: Worker;
  private busy?: Pending & { timer: NodeJS.Timeout };
  private readonly queue: Pending[] = [];
  private nextId = 1;

  run(
    adql: string,
    tables: readonly CatalogueTable[],
    defaultSchema: string | undefined,
    options: CompileOptions,
    timeoutMs: number,
  ) {
    return new Promise<CompiledQuery>((resolve, reject) => {
      const request = {
        id: this.nextId++,
        adql,
        tables,
        ...(defaultSchema ? { defaultSchema } : {}),
        options,
      };
      this.queue.push({ request, timeoutMs, resolve, reject });
      this.pump();
    });
  }

  private start(): Worker {
    const w = new Worker(new URL('./compile-worker.mjs', import.meta.url));
    // Idle, the thread must not keep the process (a CLI run, a test file) alive.
    w.unref();
    w.on('message', (reply: CompileReply) => this.settle(w, reply));
    w.on('error', (err) => this.fail(w, err));
    w.on('exit', (code) => this.fail(w, new Error(`the ADQL compile worker stopped (exit code ${code})`)));
    return w;
  }

  private pump(): void {
    if (this.busy) return;
    const next = this.queue.shift();
    if (!next) return;
    this.worker ??= this.start();
    const w = this.worker;
    const timer = setTimeout(() => {
      // A compilation cannot be interrupted from outside: the thread is stopped and replaced.
      this.stop(w);
      this.finish(() =>
        next.reject(
          new AdqlError(
            'unsupported',
            `the query took more than ${next.timeoutMs / 1000} s to compile; simplify it or put long value lists in a TAP_UPLOAD table`,
            { line: 1, column: 1, offset: 0 },
          ),
        ),
      );
    }, next.timeoutMs);
    this.busy = { ...next, timer };
    w.ref(); // working: the answer is awaited
    try {
      w.postMessage(next.request);
    } catch (err) {
      // A catalogue that is not plain data (DataCloneError) is a fault of the service.
      this.finish(() => next.reject(err));
    }
  }

  private settle(w: Worker, reply: CompileReply): void {
    const task = this.busy;
    if (w !== this.worker || !task || task.request.id !== reply.id) return;
    this.finish(() => {
      if ('ok' in reply) task.resolve(reply.ok);
      else if ('adqlError' in reply) task.reject(AdqlError.fromData(reply.adqlError));
      else task.reject(new Error(`ADQL compilation failed in the worker: ${reply.failure}`));
    });
  }

  private fail(w: Worker, err: unknown): void {
    if (w !== this.worker) return;
    this.stop(w);
    const task = this.busy;
    if (task) this.finish(() => task.reject(err));
  }

  private stop(w: Worker): void {
    if (this.worker === w) this.worker = undefined;
    w.removeAllListeners();
    w.on('error', () => {});
    void w.terminate();
  }

  private finish(settle: () => void): void {
    const task = this.busy;
    if (task) clearTimeout(task.timer);
    this.busy = undefined;
    this.worker?.unref();
    settle();
    this.pump();
  }
}

const compilePool = new CompilePool();

/**
 * Where an ADQL error lies, as INFOs of the DALI error document beside QUERY_STATUS (DALI
 * allows further INFOs there): 1-based line and column of the query text, so a client (the
 * query page among them) can point at the place without parsing the message.
 */
export function adqlErrorInfos(err: AdqlError): Array<{ name: string; value: string }> {
  const infos = [
    { name: 'ADQL_ERROR_LINE', value: String(err.line) },
    { name: 'ADQL_ERROR_COLUMN', value: String(err.column) },
  ];
  if (err.token !== undefined) infos.push({ name: 'ADQL_ERROR_TOKEN', value: err.token });
  return infos;
}
