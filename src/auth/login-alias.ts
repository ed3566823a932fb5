import type { IncomingMessage } from 'node:http';

/**
 * `<base>/login/<path>` is `<base>/<path>` for callers who must be authenticated.
 *
 * Why: the node's services are optional-auth (anonymous callers get the public view on
 * the same URLs, TAP-1.1/SSO-24), so they answer anonymous requests 200. Java clients
 * that can only send a password (TOPCAT and STILTS before STIL's auth package, through
 * java.net.Authenticator) send it only after a 401 that asks for Basic, so on an
 * optional-auth URL they never send it. Under /login/ an anonymous request is a 401
 * with the node's challenges; the client retries with the token as the Basic password
 * and keeps sending it below that path. Everything else (rights, answers) is the same.
 */
export const LOGIN_PREFIX = '/login';

const viaLogin = new WeakSet<IncomingMessage>();

/**
 * Fastify's `rewriteUrl`: strips the /login prefix before routing and remembers that
 * the request came that way (the route then sees the ordinary path).
 */
export function rewriteLoginUrl(req: IncomingMessage): string {
  const url = req.url ?? '/';
  if (url === LOGIN_PREFIX || url.startsWith(`${LOGIN_PREFIX}/`) || url.startsWith(`${LOGIN_PREFIX}?`)) {
    viaLogin.add(req);
    const rest = url.slice(LOGIN_PREFIX.length);
    return rest.startsWith('/') ? rest : `/${rest}`;
  }
  return url;
}

/** True when the request was made under /login/ (see rewriteLoginUrl). */
export function cameThroughLogin(req: IncomingMessage): boolean {
  return viaLogin.has(req);
}

/**
 * A redirect answered under /login/ stays under it (UWS's 303 to the new job, say), so
 * the client keeps authenticating. `bases` are the URLs the node's own links start with:
 * its public base URL (which may carry a path, behind a proxy) and the origin the request
 * came to. Relative paths and other hosts' URLs are left alone, except a path from the
 * root, which is this node's.
 */
export function loginLocation(location: string, bases: readonly string[]): string {
  if (location.startsWith('/')) {
    return location.startsWith(`${LOGIN_PREFIX}/`) ? location : `${LOGIN_PREFIX}${location}`;
  }
  for (const raw of bases) {
    const base = raw.replace(/\/+$/, '');
    if (!location.startsWith(`${base}/`)) continue;
    const rest = location.slice(base.length);
    return rest.startsWith(`${LOGIN_PREFIX}/`) ? location : `${base}${LOGIN_PREFIX}${rest}`;
  }
  return location;
}
