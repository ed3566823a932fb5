import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeAuthFromEnv } from '../../src/auth/index.js';

describe('authentication from the environment', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'vonode-auth-env-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
  const node = () => ({ baseUrl: 'http://127.0.0.1:8080/', dataDir });

  it('reads the required scopes (VONODE_OIDC_REQUIRED_SCOPES), space- or comma-separated', async () => {
    const iam = { VONODE_OIDC_ISSUER: 'https://ska-iam.stfc.ac.uk/' };
    expect((await nodeAuthFromEnv(iam, node())).verifier?.requiredScopes).toEqual([]);
    const scoped = await nodeAuthFromEnv(
      { ...iam, VONODE_OIDC_REQUIRED_SCOPES: 'tap:read, datalink:read' },
      node(),
    );
    expect(scoped.verifier?.requiredScopes).toEqual(['tap:read', 'datalink:read']);
  });

  it('offers the web pages a login only with a client id (VONODE_WEB_CLIENT_ID), the development issuer having one', async () => {
    const iam = { VONODE_OIDC_ISSUER: 'https://ska-iam.stfc.ac.uk/' };
    expect((await nodeAuthFromEnv(iam, node())).webLogin).toBeUndefined();
    expect(
      (
        await nodeAuthFromEnv(
          { ...iam, VONODE_WEB_CLIENT_ID: 'src-web', VONODE_WEB_SCOPES: 'wlcg.groups openid' },
          node(),
        )
      ).webLogin,
    ).toEqual({ issuer: 'https://ska-iam.stfc.ac.uk/', clientId: 'src-web', scope: 'openid wlcg.groups' });
    const dev = await nodeAuthFromEnv({ VONODE_DEV_ISSUER: 'on' }, node());
    expect(dev.webLogin).toEqual({
      issuer: 'http://127.0.0.1:8080/dev-issuer',
      clientId: 'vonode-web',
      scope: 'openid',
    });
    await expect(nodeAuthFromEnv({ ...iam, VONODE_WEB_CLIENT_ID: 'two words' }, node())).rejects.toThrow(
      /VONODE_WEB_CLIENT_ID='two words' is not an OAuth client id/,
    );
    expect((await nodeAuthFromEnv({ VONODE_WEB_CLIENT_ID: 'x' }, node())).webLogin).toBeUndefined();
  });

  it('is anonymous-only by default', async () => {
    const auth = await nodeAuthFromEnv({}, node());
    expect(auth.verifier).toBeUndefined();
    expect(auth.devIssuer).toBeUndefined();
    expect(auth.challenge).toEqual({ realm: 'vonode' });
  });

  it('configures a real identity provider', async () => {
    const auth = await nodeAuthFromEnv(
      {
        VONODE_OIDC_ISSUER: 'https://ska-iam.stfc.ac.uk/',
        VONODE_OIDC_AUDIENCE: 'vonode, https://src.example.org',
        VONODE_OIDC_GROUPS_CLAIM: 'wlcg.groups',
        VONODE_OIDC_CLOCK_SKEW: '10',
        VONODE_AUTH_REALM: 'Example SRC',
      },
      node(),
    );
    expect(auth.verifier).toMatchObject({
      issuer: 'https://ska-iam.stfc.ac.uk/',
      audience: ['vonode', 'https://src.example.org'],
      groupsClaims: ['wlcg.groups'],
      clockSkewSeconds: 10,
    });
    expect(auth.challenge.realm).toBe('Example SRC');
    expect(auth.challenge.ivoaBearer?.accessUrl).toBe('https://ska-iam.stfc.ac.uk/');
  });

  it('runs the development issuer only when asked, and never next to a real one', async () => {
    const auth = await nodeAuthFromEnv({ VONODE_DEV_ISSUER: 'on' }, node());
    expect(auth.devIssuer?.issuer).toBe('http://127.0.0.1:8080/dev-issuer');
    const token = await auth.devIssuer!.mintToken({ sub: 'alice', groups: ['team-a'] });
    expect(await auth.verifier!.verify(token)).toMatchObject({ sub: 'alice', groups: ['team-a'] });
    await expect(
      nodeAuthFromEnv({ VONODE_DEV_ISSUER: 'on', VONODE_OIDC_ISSUER: 'https://ska-iam.stfc.ac.uk/' }, node()),
    ).rejects.toThrow(/both set/);
    await expect(
      nodeAuthFromEnv({ VONODE_DEV_ISSUER: 'on' }, { baseUrl: 'https://node.example.org', dataDir }),
    ).rejects.toThrow(/loopback/);
  });

  it('explains bad settings', async () => {
    await expect(
      nodeAuthFromEnv({ VONODE_OIDC_JWKS_URL: 'https://x.example.org/jwks' }, node()),
    ).rejects.toThrow(/without VONODE_OIDC_ISSUER/);
    await expect(nodeAuthFromEnv({ VONODE_OIDC_ISSUER: 'not a url' }, node())).rejects.toThrow(
      /is not a URL/,
    );
    await expect(
      nodeAuthFromEnv(
        { VONODE_OIDC_ISSUER: 'https://a.example.org/', VONODE_OIDC_CLOCK_SKEW: 'lots' },
        node(),
      ),
    ).rejects.toThrow(/VONODE_OIDC_CLOCK_SKEW/);
  });
});
