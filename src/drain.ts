import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Shutdown that fits orchestrators (issue 23): on SIGTERM a node stops taking work, lets the
 * responses in progress finish within a drain time (VONODE_DRAIN_SECONDS), ends those that
 * cannot as well-formed documents, and hands its running async jobs back to the queue in
 * PostgreSQL, where another process, or this node restarted, claims them.
 */

/** One part of the node that holds work a shutdown must end: sync results, UWS jobs. */
export interface DrainPart {
  /** Responses of this part still running in this process (none when absent). */
  inFlight?(): number;
  /** Takes no new work from now on. */
  refuseNew?(): void;
  /** Hands running work back (UWS jobs go back to QUEUED, their attempt not counted). */
  handBack?(): Promise<void>;
  /** Ends what still runs at once, each as a well-formed document; returns how many. */
  cut?(): number;
  /** Closes the connections that carry nothing now and will not (kept-alive, long idle). */
  closeIdle?(): void;
  /** When this part last saw new work arrive (ms since the epoch; 0 when never). */
  lastArrival?(): number;
}

/** What the node's parts registered, and whether a drain has begun. */
export class DrainControl {
  draining = false;
  private readonly parts: DrainPart[] = [];

  add(part: DrainPart): void {
    this.parts.push(part);
  }

  inFlight(): number {
    return this.parts.reduce((n, p) => n + (p.inFlight?.() ?? 0), 0);
  }

  refuseNew(): void {
    this.draining = true;
    for (const p of this.parts) p.refuseNew?.();
  }

  handBack(): Promise<void> {
    return Promise.all(this.parts.map((p) => p.handBack?.())).then(() => undefined);
  }

  cut(): number {
    return this.parts.reduce((n, p) => n + (p.cut?.() ?? 0), 0);
  }

  closeIdle(): void {
    for (const p of this.parts) p.closeIdle?.();
  }

  lastArrival(): number {
    return this.parts.reduce((t, p) => Math.max(t, p.lastArrival?.() ?? 0), 0);
  }
}

/**
 * How long a new connection may stay silent and still count as a request on its way. Through
 * a port forwarder (podman's, a Kubernetes Service) the client's connection is accepted first
 * and its bytes follow; one silent longer is an idle preconnect, not waited for.
 */
export const FRESH_CONNECTION_MS = 2000;

/**
 * Every HTTP request from its arrival to the end of its response, whatever its route and
 * stage: a query still reading its form or compiling at SIGTERM is in flight as much as one
 * streaming rows, and the drain must not end (and the process exit) under it. A connection
 * accepted but whose request has not arrived yet is in flight too (for FRESH_CONNECTION_MS):
 * exiting under it resets it, which its client sees as "connection reset by peer" and no
 * document.
 */
export function openResponses(server: Server): DrainPart {
  let open = 0;
  let last = 0;
  /** Each open connection: when it was accepted, and how many requests came on it. */
  const sockets = new Map<Socket, { since: number; requests: number }>();
  server.on('connection', (socket: Socket) => {
    last = Date.now();
    sockets.set(socket, { since: last, requests: 0 });
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('request', (request, response) => {
    open++;
    last = Date.now();
    const s = sockets.get(request.socket);
    if (s) s.requests++;
    // 'close' comes once the response is sent or its connection is lost, whichever first.
    response.once('close', () => open--);
  });
  const awaited = () => {
    const now = Date.now();
    let n = 0;
    for (const s of sockets.values()) if (s.requests === 0 && now - s.since < FRESH_CONNECTION_MS) n++;
    return n;
  };
  return {
    inFlight: () => open + awaited(),
    // Node's own list: a kept-alive connection between requests (one whose next request has
    // begun to arrive, or a just-accepted one, is not idle in it).
    closeIdle: () => server.closeIdleConnections(),
    lastArrival: () => last,
  };
}

/** Silence, in ms, after the last arrival before the listener closes (see drain). */
export const QUIET_MS = 500;

export interface DrainReport {
  /** Seconds from the start of the drain to the last response's end. */
  readonly seconds: number;
  /** Responses in progress when the drain began. */
  readonly inFlightAtStart: number;
  /** Responses ended early with QUERY_STATUS ERROR because the drain time ran out. */
  readonly cut: number;
  /** Connections still open at the deadline, closed by force. */
  readonly forced: number;
}

/** Polls for the condition: no sleep stands for it, and the deadline bounds the wait. */
async function until(done: () => boolean, deadline: number): Promise<boolean> {
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, Math.min(100, Math.max(1, deadline - Date.now()))));
  }
  return true;
}

/**
 * Drains within `seconds`: readiness says not ready and every new request is answered at once
 * with a 503 error document (the caller's onRequest hook), async jobs are handed back at once,
 * requests in progress run on until the last part of the drain time, which is kept for cutting
 * the rest: an aborted query's document still closes with QUERY_STATUS ERROR "the service is
 * shutting down" (DALI-46) and its closing tags. The listening socket stays open until the
 * requests in progress are over: closing it at once resets every connection still waiting in
 * the kernel's accept queue, which a client sees as "connection reset by peer", no document.
 */
export async function drain(
  server: Server,
  control: DrainControl,
  seconds: number,
  log: (line: string) => void,
): Promise<DrainReport> {
  const t0 = Date.now();
  const deadline = t0 + seconds * 1000;
  // The part of the drain kept for cut responses to send their end: a fifth, 1 to 5 s.
  const cutAt = deadline - Math.min(5000, Math.max(1000, (seconds * 1000) / 5));
  const inFlightAtStart = control.inFlight();
  control.refuseNew();
  // A keep-alive connection is closed as soon as its response is over: no new request on it.
  control.closeIdle();
  const idle = setInterval(() => control.closeIdle(), 100);
  let handedBack = false;
  const jobs = control.handBack().then(
    () => {
      handedBack = true;
    },
    (err) => {
      handedBack = true;
      log(`handing back async jobs failed: ${err instanceof Error ? err.message : String(err)}`);
    },
  );
  try {
    let cut = 0;
    if (!(await until(() => control.inFlight() === 0, cutAt))) {
      cut = control.cut();
      log(`drain: ${cut} responses still running after ${((Date.now() - t0) / 1000).toFixed(1)} s were cut`);
    }
    let forced = 0;
    // Clients keep arriving for a moment after SIGTERM (a forwarder's or balancer's view of
    // the node lags): the listener closes once none has come for QUIET_MS (counted from
    // SIGTERM at the earliest), each one before
    // that answered (503 and its error document) rather than reset with the listener.
    const quiet = () => Date.now() - Math.max(t0, control.lastArrival()) >= QUIET_MS;
    if (!(await until(() => control.inFlight() === 0 && handedBack && quiet(), deadline - 250))) {
      forced = control.inFlight();
      server.closeAllConnections();
    }
    server.close();
    server.closeIdleConnections();
    await Promise.race([jobs, new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))]);
    return { seconds: (Date.now() - t0) / 1000, inFlightAtStart, cut, forced };
  } finally {
    clearInterval(idle);
  }
}
