import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { durationSeconds } from '../../src/auth/dev-issuer.js';
import {
  authPlugin,
  DevIssuer,
  devIssuerPlugin,
  runTokenCommand,
  TokenVerifier,
} from '../../src/auth/index.js';

function capture() {
  const out = {
    text: '',
    write(t: string) {
      out.text += t;
      return true;
    },
  };
  return out;
}

describe('development issuer', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vonode-dev-issuer-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps one key pair in its folder, readable by its owner only', async () => {
    const keyDir = join(dir, 'keys');
    const a = await DevIssuer.open({ keyDir, issuer: 'http://127.0.0.1:8080/dev-issuer' });
    expect(statSync(join(keyDir, 'dev-issuer-key.json')).mode & 0o777).toBe(0o600);
    expect(statSync(keyDir).mode & 0o777).toBe(0o700);
    const b = await DevIssuer.open({ keyDir, issuer: 'http://127.0.0.1:8080/dev-issuer' });
    expect(b.kid).toBe(a.kid);
    // The published key set has no private parts.
    expect(Object.keys(a.jwks().keys[0]).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
  });

  it('refuses an issuer URL off the loopback interface, and an unreadable key', async () => {
    await expect(
      DevIssuer.open({ keyDir: join(dir, 'k2'), issuer: 'https://iam.example.org/' }),
    ).rejects.toThrow(/not on this machine's loopback/);
    const bad = join(dir, 'bad');
    await DevIssuer.open({ keyDir: bad, issuer: 'http://localhost:1/' });
    writeFileSync(join(bad, 'dev-issuer-key.json'), '{"kty":"RSA"}');
    await expect(DevIssuer.open({ keyDir: bad, issuer: 'http://localhost:1/' })).rejects.toThrow(
      /delete the file/,
    );
  });

  it('serves discovery and keys on a node, and its tokens pass the real verifier', async () => {
    const app = Fastify();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as { port: number }).port;
    // Learn a free port first: the issuer URL, port included, must be known before the
    // node's routes and verifier are set up.
    await app.close();

    const node = Fastify();
    const issuerUrl = `http://127.0.0.1:${port}/dev-issuer`;
    const dev = await DevIssuer.open({ keyDir: join(dir, 'node'), issuer: issuerUrl });
    await devIssuerPlugin(node, { issuer: dev });
    await authPlugin(node, { verifier: new TokenVerifier({ issuer: issuerUrl, audience: 'vonode' }) });
    node.get('/whoami', async (request) => request.identity);
    await node.listen({ port, host: '127.0.0.1' });
    try {
      const discovery = await (await fetch(`${issuerUrl}/.well-known/openid-configuration`)).json();
      expect(discovery).toMatchObject({ issuer: issuerUrl, jwks_uri: `${issuerUrl}/jwks.json` });
      const token = await dev.mintToken({
        sub: 'carol',
        groups: ['/ska/team-a'],
        expiresIn: '10m',
        audience: 'vonode',
      });
      const res = await fetch(`http://127.0.0.1:${port}/whoami`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ sub: 'carol', groups: ['ska/team-a', 'ska:team-a'] });
      // Not meant for this node: refused.
      const other = await dev.mintToken({ sub: 'carol', audience: 'elsewhere' });
      expect(
        (await fetch(`http://127.0.0.1:${port}/whoami`, { headers: { authorization: `Bearer ${other}` } }))
          .status,
      ).toBe(401);
      // Over real HTTP the two challenges arrive as two header lines (RFC 9110 §11.6.1).
      const raw = await new Promise<string[]>((resolve, reject) => {
        get(`http://127.0.0.1:${port}/whoami`, { headers: { authorization: 'Bearer x.y.z' } }, (r) => {
          r.resume();
          resolve(
            r.rawHeaders.filter((_, i) => i % 2 === 1 && /^www-authenticate$/i.test(r.rawHeaders[i - 1])),
          );
        }).on('error', reject);
      });
      expect(raw).toHaveLength(3);
      expect(raw[0]).toMatch(/^Bearer realm="vonode", error="invalid_token"/);
      expect(raw[1]).toBe(
        `ivoa_bearer standard_id="ivo://ivoa.net/sso#OpenID", access_url="${issuerUrl}", discovery_url="${issuerUrl}/.well-known/openid-configuration"`,
      );
      expect(raw[2]).toBe('Basic realm="vonode", charset="UTF-8"');
      // The key set is for loopback callers only.
      const remote = await node.inject({ url: '/dev-issuer/jwks.json', remoteAddress: '192.0.2.7' });
      expect(remote.statusCode).toBe(404);
    } finally {
      await node.close();
    }
  });

  it('trusts its own keys without HTTP through verifierOptions()', async () => {
    const dev = await DevIssuer.open({ keyDir: join(dir, 'local'), issuer: 'http://127.0.0.1:9/dev-issuer' });
    const verifier = new TokenVerifier(dev.verifierOptions());
    const identity = await verifier.verify(await dev.mintToken({ sub: 'dave', groups: ['team-b'] }));
    expect(identity).toMatchObject({ sub: 'dave', groups: ['team-b'] });
  });
});

