import type { Readable } from 'node:stream';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

/** A running `COPY (query) TO STDOUT` whose first bytes have been read ahead. */
export interface OpenCopy {
  /** The whole stream is in the read-ahead: PostgreSQL has finished. */
  readonly complete: boolean;
  /** The read-ahead, then the rest as PostgreSQL sends it; PostgreSQL's error is thrown in place. */
  chunks(): AsyncGenerator<Buffer>;
  /**
   * Brings the connection out of COPY: reads what is left, and if that takes long (a consumer
   * that left a large result), calls `cancel` and reads on until PostgreSQL stops. False
   * when even that did not end it, and the connection must be discarded.
   */
  finish(cancel: () => void): Promise<boolean>;
}

// How long a COPY left mid-stream is read before its backend is cancelled, then after that.
const DRAIN_BEFORE_CANCEL_MS = 500;
const DRAIN_AFTER_CANCEL_MS = 10_000;

/**
 * Starts the COPY and reads until `readAheadBytes` have come or it ended. Errors before
 * that (a query PostgreSQL refuses at run time) are thrown here, so the caller can still
 * answer with an error document instead of a table.
 *
 * The pg-copy-streams Readable is read by hand, not with for-await: leaving a for-await
 * early destroys the stream while the server still sends, and the connection then hangs
 * in COPY mode. Here an early stop drains instead (finish).
 */
export async function openCopy(
  client: pg.PoolClient,
  sql: string,
  readAheadBytes: number,
): Promise<OpenCopy> {
  const stream: Readable = client.query(copyTo(sql));
  let failure: Error | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  // pg-copy-streams emits PostgreSQL's error as an event; with no listener it would crash the process.
  stream.on('error', (err) => {
    failure ??= err;
    notify();
  });
  stream.on('end', () => {
    ended = true;
    notify();
  });
  stream.on('readable', notify);

  /** The next chunk, or null at the end. */
  const next = async (): Promise<Buffer | null> => {
    for (;;) {
      if (failure) throw failure;
      const c = stream.read() as Buffer | null;
      if (c !== null) return c;
      if (ended) return null;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  };

  const ahead: Buffer[] = [];
  let bytes = 0;
  while (bytes < readAheadBytes) {
    const c = await next();
    if (c === null) break;
    ahead.push(c);
    bytes += c.length;
  }
  const complete = ended && !failure;

  const drain = async (ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    const timeout = new Promise<'late'>((resolve) => {
      const t = setTimeout(() => resolve('late'), ms);
      t.unref();
    });
    while (Date.now() < deadline) {
      if (failure || ended) return true;
      const r = await Promise.race([next().catch(() => null), timeout]);
      if (r === 'late') return failure !== undefined || ended;
      if (r === null) return true;
    }
    return failure !== undefined || ended;
  };

  return {
    complete,
    async *chunks() {
      while (ahead.length) yield ahead.shift() as Buffer;
      for (;;) {
        const c = await next();
        if (c === null) return;
        yield c;
      }
    },
    async finish(cancel) {
      if (failure || ended) return true;
      if (await drain(DRAIN_BEFORE_CANCEL_MS)) return true;
      cancel();
      return drain(DRAIN_AFTER_CANCEL_MS);
    },
  };
}
