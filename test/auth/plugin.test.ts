import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { base64url, exportSPKI, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ANONYMOUS,
  authPlugin,
  bearerChallenge,
  sendAuthenticationRequired,
  TokenVerifier,
} from '../../src/auth/index.js';
import { signingKey, TestIssuer } from './issuer.js';

const AUDIENCE = 'vonode-test';

async function appWith(
  verifier: TokenVerifier,
  extra: Parameters<typeof authPlugin>[1] = {},
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(authPlugin, { verifier, ...extra });
  app.get('/whoami', async (request) => request.identity);
  app.get('/proprietary', async (request, reply) => {
    if (request.identity === ANONYMOUS) return sendAuthenticationRequired(reply, { realm: 'test-node' });
    return 'the data';
  });
  app.get('/proprietary-default', async (request, reply) => {
    if (request.identity === ANONYMOUS) return sendAuthenticationRequired(reply);
    return 'the data';
  });
  await app.ready();
  return app;
}

function challenges(header: string | string[] | number | undefined): string[] {
  if (header === undefined) return [];
  return Array.isArray(header) ? header : [String(header)];
}

/** Every refusal must be a 401 with the RFC 6750 invalid_token challenge and the ivoa_bearer one (SSO-22, SSO-23, SSO-32). */
function expectRefused(
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
  reason: RegExp,
) {
  expect(res.statusCode).toBe(401);
  const ch = challenges(res.headers['www-authenticate'] as string[]);
  const bearer = ch.find((c) => c.startsWith('Bearer '));
  expect(bearer).toMatch(/realm="vonode"/);
  expect(bearer).toMatch(/error="invalid_token"/);
  expect(bearer).toMatch(reason);
  expect(ch.find((c) => c.startsWith('ivoa_bearer '))).toMatch(
    /standard_id="ivo:\/\/ivoa\.net\/sso#OpenID", access_url="http:\/\/127\.0\.0\.1:\d+\/realms\/test"/,
  );
  expect(res.headers['x-vo-authenticated']).toBeUndefined();
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  expect(res.body).toMatch(reason);
}

