/**
 * CORS for the public protocol endpoints (issue 19): Aladin Lite and other web clients fetch
 * TAP, SIA, DataLink, SODA, MOC, SCS, HiPS and VOSI documents from pages of other sites.
 * Every origin may read public answers (Access-Control-Allow-Origin: *, which browsers never
 * combine with credentials); only the origins an operator lists (VONODE_CORS_ORIGINS) get
 * their origin echoed with Access-Control-Allow-Credentials and may send an Authorization
 * header, so a page elsewhere can never act with a user's token or cookies.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface CorsSettings {
  /** Origins (scheme://host[:port]) allowed to send credentials. */
  readonly allowedOrigins: readonly string[];
  /** How long a browser may keep a preflight answer, seconds (Access-Control-Max-Age). */
  readonly maxAgeSeconds: number;
}

export const DEFAULT_CORS_SETTINGS: CorsSettings = { allowedOrigins: [], maxAgeSeconds: 600 };

/** The path prefixes of the public protocol endpoints, VOSI resources included. */
export const CORS_PATHS = [
  'tap',
  'sia',
  'datalink',
  'soda',
  'scs',
  'moc',
  'hips',
  'preview',
  'registry',
] as const;

// Headers a page may send: what the protocols read. Authorization only from allowed origins.
const PUBLIC_REQUEST_HEADERS = ['accept', 'content-type', 'range'];
const METHODS = 'GET, HEAD, POST, OPTIONS';

/** Whether an origin as VONODE_CORS_ORIGINS lists it is well formed: scheme://host[:port], no path. */
export function isOrigin(s: string): boolean {
  return (
    /^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?$/.test(s) ||
    /^https?:\/\/\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/.test(s)
  );
}

/**
 * One onRequest hook for every public endpoint: the CORS headers on each answer (errors
 * included, so a page can read why), and preflight OPTIONS answered at once, before
 * authentication (a preflight carries no credentials). Register it before the auth plugin.
 */
export function registerCors(app: FastifyInstance, settings: CorsSettings = DEFAULT_CORS_SETTINGS): void {
  const allowed = new Set(settings.allowedOrigins.map((o) => o.toLowerCase()));
  const prefixes = CORS_PATHS.map((p) => `/${p}`);
  const isPublic = (url: string) => {
    const path = url.split('?', 1)[0];
    return prefixes.some((p) => path === p || path.startsWith(`${p}/`));
  };
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (!isPublic(request.url)) return;
    const origin = request.headers.origin;
    const credentialed = typeof origin === 'string' && allowed.has(origin.toLowerCase());
    if (credentialed) {
      reply.header('access-control-allow-origin', origin);
      reply.header('access-control-allow-credentials', 'true');
    } else {
      reply.header('access-control-allow-origin', '*');
    }
    // The answer depends on Origin once some origins are treated differently.
    if (allowed.size > 0) reply.header('vary', 'Origin');
    if (request.method !== 'OPTIONS' || request.headers['access-control-request-method'] === undefined)
      return;
    const asked = String(request.headers['access-control-request-headers'] ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h.length > 0);
    const permitted = credentialed ? [...PUBLIC_REQUEST_HEADERS, 'authorization'] : PUBLIC_REQUEST_HEADERS;
    const granted = asked.filter((h) => permitted.includes(h));
    reply.header('access-control-allow-methods', METHODS);
    if (granted.length > 0) reply.header('access-control-allow-headers', granted.join(', '));
    reply.header('access-control-max-age', String(settings.maxAgeSeconds));
    return reply.code(204).send();
  });
}
