import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  SignJWT,
} from 'jose';
import { ConfigError } from '../config/errors.js';
import { parseConfig } from '../config/index.js';
import { devLoginRoutes } from './dev-login.js';

/**
 * A local OpenID Connect issuer for development and tests: one RS256 key kept in a
 * folder, a discovery document and a key set served to loopback callers, and tokens
 * minted on request. It exists only when explicitly enabled (VONODE_DEV_ISSUER=on);
 * its issuer URL must be a loopback address, so its tokens can never pass for a real
 * identity provider's.
 */
export interface DevIssuerOptions {
  /** Folder for the key pair (created 0700; the key file is 0600). */
  readonly keyDir: string;
  /** The `iss` of minted tokens; an http(s) URL on 127.0.0.1, ::1 or localhost. */
  readonly issuer: string;
}

export interface MintOptions {
  readonly sub: string;
  readonly groups?: readonly string[];
  /** Seconds, or a duration like "30m", "1h", "2d"; default 1 hour. */
  readonly expiresIn?: number | string;
  readonly audience?: string | readonly string[];
  /** Claim the groups go into; default `groups`. */
  readonly groupsClaim?: string;
  /** More claims (an ID token's `nonce`); the registered ones above win. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

const KEY_FILE = 'dev-issuer-key.json';
const MAX_LIFETIME_SECONDS = 30 * 24 * 3600;

export class DevIssuer {
  private constructor(
    readonly issuer: string,
    private readonly privateJwk: JWK,
    private readonly publicJwk: JWK,
  ) {}

  /** Loads the key pair from `keyDir`, generating and saving one on first use. */
  static async open(options: DevIssuerOptions): Promise<DevIssuer> {
    const issuer = loopbackIssuer(options.issuer);
    const file = join(options.keyDir, KEY_FILE);
    let privateJwk: JWK;
    if (existsSync(file)) {
      try {
        privateJwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
        await importJWK(privateJwk, 'RS256');
      } catch {
        throw new ConfigError(
          `the development issuer key ${file} cannot be read as an RS256 private key`,
          'delete the file to have a new key generated (tokens signed with the old key stop working)',
        );
      }
    } else {
      const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
      privateJwk = await exportJWK(privateKey);
      privateJwk.kid = await calculateJwkThumbprint(privateJwk);
      privateJwk.alg = 'RS256';
      privateJwk.use = 'sig';
      try {
        mkdirSync(options.keyDir, { recursive: true, mode: 0o700 });
        // Written under a temporary name, then renamed: a reader never sees half a key.
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, `${JSON.stringify(privateJwk)}\n`, { mode: 0o600 });
        chmodSync(tmp, 0o600);
        renameSync(tmp, file);
      } catch (err) {
        throw new ConfigError(
          `the development issuer key cannot be written to ${options.keyDir} (${err instanceof Error ? err.message : String(err)})`,
          'choose a folder this user can write',
        );
      }
    }
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = privateJwk;
    return new DevIssuer(issuer, privateJwk, publicJwk);
  }

  get kid(): string {
    return this.publicJwk.kid!;
  }

  /** The public key set, for a TokenVerifier's `jwks` option or the jwks.json route. */
  jwks(): JSONWebKeySet {
    return { keys: [{ ...this.publicJwk }] };
  }

  /** TokenVerifier options that trust this issuer without any HTTP round trip. */
  verifierOptions(): { issuer: string; jwks: JSONWebKeySet } {
    return { issuer: this.issuer, jwks: this.jwks() };
  }

  discoveryDocument(): Record<string, unknown> {
    const base = this.issuer.replace(/\/+$/, '');
    return {
      issuer: this.issuer,
      jwks_uri: `${base}/jwks.json`,
      // The browser pages' login (dev-login.ts): authorization code with PKCE, public clients.
      authorization_endpoint: `${base}/authorize`,
      token_endpoint: `${base}/token`,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none'],
      authorization_response_iss_parameter_supported: true,
      scopes_supported: ['openid'],
      id_token_signing_alg_values_supported: ['RS256'],
      subject_types_supported: ['public'],
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'nbf', 'iat', 'nonce', 'groups'],
    };
  }

  async mintToken(options: MintOptions): Promise<string> {
    if (!options.sub) throw new ConfigError('a token needs a subject', 'give --sub NAME');
    const lifetime = durationSeconds(options.expiresIn ?? 3600);
    const key = await importJWK(this.privateJwk, 'RS256');
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({
      ...options.claims,
      [options.groupsClaim ?? 'groups']: [...(options.groups ?? [])],
    })
      .setProtectedHeader({ alg: 'RS256', kid: this.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setSubject(options.sub)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + lifetime)
      .setJti(crypto.randomUUID());
    if (options.audience !== undefined) {
      jwt.setAudience(typeof options.audience === 'string' ? options.audience : [...options.audience]);
    }
    return jwt.sign(key);
  }
}

