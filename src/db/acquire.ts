import pg from 'pg';

/**
 * No database connection could be had in time: every pooled connection is busy. Not a fault
 * of the request nor of the service: every protocol answers it 503 with Retry-After
 * (RFC 9110 §10.2.3), in its own error form, so clients back off instead of failing.
 */
export class ServiceBusy extends Error {
  constructor(
    message: string,
    /** Seconds a client should wait before trying again (the Retry-After header). */
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'ServiceBusy';
  }
}

export function isServiceBusy(err: unknown): err is ServiceBusy {
  return err instanceof ServiceBusy;
}

/** What pg-pool says when a connect() waited connectionTimeoutMillis in its queue. */
const QUEUE_TIMEOUT = 'timeout exceeded when trying to connect';
/** What pg-pool says when opening a new connection took connectionTimeoutMillis. */
const CONNECT_TIMEOUT = /connection timeout/i;

type ConnectCallback = (
  err: Error | undefined,
  client: pg.PoolClient | undefined,
  done: (release?: unknown) => void,
) => void;

/**
 * The node's pool of query connections. Waiting for a connection is bounded
 * (connectionTimeoutMillis, VONODE_DB_ACQUIRE_TIMEOUT) and a wait that runs out becomes a
 * typed ServiceBusy instead of a bare Error, for pool.connect() and pool.query() alike (the
 * latter goes through connect). Beside it, a tiny pool of its own for the health check
 * (VOSI-16) and for cancelling running queries, so neither queues behind the queries.
 */
export class NodePool extends pg.Pool {
  /** One or two connections kept apart from the queries: availability and pg_cancel_backend. */
  readonly control: pg.Pool;
  private readonly retryAfterSeconds: number;

  constructor(config: pg.PoolConfig & { control?: pg.PoolConfig; retryAfterSeconds?: number }) {
    const { control, retryAfterSeconds, ...main } = config;
    super(main);
    this.retryAfterSeconds = retryAfterSeconds ?? 5;
    this.control = new pg.Pool({
      connectionString: main.connectionString,
      max: 2,
      // Kept open: opening a connection under load (authentication) would cost the check its speed.
      idleTimeoutMillis: 0,
      // The health check bounds its own wait; a cancel may wait for a login on a loaded machine.
      connectionTimeoutMillis: 10_000,
      application_name: `${main.application_name ?? 'vonode'}-control`,
      ...control,
    });
    // An idle connection that dies (PostgreSQL restarted) must not crash the process.
    this.control.on('error', (err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
  }

  private translate(err: Error): Error {
    if (err.message === QUEUE_TIMEOUT || CONNECT_TIMEOUT.test(err.message)) {
      const waited = Math.round((this.options.connectionTimeoutMillis ?? 0) / 100) / 10;
      return new ServiceBusy(
        `the node is busy: all ${this.options.max} of its database connections stayed in use for ${waited} s; try again in a few seconds`,
        this.retryAfterSeconds,
      );
    }
    return err;
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | undefined {
    if (callback) {
      // pool.query() takes this path.
      super.connect((err, client, done) => callback(err ? this.translate(err) : err, client, done));
      return undefined;
    }
    return super.connect().catch((err: Error) => {
      throw this.translate(err);
    });
  }

  override end(): Promise<void>;
  override end(callback: () => void): void;
  override end(callback?: () => void): Promise<void> | undefined {
    const both = Promise.all([super.end(), this.control.end().catch(() => {})]).then(() => {});
    if (!callback) return both;
    void both.finally(callback);
    return undefined;
  }
}

/** The pool for health checks and cancels: the node's control pool, or the pool itself elsewhere (tests, benches). */
export function controlPoolOf(pool: pg.Pool): pg.Pool {
  return pool instanceof NodePool ? pool.control : pool;
}
