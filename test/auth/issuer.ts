import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function signingKey(alg = 'RS256', kid?: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const id = kid ?? (await calculateJwkThumbprint(publicJwk));
  return { kid: id, alg, privateKey, publicJwk: { ...publicJwk, kid: id, alg, use: 'sig' } };
}

/**
 * A real OpenID Connect issuer on 127.0.0.1 serving a discovery document and a key set
 * whose keys the test can rotate; it counts key set fetches so refresh behaviour is
 * observable without timing anything.
 */
export class TestIssuer {
  keys: SigningKey[] = [];
  jwksFetches = 0;
  discoveryFetches = 0;
  /** Overrides the `issuer` field of the discovery document (to test the §4.3 check). */
  advertisedIssuer: string | null = null;
  /** While true, every request gets a 500, as from an identity provider that is down. */
  failing = false;
  private server: Server | null = null;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/realms/test`;
    return this;
  }

  get jwksUrl(): string {
    return `${this.url}/jwks`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
  }

  async token(
    claims: Record<string, unknown>,
    options: {
      key?: SigningKey;
      kid?: string;
      exp?: number;
      nbf?: number;
      iss?: string;
      aud?: string | string[];
    } = {},
  ): Promise<string> {
    const key = options.key ?? this.keys[0];
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid, typ: 'JWT' })
      .setIssuer(options.iss ?? this.url)
      .setIssuedAt(now)
      .setExpirationTime(options.exp ?? now + 600);
    if (options.nbf !== undefined) jwt.setNotBefore(options.nbf);
    if (options.aud !== undefined) jwt.setAudience(options.aud);
    return jwt.sign(key.privateKey);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (this.failing) {
      res.writeHead(500).end();
      return;
    }
    if (path === '/realms/test/.well-known/openid-configuration') {
      this.discoveryFetches++;
      this.json(res, { issuer: this.advertisedIssuer ?? this.url, jwks_uri: this.jwksUrl });
    } else if (path === '/realms/test/jwks') {
      this.jwksFetches++;
      this.json(res, { keys: this.keys.map((k) => k.publicJwk) });
    } else {
      res.writeHead(404).end();
    }
  }

  private json(res: ServerResponse, body: unknown): void {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}
