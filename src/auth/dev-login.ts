import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The development issuer's half of the OAuth 2.0 authorization code flow (RFC 6749 §4.1)
 * with PKCE (RFC 7636), for the node's browser pages: an authorization endpoint that shows
 * a small login form (any user name and groups: this is a development issuer, it checks no
 * password) and a token endpoint that exchanges a code once, for the client and redirect
 * URI it was issued to, given the PKCE verifier of its S256 challenge. Loopback callers only,
 * like the rest of the development issuer.
 */
/** What the login needs of the development issuer (dev-issuer.ts's DevIssuer). */
export interface TokenMinter {
  readonly issuer: string;
  mintToken(options: {
    sub: string;
    groups?: readonly string[];
    expiresIn?: number;
    audience?: string | readonly string[];
    claims?: Readonly<Record<string, unknown>>;
  }): Promise<string>;
}

export interface DevLoginOptions {
  readonly issuer: TokenMinter;
  /** Path prefix of the issuer's routes on the node (`/dev-issuer`). */
  readonly prefix: string;
  /** Audience of the access tokens, so a node that checks one accepts them. */
  readonly audience?: readonly string[];
  /** Seconds a code stays exchangeable (RFC 6749 §4.1.2: short, at most 10 minutes). */
  readonly codeLifetimeSeconds?: number;
  /** Seconds an access token lives. */
  readonly tokenLifetimeSeconds?: number;
}

interface PendingCode {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly challenge: string;
  readonly sub: string;
  readonly groups: readonly string[];
  readonly scope: string;
  readonly nonce?: string;
  readonly expiresAt: number;
}

/** The request parameters of §4.1.1 that the form carries back, checked again on POST. */
interface AuthorizationRequest {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly state?: string;
  readonly nonce?: string;
  readonly scope: string;
  readonly challenge: string;
}

export const DEV_LOGIN_CODE_LIFETIME_SECONDS = 60;
export const DEV_LOGIN_TOKEN_LIFETIME_SECONDS = 3600;
/** Codes held at once; older ones are dropped first (a development issuer, not a store). */
const MAX_PENDING = 1000;
/** RFC 7636 §4.1/§4.2: 43 to 128 unreserved characters. */
const PKCE_VALUE = /^[A-Za-z0-9\-._~]{43,128}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const GROUP = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;

class OAuthError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
  ) {
    super(description);
  }
}

type Params = Record<string, string | string[] | undefined>;

/** One value per parameter: RFC 6749 §3.1 forbids repeating one. */
function param(params: Params, name: string): string | undefined {
  const v = params[name];
  if (Array.isArray(v))
    throw new OAuthError('invalid_request', `the parameter ${name} is given more than once`);
  return v === undefined || v === '' ? undefined : v;
}

const base64url = (b: Buffer) => b.toString('base64url');
export const s256 = (verifier: string) => base64url(createHash('sha256').update(verifier, 'ascii').digest());

