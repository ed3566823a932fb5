/**
 * The login of the node's pages (issue 18 item 5, docs/web.md): OpenID Connect authorization
 * code flow with PKCE (RFC 7636, S256) against the node's issuer, as a public client, and the
 * session it leaves: an access token every request of every page sends as
 * `Authorization: Bearer` (authHeaders, used by nodeFetch in web/common/fetch.ts).
 *
 * Where the token lives: sessionStorage. The pages are separate documents (query page, sky
 * view, token page), so a token held only in memory would be lost at every link followed
 * and every reload, and the user would log in again and again. sessionStorage lasts as long
 * as the tab, is not shared with other tabs or kept after the browser closes (unlike
 * localStorage), and is never sent to the server by itself (unlike a cookie, so no CSRF).
 * A script injected into a page could read it, as it could read a token in memory while
 * the page runs: the pages load no third-party script and build their DOM without
 * innerHTML for that reason.
 */

import { isNodeUrl, NODE_ROOT, nodeUrl } from './root.js';

/** The redirect URI of the login: one page, so an identity provider can register it exactly. */
export const redirectUri = () => nodeUrl('web/callback');

export interface Session {
  readonly accessToken: string;
  /** Milliseconds since the epoch; absent when neither the token nor the answer says. */
  readonly expiresAt?: number;
  readonly sub: string;
  readonly groups: readonly string[];
  readonly issuer: string;
}

/** What /web/login.json says: empty when this node offers no login. */
export interface LoginConfig {
  readonly issuer?: string;
  readonly client_id?: string;
  readonly scope?: string;
}

interface PendingLogin {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly tokenEndpoint: string;
  readonly redirectUri: string;
  readonly returnTo: string;
  readonly startedAt: number;
}

const SESSION_KEY = 'vonode.session';
const PENDING_KEY = 'vonode.login.pending';
/** A login not finished within this time is stale (the code would have expired anyway). */
const PENDING_MAX_MS = 15 * 60 * 1000;
/** Fired on window when the session begins or ends, so every part of a page can follow. */
export const SESSION_EVENT = 'vonode:session';

function storage(): Storage | undefined {
  try {
    return window.sessionStorage;
  } catch {
    return undefined; // storage refused (some private modes): login then lasts for no page
  }
}

function read<T>(key: string): T | undefined {
  try {
    const v = storage()?.getItem(key);
    return v ? (JSON.parse(v) as T) : undefined;
  } catch {
    return undefined;
  }
}

/** The session, or undefined when logged out or when the token has expired (then it is cleared). */
export function currentSession(): Session | undefined {
  const s = read<Session>(SESSION_KEY);
  if (!s || typeof s.accessToken !== 'string') return undefined;
  if (s.expiresAt !== undefined && s.expiresAt <= Date.now()) {
    endSession('expired');
    return undefined;
  }
  return s;
}

export const loggedIn = () => currentSession() !== undefined;

/** The headers that carry the user's rights: empty when logged out. */
export function authHeaders(): Record<string, string> {
  const s = currentSession();
  return s ? { Authorization: `Bearer ${s.accessToken}` } : {};
}

export type EndReason = 'logout' | 'expired' | 'refused';

export function endSession(reason: EndReason): void {
  const had = storage()?.getItem(SESSION_KEY) != null;
  storage()?.removeItem(SESSION_KEY);
  if (had) window.dispatchEvent(new CustomEvent(SESSION_EVENT, { detail: { reason } }));
}

/** Log out: the token is forgotten by this tab (the identity provider's own session is its business). */
export const logout = () => endSession('logout');

let configPromise: Promise<LoginConfig> | undefined;

/** The node's login settings; `{}` when it offers none. */
export function loginConfig(): Promise<LoginConfig> {
  configPromise ??= fetch(nodeUrl('web/login.json'))
    .then((r) => (r.ok ? (r.json() as Promise<LoginConfig>) : {}))
    .catch(() => ({}));
  return configPromise;
}

const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

const randomValue = () => b64url(crypto.getRandomValues(new Uint8Array(32)));

/** RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))). */
export async function s256(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return b64url(new Uint8Array(digest));
}

