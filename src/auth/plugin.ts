import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bearerChallenge, type ChallengeOptions, openIdChallenge } from './challenge.js';
import { type AuthError, InsufficientScopeError, IssuerUnavailableError, TokenError } from './errors.js';
import { ANONYMOUS, type Identity } from './identity.js';
import { cameThroughLogin, LOGIN_PREFIX, loginLocation } from './login-alias.js';
import { credentialToken, type TokenVerifier } from './tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking: ANONYMOUS without an Authorization header (set by authPlugin). */
    identity: Identity;
  }
  interface FastifyInstance {
    /** The challenges this node sends with 401s (set by authPlugin), for protocol code's own 401s and optional-auth 200s. */
    authChallenge: ChallengeOptions;
  }
}

export interface AuthPluginOptions {
  /**
   * Validates tokens. Absent means an anonymous-only node: Authorization headers are
   * ignored, as at any service that announces no challenges (SSO-11); the absence of
   * X-VO-Authenticated tells the client it was not authenticated.
   */
  readonly verifier?: TokenVerifier;
  /** The challenges sent with 401s; default realm "vonode" plus an OpenID ivoa_bearer challenge when the verifier has an issuer. */
  readonly challenge?: ChallengeOptions;
  /**
   * Writes the body of a refused request. The status (401 for a refused token, 503 when
   * the identity provider cannot be reached) and WWW-Authenticate headers are already
   * set on `reply`; the default sends `message` as text/plain. The TAP layer sends a DALI
   * error VOTable here.
   */
  readonly onUnauthorized?: (request: FastifyRequest, reply: FastifyReply, message: string) => unknown;
  /**
   * The node's public base URL (it may carry a path behind a proxy), so redirects answered
   * under /login/ stay under it (login-alias.ts); the request's own origin is tried too.
   */
  readonly baseUrl?: string;
  /** Send `X-VO-Authenticated: <sub>` on authenticated responses (SSO-12, SSO-31); default true. */
  readonly announceIdentity?: boolean;
}

/** The challenge options in effect for a verifier, for protocol code that sends its own 401s. */
export function challengeFor(options: AuthPluginOptions): ChallengeOptions {
  if (options.challenge) return options.challenge;
  const issuer = options.verifier?.issuer;
  if (issuer) return openIdChallenge('vonode', issuer);
  return options.verifier ? { realm: 'vonode', basic: true } : { realm: 'vonode' };
}

/**
 * Decorates every request with `request.identity`. Call it on the root instance
 * (`await authPlugin(app, options)`) or register it (`app.register(authPlugin, options)`):
 * it is not encapsulated either way, so every route of the node shares one identity
 * (one token works for every endpoint). A token that is present but refused is a 401
 * with challenges, never a silent downgrade to anonymous (SSO-32).
 */
