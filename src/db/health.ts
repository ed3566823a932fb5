/**
 * Whether the node's PostgreSQL answers now, and why not when it does not.
 *
 * The state turns "down" on the first sign that the server is gone (the embedded
 * postmaster exited, a new connection was refused, an open one was cut) and turns "up"
 * again only when a fresh connection answers a query: a probe runs with backoff while the
 * state is down, so recovery is noticed even when no request arrives. Requests answered
 * while the state is down get 503 instead of 500 (see outage.ts), and /availability
 * names the reason (VOSI-16).
 */
export interface DatabaseStatus {
  readonly available: boolean;
  /** Why the database is unavailable; undefined while it answers. */
  readonly reason?: string;
  /** When the current state began. */
  readonly since: Date;
}

export interface HealthOptions {
  /** Opens a fresh connection and runs a trivial query; rejects if the server does not answer. */
  readonly probe: () => Promise<void>;
  readonly log?: (line: string) => void;
  /** First delay between probes while down, doubled after each failure up to `maxProbeMs`. */
  readonly firstProbeMs?: number;
  readonly maxProbeMs?: number;
}

/** Probe delays: quick at first (a restart takes about a second), then at most every 2 s. */
export const FIRST_PROBE_MS = 100;
export const MAX_PROBE_MS = 2000;

export class DatabaseHealth {
  private state: DatabaseStatus = { available: true, since: new Date() };
  /** What the node itself knows (e.g. the embedded server is being restarted); beats probe errors. */
  private pinned: string | undefined;
  private probeTimer: NodeJS.Timeout | null = null;
  private probing = false;
  /** probeNow() was called during a probe: probe again as soon as it ends. */
  private probeAgain = false;
  private nextDelay: number;
  private closed = false;
  private readonly recoveredListeners = new Set<(downForMs: number) => void>();

  constructor(private readonly options: HealthOptions) {
    this.nextDelay = options.firstProbeMs ?? FIRST_PROBE_MS;
  }

  get status(): DatabaseStatus {
    return this.state;
  }

  get available(): boolean {
    return this.state.available;
  }

  /**
   * The server is gone for a reason the node knows (its embedded postmaster exited and is
   * being restarted): that reason is reported until the database answers again.
   */
  explain(reason: string): void {
    this.pinned = reason;
    this.markDown(reason);
  }

  /** The server is (or may be) gone: answer 503 and probe until it is back. */
  markDown(reason: string): void {
    if (this.closed) return;
    if (this.pinned && reason !== this.pinned) reason = this.pinned;
    if (this.state.available) {
      this.state = { available: false, reason, since: new Date() };
      this.options.log?.(
        `warning: the database is unavailable: ${reason}; requests get 503 until it is back`,
      );
      this.nextDelay = this.options.firstProbeMs ?? FIRST_PROBE_MS;
    } else if (reason !== this.state.reason) {
      // Keep the first instant (the outage's start), but say what is happening now.
      this.state = { ...this.state, reason };
    }
    this.scheduleProbe();
  }

  /** A connection was made and a query answered. */
  markUp(): void {
    if (this.state.available || this.closed) return;
    const downFor = Date.now() - this.state.since.getTime();
    this.pinned = undefined;
    this.state = { available: true, since: new Date() };
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    this.options.log?.(`the database answers again after ${(downFor / 1000).toFixed(1)} s`);
    for (const l of this.recoveredListeners) {
      try {
        l(downFor);
      } catch {
        // a listener's failure must not stop the others
      }
    }
  }

  /** Called once each time the database answers again after an outage; returns the unsubscribe. */
  onRecovered(listener: (downForMs: number) => void): () => void {
    this.recoveredListeners.add(listener);
    return () => this.recoveredListeners.delete(listener);
  }

  /**
   * An open connection failed. Whether the server is gone or only that one session was
   * ended (pg_terminate_backend) is not known yet: the state is down at once (so that the
   * request that lost its connection gets 503, not 500) and a probe right away decides.
   */
  connectionLost(reason: string): void {
    if (this.closed) return;
    const wasUp = this.state.available;
    this.markDown(reason);
    if (wasUp) this.probeNow();
  }

  /** Probes at once instead of at the next scheduled time (e.g. just after a restart). */
  probeNow(): void {
    if (this.closed || this.state.available) return;
    if (this.probing) {
      this.probeAgain = true;
      return;
    }
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    void this.runProbe();
  }

  close(): void {
    this.closed = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    this.recoveredListeners.clear();
  }

  private scheduleProbe(): void {
    if (this.closed || this.probeTimer || this.probing) return;
    const delay = this.nextDelay;
    this.nextDelay = Math.min(this.nextDelay * 2, this.options.maxProbeMs ?? MAX_PROBE_MS);
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      void this.runProbe();
    }, delay);
    this.probeTimer.unref();
  }

  /** Probes once: up on success, else down with the probe's error and another probe later. */
  private async runProbe(): Promise<void> {
    if (this.probing || this.closed) return;
    this.probing = true;
    let failure: string | undefined;
    try {
      await this.options.probe();
    } catch (err) {
      failure = describe(err);
    } finally {
      this.probing = false;
    }
    const again = this.probeAgain;
    this.probeAgain = false;
    if (this.closed) return;
    if (failure === undefined) {
      this.markUp();
    } else if (!this.state.available) {
      // A probe starts only while down: if the state is up now, a connection made
      // meanwhile proved the server back, and this failure is stale.
      this.markDown(failure);
      if (again) this.probeNow();
    }
  }
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const text = (e?.message ?? String(err)).split('\n')[0];
  return e?.code && !text.includes(e.code) ? `${text} (${e.code})` : text;
}
