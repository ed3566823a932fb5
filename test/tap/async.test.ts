import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { startTestNode } from '../support/node.js';
import { xsdErrors } from '../support/xsd.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;
let node: TestNode;
let issuer: TestIssuer;
let teamA: string;
const xml = new XMLParser({ ignoreAttributes: false, removeNSPrefix: true });

beforeAll(async () => {
  issuer = await new TestIssuer().start();
  issuer.keys.push(await signingKey('RS256', 'k1'));
  node = await startTestNode({ VONODE_OIDC_ISSUER: issuer.url });
  teamA = await issuer.token({ sub: 'alice', groups: ['team-a'] });
});
afterAll(async () => {
  await node?.stop();
  await issuer?.stop();
});

async function create(params: Record<string, string> | FormData, token?: string): Promise<string> {
  const body = params instanceof FormData ? params : new URLSearchParams(params);
  const res = await fetch(`${node.url}/tap/async`, {
    method: 'POST',
    body,
    redirect: 'manual',
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  expect(res.status).toBe(303);
  const location = res.headers.get('location')!;
  // The configured public base URL is in the Location; the test reaches the node directly.
  expect(location).toMatch(/^http:\/\/vo\.example\.test\/node\/tap\/async\/[\w-]+$/);
  return `/tap/async/${location.split('/').pop()}`;
}

async function waitDone(path: string, token?: string): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  for (let i = 0; i < 30; i++) {
    const res = await fetch(`${node.url}${path}?WAIT=10`, { headers });
    const text = await res.text();
    const job = xml.parse(text).job;
    if (['COMPLETED', 'ERROR', 'ABORTED'].includes(job.phase)) {
      expect(xsdErrors(text)).toBe('');
      return job;
    }
  }
  throw new Error(`job ${path} did not finish`);
}

describe('/tap/async runs the sync query path as UWS jobs (TAP-8, TAP-74..TAP-80)', () => {
  it('accepts PHASE=RUN at creation and serves the result at results/result (CLIENTS.md)', async () => {
    const path = await create({
      LANG: 'ADQL',
      QUERY: 'SELECT TOP 5 source_id FROM demo.sources ORDER BY source_id',
      PHASE: 'RUN',
      RESPONSEFORMAT: 'csv',
      REQUEST: 'doQuery',
    });
    const job = await waitDone(path);
    expect(job.phase).toBe('COMPLETED');
    const params = [(job.parameters as { parameter: unknown }).parameter].flat() as Array<{ '@_id': string }>;
    // TAP-17: REQUEST=doQuery is echoed in the job document (taplint checks it).
    expect(params.map((p) => p['@_id'].toUpperCase())).toContain('REQUEST');
    const res = await fetch(`${node.url}${path}/results/result`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const body = await res.text();
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(body));
    expect(body.trim().split(/\r?\n/)).toEqual(['source_id', '1', '2', '3', '4', '5']);
  });

  it('produces a result for a query with no rows (TAP-9)', async () => {
    const path = await create({
      LANG: 'ADQL',
      QUERY: 'SELECT source_id FROM demo.sources WHERE source_id < 0',
      PHASE: 'RUN',
    });
    expect((await waitDone(path)).phase).toBe('COMPLETED');
    const res = await fetch(`${node.url}${path}/results/result`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/QUERY_STATUS" value="OK"/);
  });

  it('ends a bad query in ERROR with a VOTable at /error served with 200 (TAP-10, TAP-40)', async () => {
    const path = await create({ LANG: 'ADQL', QUERY: 'SELECT nope FROM demo.sources', PHASE: 'RUN' });
    const job = await waitDone(path);
    expect(job.phase).toBe('ERROR');
    expect(String((job.errorSummary as { message: string }).message)).toMatch(/nope/);
    const err = await fetch(`${node.url}${path}/error`);
    expect(err.status).toBe(200);
    expect(await err.text()).toMatch(/QUERY_STATUS" value="ERROR">[^<]*nope/);
    expect((await fetch(`${node.url}${path}/results/result`)).status).toBe(404);
  });

  it('keeps an inline upload with the job and joins it when the job runs (TAP-47, TAP-54)', async () => {
    const form = new FormData();
    form.append('LANG', 'ADQL');
    form.append('UPLOAD', 'ids,param:f');
    form.append(
      'QUERY',
      'SELECT s.source_id FROM TAP_UPLOAD.ids AS u JOIN demo.sources AS s ON s.source_id = u.id ORDER BY s.source_id',
    );
    form.append('RESPONSEFORMAT', 'csv');
    const vot = `<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>
<FIELD name="id" datatype="long"/><DATA><TABLEDATA><TR><TD>3</TD></TR><TR><TD>1</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>`;
    form.append('f', new Blob([vot]), 'ids.xml');
    const path = await create(form);
    // Issue 13: the upload is the job's own, in its folder of the data folder's uploads.
    const folder = join(node.dataDir, 'uploads', path.split('/').pop()!);
    expect(readdirSync(folder)).toHaveLength(1);
    const run = await fetch(`${node.url}${path}/phase`, {
      method: 'POST',
      body: new URLSearchParams({ PHASE: 'RUN' }),
      redirect: 'manual',
    });
    expect(run.status).toBe(303);
    expect((await waitDone(path)).phase).toBe('COMPLETED');
    expect((await (await fetch(`${node.url}${path}/results/result`)).text()).trim().split(/\r?\n/)).toEqual([
      'source_id',
      '1',
      '3',
    ]);
    // ... and goes when the job ends (just after the phase is written).
    for (let i = 0; i < 100 && existsSync(folder); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(folder)).toBe(false);
  });

  it('deletes the upload of a job that never runs with the job (issue 13)', async () => {
    const form = new FormData();
    form.append('LANG', 'ADQL');
    form.append('UPLOAD', 'ids,param:f');
    form.append('QUERY', 'SELECT * FROM TAP_UPLOAD.ids');
    form.append('f', new Blob(['<VOTABLE/>']), 'ids.xml');
    const path = await create(form);
    const folder = join(node.dataDir, 'uploads', path.split('/').pop()!);
    expect(readdirSync(folder)).toHaveLength(1);
    expect((await fetch(`${node.url}${path}`, { method: 'DELETE', redirect: 'manual' })).status).toBe(303);
    expect(existsSync(folder)).toBe(false);
  });

  it('runs a job with its owner rights, and shows it only to its owner', async () => {
    const q = {
      LANG: 'ADQL',
      QUERY: "SELECT COUNT(*) AS n FROM demo.sources WHERE field_id = 'field-07'",
      PHASE: 'RUN',
      RESPONSEFORMAT: 'csv',
    };
    const mine = await create(q, teamA);
    expect((await waitDone(mine, teamA)).phase).toBe('COMPLETED');
    const auth = { authorization: `Bearer ${teamA}` };
    const n = (await (await fetch(`${node.url}${mine}/results/result`, { headers: auth })).text())
      .trim()
      .split(/\r?\n/)[1];
    expect(Number(n)).toBeGreaterThan(0);
    const anon = await create(q);
    await waitDone(anon);
    expect((await (await fetch(`${node.url}${anon}/results/result`)).text()).trim().split(/\r?\n/)[1]).toBe(
      '0',
    );
    // Someone else cannot read alice's job; alice's list has it; the anonymous list is empty.
    expect((await fetch(`${node.url}${mine}`)).status).toBe(403);
    const list = await (await fetch(`${node.url}/tap/async`, { headers: auth })).text();
    expect(list).toContain(mine.split('/').pop());
    expect(xsdErrors(list)).toBe('');
    expect(await (await fetch(`${node.url}/tap/async`)).text()).not.toContain(mine.split('/').pop());
  });

  it('deletes a job and answers with a redirect to the job list', async () => {
    const path = await create({ LANG: 'ADQL', QUERY: 'SELECT TOP 1 source_id FROM demo.sources' });
    const del = await fetch(`${node.url}${path}`, { method: 'DELETE', redirect: 'manual' });
    expect(del.status).toBe(303);
    expect(del.headers.get('location')).toBe('http://vo.example.test/node/tap/async');
    expect((await fetch(`${node.url}${path}`)).status).toBe(404);
  });
});
