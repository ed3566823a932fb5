import type { Readable } from 'node:stream';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { type BatchCopy, submitBatchCopy } from './batch-copy.js';
import type { ResultSpool } from './spool.js';

/** A running `COPY (query) TO STDOUT` whose first bytes have been read ahead. */
export interface OpenCopy {
  /** The whole stream is in the read-ahead: PostgreSQL has finished. */
  readonly complete: boolean;
  /**
   * Rows of the whole result, when PostgreSQL finished within the read-ahead or the status
   * spool (its COPY command tag); undefined while it still streams.
   */
  readonly rowCount: number | undefined;
  /** Rows PostgreSQL copied (its command tag), once the COPY has ended without an error. */
  rowsCopied(): number | undefined;
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
/**
 * Where a result larger than the read-ahead goes on until it ends, so its row count (and so
 * its status) is known before the first byte is written (issue 19: pyvo 1.2 reads only the
 * leading QUERY_STATUS); past `maxBytes` the rest streams and overflow is said after the table.
 */
export interface StatusSpool {
  readonly spool: ResultSpool;
  readonly maxBytes: number;
}

/** `copy` is the COPY statement alone, or a BatchCopy carrying it with its transaction. */
export async function openCopy(
  client: pg.PoolClient,
  copy: string | BatchCopy,
  readAheadBytes: number,
  statusSpool?: StatusSpool,
): Promise<OpenCopy> {
  const stream = (
    typeof copy === 'string' ? client.query(copyTo(copy)) : submitBatchCopy(client, copy)
  ) as Readable & { rowCount?: number };
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
  let spooled = 0;
  if (statusSpool) {
    try {
      // The spool is always ended, even unused: chunks() reads it to its end.
      while (!complete && spooled <= statusSpool.maxBytes) {
        const c = await next();
        if (c === null) break;
        await statusSpool.spool.write(c);
        spooled += c.length;
      }
    } catch (err) {
      // The caller answers with an error and never reads the spool: give its disk back now.
      await statusSpool.spool.dispose();
      throw err;
    } finally {
      statusSpool.spool.end();
    }
  }
  const known = ended && !failure;

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
    rowCount: known ? stream.rowCount : undefined,
    rowsCopied: () => (ended && !failure ? stream.rowCount : undefined),
    async *chunks() {
      while (ahead.length) yield ahead.shift() as Buffer;
      if (statusSpool)
        try {
          for (let c = await statusSpool.spool.read(); c !== null; c = await statusSpool.spool.read())
            yield c;
        } finally {
          await statusSpool.spool.dispose();
        }
      for (;;) {
        const c = await next();
        if (c === null) return;
        yield c;
      }
    },
    async finish(cancel) {
      await statusSpool?.spool.dispose();
      if (failure || ended) return true;
      if (await drain(DRAIN_BEFORE_CANCEL_MS)) return true;
      cancel();
      return drain(DRAIN_AFTER_CANCEL_MS);
    },
  };
}
