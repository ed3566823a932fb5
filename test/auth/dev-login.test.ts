import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authPlugin, DevIssuer, devIssuerPlugin, TokenVerifier } from '../../src/auth/index.js';

/**
 * The development issuer's authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636), over
 * real HTTP as a browser's page drives it: the login form, the redirect with code and state,
 * the one-time exchange at the token endpoint, and its refusals in the JSON error form of
 * RFC 6749 §5.2.
 */

const CLIENT = 'vonode-web';
let dir: string;
let app: FastifyInstance;
let base: string;
let issuerUrl: string;
let redirect: string;

const b64url = (b: Buffer) => b.toString('base64url');
const challengeOf = (verifier: string) => b64url(createHash('sha256').update(verifier).digest());

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vonode-dev-login-'));
  // Learn a free port first: the issuer URL, port included, is in every token.
  const probe = Fastify();
  await probe.listen({ port: 0, host: '127.0.0.1' });
  const port = (probe.server.address() as { port: number }).port;
  await probe.close();
  base = `http://127.0.0.1:${port}`;
  issuerUrl = `${base}/dev-issuer`;
  redirect = `${base}/web/callback`;
  app = Fastify();
  const dev = await DevIssuer.open({ keyDir: join(dir, 'keys'), issuer: issuerUrl });
  await devIssuerPlugin(app, { issuer: dev, audience: ['vonode'] });
  await authPlugin(app, { verifier: new TokenVerifier({ issuer: issuerUrl, audience: 'vonode' }) });
  app.get('/whoami', async (request) => request.identity);
  await app.listen({ port, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Started {
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
  readonly code: string;
  readonly location: URL;
}

/** What the page does: open the authorization endpoint, submit the form as `sub` in `groups`. */
async function authorize(
  sub = 'alice',
  groups = 'team-a',
  overrides: Record<string, string> = {},
): Promise<Started> {
  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(16));
  const nonce = b64url(randomBytes(16));
  const params = {
    response_type: 'code',
    client_id: CLIENT,
    redirect_uri: redirect,
    scope: 'openid',
    state,
    nonce,
    code_challenge: challengeOf(verifier),
    code_challenge_method: 'S256',
    ...overrides,
  };
  const form = await fetch(`${issuerUrl}/authorize?${new URLSearchParams(params)}`);
  expect(form.status).toBe(200);
  const html = await form.text();
  expect(html).toContain('<form method="post"');
  expect(html).toContain(`value="${state}"`);
  const res = await fetch(`${issuerUrl}/authorize`, {
    method: 'POST',
    body: new URLSearchParams({ ...params, sub, groups, action: 'login' }),
    redirect: 'manual',
  });
  expect(res.status).toBe(303);
  const location = new URL(res.headers.get('location')!);
  return { verifier, state, nonce, code: location.searchParams.get('code') ?? '', location };
}

function exchange(fields: Record<string, string>, contentType = 'application/x-www-form-urlencoded') {
  return fetch(`${issuerUrl}/token`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: new URLSearchParams(fields).toString(),
  });
}

const grant = (s: Started, more: Record<string, string> = {}) => ({
  grant_type: 'authorization_code',
  code: s.code,
  redirect_uri: redirect,
  client_id: CLIENT,
  code_verifier: s.verifier,
  ...more,
});

/** An RFC 6749 §5.2 error answer: 400, JSON, never cached, with the expected error code. */
async function expectOAuthError(res: Response, error: string, said: RegExp): Promise<void> {
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const body = (await res.json()) as { error: string; error_description: string };
  expect(body.error).toBe(error);
  expect(body.error_description).toMatch(said);
}

