import { EventEmitter } from 'node:events';
import pg from 'pg';

/** A job event: its new phase, or DELETED. */
export interface JobEvent {
  readonly jobId: string;
  readonly phase: string;
}

export interface NotifierOptions {
  readonly connection: pg.ClientConfig;
  readonly channel: string;
  /** Delay before reconnecting a lost LISTEN connection. */
  readonly reconnectMs: number;
  readonly onError?: (err: Error) => void;
}

/**
 * Job events from every process sharing the database, through one dedicated LISTEN
 * connection (a pooled client cannot be used: LISTEN belongs to a session). Events
 * raised in this process are also delivered directly, so a lost connection slows only
 * other processes' news, which the callers' polling then covers.
 */
export class JobNotifier {
  private readonly events = new EventEmitter();
  private client: pg.Client | null = null;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: NotifierOptions) {
    // Every WAIT-ing request and every worker subscribes: there is no leak to warn about.
    this.events.setMaxListeners(0);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const c = this.client;
    this.client = null;
    if (c) await c.end().catch(() => {});
  }

  /** Whether news from other processes arrives now (false while reconnecting). */
  get listening(): boolean {
    return this.client !== null;
  }

  emit(event: JobEvent): void {
    this.events.emit('job', event);
    this.events.emit(`job:${event.jobId}`, event);
  }

  /** Every job event; returns the unsubscribe function. */
  onAny(listener: (e: JobEvent) => void): () => void {
    this.events.on('job', listener);
    return () => this.events.off('job', listener);
  }

  /** Events of one job; returns the unsubscribe function. */
  onJob(jobId: string, listener: (e: JobEvent) => void): () => void {
    const name = `job:${jobId}`;
    this.events.on(name, listener);
    return () => this.events.off(name, listener);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client(this.options.connection);
    client.on('notification', (msg) => {
      if (msg.channel !== this.options.channel || !msg.payload) return;
      const colon = msg.payload.indexOf(':');
      if (colon < 0) return;
      this.emit({ phase: msg.payload.slice(0, colon), jobId: msg.payload.slice(colon + 1) });
    });
    const lost = (err?: Error) => {
      if (this.client !== client) return;
      this.client = null;
      client.end().catch(() => {});
      if (err) this.options.onError?.(err);
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(this.options.channel)}`);
      if (this.stopped) {
        await client.end().catch(() => {});
        return;
      }
      this.client = client;
      // Anything may have happened while disconnected: let everyone re-check.
      this.events.emit('job', { jobId: '', phase: 'RECONNECTED' });
    } catch (err) {
      client.end().catch(() => {});
      this.options.onError?.(err as Error);
      this.scheduleReconnect();
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, this.options.reconnectMs);
    this.reconnectTimer.unref();
  }
}
