import type { FastifyInstance } from 'fastify';
import { errorDocument } from '../../votable/index.js';
import type { DatabaseHealth } from './health.js';

/** Retry-After of answers given while the database is down: about one restart and recovery. */
export const OUTAGE_RETRY_AFTER_SECONDS = 5;

/**
 * While the database is down, a request that failed for that reason is the service being
 * unavailable, not a fault of the service: 503 with Retry-After (RFC 9110 15.6.4; DALI
 * and UWS leave 5xx statuses to HTTP), in the protocol's own error form (a DALI error
 * VOTable stays a VOTable, JSON stays JSON), and never a 500 or a stack trace.
 *
 * One hook for every route, so that every protocol's own error path, present and
 * future, is covered: each answers 500 for an error it does not know, and this turns
 * such an answer into a 503 when the health state says the database is gone.
 */
export function answerOutagesWith503(app: FastifyInstance, health: DatabaseHealth): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode !== 500 || health.available) return payload;
    const reason = health.status.reason ?? 'the database does not answer';
    const message = `the service is temporarily unavailable: ${reason}; retry in a few seconds`;
    reply.code(503).header('Retry-After', String(OUTAGE_RETRY_AFTER_SECONDS));
    const type = String(reply.getHeader('content-type') ?? '');
    if (/votable/i.test(type)) return errorDocument(message);
    if (/json|yaml/i.test(type)) {
      // The broker's own error document already says the request failed; keep its form.
      return payload;
    }
    reply.type('text/plain; charset=utf-8');
    return `${message}\n`;
  });
}