describe('development issuer: authorization code flow with PKCE', () => {
  it('advertises the endpoints and S256 in its discovery document', async () => {
    const doc = await (await fetch(`${issuerUrl}/.well-known/openid-configuration`)).json();
    expect(doc).toMatchObject({
      issuer: issuerUrl,
      authorization_endpoint: `${issuerUrl}/authorize`,
      token_endpoint: `${issuerUrl}/token`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none'],
    });
  });

  it('logs a team-a member in: code and state at the redirect URI, then tokens the node accepts', async () => {
    const s = await authorize('alice', 'team-a');
    expect(`${s.location.origin}${s.location.pathname}`).toBe(redirect);
    expect(s.location.searchParams.get('state')).toBe(s.state);
    expect(s.location.searchParams.get('iss')).toBe(issuerUrl); // RFC 9207
    expect(s.code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const res = await exchange(grant(s));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'openid' });
    const id = decodeJwt(body.id_token as string);
    expect(id).toMatchObject({ iss: issuerUrl, aud: CLIENT, sub: 'alice', nonce: s.nonce });
    const access = decodeJwt(body.access_token as string);
    expect(access).toMatchObject({ iss: issuerUrl, aud: ['vonode'], sub: 'alice', groups: ['team-a'] });
    const who = await fetch(`${base}/whoami`, { headers: { authorization: `Bearer ${body.access_token}` } });
    expect(who.status).toBe(200);
    expect(await who.json()).toMatchObject({ sub: 'alice', groups: ['team-a'] });
  });

  it('refuses a wrong code verifier (RFC 7636 §4.6), and the code is then spent', async () => {
    const s = await authorize();
    await expectOAuthError(
      await exchange(grant(s, { code_verifier: b64url(randomBytes(32)) })),
      'invalid_grant',
      /code_verifier does not match/,
    );
    await expectOAuthError(await exchange(grant(s)), 'invalid_grant', /unknown, expired or already used/);
  });

  it('refuses a missing verifier as a malformed request', async () => {
    const s = await authorize();
    const { code_verifier: _v, ...without } = grant(s);
    await expectOAuthError(await exchange(without), 'invalid_request', /code_verifier is required/);
  });

  it('refuses a code used twice (RFC 6749 §4.1.2)', async () => {
    const s = await authorize();
    expect((await exchange(grant(s))).status).toBe(200);
    await expectOAuthError(await exchange(grant(s)), 'invalid_grant', /already used/);
  });

  it('refuses another redirect URI than the code was issued for (RFC 6749 §4.1.3)', async () => {
    const s = await authorize();
    await expectOAuthError(
      await exchange(grant(s, { redirect_uri: `${base}/elsewhere` })),
      'invalid_grant',
      /redirect_uri is not the one/,
    );
  });

  it('refuses another client than the code was issued to', async () => {
    const s = await authorize();
    await expectOAuthError(
      await exchange(grant(s, { client_id: 'someone-else' })),
      'invalid_grant',
      /another client/,
    );
  });

  it('refuses other grant types, repeated parameters and bodies that are not forms', async () => {
    await expectOAuthError(
      await exchange({ grant_type: 'password', username: 'alice', password: 'x' }),
      'unsupported_grant_type',
      /password is not supported/,
    );
    const s = await authorize();
    const twice = `${new URLSearchParams(grant(s))}&code=${s.code}`;
    await expectOAuthError(
      await fetch(`${issuerUrl}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: twice,
      }),
      'invalid_request',
      /code is given more than once/,
    );
    const json = await fetch(`${issuerUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(grant(s)),
    });
    await expectOAuthError(json, 'invalid_request', /x-www-form-urlencoded/);
  });

  it('sends errors of the authorization request back to the client with its state, but never to an unchecked redirect URI', async () => {
    const verifier = b64url(randomBytes(32));
    const plain = await fetch(
      `${issuerUrl}/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: CLIENT,
        redirect_uri: redirect,
        state: 'st-1',
        code_challenge: verifier,
        code_challenge_method: 'plain',
      })}`,
      { redirect: 'manual' },
    );
    expect(plain.status).toBe(303);
    const back = new URL(plain.headers.get('location')!);
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('error_description')).toMatch(/S256/);
    expect(back.searchParams.get('state')).toBe('st-1');

    const noPkce = await fetch(
      `${issuerUrl}/authorize?${new URLSearchParams({ response_type: 'code', client_id: CLIENT, redirect_uri: redirect, state: 'st-2' })}`,
      { redirect: 'manual' },
    );
    expect(new URL(noPkce.headers.get('location')!).searchParams.get('error_description')).toMatch(
      /code_challenge is required/,
    );

    // A redirect URI off this machine is never followed (§4.1.2.1): an error page here instead.
    const away = await fetch(
      `${issuerUrl}/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: CLIENT,
        redirect_uri: 'https://attacker.example/cb',
        code_challenge: challengeOf(verifier),
        code_challenge_method: 'S256',
      })}`,
      { redirect: 'manual' },
    );
    expect(away.status).toBe(400);
    expect(away.headers.get('location')).toBeNull();
    expect(await away.text()).toMatch(/loopback/);
  });

  it('answers a cancelled login with access_denied, and loopback callers only', async () => {
    const params = {
      response_type: 'code',
      client_id: CLIENT,
      redirect_uri: redirect,
      state: 'st-3',
      code_challenge: challengeOf(b64url(randomBytes(32))),
      code_challenge_method: 'S256',
    };
    const cancel = await fetch(`${issuerUrl}/authorize`, {
      method: 'POST',
      body: new URLSearchParams({ ...params, action: 'cancel' }),
      redirect: 'manual',
    });
    const back = new URL(cancel.headers.get('location')!);
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('state')).toBe('st-3');
    const remote = await app.inject({
      method: 'POST',
      url: '/dev-issuer/token',
      remoteAddress: '192.0.2.7',
      payload: 'grant_type=authorization_code',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(remote.statusCode).toBe(404);
  });
});
