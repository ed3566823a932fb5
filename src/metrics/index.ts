import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

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
      this.reset();
      const { rows } = await pool.query<{ phase: string; n: string }>(
        'SELECT phase, count(*) AS n FROM uws.jobs GROUP BY phase',
      );
      for (const r of rows) this.set({ phase: r.phase }, Number(r.n));
    },
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL: job ids and query strings would make endless series.
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    durations.observe({ route }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
}