describe('authPlugin with a real OIDC issuer (discovery)', () => {
  const issuer = new TestIssuer();
  let app: FastifyInstance;

  beforeAll(async () => {
    await issuer.start();
    issuer.keys = [await signingKey('RS256'), await signingKey('ES256')];
    app = await appWith(new TokenVerifier({ issuer: issuer.url, audience: AUDIENCE, clockSkewSeconds: 30 }));
  });
  afterAll(async () => {
    await app.close();
    await issuer.stop();
  });

  const get = (authorization?: string) =>
    app.inject({ method: 'GET', url: '/whoami', headers: authorization ? { authorization } : {} });

  it('treats a request without Authorization as anonymous (SSO-24: public access stays open)', async () => {
    const res = await get();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ sub: null, groups: [] });
    expect(res.headers['x-vo-authenticated']).toBeUndefined();
  });

  it('turns a valid token into an identity with its groups, and says so (SSO-31)', async () => {
    const token = await issuer.token({ sub: 'alice', groups: ['ska/src/team-a', 'ska'] }, { aud: AUDIENCE });
    const res = await get(`Bearer ${token}`);
    expect(res.statusCode).toBe(200);
    const id = res.json();
    expect(id.sub).toBe('alice');
    expect(id.groups).toEqual(['ska/src/team-a', 'ska:src:team-a', 'ska']);
    expect(id.token.issuer).toBe(issuer.url);
    expect(res.headers['x-vo-authenticated']).toBe('alice');
  });

  it('announces a non-ASCII subject percent-encoded', async () => {
    const token = await issuer.token({ sub: 'zoë\r\nx' }, { aud: AUDIENCE });
    const res = await get(`Bearer ${token}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().sub).toBe('zoë\r\nx');
    expect(res.headers['x-vo-authenticated']).toBe('zo%C3%AB%0D%0Ax');
  });

  it('reads WLCG-profile groups (wlcg.groups, leading slash) and ES256 signatures', async () => {
    const token = await issuer.token(
      { sub: 'bob', 'wlcg.groups': ['/ska', '/ska/team-b'] },
      { aud: [AUDIENCE, 'other'], key: issuer.keys[1] },
    );
    const res = await get(`bearer ${token}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().groups).toEqual(['ska', 'ska/team-b', 'ska:team-b']);
  });

  it('accepts the other asymmetric families (PS256, ES384, EdDSA) once the issuer publishes them', async () => {
    const extra = [await signingKey('PS256'), await signingKey('ES384'), await signingKey('EdDSA')];
    const verifier = new TokenVerifier({
      jwksUrl: issuer.jwksUrl,
      issuer: issuer.url,
      jwksCooldownSeconds: 0,
    });
    const saved = issuer.keys;
    issuer.keys = [...saved, ...extra];
    try {
      for (const key of extra) {
        const identity = await verifier.verify(await issuer.token({ sub: key.alg }, { key }));
        expect(identity.sub).toBe(key.alg);
      }
    } finally {
      issuer.keys = saved;
    }
  });

  it('refuses an expired token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await issuer.token({ sub: 'alice' }, { aud: AUDIENCE, exp: now - 3600 });
    expectRefused(await get(`Bearer ${token}`), /expired/);
  });

  it('refuses a token that is not valid yet', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await issuer.token({ sub: 'alice' }, { aud: AUDIENCE, nbf: now + 3600, exp: now + 7200 });
    expectRefused(await get(`Bearer ${token}`), /not valid yet/);
  });

  it('allows the configured clock skew on exp, no more', async () => {
    const now = Math.floor(Date.now() / 1000);
    // 5 s past expiry is inside the 30 s leeway; 10 minutes is far outside it.
    const justExpired = await issuer.token({ sub: 'alice' }, { aud: AUDIENCE, exp: now - 5 });
    expect((await get(`Bearer ${justExpired}`)).statusCode).toBe(200);
    const strict = await appWith(
      new TokenVerifier({ issuer: issuer.url, audience: AUDIENCE, clockSkewSeconds: 0 }),
    );
    const res = await strict.inject({ url: '/whoami', headers: { authorization: `Bearer ${justExpired}` } });
    expect(res.statusCode).toBe(401);
    await strict.close();
  });

  it('refuses a token of another issuer', async () => {
    const token = await issuer.token({ sub: 'alice' }, { aud: AUDIENCE, iss: 'https://evil.example.org/' });
    expectRefused(await get(`Bearer ${token}`), /issued by .https:\/\/evil\.example\.org\/./);
  });

  it('refuses a token for another audience, and one with no audience', async () => {
    expectRefused(
      await get(`Bearer ${await issuer.token({ sub: 'alice' }, { aud: 'someone-else' })}`),
      /audience/,
    );
    expectRefused(await get(`Bearer ${await issuer.token({ sub: 'alice' })}`), /aud/);
  });

  it('refuses a token signed by another key under a known kid', async () => {
    const forger = await signingKey('RS256', issuer.keys[0].kid);
    const token = await issuer.token({ sub: 'mallory' }, { aud: AUDIENCE, key: forger });
    expectRefused(await get(`Bearer ${token}`), /signature/);
  });

  it('refuses alg=none', async () => {
    const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
    const now = Math.floor(Date.now() / 1000);
    const token = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub: 'mallory', iss: issuer.url, aud: AUDIENCE, exp: now + 600 })}.`;
    expectRefused(await get(`Bearer ${token}`), /alg=none/);
  });

  it('refuses HS256 signed with the public key as the secret (key confusion)', async () => {
    const { importJWK } = await import('jose');
    const pub = await importJWK(issuer.keys[0].publicJwk, 'RS256');
    const secret = new TextEncoder().encode(await exportSPKI(pub as Parameters<typeof exportSPKI>[0]));
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ sub: 'mallory' })
      .setProtectedHeader({ alg: 'HS256', kid: issuer.keys[0].kid })
      .setIssuer(issuer.url)
      .setAudience(AUDIENCE)
      .setExpirationTime(now + 600)
      .sign(secret);
    const before = issuer.jwksFetches;
    expectRefused(await get(`Bearer ${token}`), /alg=HS256/);
    // Refused from the header alone: no key set fetch for a token we would never accept.
    expect(issuer.jwksFetches).toBe(before);
  });

  it('refuses malformed tokens and a token-less Bearer header', async () => {
    expectRefused(await get('Bearer not-a-jwt'), /not a JSON Web Token/);
    expectRefused(await get('Bearer a.b.c'), /not a JSON Web Token/);
    expectRefused(await get('Bearer '), /no token/);
    expectRefused(await get('Bearer abc"def'), /characters/);
  });

  it('refuses a token without a subject', async () => {
    expectRefused(await get(`Bearer ${await issuer.token({ groups: ['x'] }, { aud: AUDIENCE })}`), /sub/);
  });

  it('answers another scheme with 401 and the plain challenges, not anonymous', async () => {
    const res = await get('Negotiate YWxpY2U6c2VjcmV0');
    expect(res.statusCode).toBe(401);
    const ch = challenges(res.headers['www-authenticate'] as string[]);
    expect(ch[0]).toBe('Bearer realm="vonode"');
    expect(ch[1]).toMatch(/^ivoa_bearer /);
    expect(ch[2]).toBe('Basic realm="vonode", charset="UTF-8"');
    expect(res.body).toMatch(/only bearer tokens/);
  });

  it("leaves Basic out of a 401 to a page's script, so the browser shows no password dialog", async () => {
    const fromScript = await app.inject({
      url: '/whoami',
      headers: { authorization: 'Bearer a.b.c', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' },
    });
    expectRefused(fromScript, /not a JSON Web Token/);
    const ch = challenges(fromScript.headers['www-authenticate'] as string[]);
    expect(ch.map((c) => c.split(' ')[0])).toEqual(['Bearer', 'ivoa_bearer']);
    const dflt = await app.inject({
      url: '/proprietary-default',
      headers: { 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' },
    });
    expect(dflt.statusCode).toBe(401);
    expect(challenges(dflt.headers['www-authenticate']).some((c) => c.startsWith('Basic'))).toBe(false);
    // A navigation, and programs that send no Sec-Fetch-Dest (Node's fetch sends only
    // Sec-Fetch-Mode: cors), still get Basic.
    for (const headers of [
      { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' },
      { 'sec-fetch-mode': 'cors' },
    ]) {
      const other = await app.inject({
        url: '/whoami',
        headers: { authorization: 'Bearer a.b.c', ...headers },
      });
      expect(challenges(other.headers['www-authenticate'] as string[])).toContain(
        'Basic realm="vonode", charset="UTF-8"',
      );
    }
  });

  it('lets protocol code send its own 401 for anonymous callers', async () => {
    const res = await app.inject({ url: '/proprietary' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="test-node"');
    const token = await issuer.token({ sub: 'alice' }, { aud: AUDIENCE });
    const ok = await app.inject({ url: '/proprietary', headers: { authorization: `Bearer ${token}` } });
    expect(ok.body).toBe('the data');
    // With the node's own challenges by default: plain Bearer (no error: no credentials were sent) and ivoa_bearer.
    const dflt = await app.inject({ url: '/proprietary-default' });
    expect(dflt.statusCode).toBe(401);
    expect(dflt.headers['www-authenticate']).toEqual([
      'Bearer realm="vonode"',
      expect.stringMatching(
        /^ivoa_bearer standard_id="ivo:\/\/ivoa.net\/sso#OpenID", access_url="http:\/\/127\.0\.0\.1:\d+\/realms\/test", discovery_url="/,
      ),
      'Basic realm="vonode", charset="UTF-8"',
    ]);
    expect(dflt.body).toMatch(/Authentication required/);
  });

  it('discovers the key set once per verifier and keeps using it', async () => {
    // Verifiers that used this issuer: the shared one and the strict one of the skew test
    // discovered it; the algorithm test's one read the key set URL directly.
    expect(issuer.discoveryFetches).toBe(2);
    expect(issuer.jwksFetches).toBe(3);
  });
});

describe('key rotation and unknown kids (JWKS URL given directly)', () => {
  const issuer = new TestIssuer();
  beforeAll(async () => {
    await issuer.start();
    issuer.keys = [await signingKey('RS256')];
  });
  afterAll(() => issuer.stop());

  it('fetches the key set again when an unknown kid arrives after the cooldown', async () => {
    const verifier = new TokenVerifier({
      jwksUrl: issuer.jwksUrl,
      issuer: issuer.url,
      jwksCooldownSeconds: 0,
    });
    const app = await appWith(verifier);
    const old = await issuer.token({ sub: 'alice' });
    expect(
      (await app.inject({ url: '/whoami', headers: { authorization: `Bearer ${old}` } })).statusCode,
    ).toBe(200);
    expect(issuer.jwksFetches).toBe(1);
    expect(issuer.discoveryFetches).toBe(0);

    // The issuer rotates: a token under the new kid is unknown to our cache.
    const next = await signingKey('RS256');
    issuer.keys = [next];
    const fresh = await issuer.token({ sub: 'alice', groups: ['team-a'] }, { key: next });
    const res = await app.inject({ url: '/whoami', headers: { authorization: `Bearer ${fresh}` } });
    expect(res.statusCode).toBe(200);
    expect(res.json().groups).toEqual(['team-a']);
    expect(issuer.jwksFetches).toBe(2);

    // A kid the issuer has never had is refused (after its own refetch).
    const stranger = await signingKey('RS256', 'no-such-kid');
    const refused = await app.inject({
      url: '/whoami',
      headers: { authorization: `Bearer ${await issuer.token({ sub: 'x' }, { key: stranger })}` },
    });
    expectRefused(refused, /no key of the issuer's key set matches/);
    await app.close();
  });

  it('does not refetch for unknown kids within the cooldown (no fetch storm from forged kids)', async () => {
    const verifier = new TokenVerifier({
      jwksUrl: issuer.jwksUrl,
      issuer: issuer.url,
      jwksCooldownSeconds: 3600,
    });
    const app = await appWith(verifier);
    const good = await issuer.token({ sub: 'alice' });
    expect(
      (await app.inject({ url: '/whoami', headers: { authorization: `Bearer ${good}` } })).statusCode,
    ).toBe(200);
    const before = issuer.jwksFetches;
    for (let i = 0; i < 5; i++) {
      const forged = await signingKey('RS256', `forged-${i}`);
      const res = await app.inject({
        url: '/whoami',
        headers: { authorization: `Bearer ${await issuer.token({ sub: 'm' }, { key: forged })}` },
      });
      expect(res.statusCode).toBe(401);
    }
    expect(issuer.jwksFetches).toBe(before);
    await app.close();
  });
});

describe('when the identity provider misbehaves', () => {
  it('answers 503, not 401, when the discovery document names another issuer (OIDC Discovery §4.3)', async () => {
    const issuer = await new TestIssuer().start();
    issuer.keys = [await signingKey()];
    issuer.advertisedIssuer = 'https://elsewhere.example.org/';
    const app = await appWith(new TokenVerifier({ issuer: issuer.url }));
    const res = await app.inject({
      url: '/whoami',
      headers: { authorization: `Bearer ${await issuer.token({ sub: 'a' })}` },
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(res.body).toMatch(/names issuer "https:\/\/elsewhere\.example\.org\/"/);
    await app.close();
    await issuer.stop();
  });

  it('answers 503 while the issuer fails, and recovers when it answers again', async () => {
    const issuer = await new TestIssuer().start();
    issuer.keys = [await signingKey()];
    issuer.failing = true;
    const app = await appWith(new TokenVerifier({ issuer: issuer.url }));
    const token = await issuer.token({ sub: 'a' });
    const down = await app.inject({ url: '/whoami', headers: { authorization: `Bearer ${token}` } });
    expect(down.statusCode).toBe(503);
    expect(down.headers['retry-after']).toBe('30');
    expect(down.body).toMatch(/answered HTTP 500/);
    issuer.failing = false;
    const up = await app.inject({ url: '/whoami', headers: { authorization: `Bearer ${token}` } });
    expect(up.statusCode).toBe(200);
    await app.close();
    await issuer.stop();
  });

  it('answers 503 when the issuer cannot be reached at all', async () => {
    const issuer = await new TestIssuer().start();
    issuer.keys = [await signingKey()];
    const token = await issuer.token({ sub: 'a' });
    const url = issuer.url;
    await issuer.stop();
    const verifier = new TokenVerifier({ issuer: url });
    const app = await appWith(verifier);
    const res = await app.inject({ url: '/whoami', headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(503);
    expect(res.body).toMatch(/could not be read/);
    await app.close();
  });

  it('gives up on a silent issuer after fetchTimeoutMs', async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    const key = await signingKey();
    const token = await new SignJWT({ sub: 'a' })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .setIssuer(`http://127.0.0.1:${port}`)
      .setExpirationTime('10m')
      .sign(key.privateKey);
    const app = await appWith(new TokenVerifier({ issuer: `http://127.0.0.1:${port}`, fetchTimeoutMs: 300 }));
    const res = await app.inject({ url: '/whoami', headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(503);
    await app.close();
    silent.closeAllConnections();
    await new Promise<void>((r) => silent.close(() => r()));
  });
});

