import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { availabilityDocument, capabilitiesDocument } from '../../registry/index.js';
import { controlPoolOf } from '../db/acquire.js';
import { type ServiceEntry, serviceCapabilities } from '../services.js';

export interface HealthState {
  readonly upSince: Date;
  /** Set while shutting down: the node finishes work in hand but takes no more (VOSI-17). */
  draining: boolean;
  /** The database's health as the node tracks it: a known outage is reported without a query. */
  database?: { readonly available: boolean; readonly status: { readonly reason?: string } };
}

const XML = 'text/xml; charset=UTF-8';
const DB_CHECK_TIMEOUT_MS = 2000;

/**
 * A real check (VOSI-16): the database must answer, not just the web server. It runs on the
 * node's control connections, never queued behind queries, so a full pool or many slow
 * clients do not make a live node look dead, nor slow the check.
 */
async function databaseAnswers(pool: pg.Pool): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      controlPoolOf(pool).query('SELECT 1'),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${DB_CHECK_TIMEOUT_MS} ms`)),
          DB_CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    clearTimeout(timer);
  }
}

/** GET /{service}/availability and /{service}/capabilities for every service (VOSI-1). */
export function registerVosi(
  app: FastifyInstance,
  opts: { services: readonly ServiceEntry[]; baseUrl: string; pool: pg.Pool; health: HealthState },
): void {
  const started = new Date();
  for (const service of opts.services) {
    const capabilities = capabilitiesDocument(serviceCapabilities(service, opts.baseUrl));
    app.get(`/${service.path}/capabilities`, async (_req, reply) => {
      // VOSI-13: Last-Modified is when the capability metadata last changed: at start-up.
      return reply.type(XML).header('Last-Modified', started.toUTCString()).send(capabilities);
    });
    app.get(`/${service.path}/availability`, async (request, reply) => {
      const notes: string[] = [];
      let available = true;
      if (opts.health.draining) {
        available = false;
        notes.push('the node is shutting down and accepts no new work');
      } else if (opts.health.database && !opts.health.database.available) {
        available = false;
        notes.push(`the database is unavailable: ${opts.health.database.status.reason ?? 'no answer'}`);
      } else {
        const problem = await databaseAnswers(opts.pool);
        if (problem) {
          available = false;
          // The driver's text (addresses, user names) is for the log, not for anyone asking.
          request.log.warn({ problem }, 'availability: the database does not answer');
          notes.push('the database does not answer');
        }
      }
      if (available) notes.push(`${service.title} is accepting requests`);
      // Busy is not down: queries then get 503 with Retry-After, and the operator should know why.
      const pool = opts.pool;
      if (available && pool.idleCount === 0 && pool.totalCount >= (pool.options.max ?? 10))
        notes.push(
          `all ${pool.totalCount} database connections are in use and ${pool.waitingCount} requests wait for one; queries may be answered 503 with Retry-After`,
        );
      // VOSI-19: 200 with the document even when unavailable.
      return reply.type(XML).send(availabilityDocument({ available, upSince: opts.health.upSince, notes }));
    });
  }
}
