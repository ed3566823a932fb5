// Long queries compile in a worker thread (src/tap/compile.ts) so the event loop stays
// free: the worker must give exactly what compiling inline gives, errors included, load
// under tsx (as the node and vitest run it), and serve real /tap/sync and /tap/async requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdqlError, type CatalogueTable, compile } from '../../adql/index.js';
import { catalogueOf } from '../../src/tap/catalogue.js';
import { compileAdql, DEFAULT_ADQL_LIMITS, INLINE_BELOW } from '../../src/tap/compile.js';
import { startTestNode } from '../support/node.js';
import { demoCatalogue } from './fixtures.js';

const all = demoCatalogue().list;
const published = all.filter((t) => t.schema !== 'TAP_UPLOAD');
const uploads = all.filter((t) => t.schema === 'TAP_UPLOAD');

/** A crossmatch with an upload, a string parameter and an IN list long enough for the worker. */
function bigQuery(n: number, tail = ''): string {
  const ids = Array.from({ length: n }, (_, i) => String(i * 7)).join(', ');
  return `SELECT s.source_id, m.id, 'tag' AS t FROM TAP_UPLOAD.mine AS m JOIN demo.sources AS s
    ON DISTANCE(s.ra, s.dec, m.ra, m.dec) < 5 / 3600.0 WHERE s.source_id IN (${ids}) ${tail}`;
}

function inlineError(adql: string): AdqlError {
  try {
    compile(adql, catalogueOf(published, uploads), { maxLength: DEFAULT_ADQL_LIMITS.maxLength });
  } catch (e) {
    return e as AdqlError;
  }
  throw new Error('compiled');
}

describe('compileAdql', () => {
  it('compiles a long query in the worker to the same SQL, parameters and columns as inline', async () => {
    const q = bigQuery(12_000);
    expect(q.length).toBeGreaterThan(INLINE_BELOW);
    const inline = compile(q, catalogueOf(published, uploads), { maxrec: 500 });
    const viaWorker = await compileAdql(q, published, uploads, { maxrec: 500 });
    expect(viaWorker).toEqual(inline);
    expect(viaWorker.sql).toContain('LIMIT 501');
  });

  it('gives the same AdqlError, place included, from the worker as inline', async () => {
    const q = bigQuery(12_000, 'AND s.no_such_column > 1');
    const want = inlineError(q);
    const got = await compileAdql(q, published, uploads).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(got).toBeInstanceOf(AdqlError);
    const e = got as AdqlError;
    expect([e.message, e.kind, e.line, e.column, e.offset, e.suggestion]).toEqual([
      want.message,
      want.kind,
      want.line,
      want.column,
      want.offset,
      want.suggestion,
    ]);
    expect(e.message).toMatch(/no column 'no_such_column'/);
  });

  it('serves queued compilations in turn', async () => {
    const qs = [bigQuery(5000), bigQuery(6000, 'AND s.flux > 1'), bigQuery(7000)];
    const got = await Promise.all(qs.map((q) => compileAdql(q, published, uploads)));
    got.forEach((c, i) => {
      expect(c).toEqual(compile(qs[i], catalogueOf(published, uploads)));
    });
  });

  it('refuses a query over the time limit, then compiles the next one in a fresh worker', async () => {
    const q = bigQuery(30_000);
    const err = await compileAdql(q, published, uploads, {}, { ...DEFAULT_ADQL_LIMITS, timeoutMs: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AdqlError);
    expect((err as Error).message).toMatch(/took more than 0.001 s to compile/);
    const ok = await compileAdql(bigQuery(3000), published, uploads);
    expect(ok.sql).toContain('IN (0, 7, 14');
  });

  it('refuses a query over the length limit before any compilation', async () => {
    const limits = { ...DEFAULT_ADQL_LIMITS, maxLength: 20_000 };
    await expect(compileAdql(bigQuery(5000), published, uploads, {}, limits)).rejects.toThrow(
      /characters long; the limit is 20000/,
    );
  });

  it('passes the catalogue as plain data (structured clone keeps every field)', () => {
    const tables: CatalogueTable[] = [...published, ...uploads];
    expect(structuredClone(tables)).toEqual(tables);
  });
});

describe('through the node', () => {
  type TestNode = Awaited<ReturnType<typeof startTestNode>>;
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node?.stop();
  });
  const post = (query: string) =>
    fetch(`${node.url}/tap/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ LANG: 'ADQL', QUERY: query, RESPONSEFORMAT: 'csv' }),
    });
  const ids = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1)).join(', ');

  it('answers a 100 KB query (compiled in the worker) with the rows it asks for', async () => {
    const q = `SELECT source_id FROM demo.sources WHERE source_id IN (${ids(20_000)}) AND source_id <= 5 ORDER BY source_id`;
    expect(q.length).toBeGreaterThan(100_000);
    const res = await post(q);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(text.trim().split(/\r?\n/)).toEqual(['source_id', '1', '2', '3', '4', '5']);
  });

  it('answers 400 in DALI form for a query over the length limit, with NUL, or nested too deep', async () => {
    const cases: Array<[string, RegExp]> = [
      [
        `SELECT source_id FROM demo.sources WHERE source_id IN (${ids(50_000)})`,
        /characters long; the limit is 262144/,
      ],
      [
        'SELECT source_id FROM demo.sources WHERE\u0000 source_id = 1',
        // The node's edge refuses a NUL in any parameter before the compiler sees it.
        /holds a NUL character \(U\+0000\)|U\+0000 \(NUL\) is not allowed .*line 1, column 41/,
      ],
      [`SELECT ${'('.repeat(200)}1${')'.repeat(200)} FROM demo.sources`, /nested more than 100 levels deep/],
      [`SELECT source_id FROM demo.sources WHERE ${Array(100_000).fill('1=1').join(' OR ')}`, /the limit is/],
    ];
    for (const [q, message] of cases) {
      const res = await post(q);
      const text = await res.text();
      expect(res.status, text.slice(0, 300)).toBe(400);
      expect(text).toContain('<INFO name="QUERY_STATUS" value="ERROR">');
      expect(text).toMatch(message);
    }
  });

  it('runs a long async query through the worker to COMPLETED', async () => {
    const q = `SELECT source_id FROM demo.sources WHERE source_id IN (${ids(20_000)}) AND source_id <= 3`;
    const created = await fetch(`${node.url}/tap/async`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ LANG: 'ADQL', QUERY: q, RESPONSEFORMAT: 'csv', PHASE: 'RUN' }),
      redirect: 'manual',
    });
    expect(created.status).toBe(303);
    // The Location carries the public base URL; the job lives at the same path here.
    const job = `${node.url}/tap/async/${created.headers.get('location')?.split('/').pop()}`;
    let phase = '';
    for (let i = 0; i < 60 && !['COMPLETED', 'ERROR', 'ABORTED'].includes(phase); i++) {
      // UWS-WAIT: blocks until the phase changes or 5 s pass.
      await fetch(`${job}?WAIT=5`);
      phase = (await (await fetch(`${job}/phase`)).text()).trim();
    }
    expect(phase).toBe('COMPLETED');
    const result = await (await fetch(`${job}/results/result`)).text();
    expect(result.trim().split(/\r?\n/)).toEqual(['source_id', '1', '2', '3']);
  });
});
