import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.js';
import { signingKey, TestIssuer } from './issuer.js';

// The whole node as clients meet it (issue 13, item 5): every anonymous answer announces
// the schemes (SSO-11, SSO-30), the token works as the Basic password, and /login/ asks
// password-only clients for it.

const AUDIENCE = 'vonode-test';
const issuer = new TestIssuer();
let node: Awaited<ReturnType<typeof startTestNode>>;
let token: string;

beforeAll(async () => {
  await issuer.start();
  issuer.keys = [await signingKey()];
  node = await startTestNode({ VONODE_OIDC_ISSUER: issuer.url, VONODE_OIDC_AUDIENCE: AUDIENCE });
  token = await issuer.token({ sub: 'alice', groups: ['team-a'] }, { aud: AUDIENCE });
}, 240_000);
afterAll(async () => {
  await node?.stop();
  await issuer.stop();
});

const basic = (password: string) => `Basic ${Buffer.from(`alice:${password}`).toString('base64')}`;
const COUNT = "SELECT COUNT(*) AS n FROM demo.sources WHERE field_id = 'field-07'";

async function count(path: string, authorization?: string): Promise<Response> {
  const body = new URLSearchParams({ LANG: 'ADQL', RESPONSEFORMAT: 'csv', QUERY: COUNT });
  return fetch(`${node.url}${path}`, {
    method: 'POST',
    body,
    headers: authorization ? { authorization } : {},
  });
}

function schemes(res: Response): string[] {
  const header = res.headers.get('www-authenticate') ?? '';
  return ['Bearer realm=', 'ivoa_bearer standard_id=', 'Basic realm='].filter((s) => header.includes(s));
}

describe('a node that accepts tokens, as standard clients meet it', () => {
  it('announces Bearer, ivoa_bearer and Basic on anonymous answers, HEAD /capabilities included', async () => {
    for (const service of ['tap', 'sia', 'datalink', 'soda', 'scs']) {
      for (const method of ['GET', 'HEAD']) {
        const res = await fetch(`${node.url}/${service}/capabilities`, { method });
        expect(res.status, `${method} ${service}`).toBe(200);
        expect(schemes(res), `${method} ${service}`).toHaveLength(3);
        expect(res.headers.get('x-vo-authenticated')).toBeNull();
      }
    }
    const cone = await fetch(`${node.url}/scs/query?RA=0&DEC=0&SR=0.1`);
    expect(cone.status).toBe(200);
    expect(schemes(cone)).toHaveLength(3);
  });

  it('reads field-07 with the token as the Basic password, and not without', async () => {
    const anonymous = await count('/tap/sync');
    expect((await anonymous.text()).trim().split('\n')[1]).toBe('0');
    const res = await count('/tap/sync', basic(token));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-vo-authenticated')).toBe('alice');
    expect(res.headers.get('www-authenticate')).toBeNull();
    expect(Number((await res.text()).trim().split('\n')[1])).toBeGreaterThan(0);
  });

  it('answers a bad Basic password 401 with a DALI error and the challenges, never the public view', async () => {
    const res = await count('/tap/sync', basic('not-a-token'));
    expect(res.status).toBe(401);
    expect(schemes(res)).toHaveLength(3);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect(await res.text()).toMatch(/QUERY_STATUS.*ERROR/s);
  });

  it('asks for the token under /login/ and then answers as the ordinary URL does', async () => {
    const anonymous = await count('/login/tap/sync');
    expect(anonymous.status).toBe(401);
    expect(schemes(anonymous)).toHaveLength(3);
    expect(await anonymous.text()).toMatch(/QUERY_STATUS.*ERROR/s);
    const res = await count('/login/tap/sync', basic(token));
    expect(res.status).toBe(200);
    expect(Number((await res.text()).trim().split('\n')[1])).toBeGreaterThan(0);
    // The public URLs stay open (SSO-24).
    expect((await fetch(`${node.url}/tap/capabilities`)).status).toBe(200);
  });
});
