import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { PHASES as BROKER_PHASES } from '../broker/index.js';
import { PHASES as UWS_PHASES } from '../uws/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Set by a route that streams a query's result (TAP sync, cone search): read when the
     * response is over, for the request's log line and the rows-streamed counter.
     */
    queryFacts?: QueryFacts;
  }
}

export interface QueryFacts {
  /** The query's id: the same ADQL text has the same id, so an operator finds its repeats. */
  readonly queryId?: string;
  /** TAP or cone search, for the counter's label. */
  readonly service: 'tap' | 'scs';
  /** Rows sent, once all were given; undefined for a result cut short. */
  rows(): number | undefined;
}

/** A short stable id of an ADQL text (12 hex digits of its SHA-256), for logs. */
export function queryId(adql: string): string {
  return createHash('sha256').update(adql.trim()).digest('hex').slice(0, 12);
}

// Every phase is reported, 0 when no job or session is in it: a series that disappears
// when it reaches zero breaks rate() and alert rules.
async function countByPhase(
  gauge: Gauge<'phase'>,
  pool: pg.Pool,
  table: 'uws.jobs' | 'broker.sessions',
  phases: readonly string[],
): Promise<void> {
  const { rows } = await pool.query<{ phase: string; n: string }>(
    `SELECT phase, count(*) AS n FROM ${table} GROUP BY phase`,
  );
  const counts = new Map(rows.map((r) => [r.phase, Number(r.n)]));
  gauge.reset();
  for (const phase of new Set([...phases, ...counts.keys()])) gauge.set({ phase }, counts.get(phase) ?? 0);
}

/**
 * Prometheus metrics at /metrics (text exposition format 0.0.4, issue 23): requests by route
 * and status, their durations, UWS jobs by phase and the database pool, read at scrape time.
 * VONODE_METRICS=off removes the route; it is on by default because the figures name no user
 * and no query, only routes, counts and phases.
 */
export function registerMetrics(app: FastifyInstance, opts: { readonly pool: pg.Pool }): void {
  const registry = new Registry();
  const requests = new Counter({
    name: 'vonode_http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const durations = new Histogram({
    name: 'vonode_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route pattern',
    labelNames: ['route'],
    buckets: [0.005, 0.02, 0.1, 0.5, 2, 10, 60],
    registers: [registry],
  });
  const pool = opts.pool;
  new Gauge({
    name: 'vonode_db_pool_connections',
    help: 'PostgreSQL pool connections by state (total, idle, waiting clients)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
  new Gauge({
    name: 'vonode_uws_jobs',
    help: 'UWS jobs by phase, counted at scrape time',
    labelNames: ['phase'],
    registers: [registry],
    async collect() {
      await countByPhase(this, pool, 'uws.jobs', UWS_PHASES);
    },
  });
  new Gauge({
    name: 'vonode_broker_sessions',
    help: 'ExecutionBroker sessions by phase, counted at scrape time',
    labelNames: ['phase'],
    registers: [registry],
    async collect() {
      await countByPhase(this, pool, 'broker.sessions', BROKER_PHASES);
    },
  });
  const rowsStreamed = new Counter({
    name: 'vonode_result_rows_total',
    help: 'Rows of query results sent to synchronous clients, by service (tap, scs)',
    labelNames: ['service'],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL: job ids and query strings would make endless series.
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    durations.observe({ route }, reply.elapsedTime / 1000);
    const rows = request.queryFacts?.rows();
    if (request.queryFacts && rows !== undefined)
      rowsStreamed.inc({ service: request.queryFacts.service }, rows);
  });
  app.get('/metrics', async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
}
