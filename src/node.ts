import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import {
  type CatalogueSource,
  ensureBuiltinCatalogue,
  type LiveCatalogue,
  startLiveCatalogue,
} from './catalogue/index.js';
import { type Config, ConfigError, connectionSettings } from './config/index.js';
import { type Database, openDatabase } from './db/index.js';
import { DrainControl, type DrainReport, drain, openResponses } from './drain.js';
import { ensureDemoData } from './ingest/demo.js';
import { cleanupPublishing } from './publish/index.js';
import { DmApiClient, rucioSettings, startRucioPoll } from './rucio/index.js';
import type { HealthState } from './vosi/routes.js';

/** A running node: its database, its HTTP server, and how to stop both cleanly. */
export interface RunningNode {
  readonly app: FastifyInstance;
  readonly db: Database;
  readonly url: string;
  /** What the node publishes, as it serves it (live from the database unless given). */
  readonly catalogues: CatalogueSource;
  /**
   * Graceful stop for SIGTERM (issue 23): answers new requests with 503, hands async jobs back to
   * the queue, lets sync responses finish, cuts those still running near the end of
   * `seconds` (each closes with QUERY_STATUS ERROR). Call close() after it.
   */
  drain(seconds: number): Promise<DrainReport>;
  close(): Promise<void>;
}

export async function startNode(
  config: Config,
  log: (line: string) => void = () => {},
  opts: {
    readonly catalogues?: CatalogueSource;
    /** The node's log (src/log), shared by the HTTP server; `log` writes into it too. */
    readonly logger?: FastifyBaseLogger;
  } = {},
): Promise<RunningNode> {
  // Read before anything starts, so a wrong VONODE_RUCIO_* stops the node at once.
  const rucio = rucioSettings(config.env);
  const db = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.dbPoolSize,
    acquireTimeoutMs: config.dbAcquireTimeoutSeconds * 1000,
    log: (l) => (config.logLevel === 'debug' || config.logLevel === 'trace' ? log(l) : undefined),
    notice: log,
    recordConnection: true,
    // Access URLs and product paths are stored relative to the node and resolved as they are
    // read (sql/148, sql/170).
    settings: connectionSettings(config),
  });
  const health: HealthState = { upSince: new Date(), draining: false, database: db.health };
  const drainControl = new DrainControl();
  let app: FastifyInstance | undefined;
  let live: LiveCatalogue | undefined;
  try {
    // The built-in schemas are rows like any published table; others' rows are kept.
    await ensureBuiltinCatalogue(db.pool);
    // Versions and staging tables a killed publish left behind (the loader's rule).
    await cleanupPublishing(db.pool, { log });
    if (config.demoRows > 0) {
      await ensureDemoData({
        pool: db.pool,
        dataDir: config.dataDir,
        rows: config.demoRows,
        scale: config.demoScale,
        log,
      });
    }
    live = opts.catalogues
      ? undefined
      : await startLiveCatalogue(db.pool, {
          ...(config.defaultSchema ? { defaultSchema: config.defaultSchema } : {}),
          log,
        });
    const catalogues = opts.catalogues ?? live;
    app = await buildApp({
      config,
      baseUrl: config.baseUrl,
      pool: db.pool,
      health,
      logLevel: config.logLevel,
      database: db.health,
      drain: drainControl,
      ...(catalogues ? { catalogues } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    drainControl.add(openResponses(app.server));
    try {
      await app.listen({ port: config.port, host: config.host });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'EADDRINUSE') {
        throw new ConfigError(
          `port ${config.port} on ${config.host} is already in use`,
          'set PORT to a free port, or stop the process using it',
        );
      }
      if (code === 'EACCES') {
        throw new ConfigError(
          `not allowed to listen on port ${config.port}`,
          'use a port above 1023 or run with the right to bind it',
        );
      }
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
        throw new ConfigError(
          `cannot listen on ${config.host}`,
          'set VONODE_HOST to an address of this machine, e.g. 127.0.0.1 or 0.0.0.0',
        );
      }
      throw err;
    }
  } catch (err) {
    await app?.close().catch(() => {});
    await live?.close().catch(() => {});
    await db.close().catch(() => {});
    throw err;
  }
  // The node polls the DM API for its namespaces (src/rucio/sync.ts says why a poll).
  const poll =
    rucio && rucio.namespaces.length > 0 && rucio.syncIntervalSeconds > 0
      ? startRucioPoll(db.pool, new DmApiClient(rucio), {
          authority: config.publisher.authority,
          namespaces: rucio.namespaces,
          intervalSeconds: rucio.syncIntervalSeconds,
          log,
          warn: (line) => (opts.logger ? opts.logger.warn(line) : log(line)),
        })
      : undefined;
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  let closing: Promise<void> | undefined;
  const running = app;
  const catalogue = live;
  const served = opts.catalogues ?? live!;
  return {
    app: running,
    db,
    url: `http://127.0.0.1:${port}`,
    catalogues: served,
    drain(seconds) {
      health.draining = true;
      return drain(running.server, drainControl, seconds, log);
    },
    close() {
      closing ??= (async () => {
        health.draining = true;
        // Fastify stops accepting, lets in-flight responses finish, then we stop PostgreSQL.
        await poll?.stop();
        await running.close();
        await catalogue?.close();
        await db.close();
      })();
      return closing;
    },
  };
}
