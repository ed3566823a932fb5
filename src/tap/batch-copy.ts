import { Readable } from 'node:stream';
import type pg from 'pg';

/** What pg's protocol parser hands a query for the messages of its answer. */
interface RowDescription {
  readonly fields: readonly { readonly name: string }[];
}
interface DataRow {
  readonly fields: readonly (string | null)[];
}
interface CommandComplete {
  readonly text: string;
}
interface CopyData {
  readonly chunk: Buffer;
}
interface Connection {
  query(text: string): void;
  readonly stream: NodeJS.ReadableStream;
}

// CopyData messages (one a row) are gathered into chunks of about this size: fewer, larger
// pushes for the transcoders, as pg-copy-streams gives them.
const CHUNK_BYTES = 64 * 1024;

/**
 * A `COPY (...) TO STDOUT` sent in one simple-protocol string after the statements that
 * prepare it (BEGIN, settings, identity) and before the one that ends its transaction
 * (ROLLBACK): one round trip for the whole query instead of one each (issue 20).
 *
 * pg-copy-streams takes the connection's bytes from the first message and ends at the
 * first CommandComplete, so it cannot follow other statements; this reads pg's own parsed
 * messages instead (pg's Submittable: submit and the handle* calls of its Client). The
 * rows of the statements before the COPY are read for one check: a column named `check`
 * must equal `expect` (the role the identity set), else the stream fails before any of
 * the COPY's bytes is given out. A Readable like pg-copy-streams' (read, 'readable', 'end',
 * 'error', rowCount), so openCopy reads either the same way.
 */
export class BatchCopy extends Readable {
  /** Rows of the COPY, from its command tag; 0 until it ended. */
  rowCount = 0;
  /** The batch's closing statement (ROLLBACK) ran: the connection is out of the transaction. */
  transactionEnded = false;
  /** Resolves when PostgreSQL is ready for the next query on this connection. */
  readonly settled: Promise<void>;
  private settle!: () => void;
  private isSettled = false;
  private connection: Connection | undefined;
  private staged: Buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private stagedBytes = 0;
  private flushQueued = false;
  private checkColumn = -1;
  private failed = false;
  private copyEnded = false;
  private paused = false;

  constructor(
    private readonly text: string,
    private readonly check: { readonly column: string; readonly expect: string },
  ) {
    super({ highWaterMark: 256 * 1024 });
    this.settled = new Promise((resolve) => {
      this.settle = () => {
        this.isSettled = true;
        resolve();
      };
    });
  }

  submit(connection: Connection): void {
    this.connection = connection;
    connection.query(this.text);
  }

  override _read(): void {
    this.resumeConnection();
  }

  handleRowDescription(msg: RowDescription): void {
    this.checkColumn = msg.fields.findIndex((f) => f.name === this.check.column);
  }

  handleDataRow(msg: DataRow): void {
    if (this.checkColumn < 0 || this.failed) return;
    if (msg.fields[this.checkColumn] !== this.check.expect) {
      this.fail(
        new Error(
          `the statements before the COPY did not take effect (${this.check.column} is not ${this.check.expect})`,
        ),
      );
    }
  }

  handleCopyData(msg: CopyData): void {
    if (this.failed) return;
    const chunk = msg.chunk;
    // The parser's buffer is reused for later bytes: what is kept is copied out of it.
    if (this.stagedBytes + chunk.length > this.staged.length) this.flush();
    if (chunk.length > this.staged.length) {
      this.deliver(Buffer.from(chunk));
      return;
    }
    chunk.copy(this.staged, this.stagedBytes);
    this.stagedBytes += chunk.length;
    if (this.stagedBytes >= CHUNK_BYTES / 2) this.flush();
    else if (!this.flushQueued) {
      // A COPY still producing: what came in this turn goes out after it.
      this.flushQueued = true;
      setImmediate(() => {
        this.flushQueued = false;
        if (!this.copyEnded) this.flush();
      });
    }
  }

  handleCommandComplete(msg: CommandComplete): void {
    const copied = /^COPY (\d+)$/.exec(msg.text);
    if (copied) {
      this.rowCount = Number(copied[1]);
      this.copyEnded = true;
      if (!this.failed) {
        this.flush();
        this.push(null);
      }
    } else if (msg.text === 'ROLLBACK' && this.copyEnded) {
      this.transactionEnded = true;
    }
  }

  handleError(err: Error): void {
    // pg gives the connection back to its queue after this: no ReadyForQuery comes here.
    this.resumeConnection();
    this.fail(err);
    this.settle();
  }

  handleReadyForQuery(): void {
    this.resumeConnection();
    if (!this.copyEnded && !this.failed) this.fail(new Error('the batch ended without its COPY'));
    this.settle();
  }

  handleEmptyQuery(): void {}

  handlePortalSuspended(): void {}

  handleCopyInResponse(): void {
    this.fail(new Error('unexpected COPY FROM in a batch'));
  }

  private flush(): void {
    if (this.stagedBytes === 0) return;
    const out = this.staged.subarray(0, this.stagedBytes);
    this.staged = Buffer.allocUnsafe(CHUNK_BYTES);
    this.stagedBytes = 0;
    this.deliver(out);
  }

  private deliver(chunk: Buffer): void {
    // After a failure nothing is given out, and the connection must never be paused again:
    // pg reads the rest of the answer (and whatever runs next) from it.
    if (this.failed || this.isSettled) return;
    // Backpressure: no more of PostgreSQL's bytes are parsed until the reader asks again.
    if (!this.push(chunk) && this.connection && !this.paused) {
      this.paused = true;
      this.connection.stream.pause();
    }
  }

  private resumeConnection(): void {
    if (this.paused && this.connection) {
      this.paused = false;
      this.connection.stream.resume();
    }
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    // The rest of the answer is read and dropped, never given out.
    this.resumeConnection();
    this.emit('error', err);
  }
}

/** Submits a BatchCopy on `client` (pg queues it like any query). */
export function submitBatchCopy(client: pg.ClientBase, copy: BatchCopy): BatchCopy {
  return client.query(copy as unknown as pg.Submittable) as unknown as BatchCopy;
}