describe('vonode token', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vonode-token-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const env = () => ({ VONODE_DEV_ISSUER: 'on', VONODE_DATA_DIR: dir, PORT: '8123' });

  it('prints a token of the development issuer with the given subject, groups and lifetime', async () => {
    const stdout = capture();
    const stderr = capture();
    const code = await runTokenCommand(
      ['token', '--sub', 'erin', '--groups', 'team-a, ska/team-b', '--expires', '2h'],
      env(),
      {
        stdout,
        stderr,
      },
    );
    expect(stderr.text).toBe('');
    expect(code).toBe(0);
    const token = stdout.text.trim();
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      sub: 'erin',
      groups: ['team-a', 'ska/team-b'],
      iss: 'http://127.0.0.1:8123/dev-issuer',
    });
    expect(claims.exp! - claims.iat!).toBe(7200);
    // Signed by the key persisted in the data folder.
    const dev = await DevIssuer.open({
      keyDir: join(dir, 'dev-issuer'),
      issuer: 'http://127.0.0.1:8123/dev-issuer',
    });
    expect((await new TokenVerifier(dev.verifierOptions()).verify(token)).sub).toBe('erin');
  });

  it('stays off unless enabled, and explains bad arguments', async () => {
    const run = async (argv: string[], e: NodeJS.ProcessEnv) => {
      const stdout = capture();
      const stderr = capture();
      return { code: await runTokenCommand(argv, e, { stdout, stderr }), out: stdout.text, err: stderr.text };
    };
    const off = await run(['--sub', 'x'], { VONODE_DATA_DIR: dir });
    expect(off.code).toBe(2);
    expect(off.err).toMatch(/VONODE_DEV_ISSUER=on/);
    expect(off.out).toBe('');
    expect((await run([], env())).err).toMatch(/--sub is required/);
    expect((await run(['--sub'], env())).err).toMatch(/--sub needs a value/);
    expect((await run(['--frobnicate'], env())).err).toMatch(/unknown argument "--frobnicate"/);
    expect((await run(['--sub', 'x', '--expires', 'soon'], env())).err).toMatch(/"soon" is not a duration/);
    expect((await run(['--sub', 'x', '--issuer', 'https://iam.example.org/'], env())).err).toMatch(
      /loopback/,
    );
    expect((await run(['--help'], env())).out).toMatch(/usage: vonode token/);
  });

  it('reads durations', () => {
    expect([
      durationSeconds('90'),
      durationSeconds('30m'),
      durationSeconds('1h'),
      durationSeconds('2d'),
      durationSeconds(5),
    ]).toEqual([90, 1800, 3600, 172800, 5]);
    expect(() => durationSeconds('0s')).toThrow(/out of range/);
    expect(() => durationSeconds('365d')).toThrow(/out of range/);
  });
});
