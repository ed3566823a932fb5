import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { startTestNode } from '../support/node.js';

// Issue 19: web clients (Aladin Lite, portals) read every public endpoint across origins;
// credentials only from the origins the operator lists (VONODE_CORS_ORIGINS).

let node: Awaited<ReturnType<typeof startTestNode>>;
const PORTAL = 'https://portal.example.org';
const ELSEWHERE = 'https://elsewhere.example.net';

beforeAll(async () => {
  node = await startTestNode({
    VONODE_CORS_ORIGINS: `${PORTAL}, http://localhost:3000/`,
    VONODE_CORS_MAX_AGE: '120',
  });
}, 120000);

afterAll(async () => {
  await node?.stop();
});

const DID = encodeURIComponent('ivo://vonode.demo/ska?image-01-low');
const PUBLIC_GETS = [
  '/tap/sync?LANG=ADQL&QUERY=SELECT+TOP+1+source_id+FROM+demo.sources',
  '/tap/sync?LANG=ADQL&QUERY=SELEKT',
  '/tap/capabilities',
  '/tap/availability',
  '/tap/tables',
  '/sia/query?MAXREC=0',
  '/sia/capabilities',
  `/datalink/links?ID=${DID}`,
  `/soda/sync?ID=${DID}&CIRCLE=359.5+-27+0.1`,
  '/soda/capabilities',
  '/moc/sources',
  '/scs/query?RA=45&DEC=1&SR=0.1',
  '/scs/capabilities',
  '/hips/hipslist',
];

describe('CORS on every public endpoint', () => {
  it.each(PUBLIC_GETS)('GET %s: any origin may read it, without credentials', async (path) => {
    const res = await fetch(`${node.url}${path}`, { headers: { origin: ELSEWHERE } });
    await res.arrayBuffer();
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('vary')).toMatch(/Origin/);
  });

  it.each(PUBLIC_GETS)('GET %s: a listed origin is echoed with credentials', async (path) => {
    const res = await fetch(`${node.url}${path}`, { headers: { origin: PORTAL } });
    await res.arrayBuffer();
    expect(res.headers.get('access-control-allow-origin')).toBe(PORTAL);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('a listed origin given with a trailing slash in the setting matches', async () => {
    const res = await fetch(`${node.url}/tap/availability`, { headers: { origin: 'http://localhost:3000' } });
    await res.arrayBuffer();
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
  });

  it('preflight: answered before authentication; Authorization only for listed origins', async () => {
    const ask = (origin: string) =>
      fetch(`${node.url}/tap/sync`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
    const other = await ask(ELSEWHERE);
    expect(other.status).toBe(204);
    expect(other.headers.get('access-control-allow-origin')).toBe('*');
    expect(other.headers.get('access-control-allow-methods')).toMatch(/POST/);
    expect(other.headers.get('access-control-allow-headers')).toBe('content-type');
    expect(other.headers.get('access-control-max-age')).toBe('120');
    const portal = await ask(PORTAL);
    expect(portal.status).toBe(204);
    expect(portal.headers.get('access-control-allow-origin')).toBe(PORTAL);
    expect(portal.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
  });

  it('a POST to TAP from a page is readable too', async () => {
    const res = await fetch(`${node.url}/tap/sync`, {
      method: 'POST',
      headers: { origin: ELSEWHERE, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'LANG=ADQL&QUERY=SELECT+TOP+1+obs_id+FROM+ivoa.obscore',
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('pages of the node itself get none', async () => {
    const res = await fetch(`${node.url}/`, { headers: { origin: ELSEWHERE } });
    await res.arrayBuffer();
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('a malformed VONODE_CORS_ORIGINS stops the start with the reason', () => {
    expect(() => parseConfig({ VONODE_CORS_ORIGINS: 'portal.example.org/path' })).toThrow(/not a web origin/);
  });
});
