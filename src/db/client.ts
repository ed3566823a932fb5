import pg from 'pg';
import type { DatabaseHealth } from './health.js';

/**
 * SQLSTATEs and socket errors that mean "the server or the session is gone", not "this
 * query is wrong": class 08 (connection exception), 57P01..57P03 (admin or crash
 * shutdown, cannot connect now: the server is starting or recovering), 53300 (too many
 * connections).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-3]|53300)$/;
const UNAVAILABLE_SOCKET = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOENT', // a Unix socket that is not there while the server restarts
]);

/** Whether an error from pg means the database (or this connection to it) is unavailable. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_SOCKET.has(code))) {
    return true;
  }
  return (
    typeof message === 'string' &&
    /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect|timeout expired)/.test(
      message,
    )
  );
}

type ConnectCallback = (err: Error | null, client?: pg.Client) => void;

/**
 * A pg.Client for the node's pool that can never crash the process and that reports to
 * the health state. pg emits 'error' on a client whose connection dies, even with a query
 * in flight (which is rejected as well); pg-pool listens only while the client is idle, so
 * a checked-out client losing its server would otherwise raise an uncaught exception.
 * Here every client always has a listener: the query's own rejection still reaches the
 * caller, and the health state learns that the server may be gone.
 */
export function clientClassFor(health: DatabaseHealth): typeof pg.Client {
  class GuardedClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      this.on('error', (err: Error) => {
        if (isDatabaseUnavailable(err)) health.connectionLost(firstLine(err));
      });
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: ConnectCallback): void;
    // pg-pool connects with a callback; direct users with the promise form.
    override connect(callback?: ConnectCallback): Promise<pg.Client> | undefined {
      const note = (err: Error | null | undefined) => {
        if (!err) health.markUp();
        else if (isDatabaseUnavailable(err)) health.markDown(firstLine(err));
      };
      if (callback) {
        super.connect(((err: Error | null) => {
          note(err);
          callback(err, this as pg.Client);
        }) as (err: Error) => void);
        return undefined;
      }
      return super.connect().then(
        (c) => {
          note(null);
          return c;
        },
        (err: Error) => {
          note(err);
          throw err;
        },
      );
    }
  }
  return GuardedClient as unknown as typeof pg.Client;
}

function firstLine(err: Error): string {
  const text = (err.message || String(err)).split('\n')[0];
  const code = (err as { code?: string }).code;
  return code && !text.includes(code) ? `${text} (${code})` : text;
}