/** The discovery document (OpenID Connect Discovery 1.0 §4), its issuer checked (§4.3). */
async function discover(issuer: string): Promise<{ authorization_endpoint: string; token_endpoint: string }> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  let doc: Record<string, unknown>;
  try {
    const res = await fetch(url, { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`it answered ${res.status}`);
    doc = (await res.json()) as Record<string, unknown>;
  } catch (err) {
    throw new Error(
      `the identity provider's discovery document ${url} could not be read (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  if (doc.issuer !== issuer)
    throw new Error(`the discovery document names issuer ${String(doc.issuer)}, not ${issuer}`);
  if (typeof doc.authorization_endpoint !== 'string' || typeof doc.token_endpoint !== 'string')
    throw new Error(
      'the identity provider offers no authorization code login (no authorization or token endpoint)',
    );
  const methods = doc.code_challenge_methods_supported;
  if (Array.isArray(methods) && !methods.includes('S256'))
    throw new Error('the identity provider does not support PKCE with S256');
  return { authorization_endpoint: doc.authorization_endpoint, token_endpoint: doc.token_endpoint };
}

/**
 * Starts the login: a fresh state, nonce and PKCE verifier are kept in this tab, and the
 * browser goes to the identity provider; it comes back to /web/callback, then to `returnTo`.
 */
export async function startLogin(returnTo: string = location.href): Promise<never> {
  const config = await loginConfig();
  if (!config.issuer || !config.client_id) throw new Error('this node offers no login');
  const endpoints = await discover(config.issuer);
  const pending: PendingLogin = {
    state: randomValue(),
    nonce: randomValue(),
    verifier: randomValue(), // 43 characters of the unreserved set (RFC 7636 §4.1)
    issuer: config.issuer,
    clientId: config.client_id,
    tokenEndpoint: endpoints.token_endpoint,
    redirectUri: redirectUri(),
    returnTo,
    startedAt: Date.now(),
  };
  const s = storage();
  if (!s) throw new Error('this browser keeps no session storage for this page, so it cannot log in');
  s.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(endpoints.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: pending.clientId,
    redirect_uri: pending.redirectUri,
    scope: config.scope ?? 'openid',
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await s256(pending.verifier),
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.href);
  return new Promise<never>(() => {});
}

/** The claims of a JWT, unverified: what the pages show (the node verifies every request itself). */
export function jwtClaims(token: string): Record<string, unknown> | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const bin = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const json = new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
    const claims = JSON.parse(json) as unknown;
    return claims && typeof claims === 'object' ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function groupsOf(claims: Record<string, unknown> | undefined): string[] {
  for (const name of ['groups', 'wlcg.groups', 'isMemberOf']) {
    const v = claims?.[name];
    if (Array.isArray(v)) return v.filter((g): g is string => typeof g === 'string');
  }
  return [];
}

/** The OAuth error of a token endpoint answer (RFC 6749 §5.2), said plainly. */
async function tokenError(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: string; error_description?: string };
    if (body.error) return `${body.error}${body.error_description ? `: ${body.error_description}` : ''}`;
  } catch {}
  return `the token endpoint answered ${res.status}`;
}

/**
 * The callback's work: checks the state (RFC 6749 §10.12) and the issuer (RFC 9207), exchanges
 * the code with the PKCE verifier, checks the ID token's issuer, audience and nonce (OIDC Core
 * §3.1.3.7; its signature need not be checked: it came straight from the token endpoint over
 * the connection the browser opened, §3.1.3.7 item 6), and keeps the session. Returns where
 * to go back to.
 */
export async function completeLogin(callback: URL): Promise<string> {
  const s = storage();
  const pending = read<PendingLogin>(PENDING_KEY);
  s?.removeItem(PENDING_KEY); // one use, whatever happens
  const q = callback.searchParams;
  if (!pending || Date.now() - pending.startedAt > PENDING_MAX_MS)
    throw new Error('no login was started from this tab (or it took too long): start it again');
  if (q.get('state') !== pending.state)
    throw new Error('the answer does not belong to the login started here (state mismatch): start it again');
  const iss = q.get('iss');
  if (iss !== null && iss !== pending.issuer)
    throw new Error(`the answer comes from ${iss}, not from the node's issuer ${pending.issuer}`);
  const error = q.get('error');
  if (error)
    throw new Error(`the identity provider refused the login: ${q.get('error_description') ?? error}`);
  const code = q.get('code');
  if (!code) throw new Error('the identity provider sent no authorization code');
  let res: Response;
  try {
    res = await fetch(pending.tokenEndpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: pending.redirectUri,
        client_id: pending.clientId,
        code_verifier: pending.verifier,
      }),
    });
  } catch (err) {
    throw new Error(
      `the token endpoint could not be reached (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  if (!res.ok) throw new Error(`the code exchange was refused: ${await tokenError(res)}`);
  const answer = (await res.json()) as {
    access_token?: string;
    token_type?: string;
    expires_in?: number;
    id_token?: string;
  };
  if (!answer.access_token || !/^bearer$/i.test(answer.token_type ?? ''))
    throw new Error('the token endpoint sent no bearer access token');
  const id = answer.id_token ? jwtClaims(answer.id_token) : undefined;
  if (!id) throw new Error('the token endpoint sent no ID token (the login asked for openid)');
  const aud = Array.isArray(id.aud) ? id.aud : [id.aud];
  if (id.iss !== pending.issuer)
    throw new Error(`the ID token was issued by ${String(id.iss)}, not ${pending.issuer}`);
  if (!aud.includes(pending.clientId))
    throw new Error('the ID token is not meant for these pages (audience)');
  if (id.nonce !== pending.nonce)
    throw new Error('the ID token does not carry this login’s nonce: start it again');
  const access = jwtClaims(answer.access_token);
  const exp =
    typeof access?.exp === 'number'
      ? access.exp * 1000
      : typeof answer.expires_in === 'number'
        ? Date.now() + answer.expires_in * 1000
        : undefined;
  const session: Session = {
    accessToken: answer.access_token,
    ...(exp !== undefined ? { expiresAt: exp } : {}),
    sub: typeof id.sub === 'string' ? id.sub : 'unknown',
    groups: groupsOf(access).length > 0 ? groupsOf(access) : groupsOf(id),
    issuer: pending.issuer,
  };
  s?.setItem(SESSION_KEY, JSON.stringify(session));
  window.dispatchEvent(new CustomEvent(SESSION_EVENT, { detail: { reason: 'login' } }));
  // Back to a page of this node only: returnTo came from this tab, but never trust a URL blindly.
  const back = new URL(pending.returnTo, NODE_ROOT);
  return isNodeUrl(back) ? back.href : nodeUrl('web/query');
}