/**
 * Serves the issuer's discovery document and key set under `prefix` of a node
 * (`<prefix>/.well-known/openid-configuration`, `<prefix>/jwks.json`), and the login of the
 * browser pages (`<prefix>/authorize`, `<prefix>/token`, dev-login.ts), to loopback
 * callers only; the issuer URL should then be `<node base URL><prefix>`.
 */
export async function devIssuerPlugin(
  app: FastifyInstance,
  options: {
    readonly issuer: DevIssuer;
    readonly prefix?: string;
    /** Audience of the access tokens the login issues (the node's VONODE_OIDC_AUDIENCE). */
    readonly audience?: readonly string[];
  },
): Promise<void> {
  const prefix = (options.prefix ?? '/dev-issuer').replace(/\/+$/, '');
  const loopbackOnly = async (
    request: { ip: string },
    reply: { code(n: number): { send(b: string): unknown } },
  ) => {
    if (!isLoopbackAddress(request.ip)) return reply.code(404).send('Not Found\n');
    return undefined;
  };
  app.get(`${prefix}/.well-known/openid-configuration`, { onRequest: loopbackOnly }, async (_req, reply) => {
    return reply.type('application/json').send(options.issuer.discoveryDocument());
  });
  app.get(`${prefix}/jwks.json`, { onRequest: loopbackOnly }, async (_req, reply) => {
    return reply.type('application/jwk-set+json').send(options.issuer.jwks());
  });
  await app.register(async (child) => {
    child.addHook('onRequest', loopbackOnly);
    // The token endpoint takes a form (RFC 6749 §4.1.3); a node already decodes forms.
    if (!child.hasContentTypeParser('application/x-www-form-urlencoded'))
      child.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string' },
        (_r, body, done) => {
          const fields: Record<string, string | string[]> = {};
          for (const [k, v] of new URLSearchParams(body as string)) {
            const had = fields[k];
            fields[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
          }
          done(null, fields);
        },
      );
    await devLoginRoutes(child, { issuer: options.issuer, prefix, audience: options.audience });
  });
}

/** Whether the development issuer was asked for (never on by default). */
export function devIssuerEnabled(env: NodeJS.ProcessEnv): boolean {
  return /^(1|true|on|yes)$/i.test(env.VONODE_DEV_ISSUER ?? '');
}

/**
 * Where the key lives and which issuer URL tokens carry: flags, then
 * VONODE_DEV_ISSUER_KEY_DIR / VONODE_DEV_ISSUER_URL, then the node's own configuration
 * (`<data folder>/dev-issuer`, `<base URL>/dev-issuer`), so that `vonode token` and a
 * node started with the same environment agree on the issuer.
 */
export function devIssuerSettings(
  env: NodeJS.ProcessEnv,
  flags: { keyDir?: string; issuer?: string } = {},
): DevIssuerOptions {
  const explicitDir = flags.keyDir ?? env.VONODE_DEV_ISSUER_KEY_DIR;
  const explicitUrl = flags.issuer ?? env.VONODE_DEV_ISSUER_URL;
  const config = explicitDir && explicitUrl ? null : parseConfig(env);
  return {
    keyDir: explicitDir ?? join(config!.dataDir, 'dev-issuer'),
    issuer: explicitUrl ?? `${config!.baseUrl.replace(/\/+$/, '')}/dev-issuer`,
  };
}

