import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { type ContainerPolicy, networkProblem, runtimeProblem } from './container.js';
import { BrokerError } from './errors.js';
import type { NotebookSettings } from './notebook.js';
import type { StagingSettings } from './staging-source.js';

/** A command a site registers under a name (EB-01 "pipeline registered by the site"). */
export interface PipelineDefinition {
  readonly name: string;
  readonly description?: string;
  /**
   * argv; placeholders: {input} (first data resource's local path), {inputs} (all, one
   * argument each), {output} (the session's output folder), {param:NAME} (a request parameter).
   */
  readonly command: readonly string[];
  /** Default parameters, merged under the request's. */
  readonly params?: Readonly<Record<string, string>>;
}

export interface PeerBroker {
  readonly site: string;
  /** Base URL of the peer's broker, e.g. http://127.0.0.1:9000/broker */
  readonly url: string;
}

export interface BrokerSettings {
  /** Name of this site, written on every offer. */
  readonly site: string;
  readonly backend: 'local' | 'slurm';
  /** Slurm client configuration; every Slurm command runs with SLURM_CONF set to it. */
  readonly slurmConf?: string;
  readonly slurmPartition?: string;
  /** System user local pipelines run as when the node runs as root. */
  readonly localUser: string;
  /** Host folders a local pipeline never sees, besides the node's data folder (VONODE_BROKER_HIDE). */
  readonly hide: readonly string[];
  /** How images run (argv prefix and the node's fixed options); none ⇒ containers refused. */
  readonly container?: ContainerPolicy;
  readonly capacity: {
    readonly cores: number;
    readonly memoryGiB: number;
    readonly gpus: number;
    readonly gpuModel?: string;
    /** Scratch storage per session. */
    readonly storageGiB: number;
    /** Scratch storage of all sessions at once; undefined = the free space of the data folder at start. */
    readonly scratchTotalGiB?: number;
  };
  /**
   * Capacity the site set itself; with the Slurm backend the partition's size (sinfo) is used,
   * capped by these when they are set.
   */
  readonly declared: { readonly cores: boolean; readonly memory: boolean; readonly gpus: boolean };
  /** How long an offer stays acceptable (EB-63). */
  readonly offerSeconds: number;
  readonly defaultDurationSeconds: number;
  readonly maxDurationSeconds: number;
  /** Sessions not yet finished, per user and per group (the token's groups). 0 = no limit. */
  readonly maxActivePerUser: number;
  readonly maxActivePerGroup: number;
  readonly maxCoresPerUser: number;
  readonly pollMs: number;
  /** Most running sessions one driver pass polls (the least recently checked first). */
  readonly driverBatch: number;
  /** Sessions a driver pass starts or polls at the same time. */
  readonly driverConcurrency: number;
  /** Finished sessions, offer sets and work folders are removed this long after they end; 0 = never. */
  readonly retentionSeconds: number;
  readonly peers: readonly PeerBroker[];
  readonly peerTimeoutMs: number;
  readonly pipelines: readonly PipelineDefinition[];
  /** Largest request body accepted (JSON or YAML). */
  readonly maxRequestBytes: number;
  /** Most files listed as outputs of one session. */
  readonly maxOutputs: number;
  /** Staging of data held elsewhere (set by registerBroker; absent = local data only). */
  readonly staging?: StagingSettings;
  /** Jupyter notebooks (notebook.ts); set by registerBroker, which knows the node's base URL. */
  readonly notebook?: NotebookSettings;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Variables the broker reads, with their meaning (for the README and errors). */
export const BROKER_VARIABLES = {
  VONODE_BROKER_SITE: 'site name written on offers (default: local)',
  VONODE_BROKER_BACKEND: 'local (default) or slurm',
  VONODE_SLURM_CONF: 'path of slurm.conf; required for the slurm backend',
  VONODE_SLURM_PARTITION: 'Slurm partition (default: the cluster default)',
  VONODE_BROKER_CONTAINER_RUNTIME: 'argv prefix that runs an image, space separated, e.g. "podman run --rm"',
  VONODE_BROKER_CONTAINER_NETWORK:
    'network of containers: none (default) or a named bridge network, never host',
  VONODE_BROKER_CONTAINER_PIDS: 'most processes in one container (default 256)',
  VONODE_BROKER_CONTAINER_NOFILE: 'most open files per container process (default 1024)',
  VONODE_BROKER_CONTAINER_USER:
    'uid:gid the container runs as (default 65534:65534; 0:0 for rootless engines)',
  VONODE_BROKER_LOCAL_USER:
    'system user local pipelines run as when the node runs as root (default vonode-broker, created if missing)',
  VONODE_BROKER_CONTAINER_IMAGES: 'comma-separated image prefixes allowed (default: any valid reference)',
  VONODE_BROKER_GPU_DEVICES:
    'comma-separated host GPU devices (e.g. /dev/nvidia0) given with --device to containers granted GPUs',
  VONODE_BROKER_HIDE:
    "comma-separated host folders a local pipeline never sees, besides the node's data folder (e.g. an external database's)",
  VONODE_BROKER_CORES: 'cores offered in total (default: this machine)',
  VONODE_BROKER_MEMORY_GIB: 'memory offered in GiB (default: this machine)',
  VONODE_BROKER_GPUS: 'GPUs offered (default 0)',
  VONODE_BROKER_GPU_MODEL: 'their model name',
  VONODE_BROKER_STORAGE_GIB: 'scratch storage per session in GiB (default 10)',
  VONODE_BROKER_SCRATCH_GIB:
    'scratch storage granted to all sessions at once in GiB (default: free space of the data folder at start)',
  VONODE_BROKER_OFFER_SECONDS: 'offer lifetime (default 300)',
  VONODE_BROKER_DEFAULT_DURATION: 'seconds when the request gives none (default 600)',
  VONODE_BROKER_MAX_DURATION: 'longest session in seconds (default 86400)',
  VONODE_BROKER_MAX_ACTIVE_PER_USER: 'unfinished sessions per user (default 8, 0 = no limit)',
  VONODE_BROKER_MAX_ACTIVE_PER_GROUP: 'unfinished sessions per group (default 0 = no limit)',
  VONODE_BROKER_MAX_CORES_PER_USER: 'cores in use per user (default 0 = no limit)',
  VONODE_BROKER_POLL_MS: 'how often sessions are advanced (default 1000)',
  VONODE_BROKER_DRIVER_BATCH:
    'most running sessions polled in one driver pass, least recently checked first (default 1000)',
  VONODE_BROKER_DRIVER_CONCURRENCY:
    'sessions started or polled at the same time by one driver pass (default 8)',
  VONODE_BROKER_RETENTION_SECONDS:
    'finished sessions, offer sets and work folders are removed this long after they end (default 604800 = 7 days; 0 = never)',
  VONODE_BROKER_PEERS: 'site=url pairs, comma separated, asked for offers too',
  VONODE_BROKER_PIPELINES: 'JSON array of pipelines, or a path to a JSON file with one',
} as const;

function int(env: Env, name: keyof typeof BROKER_VARIABLES, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new BrokerError(
      500,
      'uri:configuration',
      `${name}=${raw}: expected an integer >= ${min} (${BROKER_VARIABLES[name]})`,
    );
  }
  return n;
}

