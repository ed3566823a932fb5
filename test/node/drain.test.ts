import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DrainControl, drain, FRESH_CONNECTION_MS, openResponses, QUIET_MS } from '../../src/drain.js';

/**
 * The drain on SIGTERM (DALI-46, issue 23) at the level of connections: a client whose
 * connection the node accepted during the drain gets an answer, not a reset. Under load
 * behind podman's port forwarder, connections accepted but still silent were reset by the
 * periodic close of idle connections (Node counts them idle), and the listener closed the
 * moment nothing was in flight while clients were still arriving.
 */

let server: Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
  server = undefined;
});

async function node(): Promise<{ port: number; control: DrainControl }> {
  const control = new DrainControl();
  const s = createServer((_req, res) => {
    // What refuseWhileDraining does in the node: an answer, and the connection closed after it.
    if (control.draining) res.setHeader('Connection', 'close');
    res.end(control.draining ? 'refused while draining\n' : 'ok\n');
  });
  server = s;
  control.add(openResponses(s));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const address = s.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return { port: address.port, control };
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends one request on the socket and reads what comes back until the server closes it. */
function ask(socket: Socket): Promise<{ text: string; error?: string }> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (d) => {
      text += d;
    });
    socket.once('error', (e) => resolve({ text, error: (e as NodeJS.ErrnoException).code ?? e.message }));
    socket.once('close', () => resolve({ text }));
    socket.write('GET /tap/sync HTTP/1.1\r\nHost: x\r\n\r\n');
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('drain: clients arriving while the node shuts down (DALI-46)', () => {
  it('answers a connection accepted during the drain whose request comes later', async () => {
    const { port, control } = await node();
    let ended = false;
    const report = drain(server!, control, 10, () => {});
    void report.then(() => {
      ended = true;
    });
    const socket = await open(port);
    // Several ticks of the idle sweep (every 100 ms) pass before the request's bytes arrive;
    // the drain (after which the process exits) must not end while they are on their way.
    await sleep(QUIET_MS + 400);
    expect(ended).toBe(false);
    const answer = await ask(socket);
    expect(answer.error).toBeUndefined();
    expect(answer.text).toMatch(/^HTTP\/1\.1 200[\s\S]*refused while draining/);
    expect((await report).forced).toBe(0);
  });

  it('keeps the listener open until no client has arrived for a moment', async () => {
    const { port, control } = await node();
    const t0 = Date.now();
    const report = drain(server!, control, 10, () => {});
    // Nothing is in flight at the start; a client arriving just after still gets an answer.
    await sleep(QUIET_MS / 2);
    const answer = await ask(await open(port));
    expect(answer.text).toMatch(/refused while draining/);
    const r = await report;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(QUIET_MS + QUIET_MS / 2 - 20);
    expect(r.seconds).toBeLessThan(5);
  });

  it('closes kept-alive idle connections, waits a moment for silent ones, and ends well before its deadline', async () => {
    const { port, control } = await node();
    const kept = await open(port);
    const first = new Promise<string>((resolve) => {
      kept.once('data', (d) => resolve(String(d)));
    });
    kept.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await first).toMatch(/keep-alive/i);
    const keptClosed = new Promise<void>((r) => kept.once('close', () => r()));
    const silent = await open(port);
    silent.on('error', () => {});
    await sleep(50);
    const r = await drain(server!, control, 10, () => {});
    await keptClosed;
    // The silent connection is waited for as a request on its way, then no longer.
    expect(r.seconds).toBeGreaterThanOrEqual((FRESH_CONNECTION_MS - 100) / 1000);
    expect(r.seconds).toBeLessThan(FRESH_CONNECTION_MS / 1000 + 2);
    expect(r.forced).toBe(0);
  });
});
