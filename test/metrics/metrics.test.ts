import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.js';

/** Issue 23 item 5: Prometheus exposition at /metrics. */
describe('/metrics', () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  let off: Awaited<ReturnType<typeof startTestNode>>;
  beforeAll(async () => {
    node = await startTestNode();
    off = await startTestNode({ VONODE_METRICS: 'off' });
  }, 120_000);
  afterAll(async () => {
    await node?.stop();
    await off?.stop();
  });

  /** Parses text format 0.0.4 sample lines into name{labels} -> value. */
  async function scrape(): Promise<Map<string, number>> {
    const res = await fetch(`${node.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('version=0.0.4');
    const samples = new Map<string, number>();
    for (const line of (await res.text()).split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
      expect(m, `not a sample line: ${line}`).not.toBeNull();
      samples.set(m![1]!, Number(m![2]));
    }
    return samples;
  }

  it('counts requests by route and status, and reports pool and UWS phases', async () => {
    const key = 'vonode_http_requests_total{route="/tap/availability",method="GET",status="200"}';
    const before = (await scrape()).get(key) ?? 0;
    expect((await fetch(`${node.url}/tap/availability`)).status).toBe(200);
    const after = await scrape();
    expect(after.get(key)).toBe(before + 1);
    expect(after.get('vonode_db_pool_connections{state="total"}')).toBeGreaterThanOrEqual(1);
    expect([...after.keys()].some((k) => k.startsWith('vonode_http_request_duration_seconds_bucket{'))).toBe(
      true,
    );
  });

  it('reports every UWS and broker phase, counted from the database', async () => {
    // A job left PENDING is counted at the next scrape.
    const created = await fetch(`${node.url}/tap/async`, {
      method: 'POST',
      body: new URLSearchParams({ LANG: 'ADQL', QUERY: 'SELECT 1 AS one' }),
      redirect: 'manual',
    });
    expect(created.status).toBe(303);
    const samples = await scrape();
    expect(samples.get('vonode_uws_jobs{phase="PENDING"}')).toBeGreaterThanOrEqual(1);
    for (const phase of ['QUEUED', 'EXECUTING', 'COMPLETED', 'ERROR', 'ABORTED'])
      expect(samples.has(`vonode_uws_jobs{phase="${phase}"}`)).toBe(true);
    for (const phase of ['OFFERED', 'WAITING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'])
      expect(samples.get(`vonode_broker_sessions{phase="${phase}"}`)).toBeGreaterThanOrEqual(0);
    const jobId = new URL(created.headers.get('location') ?? '').pathname.split('/').at(-1);
    const deleted = await fetch(`${node.url}/tap/async/${jobId}`, { method: 'DELETE', redirect: 'manual' });
    expect(deleted.status).toBe(303);
  });

  it('counts the rows sent to synchronous clients', async () => {
    const key = 'vonode_result_rows_total{service="tap"}';
    const before = (await scrape()).get(key) ?? 0;
    const res = await fetch(`${node.url}/tap/sync`, {
      method: 'POST',
      body: new URLSearchParams({
        LANG: 'ADQL',
        QUERY: 'SELECT TOP 11 source_id FROM demo.sources',
        RESPONSEFORMAT: 'csv',
      }),
    });
    expect((await res.text()).trim().split('\n')).toHaveLength(12);
    // The counter moves when the response is over, which the client may see a moment before.
    let after = before;
    for (const deadline = Date.now() + 5000; after === before && Date.now() < deadline; )
      after = (await scrape()).get(key) ?? 0;
    expect(after - before).toBe(11);
  });

  it('is absent with VONODE_METRICS=off', async () => {
    expect((await fetch(`${off.url}/metrics`)).status).toBe(404);
  });
});