export function brokerSettings(env: Env, builtins: readonly PipelineDefinition[]): BrokerSettings {
  const backend = env.VONODE_BROKER_BACKEND ?? 'local';
  if (backend !== 'local' && backend !== 'slurm') {
    throw new BrokerError(
      500,
      'uri:configuration',
      `VONODE_BROKER_BACKEND=${backend}: expected local or slurm`,
    );
  }
  if (backend === 'slurm' && !env.VONODE_SLURM_CONF) {
    // Without SLURM_CONF the Slurm clients look the controller up in DNS: refuse to start.
    throw new BrokerError(
      500,
      'uri:configuration',
      'VONODE_BROKER_BACKEND=slurm needs VONODE_SLURM_CONF (path of slurm.conf)',
    );
  }
  const runtime = env.VONODE_BROKER_CONTAINER_RUNTIME?.trim();
  const container = runtime ? containerPolicy(env, runtime.split(/\s+/)) : undefined;
  return {
    site: env.VONODE_BROKER_SITE || 'local',
    backend,
    slurmConf: env.VONODE_SLURM_CONF || undefined,
    slurmPartition: env.VONODE_SLURM_PARTITION || undefined,
    container,
    localUser: env.VONODE_BROKER_LOCAL_USER?.trim() || 'vonode-broker',
    hide: absoluteList(env, 'VONODE_BROKER_HIDE'),
    capacity: {
      cores: int(env, 'VONODE_BROKER_CORES', availableParallelism(), 1),
      memoryGiB: int(env, 'VONODE_BROKER_MEMORY_GIB', Math.max(1, Math.floor(totalmem() / 2 ** 30)), 1),
      gpus: int(env, 'VONODE_BROKER_GPUS', 0),
      gpuModel: env.VONODE_BROKER_GPU_MODEL || undefined,
      storageGiB: int(env, 'VONODE_BROKER_STORAGE_GIB', 10, 1),
      scratchTotalGiB: env.VONODE_BROKER_SCRATCH_GIB
        ? int(env, 'VONODE_BROKER_SCRATCH_GIB', 0, 1)
        : undefined,
    },
    declared: {
      cores: !!env.VONODE_BROKER_CORES,
      memory: !!env.VONODE_BROKER_MEMORY_GIB,
      gpus: !!env.VONODE_BROKER_GPUS,
    },
    offerSeconds: int(env, 'VONODE_BROKER_OFFER_SECONDS', 300, 1),
    defaultDurationSeconds: int(env, 'VONODE_BROKER_DEFAULT_DURATION', 600, 1),
    maxDurationSeconds: int(env, 'VONODE_BROKER_MAX_DURATION', 86400, 1),
    maxActivePerUser: int(env, 'VONODE_BROKER_MAX_ACTIVE_PER_USER', 8),
    maxActivePerGroup: int(env, 'VONODE_BROKER_MAX_ACTIVE_PER_GROUP', 0),
    maxCoresPerUser: int(env, 'VONODE_BROKER_MAX_CORES_PER_USER', 0),
    pollMs: int(env, 'VONODE_BROKER_POLL_MS', 1000, 10),
    driverBatch: int(env, 'VONODE_BROKER_DRIVER_BATCH', 1000, 1),
    driverConcurrency: int(env, 'VONODE_BROKER_DRIVER_CONCURRENCY', 8, 1),
    retentionSeconds: int(env, 'VONODE_BROKER_RETENTION_SECONDS', 604800, 0),
    peers: parsePeers(env.VONODE_BROKER_PEERS),
    peerTimeoutMs: 5000,
    pipelines: [...builtins, ...parsePipelines(env.VONODE_BROKER_PIPELINES)],
    maxRequestBytes: 1024 * 1024,
    maxOutputs: 1000,
  };
}

