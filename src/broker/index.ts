import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { TokenVerifier } from '../auth/index.js';
import type { Backend } from './backend.js';
import { LocalBackend } from './local.js';
import { notebookSettings } from './notebook.js';
import { builtinPipelines } from './pipelines.js';
import { brokerRoutes } from './routes.js';
import { BrokerService } from './service.js';
import { brokerSettings } from './settings.js';
import { SlurmBackend } from './slurm.js';
import { srcnetRoutes } from './srcnet.js';
import { keepAuthorization, rememberAuthorization, stagingSettings } from './staging-source.js';
import { ensureSystemUser } from './users.js';

export type { Backend, WorkSpec, WorkState } from './backend.js';
export { BrokerError } from './errors.js';
export { LocalBackend } from './local.js';
export type { ExecutionRequest, Phase, Session } from './model.js';
export { PHASES } from './model.js';
export { NOTEBOOK_VARIABLES } from './notebook.js';
export { readRequest } from './request.js';
export { BrokerService } from './service.js';
export {
  BROKER_VARIABLES,
  type BrokerSettings,
  brokerSettings,
  type PipelineDefinition,
} from './settings.js';
export { SlurmBackend } from './slurm.js';
export { STAGING_VARIABLES, stagingSettings } from './staging-source.js';
export { parseYaml, toYaml, YamlError } from './yaml.js';

export interface BrokerDeps {
  readonly pool: pg.Pool;
  /** The node's public base URL; the broker lives at `${baseUrl}/broker`. */
  readonly baseUrl: string;
  /** Work folders go to `${dataDir}/broker/<session uuid>`. */
  readonly dataDir: string;
  /** Environment the broker reads its VONODE_BROKER_* variables from (Config.env). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Overrides the backend chosen by VONODE_BROKER_BACKEND (tests, embedding). */
  readonly backend?: Backend;
  /** The node's token verifier (the notebook proxy reads a browser's first token with it). */
  readonly verifier?: TokenVerifier;
}

/**
 * The IVOA ExecutionBroker under /broker (EB-10..13) and the SRCNet compute API facade
 * (EB-100..104) on the same sessions. The driver starts when the app is ready and stops
 * on close; sessions live in PostgreSQL (schema broker), so a restart resumes them.
 */
export function registerBroker(app: FastifyInstance, deps: BrokerDeps): BrokerService {
  const own = brokerSettings(deps.env, builtinPipelines());
  const settings = {
    ...own,
    staging: stagingSettings(deps.env, deps.baseUrl, own.peers),
    notebook: notebookSettings(deps.env, deps.baseUrl),
  };
  // Issue 13/21: as root, site pipelines run as an unprivileged system user, and see
  // nothing of the node's data folder (products, database, other sessions) but their own.
  const runAs = process.getuid?.() === 0 ? ensureSystemUser(settings.localUser) : undefined;
  const hide = [deps.dataDir, ...settings.hide];
  const backend =
    deps.backend ??
    (settings.backend === 'slurm'
      ? new SlurmBackend(
          settings.slurmConf as string,
          settings.slurmPartition,
          undefined,
          runAs ? { runAs, hide } : undefined,
        )
      : new LocalBackend({ runAs, hide }));
  const service = new BrokerService(deps.pool, settings, backend, deps.dataDir, app.log);
  const ctx = {
    service,
    pool: deps.pool,
    base: `${deps.baseUrl.replace(/\/+$/, '')}/broker`,
    verifier: deps.verifier,
  };
  app.register(
    async (scope) => {
      // Data staged from a trusted origin goes there with the caller's own token: kept with the
      // request for offers, and with the session from its accept until staging ends (sql/167).
      scope.addHook('preHandler', async (request) => {
        const header = request.headers.authorization;
        if (!header || request.identity.sub === null) return;
        rememberAuthorization(request.identity, header);
        if (request.method !== 'POST' && request.method !== 'PUT') return;
        const m =
          /\/(?:sessions\/|provision\/(?:[^/]*-)?|(?:[^/]*-)?)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\.prov)?(?:\/submit)?\/?(?:\?.*)?$/i.exec(
            request.url,
          );
        if (m) await keepAuthorization(deps.pool, m[1].toLowerCase(), request.identity.sub, header);
      });
      await brokerRoutes(scope, ctx);
      await srcnetRoutes(scope, ctx);
    },
    { prefix: '/broker' },
  );
  app.addHook('onReady', async () => service.start());
  app.addHook('onClose', async () => service.stop());
  return service;
}
