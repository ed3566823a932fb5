import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import {
  availabilityDocument,
  type Capability,
  capabilitiesDocument,
  vosiCapabilities,
} from '../../registry/index.js';
import { ANONYMOUS } from '../auth/index.js';
import type { CatalogueSource } from '../catalogue/index.js';
import { controlPoolOf } from '../db/acquire.js';
import { type ConeSearchLimits, coneCapability, coneCatalogueOf, findPositional } from '../scs/index.js';
import {
  DEFAULT_CONE_LIMITS,
  type ServiceEntry,
  securedCapability,
  serviceCapabilities,
} from '../services.js';

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

export interface VosiOptions {
  readonly services: readonly ServiceEntry[];
  readonly baseUrl: string;
  readonly pool: pg.Pool;
  readonly health: HealthState;
  /** The published tables: /scs/capabilities lists a cone search per catalogue with a position. */
  readonly catalogues?: CatalogueSource;
  /** Tokens accepted: capabilities listed with their secured interfaces (services.ts). */
  readonly tokens?: boolean;
  /** What each catalogue's cone search capability advertises (SCS-30). */
  readonly coneLimits?: ConeSearchLimits;
}

/** GET /{service}/availability and /{service}/capabilities for every service (VOSI-1). */
export function registerVosi(app: FastifyInstance, opts: VosiOptions): void {
  const started = new Date();
  const coneLimits = opts.coneLimits ?? DEFAULT_CONE_LIMITS;
  // VOSI-13: the capabilities of /scs change when a catalogue is published or withdrawn.
  let catalogueChanged = started;
  opts.catalogues?.onChange(() => {
    catalogueChanged = new Date();
  });
  const secure = (c: Capability) => (opts.tokens ? securedCapability(c) : c);
  const conesOf = (request: FastifyRequest): Capability[] =>
    opts.catalogues
      ? opts.catalogues
          .view(request.identity ?? ANONYMOUS)
          .positional()
          .filter((t) => coneCatalogueOf(t))
          .map((t) => secure(coneCapability(opts.baseUrl, t, coneLimits)))
      : [];
  for (const service of opts.services) {
    const capabilities = capabilitiesDocument(serviceCapabilities(service, opts.baseUrl));
    const cones = service.path === 'scs' && opts.catalogues !== undefined;
    app.get(`/${service.path}/capabilities`, async (request, reply) => {
      // VOSI-13: Last-Modified is when the capability metadata last changed: at start-up.
      if (!cones) return reply.type(XML).header('Last-Modified', started.toUTCString()).send(capabilities);
      // SCS-40: the default cone search, then one per catalogue this caller may see.
      const all = [...serviceCapabilities(service, opts.baseUrl), ...conesOf(request)];
      return reply
        .type(XML)
        .header('Last-Modified', catalogueChanged.toUTCString())
        .send(capabilitiesDocument(all));
    });
    app.get(`/${service.path}/availability`, (request, reply) => availability(opts, service, request, reply));
  }
  const scs = opts.services.find((s) => s.path === 'scs');
  if (scs && opts.catalogues) {
    const catalogues = opts.catalogues;
    // SCS-32: each catalogue's cone search has its VOSI siblings beside its /query.
    app.get('/scs/:table/capabilities', async (request, reply) => {
      const name = (request.params as { table: string }).table;
      const t = findPositional(catalogues.view(request.identity ?? ANONYMOUS), name);
      if (!t || !coneCatalogueOf(t))
        return reply
          .status(404)
          .type('text/plain; charset=utf-8')
          .send(`no published catalogue with a position is named '${name}'\n`);
      const url = `${opts.baseUrl}/scs/${encodeURIComponent(name)}`;
      return reply
        .type(XML)
        .header('Last-Modified', catalogueChanged.toUTCString())
        .send(
          capabilitiesDocument([
            secure(coneCapability(opts.baseUrl, t, coneLimits)),
            ...vosiCapabilities(url),
          ]),
        );
    });
    app.get('/scs/:table/availability', (request, reply) => availability(opts, scs, request, reply));
  }
}

async function availability(
  opts: VosiOptions,
  service: ServiceEntry,
  request: FastifyRequest,
  reply: FastifyReply,
) {
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
}