function containerPolicy(env: Env, runtime: string[]): ContainerPolicy {
  const refuse = (text: string) => new BrokerError(500, 'uri:configuration', text);
  const rtProblem = runtimeProblem(runtime);
  if (rtProblem) throw refuse(rtProblem);
  const network = env.VONODE_BROKER_CONTAINER_NETWORK?.trim() || 'none';
  const netProblem = networkProblem(network);
  if (netProblem) throw refuse(`VONODE_BROKER_CONTAINER_NETWORK: ${netProblem}`);
  const user = env.VONODE_BROKER_CONTAINER_USER?.trim() || '65534:65534';
  const m = /^(\d{1,10}):(\d{1,10})$/.exec(user);
  if (!m) throw refuse(`VONODE_BROKER_CONTAINER_USER=${user}: expected uid:gid, numbers (e.g. 65534:65534)`);
  return {
    runtime,
    network,
    pidsLimit: int(env, 'VONODE_BROKER_CONTAINER_PIDS', 256, 1),
    nofile: int(env, 'VONODE_BROKER_CONTAINER_NOFILE', 1024, 16),
    user: { uid: Number(m[1]), gid: Number(m[2]) },
    gpuDevices: absoluteList(env, 'VONODE_BROKER_GPU_DEVICES'),
    images: (env.VONODE_BROKER_CONTAINER_IMAGES ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean),
  };
}

/** A comma-separated list of absolute paths (no ':' or ',' in them: they reach mount options). */
function absoluteList(env: Env, name: string): string[] {
  const out = (env[name] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  for (const p of out) {
    if (!p.startsWith('/') || /[:\0\n]/.test(p))
      throw new BrokerError(500, 'uri:configuration', `${name}: "${p}" is not an absolute path without ':'`);
  }
  return out;
}

function parsePeers(raw: string | undefined): PeerBroker[] {
  if (!raw?.trim()) return [];
  return raw.split(',').map((pair) => {
    const eq = pair.indexOf('=');
    const site = pair.slice(0, eq).trim();
    const url = pair
      .slice(eq + 1)
      .trim()
      .replace(/\/+$/, '');
    if (eq < 1 || !/^https?:\/\//.test(url)) {
      throw new BrokerError(
        500,
        'uri:configuration',
        `VONODE_BROKER_PEERS entry "${pair}": expected site=http(s)://host/broker`,
      );
    }
    return { site, url };
  });
}

function parsePipelines(raw: string | undefined): PipelineDefinition[] {
  if (!raw?.trim()) return [];
  const text = raw.trim().startsWith('[') ? raw : readFileSync(raw, 'utf8');
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch (err) {
    throw new BrokerError(
      500,
      'uri:configuration',
      `VONODE_BROKER_PIPELINES is not JSON: ${(err as Error).message}`,
    );
  }
  if (!Array.isArray(list))
    throw new BrokerError(500, 'uri:configuration', 'VONODE_BROKER_PIPELINES must be a JSON array');
  return list.map((p, i) => {
    const ok =
      p &&
      typeof p.name === 'string' &&
      Array.isArray(p.command) &&
      p.command.length > 0 &&
      p.command.every((a: unknown) => typeof a === 'string');
    if (!ok)
      throw new BrokerError(
        500,
        'uri:configuration',
        `VONODE_BROKER_PIPELINES[${i}]: needs name (string) and command (array of strings)`,
      );
    return { name: p.name, description: p.description, command: p.command, params: p.params };
  });
}
