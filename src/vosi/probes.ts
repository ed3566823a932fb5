import type { FastifyInstance } from 'fastify';
import { errorDocument } from '../../votable/index.js';
import type { DrainControl } from '../drain.js';
import type { HealthState } from './routes.js';

/** Paths of the orchestrator probes: plain text, status code is the answer. */
export const LIVENESS_PATH = '/health/live';
export const READINESS_PATH = '/health/ready';

const TEXT = 'text/plain; charset=utf-8';

/**
 * Liveness and readiness (issue 23). VOSI availability (VOSI-19) answers 200 even when the
 * service is down, which probes cannot use; these answer by status code. Live: the process
 * serves HTTP. Ready: not draining and the database answers as far as the node knows (its
 * tracked health, no query: a probe every few seconds must cost nothing under load).
 */
export function registerProbes(app: FastifyInstance, health: HealthState): void {
  app.get(LIVENESS_PATH, async (_request, reply) => reply.type(TEXT).send('live\n'));
  app.get(READINESS_PATH, async (_request, reply) => {
    if (health.draining) return reply.status(503).type(TEXT).send('not ready: the node is shutting down\n');
    if (health.database && !health.database.available)
      return reply
        .status(503)
        .type(TEXT)
        .send(`not ready: the database is unavailable (${health.database.status.reason ?? 'no answer'})\n`);
    return reply.type(TEXT).send('ready\n');
  });
}

/**
 * While draining, a request that still arrives on an open keep-alive connection is refused
 * with 503, Retry-After and Connection: close, in its protocol's error form (DALI-43 for the
 * VO endpoints), so a client retries elsewhere; the probes still answer.
 */
export function refuseWhileDraining(
  app: FastifyInstance,
  drain: DrainControl,
  isDaliPath: (url: string) => boolean,
): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!drain.draining || request.url === LIVENESS_PATH || request.url === READINESS_PATH) return;
    const message = 'the service is shutting down; try again shortly (another instance may answer)';
    reply.status(503).header('Retry-After', '5').header('Connection', 'close');
    if (isDaliPath(request.url))
      return reply.type('application/x-votable+xml;charset=UTF-8').send(errorDocument(message));
    return reply.type(TEXT).send(`${message}\n`);
  });
}
