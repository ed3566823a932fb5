import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import multipart from '@fastify/multipart';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type pg from 'pg';
import { errorDocument } from '../votable/index.js';
import {
  authPlugin,
  bearerChallenge,
  devIssuerPlugin,
  nodeAuthFromEnv,
  rewriteLoginUrl,
} from './auth/index.js';
import { registerBroker } from './broker/index.js';
import { type CatalogueSource, staticCatalogueSource } from './catalogue/index.js';
import type { Config } from './config/index.js';
import { registerCors } from './cors/index.js';
import { type DaliError, MAX_FORM_BYTES, readForm } from './dali/index.js';
import { registerDataLink } from './datalink/index.js';
import { ServiceBusy } from './db/acquire.js';
import type { DatabaseHealth } from './db/health.js';
import { answerOutagesWith503 } from './db/outage.js';
import type { DrainControl } from './drain.js';
import {
  findNul,
  malformedBodyMessage,
  NulInputError,
  nulInUrl,
  reportInternalError,
} from './errors/index.js';
import { registerHips } from './hips/index.js';
import { registerMetrics } from './metrics/index.js';
import { registerMoc } from './moc/index.js';
import { registerOai } from './oai/index.js';
import { registerPreview } from './preview/index.js';
import { DmApiClient, replicaLocator, rucioSettings } from './rucio/index.js';
import { registerScs } from './scs/index.js';
import { nodeServices } from './services.js';
import { registerSia } from './sia/index.js';
import { registerSodaAsync, registerSodaSync } from './soda/index.js';
import { tapJobParameters, tapJobRunner } from './tap/async.js';
import { registerTapExamples } from './tap/examples.js';
import { registerTap } from './tap/routes.js';
import { SyncGate } from './tap/spooled.js';
import { registerTapSync } from './tap/sync.js';
import { publishedSchemas } from './tap/tables/index.js';
import {
  registerPermissions,
  TABLE_UPDATE_KIND,
  tableUpdateParameters,
  tableUpdateRunner,
  tapSaveResult,
  type UserTableSettings,
  userTableRoutes,
  userTableSettings,
} from './usertables/index.js';
import { FileResultStore, JobFiles, UwsService, uwsRoutes } from './uws/index.js';
import { refuseWhileDraining, registerProbes } from './vosi/probes.js';
import { type HealthState, registerVosi } from './vosi/routes.js';
import { registerWeb } from './web/index.js';

export interface AppOptions {
  readonly config: Config;
  readonly baseUrl: string;
  readonly pool: pg.Pool;
  readonly health: HealthState;
  readonly logLevel?: string;
  /** The node's log (src/log): its format and level; otherwise a JSON one at logLevel. */
  readonly logger?: FastifyBaseLogger;
  readonly nodeName?: string;
  /** When given, requests failing while the database is down get 503 (db/outage.ts). */
  readonly database?: DatabaseHealth;
  /** The published tables; by default the declarations in code (src/tap/tables). */
  readonly catalogues?: CatalogueSource;
  /** Filled with the parts a shutdown drains (src/drain.ts): sync results, UWS jobs. */
  readonly drain?: DrainControl;
}

function rowsOf(request: FastifyRequest): { rows?: number } {
  const rows = request.queryFacts?.rows();
  return rows === undefined ? {} : { rows };
}

/** The request's line (issue 23): status, duration, bytes, user, job id, query id and rows, as JSON. */
async function logRequest(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const params = request.params as Record<string, string> | undefined;
  const bytes = Number(reply.getHeader('content-length'));
  request.log.info(
    {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      ...(Number.isFinite(bytes) ? { bytes } : {}),
      user: request.identity?.sub ?? null,
      ...(params?.jobId ? { jobId: params.jobId } : {}),
      ...(request.queryFacts?.queryId ? { queryId: request.queryFacts.queryId } : {}),
      ...rowsOf(request),
    },
    'request',
  );
}

