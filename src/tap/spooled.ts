import { Readable } from 'node:stream';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SyncLimits } from '../config/index.js';
import type { StatusSpool } from './copy.js';
import { QueryStopped } from './execute.js';
import { ResultSpool, SpoolBudget } from './spool.js';

/** A place among the synchronous queries in progress; give it back once. */
export interface SyncTicket {
  /**
   * Waits for one of the places where a result is produced (VONODE_SYNC_PRODUCERS), before the
   * query takes a database connection; rejects with QueryStopped('client-gone') if the signal
   * fires first. The place is given back when the result is produced or the ticket released.
   */
  startProducing(signal: AbortSignal): Promise<void>;
  /** Gives the production place back (idempotent). */
  doneProducing(): void;
  /**
   * The request's abort: a shutdown that runs out of drain time aborts it with 'shutdown', so its
   * query stops and its response ends as a well-formed document (issue 23).
   */
  watch(abort: AbortController): void;
  release(): void;
}

export interface SpooledSend {
  readonly reply: FastifyReply;
  readonly contentType: string;
  /** The encoded result: pulled as fast as PostgreSQL gives it, whatever the client's pace. */
  readonly body: AsyncIterable<Buffer>;
  /** Aborted with 'spool-full' when the result passes the disk budget; the caller's query stops. */
  readonly abort: AbortController;
  readonly ticket: SyncTicket;
  /** Runs once the response is over, whichever way (sent, client gone, disconnected as too slow). */
  readonly onClose?: () => void;
}

/** How long the 503 of a full node asks clients to wait (RFC 9110 §10.2.3). */
export const SYNC_RETRY_AFTER_SECONDS = 5;

/**
 * Admission and delivery of synchronous results (/tap/sync, /scs/query): caps on the
 * queries in progress (per client and in all), and a spool between PostgreSQL and the
 * socket so that a database connection is held only while PostgreSQL works, never while a
 * slow client reads. A client reading slower than the minimum rate is disconnected.
 */
export class SyncGate {
  readonly budget: SpoolBudget;
  private readonly perClient = new Map<string, number>();
  private total = 0;
  /** Results being produced now, and the tickets waiting for a place to produce theirs. */
  private producing = 0;
  private readonly producers: Array<() => void> = [];
  /** The aborts of the queries in progress, for a shutdown that must end them (cut). */
  private readonly watched = new Set<AbortController>();
  private closing = false;
  /** Set by cut(): a query reaching its response after it ends at once too. */
  private cutting = false;

  constructor(
    readonly limits: SyncLimits,
    spoolDir: string,
  ) {
    this.budget = new SpoolBudget(limits.spoolDiskBytes, spoolDir);
  }

  /**
   * A spool holding a result until its end is known (VONODE_SYNC_STATUS_SPOOL), on the same
   * disk budget as the result spools; undefined when the setting is 0.
   */
  statusSpool(): StatusSpool | undefined {
    if (this.limits.statusSpoolBytes <= 0) return undefined;
    return {
      spool: new ResultSpool(this.budget, this.limits.spoolMemoryBytes),
      maxBytes: this.limits.statusSpoolBytes,
    };
  }

  /** Queries in progress (running or being read). */
  get inProgress(): number {
    return this.total;
  }

  /**
   * A place for this request, or a reason it has none (then answer 503 with Retry-After).
   * The client is the token's subject when signed in, else the remote address.
   */
  admit(request: FastifyRequest): SyncTicket | string {
    if (this.closing) return 'the service is shutting down; try again shortly (another instance may answer)';
    const key = request.identity?.sub ? `sub:${request.identity.sub}` : `ip:${request.ip}`;
    const mine = this.perClient.get(key) ?? 0;
    if (this.total >= this.limits.maxConcurrent)
      return `the node is answering its limit of ${this.limits.maxConcurrent} synchronous queries at once; try again shortly or use /tap/async`;
    if (mine >= this.limits.maxPerClient)
      return `you already have ${mine} synchronous queries in progress, the most one client may have at once; wait for one to finish or use /tap/async`;
    this.total++;
    this.perClient.set(key, mine + 1);
    let released = false;
    let watchedAbort: AbortController | undefined;
    let producing: 'no' | 'waiting' | 'yes' | 'done' = 'no';
    const doneProducing = () => {
      if (producing !== 'yes') return;
      producing = 'done';
      this.handOnProduction();
    };
    return {
      startProducing: (signal) => {
        if (producing !== 'no') return Promise.resolve();
        if (this.producing < this.limits.maxProducing) {
          this.producing++;
          producing = 'yes';
          return Promise.resolve();
        }
        producing = 'waiting';
        return new Promise<void>((resolve, reject) => {
          const onAbort = () => {
            const i = this.producers.indexOf(wake);
            if (i >= 0) this.producers.splice(i, 1);
            producing = 'done';
            reject(
              signal.reason === 'shutdown'
                ? new QueryStopped(
                    'shutdown',
                    'the service is shutting down before this query could start; run it again',
                  )
                : new QueryStopped('client-gone', 'the client left before its query could start'),
            );
          };
          const wake = () => {
            signal.removeEventListener('abort', onAbort);
            producing = 'yes';
            resolve();
          };
          if (signal.aborted) return onAbort();
          signal.addEventListener('abort', onAbort, { once: true });
          this.producers.push(wake);
        });
      },
      doneProducing,
      watch: (abort) => {
        if (released) return;
        watchedAbort = abort;
        this.watched.add(abort);
        if (this.cutting) abort.abort('shutdown');
      },
      release: () => {
        doneProducing();
        if (released) return;
        released = true;
        if (watchedAbort) this.watched.delete(watchedAbort);
        this.total--;
        const n = (this.perClient.get(key) ?? 1) - 1;
        if (n > 0) this.perClient.set(key, n);
        else this.perClient.delete(key);
      },
    };
  }

