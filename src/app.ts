import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type pg from 'pg';
import { SERVICES } from './services.js';
import { registerTap } from './tap/routes.js';
import { publishedSchemas } from './tap/tables/index.js';
import { type HealthState, registerVosi } from './vosi/routes.js';
import { registerLanding } from './web/landing.js';

export interface AppOptions {
  readonly baseUrl: string;
  readonly pool: pg.Pool;
  readonly health: HealthState;
  readonly logLevel?: string;
  readonly nodeName?: string;
}

/**
 * The HTTP face of the node. Protocol folders add their routes here; errors never
 * reach a client as a stack trace (each protocol sets its own error form).
 */
export function buildApp(opts: AppOptions): FastifyInstance {
  const app = Fastify({
    logger: { level: opts.logLevel ?? 'info' },
    // Upload and form limits are set per route by the protocols.
    bodyLimit: 16 * 1024 * 1024,
    // Case-insensitive parameter names (DALI) are handled by each protocol; paths are exact.
    routerOptions: { ignoreTrailingSlash: true },
    return503OnClosing: true,
  });
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) request.log.error({ err }, 'request failed');
    reply
      .status(status)
      .type('text/plain; charset=utf-8')
      .send(
        status === 500
          ? 'internal error: the node could not complete this request; it has been logged'
          : err.message,
      );
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).type('text/plain; charset=utf-8').send(`no resource at ${request.url}`);
  });
  registerLanding(app, { services: SERVICES, baseUrl: opts.baseUrl, nodeName: opts.nodeName ?? 'vonode' });
  registerVosi(app, { services: SERVICES, baseUrl: opts.baseUrl, pool: opts.pool, health: opts.health });
  registerTap(app, { schemas: publishedSchemas() });
  return app;
}