/** A redirect URI the development issuer may send a browser to: absolute, http(s), on loopback. */
function loopbackRedirect(value: string | undefined): string {
  if (!value) throw new OAuthError('invalid_request', 'redirect_uri is required');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new OAuthError('invalid_request', `redirect_uri ${JSON.stringify(value)} is not an absolute URL`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || /^127\./.test(host) || host === '::1';
  if (!/^https?:$/.test(url.protocol) || !loopback || url.hash) {
    throw new OAuthError(
      'invalid_request',
      `redirect_uri ${value} is not an http(s) URL on this machine's loopback interface without a fragment; the development issuer redirects nowhere else`,
    );
  }
  return value;
}

export async function devLoginRoutes(app: FastifyInstance, options: DevLoginOptions): Promise<void> {
  const codeLifetime = options.codeLifetimeSeconds ?? DEV_LOGIN_CODE_LIFETIME_SECONDS;
  const tokenLifetime = options.tokenLifetimeSeconds ?? DEV_LOGIN_TOKEN_LIFETIME_SECONDS;
  const pending = new Map<string, PendingCode>();
  const prefix = options.prefix;

  const sweep = () => {
    const now = Date.now();
    for (const [code, p] of pending) if (p.expiresAt <= now) pending.delete(code);
    while (pending.size >= MAX_PENDING) pending.delete(pending.keys().next().value!);
  };

  /** §4.1.1 checks; a bad redirect_uri is thrown as is (never redirected to, §4.1.2.1). */
  const authorizationRequest = (params: Params): AuthorizationRequest => {
    const redirectUri = loopbackRedirect(param(params, 'redirect_uri'));
    const clientId = param(params, 'client_id');
    if (!clientId) throw new OAuthError('invalid_request', 'client_id is required');
    return { clientId, redirectUri, state: param(params, 'state'), ...checkedRest(params) };
  };
  const checkedRest = (params: Params) => {
    // Errors from here on go back to the client at its redirect URI (§4.1.2.1).
    const fail = (error: string, description: string) => {
      const e = new OAuthError(error, description);
      (e as OAuthError & { redirect?: boolean }).redirect = true;
      return e;
    };
    const responseType = param(params, 'response_type');
    if (responseType !== 'code')
      throw fail('unsupported_response_type', 'this issuer answers response_type=code only');
    const challenge = param(params, 'code_challenge');
    if (!challenge)
      throw fail('invalid_request', 'code_challenge is required: this issuer needs PKCE (RFC 7636)');
    if (param(params, 'code_challenge_method') !== 'S256')
      throw fail('invalid_request', 'code_challenge_method must be S256 (plain is not accepted)');
    if (!PKCE_VALUE.test(challenge))
      throw fail('invalid_request', 'code_challenge is not 43 to 128 unreserved characters (RFC 7636 §4.2)');
    const scope = param(params, 'scope') ?? 'openid';
    return { challenge, scope, nonce: param(params, 'nonce') };
  };

  const redirectWith = (reply: FastifyReply, uri: string, values: Record<string, string | undefined>) => {
    const url = new URL(uri);
    for (const [k, v] of Object.entries(values)) if (v !== undefined) url.searchParams.set(k, v);
    // RFC 9207: the issuer identifies itself in the response, against mix-up attacks.
    url.searchParams.set('iss', options.issuer.issuer);
    return reply.code(303).header('Cache-Control', 'no-store').redirect(url.href, 303);
  };

  /** Unusable request: an error page here, or an error at the client's redirect URI. */
  const refuse = (reply: FastifyReply, params: Params, err: unknown) => {
    const e = err instanceof OAuthError ? err : new OAuthError('server_error', String(err));
    if ((e as OAuthError & { redirect?: boolean }).redirect) {
      const redirectUri = loopbackRedirect(param(params, 'redirect_uri'));
      return redirectWith(reply, redirectUri, {
        error: e.error,
        error_description: e.description,
        state: safeParam(params, 'state'),
      });
    }
    return reply
      .code(400)
      .type('text/html; charset=utf-8')
      .send(
        page('Login refused', `<p role="alert">${escapeText(e.error)}: ${escapeText(e.description)}</p>`),
      );
  };

  app.get(`${prefix}/authorize`, async (request, reply) => {
    const params = request.query as Params;
    try {
      const req = authorizationRequest(params);
      return reply
        .type('text/html; charset=utf-8')
        .header('Cache-Control', 'no-store')
        .send(loginForm(`${prefix}/authorize`, req));
    } catch (err) {
      return refuse(reply, params, err);
    }
  });

  app.post(`${prefix}/authorize`, async (request, reply) => {
    const params = (request.body ?? {}) as Params;
    let req: AuthorizationRequest;
    try {
      req = authorizationRequest(params);
    } catch (err) {
      return refuse(reply, params, err);
    }
    if (param(params, 'action') === 'cancel')
      return redirectWith(reply, req.redirectUri, {
        error: 'access_denied',
        error_description: 'the user cancelled the login',
        state: req.state,
      });
    const sub = (param(params, 'sub') ?? '').trim();
    const groups = (param(params, 'groups') ?? '')
      .split(/[\s,]+/)
      .map((g) => g.trim())
      .filter((g) => g.length > 0);
    const bad = !NAME.test(sub)
      ? `“${sub}” is not a user name here: letters, digits and . _ @ - , up to 64`
      : groups.find((g) => !GROUP.test(g))
        ? `“${groups.find((g) => !GROUP.test(g))}” is not a group name: letters, digits and . _ : / -`
        : undefined;
    if (bad)
      return reply
        .code(400)
        .type('text/html; charset=utf-8')
        .send(loginForm(`${prefix}/authorize`, req, bad, sub, groups.join(', ')));
    sweep();
    const code = base64url(randomBytes(32));
    pending.set(code, {
      clientId: req.clientId,
      redirectUri: req.redirectUri,
      challenge: req.challenge,
      sub,
      groups,
      scope: req.scope,
      nonce: req.nonce,
      expiresAt: Date.now() + codeLifetime * 1000,
    });
    return redirectWith(reply, req.redirectUri, { code, state: req.state });
  });

  app.post(`${prefix}/token`, async (request, reply) => {
    // RFC 6749 §5.1/§5.2: JSON answers that no cache keeps.
    reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache');
    try {
      if (!/^application\/x-www-form-urlencoded\b/i.test(String(request.headers['content-type'] ?? '')))
        throw new OAuthError('invalid_request', 'send the parameters as application/x-www-form-urlencoded');
      const params = (request.body ?? {}) as Params;
      const grantType = param(params, 'grant_type');
      if (grantType !== 'authorization_code')
        throw new OAuthError(
          grantType ? 'unsupported_grant_type' : 'invalid_request',
          grantType ? `grant_type ${grantType} is not supported here` : 'grant_type is required',
        );
      const code = param(params, 'code');
      const redirectUri = param(params, 'redirect_uri');
      const clientId = param(params, 'client_id');
      const verifier = param(params, 'code_verifier');
      for (const [name, v] of Object.entries({ code, redirect_uri: redirectUri, client_id: clientId }))
        if (!v) throw new OAuthError('invalid_request', `${name} is required`);
      if (!verifier)
        throw new OAuthError('invalid_request', 'code_verifier is required (PKCE, RFC 7636 §4.5)');
      // A code is used once, whatever the outcome (§4.1.2): a second attempt finds nothing.
      const issued = pending.get(code!);
      pending.delete(code!);
      if (!issued || issued.expiresAt <= Date.now())
        throw new OAuthError('invalid_grant', 'the authorization code is unknown, expired or already used');
      if (issued.clientId !== clientId)
        throw new OAuthError('invalid_grant', 'the authorization code was issued to another client');
      if (issued.redirectUri !== redirectUri)
        throw new OAuthError(
          'invalid_grant',
          'redirect_uri is not the one the authorization code was issued for (RFC 6749 §4.1.3)',
        );
      if (!PKCE_VALUE.test(verifier) || s256(verifier) !== issued.challenge)
        throw new OAuthError(
          'invalid_grant',
          'the code_verifier does not match the code_challenge (RFC 7636 §4.6)',
        );
      const accessToken = await options.issuer.mintToken({
        sub: issued.sub,
        groups: issued.groups,
        expiresIn: tokenLifetime,
        ...(options.audience?.length ? { audience: options.audience } : {}),
      });
      const answer: Record<string, unknown> = {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: tokenLifetime,
        scope: issued.scope,
      };
      if (issued.scope.split(/\s+/).includes('openid'))
        answer.id_token = await options.issuer.mintToken({
          sub: issued.sub,
          groups: issued.groups,
          expiresIn: tokenLifetime,
          audience: issued.clientId,
          claims: issued.nonce ? { nonce: issued.nonce } : {},
        });
      return reply.type('application/json').send(answer);
    } catch (err) {
      const e =
        err instanceof OAuthError
          ? err
          : new OAuthError('server_error', 'the token could not be issued', 500);
      if (!(err instanceof OAuthError))
        request.log.error({ err }, 'development issuer token endpoint failed');
      return reply
        .code(e.status)
        .type('application/json')
        .send({ error: e.error, error_description: e.description });
    }
  });
}

function safeParam(params: Params, name: string): string | undefined {
  const v = params[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

const escapeText = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeText(title)} · development issuer</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
label{display:block;margin:.8rem 0 .2rem}input{font:inherit;width:100%;box-sizing:border-box}
button{font:inherit;margin:1rem .5rem 0 0;padding:.3rem .9rem}
[role=alert]{border-left:4px solid #b00020;background:#fdecee;color:#5f0010;padding:.5rem .8rem}
.hint{color:#3d3d3d;font-size:.9em}:focus-visible{outline:2px solid #0b4f9c;outline-offset:2px}</style></head>
<body><h1>${escapeText(title)}</h1>
${body}
</body></html>
`;
}

/** The login form: who to be, in which groups. Every request parameter rides along hidden. */
function loginForm(
  action: string,
  req: AuthorizationRequest,
  error?: string,
  sub = 'alice',
  groups = 'team-a',
): string {
  const hidden = {
    response_type: 'code',
    client_id: req.clientId,
    redirect_uri: req.redirectUri,
    state: req.state,
    nonce: req.nonce,
    scope: req.scope,
    code_challenge: req.challenge,
    code_challenge_method: 'S256',
  };
  const fields = Object.entries(hidden)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<input type="hidden" name="${k}" value="${escapeText(v!)}">`)
    .join('\n');
  return page(
    'Development login',
    `<p class="hint">This node runs the <strong>development issuer</strong> (VONODE_DEV_ISSUER=on): choose who to be.
No password is asked; never run it where others can reach the node.</p>
<p><code>${escapeText(req.clientId)}</code> asks to log you in and return to <code>${escapeText(req.redirectUri)}</code>.</p>
${error ? `<p role="alert">${escapeText(error)}</p>` : ''}
<form method="post" action="${escapeText(action)}">
${fields}
<label for="sub">User name</label>
<input id="sub" name="sub" required value="${escapeText(sub)}" autocomplete="username">
<label for="groups">Groups (comma-separated)</label>
<input id="groups" name="groups" value="${escapeText(groups)}" aria-describedby="groups-hint">
<p class="hint" id="groups-hint">The demo data's proprietary fields belong to <code>team-a</code> (field-07) and <code>team-b</code> (field-10).</p>
<button type="submit" name="action" value="login">Log in</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</form>`,
  );
}
