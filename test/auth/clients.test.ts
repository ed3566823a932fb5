import Fastify, { type FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authPlugin,
  credentialToken,
  loginLocation,
  nodeAuthFromEnv,
  rewriteLoginUrl,
  TokenVerifier,
} from '../../src/auth/index.js';
import { signingKey, TestIssuer } from './issuer.js';

// What standard clients need to find and use the node's authentication (issue 13, item 5):
// challenges on anonymous answers (SSO-11, SSO-18, SSO-30), X-VO-Authenticated only on
// authenticated ones (SSO-20), the token as the HTTP Basic password (for java.net.Authenticator
// clients: TOPCAT, STILTS), and no token that never expires.

const AUDIENCE = 'vonode-test';

function challenges(header: unknown): string[] {
  if (header === undefined) return [];
  return Array.isArray(header) ? header.map(String) : [String(header)];
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

describe('auth as standard clients meet it', () => {
  const issuer = new TestIssuer();
  let app: FastifyInstance;

  beforeAll(async () => {
    await issuer.start();
    issuer.keys = [await signingKey('RS256')];
    app = Fastify({ logger: false, rewriteUrl: rewriteLoginUrl });
    await app.register(authPlugin, {
      verifier: new TokenVerifier({ issuer: issuer.url, audience: AUDIENCE, maxLifetimeSeconds: 3600 }),
    });
    app.get('/tap/capabilities', async (_request, reply) => reply.type('text/xml').send('<capabilities/>'));
    app.get('/whoami', async (request) => request.identity);
    app.post('/tap/async', async (request, reply) =>
      reply.code(303).header('location', `${request.protocol}://${request.host}/tap/async/job1`).send(),
    );
    app.get('/hips/properties', async (_request, reply) =>
      reply.header('access-control-allow-origin', '*').type('text/plain').send('hips_status = public'),
    );
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await issuer.stop();
  });

  const token = (claims: Record<string, unknown> = {}) =>
    issuer.token({ sub: 'alice', groups: ['team-a'], ...claims }, { aud: AUDIENCE });

  it('announces the schemes on anonymous answers, /capabilities by GET and HEAD included (SSO-11, SSO-30)', async () => {
    for (const method of ['GET', 'HEAD'] as const) {
      const res = await app.inject({ method, url: '/tap/capabilities' });
      expect(res.statusCode, method).toBe(200);
      const ch = challenges(res.headers['www-authenticate']);
      expect(ch).toEqual([
        'Bearer realm="vonode"',
        `ivoa_bearer standard_id="ivo://ivoa.net/sso#OpenID", access_url="${issuer.url}", discovery_url="${issuer.url}/.well-known/openid-configuration"`,
        'Basic realm="vonode", charset="UTF-8"',
      ]);
      // No error code: the caller sent no credentials (SSO-23).
      expect(ch.join(' ')).not.toMatch(/error=/);
      expect(res.headers['x-vo-authenticated']).toBeUndefined();
    }
    const other = await app.inject({ url: '/whoami' });
    expect(challenges(other.headers['www-authenticate'])).toHaveLength(3);
  });

  it('says who was authenticated, and sends no challenge then (SSO-12, SSO-20)', async () => {
    const res = await app.inject({ url: '/whoami', headers: { authorization: `Bearer ${await token()}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-vo-authenticated']).toBe('alice');
    expect(res.headers['www-authenticate']).toBeUndefined();
  });

  it('takes the token as the HTTP Basic password with any user name', async () => {
    const t = await token();
    for (const user of ['alice', 'x-oauth-basic', '', 'someone:with:colons'.split(':')[0]]) {
      const res = await app.inject({ url: '/whoami', headers: { authorization: basic(user, t) } });
      expect(res.statusCode, user).toBe(200);
      expect(res.json().sub).toBe('alice');
      expect(res.json().groups).toContain('team-a');
      expect(res.headers['x-vo-authenticated']).toBe('alice');
    }
    expect(credentialToken(basic('u', t))).toEqual({ token: t, scheme: 'basic' });
    expect(credentialToken(`Bearer ${t}`)).toEqual({ token: t, scheme: 'bearer' });
  });

  it('refuses a bad Basic password like a bad bearer token: 401 with challenges, never anonymous (SSO-32)', async () => {
    const t = await token();
    const forged = `${t.slice(0, -4)}AAAA`;
    const cases: Array<[string, RegExp]> = [
      [basic('alice', 'my-ordinary-password'), /not a JSON Web Token/],
      [basic('alice', forged), /signature/],
      [basic('alice', ''), /empty password/],
      ['Basic !!!', /no base64 credentials/],
      [`Basic ${Buffer.from('no-colon').toString('base64')}`, /no password/],
      [
        basic(
          'alice',
          await issuer.token({ sub: 'alice' }, { aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) - 3600 }),
        ),
        /expired/,
      ],
    ];
    for (const [authorization, reason] of cases) {
      const res = await app.inject({ url: '/whoami', headers: { authorization } });
      expect(res.statusCode, authorization).toBe(401);
      const ch = challenges(res.headers['www-authenticate']);
      expect(ch[0]).toMatch(/^Bearer realm="vonode", error="invalid_token", error_description="/);
      expect(ch[0]).toMatch(reason);
      expect(ch).toContain('Basic realm="vonode", charset="UTF-8"');
      expect(res.headers['x-vo-authenticated']).toBeUndefined();
      expect(res.body).toMatch(reason);
    }
  });

  it('refuses a token without exp (it would never expire)', async () => {
    const key = issuer.keys[0];
    const noExp = await new SignJWT({ sub: 'alice', groups: ['team-a'] })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .setIssuer(issuer.url)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .sign(key.privateKey);
    for (const authorization of [`Bearer ${noExp}`, basic('alice', noExp)]) {
      const res = await app.inject({ url: '/whoami', headers: { authorization } });
      expect(res.statusCode).toBe(401);
      expect(challenges(res.headers['www-authenticate'])[0]).toMatch(
        /error="invalid_token", error_description="the token has no 'exp'/,
      );
    }
  });

  it('refuses tokens that live longer than the configured maximum (exp - iat, or exp - now without iat)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const long = await issuer.token({ sub: 'alice' }, { aud: AUDIENCE, exp: now + 7200 });
    const res = await app.inject({ url: '/whoami', headers: { authorization: `Bearer ${long}` } });
    expect(res.statusCode).toBe(401);
    expect(res.body).toMatch(/valid for 7200 s, longer than the 3600 s this service accepts/);
    const within = await issuer.token({ sub: 'alice' }, { aud: AUDIENCE, exp: now + 3500 });
    expect(
      (await app.inject({ url: '/whoami', headers: { authorization: `Bearer ${within}` } })).statusCode,
    ).toBe(200);
    // Issued long ago for 2 h, 10 minutes left: still over the cap, since iat says what was granted.
    const old = await signed({ sub: 'alice', iat: now - 6600, exp: now + 600 });
    expect(
      (await app.inject({ url: '/whoami', headers: { authorization: `Bearer ${old}` } })).statusCode,
    ).toBe(401);
    // Without iat the remaining lifetime counts.
    const noIatLong = await signed({ sub: 'alice', exp: now + 7200 });
    const noIatShort = await signed({ sub: 'alice', exp: now + 600 });
    expect(
      (await app.inject({ url: '/whoami', headers: { authorization: `Bearer ${noIatLong}` } })).statusCode,
    ).toBe(401);
    expect(
      (await app.inject({ url: '/whoami', headers: { authorization: `Bearer ${noIatShort}` } })).statusCode,
    ).toBe(200);
  });

  async function signed(claims: Record<string, unknown>): Promise<string> {
    const key = issuer.keys[0];
    return new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .setIssuer(issuer.url)
      .setAudience(AUDIENCE)
      .sign(key.privateKey);
  }

  it('asks for credentials under /login/, so password-only clients send the token', async () => {
    const anonymous = await app.inject({ url: '/login/whoami' });
    expect(anonymous.statusCode).toBe(401);
    const ch = challenges(anonymous.headers['www-authenticate']);
    expect(ch).toContain('Basic realm="vonode", charset="UTF-8"');
    expect(ch[0]).toBe('Bearer realm="vonode"');
    expect(anonymous.body).toMatch(/needs a token/);
    const t = await token();
    const withBasic = await app.inject({ url: '/login/whoami', headers: { authorization: basic('x', t) } });
    expect(withBasic.statusCode).toBe(200);
    expect(withBasic.json().sub).toBe('alice');
    // The same URL without /login/ stays open to anonymous callers (SSO-24).
    expect((await app.inject({ url: '/whoami' })).statusCode).toBe(200);
    // A redirect answered under /login/ stays under it, so the client keeps authenticating.
    const created = await app.inject({
      method: 'POST',
      url: '/login/tap/async',
      headers: { authorization: basic('x', t), host: 'node.example:8080' },
    });
    expect(created.statusCode).toBe(303);
    expect(created.headers.location).toBe('http://node.example:8080/login/tap/async/job1');
    const direct = await app.inject({
      method: 'POST',
      url: '/tap/async',
      headers: { authorization: basic('x', t), host: 'node.example:8080' },
    });
    expect(direct.headers.location).toBe('http://node.example:8080/tap/async/job1');
  });

  it('lets browser pages read the challenges and the identity where CORS is sent (SSO-28)', async () => {
    const res = await app.inject({ url: '/hips/properties' });
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-expose-headers']).toBe('WWW-Authenticate, X-VO-Authenticated');
    expect((await app.inject({ url: '/whoami' })).headers['access-control-expose-headers']).toBeUndefined();
  });
});

describe('redirects under /login/', () => {
  it('stay under /login/ below the public base URL, the request origin, or the root', () => {
    const bases = ['https://src.example.org/vo', 'http://127.0.0.1:8080'];
    expect(loginLocation('https://src.example.org/vo/tap/async/j1', bases)).toBe(
      'https://src.example.org/vo/login/tap/async/j1',
    );
    expect(loginLocation('http://127.0.0.1:8080/tap/async/j1', bases)).toBe(
      'http://127.0.0.1:8080/login/tap/async/j1',
    );
    expect(loginLocation('/tap/async/j1', bases)).toBe('/login/tap/async/j1');
    expect(loginLocation('https://src.example.org/vo/login/tap/async/j1', bases)).toBe(
      'https://src.example.org/vo/login/tap/async/j1',
    );
    // Another host, or a path beside the base, is not the node's.
    expect(loginLocation('https://store.example.org/x', bases)).toBe('https://store.example.org/x');
    expect(loginLocation('https://src.example.org/other/x', bases)).toBe('https://src.example.org/other/x');
  });
});

describe('an anonymous-only node', () => {
  it('sends no challenges and has no /login/', async () => {
    const app = Fastify({ logger: false, rewriteUrl: rewriteLoginUrl });
    await app.register(authPlugin, {});
    app.get('/whoami', async (request) => request.identity);
    const res = await app.inject({ url: '/whoami' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['www-authenticate']).toBeUndefined();
    const login = await app.inject({ url: '/login/whoami', headers: { authorization: basic('a', 'b') } });
    expect(login.statusCode).toBe(404);
    expect(login.body).toMatch(/accepts no credentials/);
    await app.close();
  });
});

describe('VONODE_OIDC_MAX_TOKEN_LIFETIME', () => {
  const node = { baseUrl: 'http://127.0.0.1:8080', dataDir: '/nonexistent' };
  const env = { VONODE_OIDC_ISSUER: 'http://127.0.0.1:9/realms/x' };

  it('defaults to 30 days and takes a number of seconds', async () => {
    expect((await nodeAuthFromEnv(env, node)).verifier?.maxLifetimeSeconds).toBe(30 * 24 * 3600);
    const set = await nodeAuthFromEnv({ ...env, VONODE_OIDC_MAX_TOKEN_LIFETIME: '86400' }, node);
    expect(set.verifier?.maxLifetimeSeconds).toBe(86400);
    expect(set.challenge.basic).toBe(true);
  });

  it('refuses values that are not whole seconds in range', async () => {
    for (const bad of ['-1', '1.5', 'a day', '10', '99999999999']) {
      await expect(
        nodeAuthFromEnv({ ...env, VONODE_OIDC_MAX_TOKEN_LIFETIME: bad }, node),
        bad,
      ).rejects.toThrow(/VONODE_OIDC_MAX_TOKEN_LIFETIME/);
    }
  });
});
