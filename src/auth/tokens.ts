import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { ConfigError } from '../config/errors.js';
import { InsufficientScopeError, IssuerUnavailableError, TokenError } from './errors.js';
import { groupsFromClaims, type Identity } from './identity.js';

/**
 * Only asymmetric signatures: a service that accepted HS* would let anyone holding the
 * (public) verification key mint tokens, and `none` is no signature at all.
 */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

export interface TokenVerifierOptions {
  /** The issuer URL (the `iss` every token must carry). With no jwksUrl/jwks, its key set is found by OIDC discovery. */
  readonly issuer?: string;
  /** The issuer's JSON Web Key Set URL, used directly (no discovery). */
  readonly jwksUrl?: string;
  /** A key set held locally (the development issuer); no network at all. */
  readonly jwks?: JSONWebKeySet;
  /** Accepted `aud` values; when given, a token must name one of them. */
  readonly audience?: string | readonly string[];
  /**
   * Scopes every token must carry (in `scope`, space-separated as RFC 8693/9068 and WLCG
   * tokens have it, or `scp`); none by default. A token without one is refused with 403
   * insufficient_scope (RFC 6750 §3.1).
   */
  readonly requiredScopes?: readonly string[];
  /** Claim(s) holding group membership; default `groups` and `wlcg.groups`. */
  readonly groupsClaim?: string | readonly string[];
  /** Leeway for exp/nbf against clocks that disagree; default 30 s. */
  readonly clockSkewSeconds?: number;
  /** Accepted algorithms, a subset of ASYMMETRIC_ALGORITHMS; default all of them. */
  readonly algorithms?: readonly string[];
  /** Time limit for fetching the discovery document or the key set; default 5000 ms. */
  readonly fetchTimeoutMs?: number;
  /**
   * After a key set fetch, an unknown `kid` does not cause another fetch for this long
   * (default 30 s): key rotation is picked up, but a stream of forged kids cannot make
   * us hammer the identity provider.
   */
  readonly jwksCooldownSeconds?: number;
  /** The key set is fetched again after this long even if every kid is known; default 600 s. */
  readonly jwksMaxAgeSeconds?: number;
  /** Tokens longer than this are refused before parsing; default 16384 characters. */
  readonly maxTokenLength?: number;
  /**
   * The longest lifetime a token may have, in seconds: `exp - iat`, or `exp - now` for a
   * token without `iat`. Tokens without `exp` are always refused (they would never expire).
   * Default 30 days.
   */
  readonly maxLifetimeSeconds?: number;
}

/** The scopes a token grants: `scope` (a space-separated string) and `scp` (string or array). */
export function tokenScopes(payload: JWTPayload): string[] {
  const out: string[] = [];
  for (const claim of [payload.scope, payload.scp]) {
    if (typeof claim === 'string') out.push(...claim.split(/\s+/).filter((s) => s.length > 0));
    else if (Array.isArray(claim)) out.push(...claim.filter((s): s is string => typeof s === 'string'));
  }
  return out;
}

/** The default of `maxLifetimeSeconds`: the longest the development issuer mints. */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 30 * 24 * 3600;

const DEFAULT_GROUP_CLAIMS = ['groups', 'wlcg.groups'];

/** Validates bearer tokens of one issuer and turns them into identities. */
export class TokenVerifier {
  readonly issuer: string | undefined;
  readonly audience: readonly string[] | undefined;
  readonly requiredScopes: readonly string[];
  readonly groupsClaims: readonly string[];
  readonly clockSkewSeconds: number;
  readonly algorithms: readonly string[];
  readonly fetchTimeoutMs: number;
  readonly maxTokenLength: number;
  readonly maxLifetimeSeconds: number;
  private readonly cooldownMs: number;
  private readonly maxAgeMs: number;
  private keys: JWTVerifyGetKey | null = null;
  private discovery: Promise<JWTVerifyGetKey> | null = null;