export async function authPlugin(app: FastifyInstance, options: AuthPluginOptions): Promise<void> {
  const challenge = challengeFor(options);
  const announce = options.announceIdentity ?? true;
  app.decorateRequest('identity', null as unknown as Identity);
  app.decorate('authChallenge', challenge);
  // Sent with every anonymous answer of a node that accepts tokens: a 200 with challenges
  // says authentication is optional (SSO-11, SSO-18, SSO-30), so clients that probe
  // (GET or HEAD /capabilities) or react to challenges learn how to log in.
  const offered = options.verifier ? bearerChallenge(challenge) : [];
  app.addHook('onRequest', async (request, reply) => {
    request.identity = ANONYMOUS;
    if (!options.verifier) {
      // No tokens are accepted, so there is nothing to log in to: /login/ must not look
      // like a place where credentials were taken.
      if (cameThroughLogin(request.raw)) {
        return reply
          .code(404)
          .type('text/plain; charset=utf-8')
          .send(`${LOGIN_PREFIX}/: this node accepts no credentials; use the URL without ${LOGIN_PREFIX}\n`);
      }
      return;
    }
    const header = request.headers.authorization;
    if (header === undefined) {
      setChallenges(reply, offered);
      if (!cameThroughLogin(request.raw)) return;
      // Under /login/ authentication is required (login-alias.ts): 401, no error code (SSO-23).
      reply.code(401);
      const message = `Unauthorized: ${LOGIN_PREFIX}/ needs a token: send Authorization: Bearer <token>, or the token as the HTTP Basic password (any user name)`;
      if (options.onUnauthorized) await options.onUnauthorized(request, reply, message);
      if (!reply.sent) reply.type('text/plain; charset=utf-8').send(`${message}\n`);
      return reply;
    }
    let identity: Identity;
    try {
      const found = credentialToken(header);
      identity = await options.verifier.verify(found!.token);
    } catch (err) {
      const failure: AuthError =
        err instanceof TokenError ||
        err instanceof IssuerUnavailableError ||
        err instanceof InsufficientScopeError
          ? err
          : new TokenError('the token could not be validated');
      request.log.info({ reason: failure.description }, 'token refused');
      reply.code(failure.status);
      if (failure instanceof TokenError) {
        setChallenges(
          reply,
          forScripts(
            request,
            bearerChallenge(
              challenge,
              failure.error ? { error: failure.error, description: failure.description } : undefined,
            ),
          ),
        );
      } else if (failure instanceof InsufficientScopeError) {
        setChallenges(
          reply,
          forScripts(
            request,
            bearerChallenge(challenge, {
              error: failure.error,
              description: failure.description,
              scope: failure.required.join(' '),
            }),
          ),
        );
      } else {
        reply.header('Retry-After', '30');
      }
      const message =
        failure instanceof TokenError
          ? `Unauthorized: ${failure.description}`
          : failure instanceof InsufficientScopeError
            ? `Forbidden: ${failure.description}`
            : failure.description;
      if (options.onUnauthorized) await options.onUnauthorized(request, reply, message);
      // A custom writer that sent nothing must not leave the request hanging.
      if (!reply.sent) reply.type('text/plain; charset=utf-8').send(`${message}\n`);
      return reply;
    }
    request.identity = identity;
    // SSO-12/20/31: only ever on answers to a validated token.
    if (announce && identity.sub) reply.header('X-VO-Authenticated', headerSafe(identity.sub));
  });
  if (!options.verifier) return;
  app.addHook('onSend', async (request, reply) => {
    // SSO-28: a browser page may read the challenges and the identity only if exposed.
    if (reply.hasHeader('access-control-allow-origin')) exposeAuthHeaders(reply);
    if (cameThroughLogin(request.raw)) {
      const location = reply.getHeader('location');
      if (typeof location === 'string') {
        const origin = `${request.protocol}://${request.host}`;
        reply.header(
          'location',
          loginLocation(location, options.baseUrl ? [options.baseUrl, origin] : [origin]),
        );
      }
    }
  });
}

const EXPOSED = ['WWW-Authenticate', 'X-VO-Authenticated'];

function exposeAuthHeaders(reply: FastifyReply): void {
  const current = reply.getHeader('access-control-expose-headers');
  const listed = String(current ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h.length > 0);
  const missing = EXPOSED.filter((h) => !listed.some((l) => l.toLowerCase() === h.toLowerCase()));
  if (missing.length > 0) reply.header('access-control-expose-headers', [...listed, ...missing].join(', '));
}

// Not encapsulated when registered, like fastify-plugin does (without depending on it).
Object.defineProperty(authPlugin, Symbol.for('skip-override'), { value: true });

/**
 * Sends a 401 with the node's challenges, for protocol code that finds an anonymous
 * caller asking for something that needs authentication (a proprietary SODA cutout, say).
 * An authenticated caller who lacks rights gets 403 instead (SSO-22): use that there.
 */
export function sendAuthenticationRequired(
  reply: FastifyReply,
  challenge: ChallengeOptions = reply.server.authChallenge,
  message = 'Authentication required: send Authorization: Bearer <token> (or the token as the HTTP Basic password)',
): FastifyReply {
  return setChallenges(reply.code(401), forScripts(reply.request, bearerChallenge(challenge)))
    .type('text/plain; charset=utf-8')
    .send(`${message}\n`);
}

/**
 * The challenges of a 401, without Basic when a page asked for a subresource (Fetch Metadata:
 * a `Sec-Fetch-Dest` that is not a document, e.g. `empty` for fetch()). A browser answers a
 * 401 that offers Basic with its own password dialog, which the page cannot prevent, and the
 * request then hangs until someone answers it; the node's pages log in with bearer tokens
 * (docs/web.md) and show the refusal themselves. Navigations keep Basic, and so do TOPCAT,
 * STILTS, pyvo and Node's fetch, which send no Sec-Fetch-Dest.
 */
function forScripts(request: FastifyRequest, challenges: string[]): string[] {
  const dest = request.headers['sec-fetch-dest'];
  if (dest === undefined || dest === 'document' || dest === 'iframe' || dest === 'frame') return challenges;
  return challenges.filter((c) => !/^Basic\s/i.test(c));
}

/** One header line per challenge (RFC 9110 allows either form; some clients read only one line per header). */
function setChallenges(reply: FastifyReply, challenges: string[]): FastifyReply {
  return reply.header('WWW-Authenticate', challenges.length === 1 ? challenges[0] : challenges);
}

/** A subject with characters a header cannot carry (non-ASCII names) is percent-encoded rather than crashing the response. */
function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}