/**
 * The HTTP face of the node. Protocol folders add their routes here; errors never
 * reach a client as a stack trace (each protocol sets its own error form).
 */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: { level: opts.logLevel ?? 'info' } }),
    // One line per request, written by logRequest below with the fields operators filter on.
    logController: new LogController({ disableRequestLogging: true }),
    // Upload and form limits are set per route by the protocols.
    bodyLimit: 16 * 1024 * 1024,
    // Case-insensitive parameter names (DALI) are handled by each protocol; paths are exact.
    routerOptions: { ignoreTrailingSlash: true },
    return503OnClosing: true,
    // <base>/login/... is the node for callers who must authenticate (src/auth/login-alias.ts).
    rewriteUrl: rewriteLoginUrl,
  });
  if (opts.database) answerOutagesWith503(app, opts.database);
  // Liveness and readiness for orchestrators, answered before any other hook (issue 23).
  registerProbes(app, opts.health);
  if (opts.drain) refuseWhileDraining(app, opts.drain, isDaliPath);
  if ((opts.config.env.VONODE_METRICS?.trim().toLowerCase() || 'on') !== 'off')
    registerMetrics(app, { pool: opts.pool });
  app.addHook('onResponse', logRequest);
  // taplint (W-CAP-SVR0) and operators like to know what answered.
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('Server', SERVER_NAME);
  });
  // Before the auth plugin: a preflight carries no credentials and is answered at once.
  registerCors(app, opts.config.cors);
  app.addHook('preValidation', refuseNul);
  app.setErrorHandler(answerError);
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).type('text/plain; charset=utf-8').send(`no resource at ${request.url}`);
  });
  // Forms are decoded chunk by chunk as they arrive (src/dali/form.ts): parsing a 1.3 MB
  // escaped ADQL query in one piece held the event loop 30-360 ms, delaying every other request.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    (_request: FastifyRequest, payload: Readable) => readForm(payload, MAX_FORM_BYTES),
  );
  await app.register(multipart, {
    limits: {
      fileSize: opts.config.upload.maxBytes,
      files: opts.config.upload.maxTables,
      fields: 1000,
      fieldSize: 16 * 1024 * 1024,
    },
  });
  const auth = await nodeAuthFromEnv(opts.config.env, {
    baseUrl: opts.baseUrl,
    dataDir: opts.config.dataDir,
  });
  if (auth.devIssuer)
    await devIssuerPlugin(app, { issuer: auth.devIssuer, audience: auth.verifier?.audience });
  await app.register(authPlugin, {
    verifier: auth.verifier,
    challenge: auth.challenge,
    baseUrl: opts.baseUrl,
    // DALI protocols answer errors as VOTables (DALI-43); the rest as text.
    onUnauthorized: (request, reply, message) =>
      isDaliPath(request.url)
        ? reply.type('application/x-votable+xml;charset=UTF-8').send(errorDocument(message))
        : reply.type('text/plain; charset=utf-8').send(`${message}\n`),
  });
  const tokens = auth.verifier !== undefined;
  // Security-relevant settings, one clear line each once the node listens (issue 23): a node
  // that cannot start says only why, in one line.
  app.addHook('onListen', async () => {
    app.log.info({ setting: 'dev issuer', on: auth.devIssuer !== undefined }, 'security: dev token issuer');
    app.log.info(
      { setting: 'anonymous access', on: true, tokens },
      tokens
        ? 'security: bearer tokens verified; requests without a token are served as anonymous'
        : 'security: no token verifier, every caller is anonymous',
    );
    app.log.info(
      { setting: 'cors origins', origins: opts.config.cors.allowedOrigins },
      'security: CORS origins allowed to send credentials',
    );
  });
  const userTables = userTableSettings(opts.config.env);
  const services = nodeServices(opts.config.tap, tokens, userTables, opts.config.scsMaxSR);
  const coneLimits = { maxSR: opts.config.scsMaxSR, maxRecords: opts.config.tap.maxrecHard };
  const schemas = publishedSchemas();
  const catalogues = opts.catalogues ?? staticCatalogueSource(schemas);
  registerWeb(app, {
    services,
    baseUrl: opts.baseUrl,
    nodeName: opts.nodeName ?? 'vonode',
    maxrecDefault: opts.config.tap.maxrecDefault,
    maxrecHard: opts.config.tap.maxrecHard,
    uploadMaxBytes: opts.config.upload.maxBytes,
    ...(opts.config.defaultSchema ? { defaultSchema: opts.config.defaultSchema } : {}),
    ...(auth.webLogin ? { login: auth.webLogin } : {}),
  });
  registerVosi(app, {
    services,
    baseUrl: opts.baseUrl,
    pool: opts.pool,
    health: opts.health,
    catalogues,
    tokens,
    coneLimits,
  });
  registerTap(app, { catalogues });
  registerPermissions(app, { pool: opts.pool, catalogues });
  // One gate for /tap/sync and /scs/query: their caps count together.
  const syncGate = new SyncGate(opts.config.sync, join(opts.config.dataDir, 'spool'));
  // Its responses are counted with every other request's (openResponses in src/drain.ts).
  opts.drain?.add({
    refuseNew: () => syncGate.refuseNew(),
    cut: () => syncGate.cut(),
  });
  registerTapSync(app, {
    gate: syncGate,
    pool: opts.pool,
    baseUrl: opts.baseUrl,
    limits: opts.config.tap,
    uploadLimits: opts.config.upload,
    catalogues,
  });
  await registerTapAsync(app, opts, catalogues, userTables, syncGate);
  registerTapExamples(app);
  registerSia(app, { pool: opts.pool, baseUrl: opts.baseUrl, catalogues });
  registerMoc(app, {
    pool: opts.pool,
    baseUrl: opts.baseUrl,
    catalogues,
    // One folder per process: processes sharing a data folder each keep their own.
    cacheDir: join(opts.config.dataDir, 'moc-cache', String(process.pid)),
  });
  registerHips(app, {
    pool: opts.pool,
    baseUrl: opts.baseUrl,
    dataDir: opts.config.dataDir,
    authority: opts.config.publisher.authority,
    catalogues,
  });
  registerOai(app, {
    pool: opts.pool,
    baseUrl: opts.baseUrl,
    services,
    publisher: opts.config.publisher,
    catalogues,
    tokens,
    coneLimits,
  });
  registerScs(app, {
    gate: syncGate,
    pool: opts.pool,
    baseUrl: opts.baseUrl,
    mivot: opts.config.tap.mivot,
    catalogues,
    limits: {
      maxSR: opts.config.scsMaxSR,
      maxrecDefault: opts.config.tap.maxrecDefault,
      maxrecHard: opts.config.tap.maxrecHard,
      timeoutSeconds: opts.config.tap.syncTimeoutSeconds,
    },
  });
  // Rucio products' replicas through SRCNet's Data Management API (docs/rucio.md).
  const rucio = rucioSettings(opts.config.env);
  registerDataLink(app, {
    pool: opts.pool,
    baseUrl: opts.baseUrl,
    ...(rucio ? { locateReplicas: replicaLocator(new DmApiClient(rucio), rucio.sitePreference) } : {}),
  });
  registerPreview(app, { pool: opts.pool, dataDir: opts.config.dataDir });
  registerSodaSync(app, { pool: opts.pool });
  await registerSodaAsync(app, {
    pool: opts.pool,
    dataDir: opts.config.dataDir,
    ...(opts.config.baseUrlExplicit ? { jobListUrl: `${opts.baseUrl}/soda/async` } : {}),
  });
  registerBroker(app, {
    pool: opts.pool,
    baseUrl: opts.baseUrl,
    dataDir: opts.config.dataDir,
    env: opts.config.env,
    verifier: auth.verifier,
  });
  return app;
}