  constructor(options: TokenVerifierOptions) {
    if (!options.issuer && !options.jwksUrl && !options.jwks) {
      throw new ConfigError(
        'token validation needs an issuer URL or a JWKS URL',
        'set the OIDC issuer (for example https://ska-iam.stfc.ac.uk/) or the JWKS URL of the identity provider',
      );
    }
    this.issuer = options.issuer;
    this.audience =
      options.audience === undefined
        ? undefined
        : typeof options.audience === 'string'
          ? [options.audience]
          : [...options.audience];
    if (this.audience?.length === 0) this.audience = undefined;
    this.requiredScopes = [...(options.requiredScopes ?? [])];
    const claim = options.groupsClaim ?? DEFAULT_GROUP_CLAIMS;
    this.groupsClaims = typeof claim === 'string' ? [claim] : [...claim];
    this.clockSkewSeconds = nonNegative(options.clockSkewSeconds ?? 30, 'clockSkewSeconds');
    this.fetchTimeoutMs = nonNegative(options.fetchTimeoutMs ?? 5000, 'fetchTimeoutMs');
    this.cooldownMs = nonNegative(options.jwksCooldownSeconds ?? 30, 'jwksCooldownSeconds') * 1000;
    this.maxAgeMs = nonNegative(options.jwksMaxAgeSeconds ?? 600, 'jwksMaxAgeSeconds') * 1000;
    this.maxTokenLength = nonNegative(options.maxTokenLength ?? 16384, 'maxTokenLength');
    this.maxLifetimeSeconds = nonNegative(
      options.maxLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS,
      'maxLifetimeSeconds',
    );
    const algorithms = options.algorithms ?? ASYMMETRIC_ALGORITHMS;
    const refused = algorithms.filter((a) => !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(a));
    if (refused.length > 0 || algorithms.length === 0) {
      throw new ConfigError(
        `token algorithms ${refused.join(', ') || '(none)'} cannot be accepted`,
        `choose among the asymmetric algorithms ${ASYMMETRIC_ALGORITHMS.join(', ')}`,
      );
    }
    this.algorithms = [...algorithms];
    if (options.jwks) this.keys = createLocalJWKSet(options.jwks);
    else if (options.jwksUrl) this.keys = this.remote(parseUrl(options.jwksUrl, 'JWKS URL'));
    else parseUrl(options.issuer!, 'issuer URL');
  }