  /**
   * Shutdown (issue 23): no new query is admitted, and every query in progress is aborted with
   * 'shutdown': its rows so far stay and QUERY_STATUS ERROR closes the document (DALI-46);
   * one still waiting to start gets a 503 error document. Responses then end at the client's
   * pace from their spools.
   */
  cut(): number {
    this.closing = true;
    this.cutting = true;
    const n = this.watched.size;
    for (const abort of this.watched) abort.abort('shutdown');
    return n;
  }

  /** New queries are refused from now on (shutdown): those in progress run on. */
  refuseNew(): void {
    this.closing = true;
  }

  /** A production place is free: the next waiting ticket takes it, else it is counted free. */
  private handOnProduction(): void {
    const next = this.producers.shift();
    if (next) next();
    else this.producing--;
  }

  /**
   * Sends the result through a spool: the body is read to its end at PostgreSQL's pace (so the
   * query's connection is freed then) while the response takes it at the client's pace.
   */
  send(s: SpooledSend): FastifyReply {
    const { reply } = s;
    const res = reply.raw;
    s.ticket.watch(s.abort);
    const spool = new ResultSpool(this.budget, this.limits.spoolMemoryBytes);
    let over = false;
    let pulled = 0;
    const out = new Readable({
      highWaterMark: 64 * 1024,
      read() {
        spool.read().then(
          (chunk) => {
            if (chunk === null) this.push(null);
            else {
              pulled += chunk.length;
              this.push(chunk);
            }
          },
          (err: Error) => this.destroy(err),
        );
      },
    });

    // Producer: runs on while the client is there, stopping at once when it is not.
    const produced = (async () => {
      const it = s.body[Symbol.asyncIterator]();
      let finished = false;
      try {
        while (!over) {
          const r = await it.next();
          if (r.done) {
            finished = true;
            break;
          }
          await spool.write(r.value);
          if (spool.overBudget && !s.abort.signal.aborted) s.abort.abort('spool-full');
          // Encoding runs flat out now: one turn of the event loop per chunk lets other requests
          // (availability, new queries) in between the chunks of many results.
          await setImmediatePromise();
        }
        spool.end();
      } catch (err) {
        spool.fail(err instanceof Error ? err : new Error(String(err)));
      } finally {
        if (!finished) await it.return?.().catch(() => undefined);
        s.ticket.doneProducing();
      }
    })();

    // Minimum read rate: bytes handed to the kernel per window, counted only while some wait
    // in the spool or in the response's buffers (a client is not slow while PostgreSQL works).
    const { minReadRate, readGraceSeconds } = this.limits;
    const handed = () => pulled - out.readableLength - res.writableLength;
    const waiting = () => spool.pending > 0 || out.readableLength > 0 || res.writableLength > 0;
    let mark = handed();
    let waitedBefore = waiting();
    const watchdog =
      minReadRate > 0
        ? setInterval(() => {
            const now = handed();
            const moved = now - mark;
            mark = now;
            const waitsNow = waiting();
            if (waitedBefore && waitsNow && moved < minReadRate * readGraceSeconds && !res.writableFinished) {
              reply.log.info(
                { bytes: moved, seconds: readGraceSeconds },
                'synchronous client read slower than the minimum rate: disconnected',
              );
              // A reset, not a close: the kernel drops the unread bytes at once instead of keeping them for a client that does not read.
              const socket = res.socket;
              if (socket && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
              res.destroy();
            }
            waitedBefore = waitsNow;
          }, readGraceSeconds * 1000)
        : undefined;
    watchdog?.unref();

    res.once('close', () => {
      over = true;
      if (watchdog) clearInterval(watchdog);
      out.destroy();
      void produced.finally(async () => {
        await spool.dispose();
        s.ticket.release();
        s.onClose?.();
      });
    });
    return reply.status(200).type(s.contentType).send(out);
  }
}