describe('options', () => {
  it('lets the caller write the refusal body (e.g. a DALI error VOTable)', async () => {
    const issuer = await new TestIssuer().start();
    issuer.keys = [await signingKey()];
    const app = await appWith(new TokenVerifier({ issuer: issuer.url }), {
      onUnauthorized: (_req, reply, message) =>
        reply
          .type('application/x-votable+xml')
          .send(`<VOTABLE><INFO name="QUERY_STATUS" value="ERROR">${message}</INFO></VOTABLE>`),
      challenge: {
        realm: 'tap',
        ivoaBearer: {
          standardId: 'ivo://ivoa.net/sso#tls-with-password',
          accessUrl: 'http://127.0.0.1/login',
        },
      },
    });
    const res = await app.inject({ url: '/whoami', headers: { authorization: 'Bearer x.y.z' } });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/votable/);
    expect(res.body).toMatch(/QUERY_STATUS.*Unauthorized: the bearer token is not a JSON Web Token/);
    expect(res.headers['www-authenticate']).toEqual([
      expect.stringMatching(/^Bearer realm="tap", error="invalid_token", error_description="/),
      'ivoa_bearer standard_id="ivo://ivoa.net/sso#tls-with-password", access_url="http://127.0.0.1/login"',
    ]);
    await app.close();
    await issuer.stop();
  });

  it('falls back to the plain text body when a custom writer sends nothing', async () => {
    const issuer = await new TestIssuer().start();
    issuer.keys = [await signingKey()];
    const app = await appWith(new TokenVerifier({ issuer: issuer.url }), { onUnauthorized: () => undefined });
    const res = await app.inject({ url: '/whoami', headers: { authorization: 'Bearer x.y.z' } });
    expect(res.statusCode).toBe(401);
    expect(res.body).toMatch(/^Unauthorized: /);
    await app.close();
    await issuer.stop();
  });

  it('ignores Authorization on an anonymous-only node (no verifier, no challenges)', async () => {
    const app = Fastify();
    await authPlugin(app, {});
    app.get('/whoami', async (request) => request.identity);
    const res = await app.inject({ url: '/whoami', headers: { authorization: 'Bearer whatever' } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ sub: null, groups: [] });
    expect(res.headers['x-vo-authenticated']).toBeUndefined();
    expect(app.authChallenge).toEqual({ realm: 'vonode' });
    await app.close();
  });

  it('refuses symmetric algorithms in the configuration', () => {
    expect(() => new TokenVerifier({ issuer: 'http://127.0.0.1/', algorithms: ['HS256'] })).toThrow(
      /HS256 cannot be accepted/,
    );
    expect(() => new TokenVerifier({})).toThrow(/issuer URL or a JWKS URL/);
  });

  it('keeps error_description within RFC 6750 characters', () => {
    const [bearer] = bearerChallenge(
      { realm: 'a "quoted" realm' },
      { error: 'invalid_token', description: 'bad "thing" \\ here é' },
    );
    expect(bearer).toBe(
      'Bearer realm="a \\"quoted\\" realm", error="invalid_token", error_description="bad \'thing\' \' here e"',
    );
  });
});