  /**
   * The identity a token stands for. Throws TokenError (401) when the token is not
   * acceptable and IssuerUnavailableError (503) when it cannot be checked right now.
   */
  async verify(token: string): Promise<Identity> {
    if (token.length === 0) throw new TokenError('the bearer token is empty');
    if (token.length > this.maxTokenLength) {
      throw new TokenError(`the bearer token is longer than ${this.maxTokenLength} characters`);
    }
    // Read the header before any key lookup: a token we would refuse anyway must not
    // cause a key set fetch.
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new TokenError('the bearer token is not a JSON Web Token (expected three base64url parts)');
    }
    if (typeof alg !== 'string' || !this.algorithms.includes(alg)) {
      throw new TokenError(
        `tokens signed with alg=${String(alg)} are not accepted; this service accepts ${this.algorithms.join(', ')}`,
      );
    }
    const keys = await this.keySet();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.issuer,
        audience: this.audience as string[] | undefined,
        algorithms: [...this.algorithms],
        clockTolerance: this.clockSkewSeconds,
      }));
    } catch (err) {
      throw this.explain(err);
    }
    this.checkLifetime(payload);
    this.checkScopes(payload);
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) {
      throw new TokenError('the token has no "sub" (subject) claim, so the caller cannot be identified');
    }
    return {
      sub: payload.sub,
      groups: groupsFromClaims(payload, this.groupsClaims),
      token: {
        issuer: typeof payload.iss === 'string' ? payload.iss : (this.issuer ?? ''),
        claims: payload,
        expiresAt: typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : null,
      },
    };
  }

  /**
   * A token without `exp` would be good forever, and a stolen one with it (RFC 8725
   * §3.10's advice to bound lifetimes): both are refused. The lifetime is `exp - iat`
   * when the token says when it was issued (what the issuer granted, whatever the
   * time now), else what is left of it, `exp - now`.
   */
  private checkLifetime(payload: JWTPayload): void {
    if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) {
      throw new TokenError(
        'the token has no "exp" (expiry) claim; this service accepts only tokens that expire',
      );
    }
    const issued =
      typeof payload.iat === 'number' && Number.isFinite(payload.iat) ? payload.iat : Date.now() / 1000;
    const lifetime = payload.exp - issued;
    if (lifetime > this.maxLifetimeSeconds) {
      throw new TokenError(
        `the token is valid for ${Math.round(lifetime)} s, longer than the ${this.maxLifetimeSeconds} s this service accepts; get a shorter-lived token`,
      );
    }
  }

  private checkScopes(payload: JWTPayload): void {
    if (this.requiredScopes.length === 0) return;
    const held = new Set(tokenScopes(payload));
    const missing = this.requiredScopes.filter((s) => !held.has(s));
    if (missing.length > 0) {
      throw new InsufficientScopeError(
        `the token lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(' ')} this service requires; ask the identity provider for a token with ${this.requiredScopes.join(' ')}`,
        this.requiredScopes,
      );
    }
  }

  private remote(url: URL): JWTVerifyGetKey {
    return createRemoteJWKSet(url, {
      timeoutDuration: this.fetchTimeoutMs,
      cooldownDuration: this.cooldownMs,
      cacheMaxAge: this.maxAgeMs,
    });
  }

  private async keySet(): Promise<JWTVerifyGetKey> {
    if (this.keys) return this.keys;
    // One discovery at a time; a failure is forgotten so the next request tries again.
    this.discovery ??= this.discover().finally(() => {
      this.discovery = null;
    });
    this.keys = await this.discovery;
    return this.keys;
  }

  /** OpenID Connect Discovery 1.0 §4: the issuer's configuration names its jwks_uri. */
  private async discover(): Promise<JWTVerifyGetKey> {
    const issuer = this.issuer!;
    const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    let doc: unknown;
    try {
      const response = await fetch(url, {
        signal: AbortSignal.timeout(this.fetchTimeoutMs),
        redirect: 'error',
        headers: { accept: 'application/json' },
      });
      if (response.status !== 200) {
        throw new IssuerUnavailableError(
          `the identity provider's discovery document ${url} answered HTTP ${response.status}`,
        );
      }
      doc = await response.json();
    } catch (err) {
      if (err instanceof IssuerUnavailableError) throw err;
      throw new IssuerUnavailableError(
        `the identity provider's discovery document ${url} could not be read (${reason(err)}); tokens cannot be checked until it is reachable`,
      );
    }
    const config = doc as { issuer?: unknown; jwks_uri?: unknown } | null;
    // §4.3: the issuer in the document must be exactly the one we were configured with.
    if (!config || typeof config !== 'object' || config.issuer !== issuer) {
      throw new IssuerUnavailableError(
        `the discovery document at ${url} names issuer ${JSON.stringify(config?.issuer)}, not ${JSON.stringify(issuer)}: check the configured issuer URL (trailing slash included)`,
      );
    }
    if (typeof config.jwks_uri !== 'string') {
      throw new IssuerUnavailableError(`the discovery document at ${url} has no jwks_uri`);
    }
    let jwks: URL;
    try {
      jwks = new URL(config.jwks_uri);
    } catch {
      throw new IssuerUnavailableError(`the discovery document at ${url} has an invalid jwks_uri`);
    }
    return this.remote(jwks);
  }

  private explain(err: unknown): TokenError | IssuerUnavailableError {
    if (err instanceof errors.JWTExpired) return new TokenError('the token has expired; get a new one');
    if (err instanceof errors.JWTClaimValidationFailed) {
      switch (err.claim) {
        case 'nbf':
          return new TokenError('the token is not valid yet (nbf is in the future)');
        case 'iss':
          return new TokenError(
            err.reason === 'missing'
              ? 'the token has no "iss" (issuer) claim'
              : `the token was issued by ${JSON.stringify(err.payload.iss)}, but this service accepts tokens of ${JSON.stringify(this.issuer)}`,
          );
        case 'aud':
          return new TokenError(
            `the token is not meant for this service: its audience must include ${this.audience!.map((a) => JSON.stringify(a)).join(' or ')}`,
          );
        default:
          return new TokenError(`the token's "${err.claim}" claim is not acceptable: ${err.reason}`);
      }
    }
    if (err instanceof errors.JWSSignatureVerificationFailed) {
      return new TokenError("the token's signature does not verify with the issuer's key");
    }
    if (err instanceof errors.JWKSNoMatchingKey) {
      return new TokenError("no key of the issuer's key set matches the token's kid and alg");
    }
    if (err instanceof errors.JWKSMultipleMatchingKeys) {
      return new TokenError("the token has no kid and the issuer's key set has several candidate keys");
    }
    if (err instanceof errors.JOSEAlgNotAllowed)
      return new TokenError('the token is signed with an algorithm that is not accepted');
    if (err instanceof errors.JWKSTimeout) {
      return new IssuerUnavailableError("the identity provider's key set could not be fetched in time");
    }
    if (err instanceof errors.JWKSInvalid)
      return new IssuerUnavailableError("the identity provider's key set is not valid");
    if (
      err instanceof errors.JWTInvalid ||
      err instanceof errors.JWSInvalid ||
      err instanceof errors.JOSENotSupported
    ) {
      return new TokenError(`the token is malformed: ${err.message}`);
    }
    if (err instanceof errors.JOSEError) {
      // Key set fetch failures (non-200, bad JSON) surface as plain JOSEError.
      return new IssuerUnavailableError(`the identity provider's key set could not be used: ${err.message}`);
    }
    if (err instanceof TypeError || (err instanceof Error && err.name === 'AbortError')) {
      return new IssuerUnavailableError(
        `the identity provider's key set could not be fetched (${reason(err)})`,
      );
    }
    return new TokenError('the token could not be validated');
  }
}