/** TAP async (TAP-8): UWS jobs running the sync query path, results in the data folder. */
async function registerTapAsync(
  app: FastifyInstance,
  opts: AppOptions,
  catalogues: CatalogueSource,
  userTables: UserTableSettings,
  syncGate: SyncGate,
) {
  const { config } = opts;
  const jobFiles = new JobFiles(join(config.dataDir, 'uploads'), {
    maxTotalBytes: config.uws.uploadSpoolMaxBytes,
  });
  const asyncOpts = {
    pool: opts.pool,
    baseUrl: opts.baseUrl,
    limits: config.tap,
    uploadLimits: config.upload,
    catalogues,
    files: jobFiles,
    // The status spool shares the synchronous results' disk budget (VONODE_SYNC_SPOOL_DISK).
    statusSpool: () => syncGate.statusSpool(),
    logError: (err: unknown, jobId: string) => app.log.error({ err, jobId }, 'TAP job failed'),
    saveResult: tapSaveResult(opts.pool, userTables, catalogues),
  };
  const service = new UwsService({
    pool: opts.pool,
    resultStore: new FileResultStore(join(config.dataDir, 'results')),
    runners: { tap: tapJobRunner(asyncOpts), [TABLE_UPDATE_KIND]: tableUpdateRunner(opts.pool) },
    jobFiles,
    limits: {
      defaultExecutionDuration: config.tap.asyncDurationDefault,
      maxExecutionDuration: config.tap.asyncDurationHard,
      defaultDestruction: config.tap.retentionDefault,
      maxDestruction: config.tap.retentionHard,
      concurrency: config.uws.concurrency,
      perOwnerConcurrency: config.uws.perOwnerConcurrency,
      heartbeatInterval: config.uws.heartbeatSeconds * 1000,
      staleAfter: config.uws.staleAfterSeconds * 1000,
      sweepInterval: Math.min(60_000, config.uws.staleAfterSeconds * 1000),
      maxUnfinishedPerClient: config.uws.maxUnfinishedPerClient,
    },
    logger: app.log,
  });
  await service.start();
  // A drain hands the jobs back at once; closing the app later finds them handed back.
  let stopped: Promise<void> | undefined;
  const stopJobs = () => {
    stopped ??= service.stop();
    return stopped;
  };
  opts.drain?.add({ handBack: stopJobs });
  app.addHook('onClose', stopJobs);
  await app.register(uwsRoutes, {
    prefix: '/tap/async',
    service,
    kind: 'tap',
    identify: (request) => ({ owner: request.identity?.sub ?? null }),
    parseJobParameters: tapJobParameters(asyncOpts),
    multiValuedParameters: ['UPLOAD'],
    ...(config.baseUrlExplicit ? { baseUrl: `${config.baseUrl}/tap/async` } : {}),
    requestError: (_status, message) => ({
      contentType: 'application/x-votable+xml;charset=UTF-8',
      body: errorDocument(message),
    }),
  });
  // User tables (issue 16): youcat's table management under /tap. The index job is a UWS
  // job of its own kind on the same service, at /tap/table-update/{id} as youcat has it.
  await app.register(userTableRoutes, {
    pool: opts.pool,
    settings: userTables,
    spoolDir: join(config.dataDir, 'uploads', 'user-tables'),
    catalogues,
  });
  await app.register(async (scope) => {
    // Only a token holder creates an index job; the 401 carries the node's challenges.
    scope.addHook('onRequest', async (request, reply) => {
      if (request.method !== 'POST' || request.identity?.sub) return;
      const challenges = bearerChallenge(app.authChallenge);
      return reply
        .code(401)
        .header('WWW-Authenticate', challenges.length === 1 ? challenges[0] : challenges)
        .type('application/x-votable+xml;charset=UTF-8')
        .send(errorDocument('Unauthorized: table updates need a token: send Authorization: Bearer <token>'));
    });
    await scope.register(uwsRoutes, {
      prefix: '/tap/table-update',
      service,
      kind: TABLE_UPDATE_KIND,
      identify: (request) => ({ owner: request.identity?.sub ?? null }),
      parseJobParameters: tableUpdateParameters(opts.pool),
      ...(config.baseUrlExplicit ? { baseUrl: `${config.baseUrl}/tap/table-update` } : {}),
      requestError: (_status, message) => ({
        contentType: 'application/x-votable+xml;charset=UTF-8',
        body: errorDocument(message),
      }),
    });
  });
}