/**
 * Tokens as SRCNet issues them (issue 17 item 5): a token exchanged for this service carries
 * the node's service name as audience; WLCG's "any" audience is accepted only when the node
 * lists it; required scopes are checked where configured (RFC 6750 §3.1 insufficient_scope).
 */
describe('authPlugin with SRCNet-style tokens', () => {
  const WLCG_ANY = 'https://wlcg.cern.ch/jwt/v1/any';
  const issuer = new TestIssuer();
  let strict: FastifyInstance;
  let wlcg: FastifyInstance;

  beforeAll(async () => {
    await issuer.start();
    issuer.keys = [await signingKey('RS256')];
    strict = await appWith(
      new TokenVerifier({ issuer: issuer.url, audience: 'srcnet-vonode', requiredScopes: ['tap:read'] }),
    );
    wlcg = await appWith(new TokenVerifier({ issuer: issuer.url, audience: ['srcnet-vonode', WLCG_ANY] }));
  });
  afterAll(async () => {
    await strict.close();
    await wlcg.close();
    await issuer.stop();
  });

  const get = (app: FastifyInstance, token: string) =>
    app.inject({ method: 'GET', url: '/whoami', headers: { authorization: `Bearer ${token}` } });

  it('accepts a token exchanged for the service with the required scope, as a string or scp array', async () => {
    const scoped = await issuer.token({ sub: 'alice', scope: 'openid tap:read' }, { aud: 'srcnet-vonode' });
    expect((await get(strict, scoped)).json()).toMatchObject({ sub: 'alice' });
    const scp = await issuer.token({ sub: 'bob', scp: ['tap:read'] }, { aud: 'srcnet-vonode' });
    expect((await get(strict, scp)).json()).toMatchObject({ sub: 'bob' });
  });

  it('refuses a valid token without the scope with 403 insufficient_scope naming it', async () => {
    const token = await issuer.token(
      { sub: 'alice', scope: 'openid storage.read:/' },
      { aud: 'srcnet-vonode' },
    );
    const res = await get(strict, token);
    expect(res.statusCode).toBe(403);
    const bearer = challenges(res.headers['www-authenticate'] as string[]).find((c) =>
      c.startsWith('Bearer '),
    );
    expect(bearer).toMatch(/error="insufficient_scope"/);
    expect(bearer).toMatch(/scope="tap:read"/);
    expect(res.body).toMatch(/^Forbidden: the token lacks the scope tap:read/);
    expect(res.headers['x-vo-authenticated']).toBeUndefined();
  });

  it("accepts WLCG's any audience only where it is configured", async () => {
    const any = await issuer.token({ sub: 'carol' }, { aud: WLCG_ANY });
    expectRefused(await get(strict, any), /audience/);
    expect((await get(wlcg, any)).json()).toMatchObject({ sub: 'carol' });
    // Another service's token is refused by both.
    const other = await issuer.token({ sub: 'carol' }, { aud: 'rucio' });
    expectRefused(await get(wlcg, other), /audience/);
  });
});
