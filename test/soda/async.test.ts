import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { startTestNode, TEST_BASE_URL } from '../support/node.js';
import { python } from './python.js';

let node: Awaited<ReturnType<typeof startTestNode>>;
let issuer: TestIssuer;
let teamA: string;
let dir: string;

const DID = (name: string) => `ivo://vonode.demo/ska?${name}`;

beforeAll(async () => {
  issuer = await new TestIssuer().start();
  issuer.keys.push(await signingKey('RS256', 'k1'));
  node = await startTestNode({ VONODE_OIDC_ISSUER: issuer.url, VONODE_OIDC_AUDIENCE: 'vonode-test' });
  teamA = await issuer.token({ sub: 'alice', groups: ['/team-a'] }, { aud: 'vonode-test' });
  dir = await mkdtemp(join(tmpdir(), 'soda-async-'));
}, 120000);

afterAll(async () => {
  await node?.stop();
  await issuer?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const local = (url: string) => url.replace(TEST_BASE_URL, node.url).replace(/&amp;/g, '&');

/** Creates and runs a job, waits for its end, returns the phase and its results' bodies. */
async function runJob(params: [string, string][], token?: string) {
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const res = await fetch(`${node.url}/soda/async`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth },
    body: new URLSearchParams([...params, ['PHASE', 'RUN']]),
  });
  expect(res.status).toBe(303);
  const job = local(res.headers.get('location') ?? '');
  let xml = '';
  for (let i = 0; i < 60; i++) {
    xml = await (await fetch(`${job}?WAIT=10`, { headers: auth })).text();
    if (/<uws:phase>(COMPLETED|ERROR|ABORTED)</.test(xml)) break;
  }
  const phase = /<uws:phase>(\w+)</.exec(xml)?.[1];
  const results: { id: string; type: string | null; body: Buffer }[] = [];
  for (const m of xml.matchAll(/<uws:result id="([^"]+)"[^>]*xlink:href="([^"]+)"/g)) {
    const r = await fetch(local(m[2]), { headers: auth });
    results.push({ id: m[1], type: r.headers.get('content-type'), body: Buffer.from(await r.arrayBuffer()) });
  }
  return { phase, xml, results };
}

const SAME_PY = `
import sys, json
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
o = fits.open(sys.argv[1], memmap=True)[0]
c = fits.open(sys.argv[2])[0]
wo, wc = WCS(o.header), WCS(c.header)
n = wo.naxis
start = [int(round(v)) for v in wo.all_world2pix([wc.all_pix2world([[1.0] * n], 1)[0]], 1)[0]]
sl = tuple(slice(start[n - 1 - i] - 1, start[n - 1 - i] - 1 + c.data.shape[i]) for i in range(n))
print(json.dumps({'same': bool(np.array_equal(o.section[sl], c.data, equal_nan=True)), 'shape': list(c.data.shape)}))
`;

describe('SODA async (UWS)', () => {
  test('one result per combination; a combination without overlap is an error text (SODA-32)', async () => {
    const job = await runJob([
      ['ID', DID('image-05-mid')],
      ['CIRCLE', '83.8 -5.4 0.05'],
      ['CIRCLE', '200 40 0.1'],
    ]);
    expect(job.phase).toBe('COMPLETED');
    expect(job.results).toHaveLength(2);
    const [fitsResult, none] = job.results;
    expect(fitsResult.type).toMatch(/^application\/fits/);
    const path = join(dir, 'async-1.fits');
    await writeFile(path, fitsResult.body);
    const check = await python<{ same: boolean; shape: number[] }>(SAME_PY, [
      join(node.dataDir, 'products', 'image-05-mid.fits'),
      path,
    ]);
    expect(check.same).toBe(true);
    expect(none.type).toMatch(/^text\/plain/);
    expect(none.body.toString()).toMatch(/^Error: no pixel/);
  });

  test('bad parameters end the job in ERROR with a UsageError summary', async () => {
    const job = await runJob([
      ['ID', DID('image-05-mid')],
      ['CIRCLE', '83.8 -95 0.05'],
    ]);
    expect(job.phase).toBe('ERROR');
    expect(job.xml).toMatch(/UsageError: .*latitude -95/);
  });

  test("jobs cut with their owner's rights", async () => {
    const params: [string, string][] = [
      ['ID', DID('image-07-mid')],
      ['CIRCLE', '266.4 -29.0 0.05'],
    ];
    const anon = await runJob(params);
    // An embargoed product is unknown to whoever may not read it (issue 13).
    expect(anon.results[0].body.toString()).toMatch(/^UsageError: no dataset has ID/);
    const owner = await runJob([...params, ['VONODE_OWNER_GROUPS', 'nobody']], teamA);
    expect(owner.phase).toBe('COMPLETED');
    expect(owner.results[0].type).toMatch(/^application\/fits/);
    // a client cannot lend itself groups
    const forged = await runJob([...params, ['VONODE_OWNER_GROUPS', 'team-a']]);
    expect(forged.results[0].body.toString()).toMatch(/^UsageError: no dataset has ID/);
  });
});
