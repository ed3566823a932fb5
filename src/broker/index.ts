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
  const settings = {
    ...brokerSettings(deps.env, builtinPipelines()),
    notebook: notebookSettings(deps.env, deps.baseUrl),
  };
  const backend =
    deps.backend ??
    (settings.backend === 'slurm'
      ? new SlurmBackend(settings.slurmConf as string, settings.slurmPartition)
      : // Issue 13: as root, site pipelines run as an unprivileged system user.
        new LocalBackend(process.getuid?.() === 0 ? ensureSystemUser(settings.localUser) : undefined));
  const service = new BrokerService(deps.pool, settings, backend, deps.dataDir, app.log);
  const ctx = {
    service,
    pool: deps.pool,
    base: `${deps.baseUrl.replace(/\/+$/, '')}/broker`,
    verifier: deps.verifier,
  };
  app.register(
    async (scope) => {
      await brokerRoutes(scope, ctx);
      await srcnetRoutes(scope, ctx);
    },
    { prefix: '/broker' },
  );
  app.addHook('onReady', async () => service.start());
  app.addHook('onClose', async () => service.stop());
  return service;
}