/** How the caller sent its token: `Authorization: Bearer <token>` or as the password of HTTP Basic. */
export type CredentialScheme = 'bearer' | 'basic';

/**
 * The token of an Authorization header, null when there is none. Two forms are taken:
 * `Bearer <token>` (RFC 6750) and HTTP Basic with the token as the password and any
 * user name (RFC 7617), as CADC's and Rubin's token services accept it: Java clients
 * such as TOPCAT and STILTS before STIL's auth package can only send a password, and
 * only after a 401 with a `Basic` challenge. The user name is ignored (people type
 * their login name, "x-oauth-basic", or nothing); the token alone says who is asking.
 * Either way the token is checked exactly like a bearer token, so a bad one is a 401.
 */
export function credentialToken(
  authorization: string | undefined,
): { readonly token: string; readonly scheme: CredentialScheme } | null {
  if (authorization === undefined) return null;
  const match = /^\s*([A-Za-z][A-Za-z0-9._~+/-]*)(?:\s+(.*))?$/s.exec(authorization);
  const scheme = match?.[1].toLowerCase();
  if (scheme === 'basic') return { token: basicPassword(match![2] ?? ''), scheme: 'basic' };
  if (scheme !== 'bearer') {
    // Some other scheme (Negotiate, Digest...): credentials we do not take. Not silently
    // anonymous (SSO-32): the caller is told which schemes to use.
    throw new TokenError(
      'only bearer tokens are accepted (Authorization: Bearer <token>, or the token as the HTTP Basic password)',
      null,
    );
  }
  const token = (match![2] ?? '').trim();
  if (token.length === 0) throw new TokenError('the Authorization header has the Bearer scheme but no token');
  return { token: checkedToken(token, 'bearer token'), scheme: 'bearer' };
}

/** `Authorization: Bearer <token>` only: the token, null when there is no Authorization header. */
export function bearerToken(authorization: string | undefined): string | null {
  const found = credentialToken(authorization);
  if (found?.scheme === 'basic') {
    throw new TokenError('only bearer tokens are accepted (Authorization: Bearer <token>)', null);
  }
  return found?.token ?? null;
}

/** RFC 7617: base64 of `user-id ":" password`; the password is everything after the first colon. */
function basicPassword(credentials: string): string {
  const encoded = credentials.trim();
  if (encoded.length === 0 || !/^[A-Za-z0-9+/]+=*$/.test(encoded)) {
    throw new TokenError('the Authorization header has the Basic scheme but no base64 credentials');
  }
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0)
    throw new TokenError('the Basic credentials have no password: give the token as the password');
  const password = decoded.slice(colon + 1).trim();
  if (password.length === 0) {
    throw new TokenError('the Basic credentials have an empty password: give the token as the password');
  }
  return checkedToken(password, 'token given as the Basic password');
}

function checkedToken(token: string, what: string): string {
  // RFC 6750 §2.1 b64token characters; a JWT uses a subset.
  if (!/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) {
    throw new TokenError(`the ${what} contains characters a token cannot have`);
  }
  return token;
}

function parseUrl(value: string, what: string): URL {
  try {
    return new URL(value);
  } catch {
    throw new ConfigError(
      `the ${what} ${JSON.stringify(value)} is not a URL`,
      `give an absolute http(s) URL`,
    );
  }
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new ConfigError(
      `the token option ${name} must be a non-negative number`,
      `set ${name} to 0 or more`,
    );
  }
  return value;
}

function reason(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}