export interface CommandOutput {
  write(text: string): unknown;
}

const TOKEN_USAGE = `usage: vonode token --sub NAME [--groups G1,G2] [--expires 1h] [--audience AUD]
                    [--key-dir DIR] [--issuer URL]
Prints a bearer token signed by the development issuer (enable it with VONODE_DEV_ISSUER=on).
`;

/**
 * `vonode token --sub NAME --groups G1,G2 [--expires 1h]`: prints a token of the
 * development issuer. Returns the exit status (0 ok, 2 usage or configuration error).
 */
export async function runTokenCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  io: { stdout: CommandOutput; stderr: CommandOutput } = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const args = argv[0] === 'token' ? argv.slice(1) : [...argv];
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--help' || arg === '-h') {
      io.stdout.write(TOKEN_USAGE);
      return 0;
    }
    const m = /^--(sub|groups|expires|audience|key-dir|issuer)(?:=(.*))?$/.exec(arg);
    if (!m) {
      io.stderr.write(`vonode token: unknown argument ${JSON.stringify(arg)}\n${TOKEN_USAGE}`);
      return 2;
    }
    const value = m[2] ?? args[++i];
    if (value === undefined) {
      io.stderr.write(`vonode token: --${m[1]} needs a value\n${TOKEN_USAGE}`);
      return 2;
    }
    flags[m[1]] = value;
  }
  if (!devIssuerEnabled(env)) {
    io.stderr.write(
      'vonode token: the development issuer is off; it signs tokens anyone on this machine could mint, so it is only for development: set VONODE_DEV_ISSUER=on to use it\n',
    );
    return 2;
  }
  if (!flags.sub) {
    io.stderr.write(`vonode token: --sub is required\n${TOKEN_USAGE}`);
    return 2;
  }
  try {
    const issuer = await DevIssuer.open(
      devIssuerSettings(env, { keyDir: flags['key-dir'], issuer: flags.issuer }),
    );
    const groups = (flags.groups ?? '')
      .split(',')
      .map((g) => g.trim())
      .filter((g) => g.length > 0);
    const token = await issuer.mintToken({
      sub: flags.sub,
      groups,
      expiresIn: flags.expires ?? '1h',
      audience: flags.audience,
    });
    io.stdout.write(`${token}\n`);
    return 0;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`vonode token: ${message}\n`);
    return 2;
  }
}

/** "90", "90s", "30m", "1h", "2d" -> seconds, within (0, 30 days]. */
export function durationSeconds(value: number | string): number {
  let seconds: number;
  if (typeof value === 'number') seconds = value;
  else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$/i.exec(value);
    if (!m) {
      throw new ConfigError(`${JSON.stringify(value)} is not a duration`, 'write it like 90s, 30m, 1h or 2d');
    }
    const unit = (m[2] ?? 's').toLowerCase();
    const scale = unit.startsWith('m') ? 60 : unit === 'h' ? 3600 : unit === 'd' ? 86400 : 1;
    seconds = Number(m[1]) * scale;
  }
  seconds = Math.floor(seconds);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_LIFETIME_SECONDS) {
    throw new ConfigError(
      `a token lifetime of ${String(value)} is out of range`,
      `choose between 1 second and ${MAX_LIFETIME_SECONDS / 86400} days`,
    );
  }
  return seconds;
}

function loopbackIssuer(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(
      `the development issuer URL ${JSON.stringify(value)} is not a URL`,
      'give e.g. http://127.0.0.1:8080/dev-issuer',
    );
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (
    !(url.protocol === 'http:' || url.protocol === 'https:') ||
    !(host === 'localhost' || isLoopbackAddress(host))
  ) {
    throw new ConfigError(
      `the development issuer URL ${value} is not on this machine's loopback interface`,
      'the development issuer is for local use only: give an http://127.0.0.1:<port>/... URL, and use a real identity provider anywhere else',
    );
  }
  return value;
}

function isLoopbackAddress(ip: string): boolean {
  return /^127\./.test(ip) || ip === '::1' || /^::ffff:127\./.test(ip);
}
