import type { Server } from 'node:http';

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
}

/**
 * Every HTTP request from its arrival to the end of its response, whatever its route and
 * stage: a query still reading its form or compiling at SIGTERM is in flight as much as one
 * streaming rows, and the drain must not end (and the process exit) under it.
 */
export function openResponses(server: Server): DrainPart {
  let open = 0;
  server.on('request', (_request, response) => {
    open++;
    // 'close' comes once the response is sent or its connection is lost, whichever first.
    response.once('close', () => open--);
  });
  return { inFlight: () => open };
}

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
  server.closeIdleConnections();
  const idle = setInterval(() => server.closeIdleConnections(), 100);
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
    if (!(await until(() => control.inFlight() === 0 && handedBack, deadline - 250))) {
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
