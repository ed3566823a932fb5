/**
 * Anonymous ways to stop the node (issue 13, build 2): slow readers holding the pool, a
 * 1 MB ADQL query on the event loop, and 100 concurrent queries against a pool of 20.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE, http, ms, percentile, report, sleep, Tally, tapSync } from './lib.js';

/** A query whose result is far larger than every socket buffer between node and reader. */
const LARGE =
  'SELECT a.source_id, a.ra, a.dec, a.flux_int, b.source_id AS other FROM demo.sources AS a, demo.sources AS b';
/** A query that keeps PostgreSQL busy for a few hundred ms (1.2 million joined pairs). */
const BUSY =
  'SELECT COUNT(*) AS n FROM demo.sources AS a, demo.sources AS b WHERE a.source_id <= 60 AND b.flux_int > a.flux_int';

/** Sends a POST to /tap/sync on a raw socket and then reads one byte a second. */
function slowReader(
  query: string,
  n: number,
): { socket: Socket; received: () => number; status: () => string } {
  const url = new URL(BASE());
  const body = new URLSearchParams({ LANG: 'ADQL', QUERY: query }).toString();
  // Reader n connects from its own loopback address (127.0.1.n): fifty clients, not one, so
  // the node's per-client cap does not turn the attack away and its other defences are tried.
  const socket = connect({ host: url.hostname, port: Number(url.port), localAddress: `127.0.1.${n + 1}` });
  let got = 0;
  let head = '';
  socket.on('error', () => {});
  socket.on('connect', () => {
    socket.write(
      `POST /tap/sync HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    socket.pause();
  });
  const timer = setInterval(() => {
    // The status line once (12 bytes), then one byte a second.
    const b = socket.read(head ? 1 : 12);
    if (b) {
      if (!head) head = b.toString('latin1');
      got += b.length;
    }
  }, 1000);
  socket.on('close', () => clearInterval(timer));
  return { socket, received: () => got, status: () => head.slice(9, 12) || 'none' };
}

async function probeAvailability(n: number, gapMs: number): Promise<{ times: number[]; statuses: number[] }> {
  const times: number[] = [];
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = await http('GET', '/tap/availability', { timeoutMs: 3000 });
    times.push(a.status ? a.ms : 3000);
    statuses.push(a.status);
    await sleep(gapMs);
  }
  return { times, statuses };
}

export async function slowReaders(): Promise<void> {
  const t = new Tally();
  const before = await probeAvailability(5, 100);
  const readers = Array.from({ length: 50 }, (_, i) => slowReader(LARGE, i));
  // Every reader's query has started and filled its socket buffers (and a node that spools
  // results has had time to write them).
  await sleep(8000);
  const during = await probeAvailability(10, 300);
  const query = await tapSync('SELECT TOP 1 source_id FROM demo.sources', { timeoutMs: 5000 });
  const received = readers.reduce((s, r) => s + r.received(), 0);
  for (const r of readers) r.socket.destroy();
  const p50 = percentile(during.times, 50);
  const p90 = percentile(during.times, 90);
  const max = Math.max(...during.times);
  const answered = during.statuses.filter((s) => s === 200).length;
  // Pass: every probe answered 200, and 9 of 10 within 100 ms (one slow probe is allowed
  // for a garbage collection pause on a busy 2-core machine; the median is printed too).
  if (answered === during.times.length && p90 < 100) t.hold();
  else
    t.leak(
      `50 slow readers: /tap/availability ${answered}/${during.times.length} answered, p50 ${ms(p50)}, p90 ${ms(p90)}, max ${ms(max)}`,
    );
  if (query.status === 200 || query.status === 503) t.hold();
  else t.leak(`a query during the slow readers: ${query.status || query.error}`);
  // The attack must really have been made: every reader's query admitted and being served.
  const admitted = readers.filter((r) => r.status() === '200').length;
  if (admitted < readers.length)
    t.bad(
      `only ${admitted} of ${readers.length} slow readers were served (statuses ${readers.map((r) => r.status()).join(',')})`,
    );
  report(
    t.outcome(
      '50 slow readers at 1 byte/s',
      'availability',
      `/tap/availability before p50 ${ms(percentile(before.times, 50))}; during: ${answered}/10 answered, p50 ${ms(p50)}, p90 ${ms(p90)}, max ${ms(max)} (bound: all answered, p90 < 100 ms); a query during: ${query.status || 'no answer in 5 s'} in ${ms(query.ms)}; readers served ${readers.filter((r) => r.status() === '200').length}/50, bytes they read ${received}`,
    ),
  );
}

const cone = () => http('GET', '/scs/query?RA=45.5&DEC=1.2&SR=0.05', { timeoutMs: 5000 });

export async function adqlSize(): Promise<void> {
  const t = new Tally();
  // Just under 1 MB of ADQL (the node's limit is 1,000,000 characters): a flat IN list, no
  // nesting, so only the compiler's cost in the query's size is measured.
  const head = 'SELECT TOP 1 source_id FROM demo.sources WHERE source_id IN (';
  const ids: string[] = [];
  let size = head.length + 1;
  for (let i = 1; size < 999_000; i++) {
    const s = String(i);
    ids.push(s);
    size += s.length + 1;
  }
  const query = `${head}${ids.join(',')})`;
  await cone();
  const baseline: number[] = [];
  for (let i = 0; i < 7; i++) baseline.push((await cone()).ms);
  // The slowest of 7 cones before is the reference: a busy shared machine adds noise, a
  // blocked event loop adds the whole compile time.
  const base = Math.max(...baseline);
  // MAXREC=0 (TAP-22): the node compiles the query but need not run it, so the time to the
  // answer is the time to refuse or compile, not PostgreSQL's planning of a huge IN list.
  // Sent by another process (curl), so that encoding and writing 1 MB does not delay this
  // process's own cone timings: what is measured is the node's event loop alone.
  const big = curlForm(`${BASE()}/tap/sync`, { LANG: 'ADQL', FORMAT: 'csv', MAXREC: '0', QUERY: query });
  const cones: Promise<Awaited<ReturnType<typeof cone>>>[] = [];
  for (let i = 0; i < 4; i++) {
    await sleep(i === 0 ? 20 : 150);
    cones.push(cone());
  }
  const during = await Promise.all(cones);
  const b = await big;
  const worst = Math.max(...during.map((c) => (c.status ? c.ms : 5000)));
  const delay = worst - base;
  const bigOk = b.status !== 0 && b.status !== 500 && b.ms < 1000;
  if (bigOk) t.hold();
  else t.leak(`the 1 MB query took ${ms(b.ms)} to answer (${b.status || b.error}); bound 1000 ms`);
  if (during.every((c) => c.status === 200) && delay <= 50) t.hold();
  else
    t.leak(
      `cone queries during the 1 MB query: worst ${ms(worst)} vs the slowest before ${ms(base)} (+${ms(delay)}, bound +50 ms)`,
    );
  report(
    t.outcome(
      '1 MB ADQL query',
      'availability',
      `${(query.length / 1e6).toFixed(3)} MB query (MAXREC=0): answer ${b.status || b.error} in ${ms(b.ms)}; cone before: p50 ${ms(percentile(baseline, 50))}, max ${ms(base)}, during worst ${ms(worst)} (${during.map((c) => c.status || 'none').join(',')}), delay ${ms(delay)}`,
    ),
  );
}

/** POSTs a form with curl in a child process: status and total seconds as curl measures them. */
async function curlForm(
  url: string,
  form: Record<string, string>,
): Promise<{ status: number; ms: number; error?: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'attack-form-'));
  const file = join(dir, 'body');
  writeFileSync(file, new URLSearchParams(form).toString());
  try {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'curl',
        [
          '-s',
          '-o',
          '/dev/null',
          '-m',
          '15',
          '-w',
          '%{http_code} %{time_total}',
          '-H',
          'content-type: application/x-www-form-urlencoded',
          '--data-binary',
          `@${file}`,
          url,
        ],
        (err, stdout) => (err && !stdout ? reject(err) : resolve(stdout)),
      ),
    );
    const [code, seconds] = out.trim().split(' ');
    return { status: Number(code), ms: Number(seconds) * 1000 };
  } catch (err) {
    return { status: 0, ms: Number.NaN, error: String(err) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Pool exhaustion: 20 slow readers first (on a node that holds a connection while a client
 * reads, they take the whole default pool of 20, whatever the machine's speed), then 100
 * concurrent queries. Each must be answered 200, or 503 with Retry-After; never 500.
 */
export async function poolExhaustion(): Promise<void> {
  const t = new Tally();
  const holders = Array.from({ length: 20 }, (_, i) => slowReader(LARGE, i));
  await sleep(3000);
  const t0 = performance.now();
  const answers = await Promise.all(Array.from({ length: 100 }, () => tapSync(BUSY, { timeoutMs: 90_000 })));
  const wall = performance.now() - t0;
  for (const h of holders) h.socket.destroy();
  const counts = new Map<string, number>();
  for (const a of answers) {
    const key =
      a.status === 503 && !a.headers.get('retry-after')
        ? '503-without-Retry-After'
        : String(a.status || 'none');
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (a.status === 200 || (a.status === 503 && a.headers.get('retry-after'))) t.hold();
    else
      t.bad(
        `status ${a.status || a.error}${a.status >= 500 ? `: ${a.text.replace(/\s+/g, ' ').slice(0, 120)}` : ''}`,
      );
  }
  const statuses = [...counts].map(([k, v]) => `${k}: ${v}`).join(', ');
  const slowest = Math.max(...answers.map((a) => a.ms));
  report(
    t.outcome(
      'pool exhaustion (20 slow readers + 100 concurrent queries)',
      'availability',
      `${statuses}; slowest answer ${ms(slowest)}; wall ${(wall / 1000).toFixed(1)} s`,
    ),
  );
}