const SERVER_NAME = `vonode/${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}`;

const DALI_PREFIXES = ['/tap/', '/sia/', '/datalink/', '/soda/', '/scs/'];
const isDaliPath = (url: string) => DALI_PREFIXES.some((p) => url.startsWith(p));

/**
 * NUL characters are refused at the edge, before any protocol code (issue 13): in the path
 * and query of every request and in parsed bodies (form fields, JSON). Multipart fields
 * arrive later as a stream; DaliParams refuses them there.
 */
export async function refuseNul(request: FastifyRequest): Promise<void> {
  const where = nulInUrl(request.url) ?? findNul(request.query, 'the query string') ?? findNul(request.body);
  if (where) throw new NulInputError(where);
}

/**
 * The node's last error handler. The protocols answer their own errors; what reaches this
 * is either a refusal with a 4xx status (Fastify's, a hook's, a DaliError) whose message is
 * for the client, or an internal error, which the client sees only as a reference into the
 * log, in the protocol's error form (a DALI error VOTable on DALI paths, DALI-43; text elsewhere).
 */
export function answerError(err: FastifyError | DaliError, request: FastifyRequest, reply: FastifyReply) {
  // No database connection in time: 503 with Retry-After in the protocol's own error form.
  if (err instanceof ServiceBusy) reply.header('Retry-After', String(err.retryAfterSeconds));
  const code = err instanceof ServiceBusy ? 503 : (err as { statusCode?: number }).statusCode;
  const malformed = malformedBodyMessage(err);
  const status = malformed ? 400 : code && ((code >= 400 && code < 500) || code === 503) ? code : 500;
  const message =
    malformed ?? (status === 500 ? reportInternalError(request.log, err, 'request failed') : err.message);
  reply.status(status);
  if (isDaliPath(request.url))
    return reply.type('application/x-votable+xml;charset=UTF-8').send(errorDocument(message));
  return reply.type('text/plain; charset=utf-8').send(`${message}\n`);
}
