import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { startTestNode } from '../support/node.js';

/**
 * Issue 13, "existence": a caller who may not see an embargoed product learns nothing about
 * it from any data service. For each path, the answer about an embargoed product must equal
 * the answer about an ID that names nothing (status, type, challenge and body, with the ID
 * itself put aside), for an anonymous caller and for a signed-in member of another group.
 */

let node: Awaited<ReturnType<typeof startTestNode>>;
let issuer: TestIssuer;
let teamA: string;
let teamB: string;

const DID = (name: string) => `ivo://vonode.demo/ska?${name}`;
// image-07-mid belongs to team-a and is embargoed until 2031 (README, demo data).
const EMBARGOED = DID('image-07-mid');
const UNKNOWN = DID('image-97-mid');

beforeAll(async () => {
  issuer = await new TestIssuer().start();
  issuer.keys.push(await signingKey('RS256', 'k1'));
  node = await startTestNode({ VONODE_OIDC_ISSUER: issuer.url, VONODE_OIDC_AUDIENCE: 'vonode-test' });
  teamA = await issuer.token({ sub: 'alice', groups: ['/team-a'] }, { aud: 'vonode-test' });
  teamB = await issuer.token({ sub: 'bob', groups: ['/team-b'] }, { aud: 'vonode-test' });
}, 120000);

afterAll(async () => {
  await node?.stop();
  await issuer?.stop();
});

type Probe = { name: string; method?: string; path: (id: string) => string };
const q = (o: Record<string, string>) => new URLSearchParams(o).toString();
const PROBES: Probe[] = [
  { name: 'DataLink links', path: (id) => `/datalink/links?${q({ ID: id })}` },
  { name: 'DataLink file', path: (id) => `/datalink/files?${q({ ID: id })}` },
  { name: 'DataLink file, HEAD', method: 'HEAD', path: (id) => `/datalink/files?${q({ ID: id })}` },
  { name: 'DataLink header', path: (id) => `/datalink/files?${q({ ID: id, KIND: 'header' })}` },
  { name: 'preview', path: (id) => `/preview/${encodeURIComponent(id)}.png` },
  { name: 'thumbnail', path: (id) => `/preview/${encodeURIComponent(id)}.png?SIZE=thumbnail` },
  { name: 'SODA sync', path: (id) => `/soda/sync?${q({ ID: id, CIRCLE: '266.4 -29.0 0.1' })}` },
  { name: 'SIA by ID', path: (id) => `/sia/query?${q({ ID: id })}` },
  { name: 'SIA by ID, CSV', path: (id) => `/sia/query?${q({ ID: id, RESPONSEFORMAT: 'csv' })}` },
  { name: 'MOC of a product', path: (id) => `/moc/products?${q({ id, format: 'json' })}` },
];

async function answer(probe: Probe, id: string, token?: string) {
  const res = await fetch(`${node.url}${probe.path(id)}`, {
    method: probe.method ?? 'GET',
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const body = (await res.text()).replaceAll(id, '<ID>').replaceAll(encodeURIComponent(id), '<ID>');
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    challenge: res.headers.get('www-authenticate'),
    length: probe.method === 'HEAD' ? res.headers.get('content-length') : null,
    body,
  };
}

describe('an embargoed product is indistinguishable from an unknown one (issue 13)', () => {
  for (const [who, token] of [
    ['anonymous', () => undefined],
    ['a member of another group', () => teamB],
  ] as const) {
    test(`to ${who}, on every data path`, async () => {
      for (const probe of PROBES) {
        const hidden = await answer(probe, EMBARGOED, token());
        const unknown = await answer(probe, UNKNOWN, token());
        expect(hidden, `${probe.name} as ${who}`).toEqual(unknown);
      }
    });
  }

  test('while the owning group still gets the product (the probes do reach it)', async () => {
    const links = await answer(PROBES[0], EMBARGOED, teamA);
    expect(links.body).toContain('#this');
    const file = await answer(PROBES[2], EMBARGOED, teamA);
    expect(file.status).toBe(200);
    const sia = await answer(PROBES[8], EMBARGOED, teamA);
    expect(sia.body.trim().split(/\r?\n/).length).toBe(2);
  });
});
