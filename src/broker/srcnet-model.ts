import type { ExecutionRequest, Message } from './model.js';
import { TYPES } from './request.js';
import type { StoredSession } from './store.js';

/**
 * The SRCNet compute API prototype's documents (ska-src-compute-api, models/input.py and
 * models/response.py; codes from its README "Return codes") and their mapping onto the
 * broker's own request and phases (EB-100..104). Prototype only: the codes are not a standard.
 */

type Obj = Record<string, unknown>;

/** One entry of FastAPI's 422 answer (`{"detail": [...]}`), the prototype's form for bad input. */
export interface InputProblem {
  readonly loc: (string | number)[];
  readonly msg: string;
  readonly type: string;
}

export class InputError extends Error {
  constructor(readonly detail: InputProblem[]) {
    super(detail.map((d) => `${d.loc.slice(1).join('.')}: ${d.msg}`).join('; '));
  }
}

/** Bytes in the prototype's unit (GB, models/input.py: "in GB") and in the broker's (GiB, EB-40). */
const GB = 1e9;
const GIB = 2 ** 30;
/** GB → GiB, rounded up so the grant is never below what was asked for. */
export const gbToGiB = (gb: number): number => Math.ceil((gb * GB) / GIB);

export interface QueryInput {
  readonly dataLocation?: string;
  /** GB of input, read where it lies: decides the site (placement), not scratch. */
  readonly dataSize: number;
  readonly outputDataSize: number;
  readonly memoryGB: number;
  readonly cpuCores: number;
  readonly runtimeHours: number;
  readonly gpuModel?: string;
  readonly deadline?: number;
}

/**
 * QueryInput. Every field of the prototype is read; a wrong type is a 422 as FastAPI gives it.
 * Missing numbers take the smallest useful value (the prototype requires them; a lenient
 * reader keeps older vonode clients working), `gpu_model` "none" or absent means no GPU.
 */
export function readQueryInput(body: unknown): QueryInput {
  const q = (body && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Obj;
  const problems: InputProblem[] = [];
  if (!body || typeof body !== 'object' || Array.isArray(body))
    problems.push({ loc: ['body'], msg: 'Input should be a JSON object (QueryInput)', type: 'model_type' });
  const int = (k: string, min: number): number => {
    const v = q[k];
    if (v === undefined || v === null) return min;
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      problems.push({ loc: ['body', k], msg: 'Input should be a non-negative integer', type: 'int_parsing' });
      return min;
    }
    return n;
  };
  const str = (k: string): string | undefined => {
    const v = q[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      problems.push({ loc: ['body', k], msg: 'Input should be a valid string', type: 'string_type' });
      return undefined;
    }
    return v;
  };
  const runtimeHours = Math.max(1, int('runtime', 1));
  const gpu = str('gpu_model');
  const deadlineText = str('deadline');
  let deadline: number | undefined;
  if (deadlineText !== undefined) {
    deadline = Date.parse(deadlineText);
    if (Number.isNaN(deadline)) {
      problems.push({
        loc: ['body', 'deadline'],
        msg: `Input should be a valid datetime (ISO 8601), not "${deadlineText.slice(0, 64)}"`,
        type: 'datetime_parsing',
      });
      deadline = undefined;
    }
  }
  const out: QueryInput = {
    dataLocation: str('data_location'),
    dataSize: int('data_size', 0),
    outputDataSize: int('output_data_size', 0),
    memoryGB: Math.max(1, int('memory', 1)),
    cpuCores: Math.max(1, int('cpu_cores', 1)),
    runtimeHours,
    gpuModel: gpu && gpu !== 'none' ? gpu : undefined,
    deadline,
  };
  if (problems.length) throw new InputError(problems);
  return out;
}

/**
 * The broker request a QueryInput stands for: memory and output in GiB (GB converted,
 * rounded up), runtime as the duration, latest start = deadline − runtime (EB-102). The
 * input `data_size` is not scratch: the data is read where it lies (the site `data_location`
 * names), so it only decides where the work goes.
 */
export function queryToRequest(q: QueryInput): ExecutionRequest {
  return {
    executable: {
      kind: 'deferred',
      type: TYPES.pipeline.replace('pipeline-1.0', 'deferred-1.0'),
      name: 'srcnet-job',
    },
    compute: {
      type: TYPES.compute,
      name: 'compute',
      cores: { min: q.cpuCores, max: q.cpuCores },
      memory: { min: gbToGiB(q.memoryGB), max: gbToGiB(q.memoryGB) },
      gpus: { min: q.gpuModel ? 1 : 0, max: q.gpuModel ? 1 : 0 },
      gpuModel: q.gpuModel,
    },
    storage: {
      type: TYPES.storage,
      name: 'output',
      size: { min: gbToGiB(q.outputDataSize), max: gbToGiB(q.outputDataSize) },
    },
    data: [],
    schedule: {
      latest: q.deadline === undefined ? undefined : q.deadline - q.runtimeHours * 3600_000,
      durationSeconds: q.runtimeHours * 3600,
    },
  };
}

/**
 * README "/query and /provision": 0 available, 1 "(XYZ) not available" (the site does not
 * have it at all), 2 "(XYZ) not bookable" (it has it, not now or not before the deadline).
 */
export function queryAnswer(q: QueryInput, messages: readonly Message[]): { code: number; text: string } {
  const missing: string[] = [];
  const busy: string[] = [];
  for (const m of messages) {
    if (m.level !== 'ERROR') continue;
    const path = m.values?.path ?? '';
    if (m.type === 'uri:insufficient-resources') {
      if (path.startsWith('compute.cores')) missing.push(`${q.cpuCores} CPU cores`);
      else if (path.startsWith('compute.memory')) missing.push(`${q.memoryGB} GB memory`);
      else if (path.startsWith('compute.gpu')) missing.push(`${q.gpuModel ?? 'a'} GPU`);
      else if (path.startsWith('storage')) missing.push(`${q.outputDataSize} GB output storage`);
      else if (path.startsWith('schedule')) missing.push(`${q.runtimeHours} h runtime`);
      else missing.push(m.message);
    } else busy.push(m.message);
  }
  const uniq = (l: string[]) => [...new Set(l)].join(', ');
  if (missing.length) return { code: 1, text: `${uniq(missing)} not available` };
  if (busy.length) return { code: 2, text: `${uniq(busy)}: not bookable` };
  return { code: 0, text: 'OK' };
}

/** A JobInput: the container (an image, or a pipeline this site registers), the data set, options. */
export interface JobInput {
  readonly container: string;
  readonly dataset?: string;
  readonly params: Record<string, string>;
  readonly contactEmail?: string;
}

export function readJobInput(body: unknown): JobInput {
  const j = (body && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Obj;
  const problems: InputProblem[] = [];
  if (typeof j.container !== 'string' || j.container === '')
    problems.push({
      loc: ['body', 'container'],
      msg: 'Field required: an image, or the name of a pipeline registered at this site',
      type: 'missing',
    });
  if (j.dataset !== undefined && j.dataset !== null && typeof j.dataset !== 'string')
    problems.push({ loc: ['body', 'dataset'], msg: 'Input should be a valid string', type: 'string_type' });
  const params: Record<string, string> = {};
  if (j.params !== undefined && j.params !== null) {
    if (typeof j.params !== 'object' || Array.isArray(j.params))
      problems.push({
        loc: ['body', 'params'],
        msg: 'Input should be a valid dictionary',
        type: 'dict_type',
      });
    else
      for (const [k, v] of Object.entries(j.params as Obj)) {
        const text =
          typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
        if (text === null || text.includes('\0') || k.includes('\0'))
          problems.push({
            loc: ['body', 'params', k.slice(0, 64)],
            msg: 'a value must be a string, number or boolean without NUL characters',
            type: 'value_error',
          });
        else params[k] = text;
      }
  }
  if (problems.length) throw new InputError(problems);
  return {
    container: j.container as string,
    dataset: typeof j.dataset === 'string' && j.dataset ? j.dataset : undefined,
    params,
    contactEmail: typeof j.contact_email === 'string' ? j.contact_email : undefined,
  };
}

/** Failure types that are the system's fault (README status code 6), not the job's (5). */
const SYSTEM_FAILURES = new Set([
  'uri:backend-failed',
  'uri:work-lost',
  'uri:internal-error',
  'uri:staging-failed',
  'uri:data-not-local',
]);

/**
 * README "job status": 0 done, 1 running, 2 "Invalid job: ...", 5 "Execution error: ...",
 * 6 "System error: ...". A cancelled, expired or never-used provision has no job to report.
 */
export function statusAnswer(s: StoredSession): { code: number; text: string } {
  const last = [...s.messages].reverse().find((m) => m.level === 'ERROR');
  switch (s.phase) {
    case 'COMPLETED':
      return { code: 0, text: 'OK' };
    case 'FAILED':
      if (last && SYSTEM_FAILURES.has(last.type)) return { code: 6, text: `System error: ${last.message}` };
      return {
        code: 5,
        text: `Execution error: ${last?.message ?? `the job exited with status ${s.exitCode}`}`,
      };
    case 'OFFERED':
      return { code: 2, text: 'Invalid job: no job was submitted to this provision' };
    case 'EXPIRED':
      return { code: 2, text: 'Invalid job: the provision expired before a job was submitted' };
    case 'REJECTED':
      return { code: 2, text: 'Invalid job: the provision was released' };
    case 'CANCELLED':
      return { code: 2, text: 'Invalid job: the job was cancelled' };
    default:
      return { code: 1, text: 'Running...' };
  }
}

/** Provision ids as the prototype writes them, `<site>-<id>.prov` (crud.py), with the offer's UUID as id. */
export const provisionId = (site: string, uuid: string): string => `${site}-${uuid}.prov`;
export const jobId = (site: string, uuid: string): string => `${site}-${uuid}.job`;

/** Site and session UUID of a provision id (or of the bare UUID older vonode clients send). */
export function parseProvisionId(id: string): { site?: string; uuid: string } | undefined {
  const bare = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  if (bare.test(id)) return { uuid: id.toLowerCase() };
  const m = /^(.+)-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(?:prov|job)$/i.exec(id);
  return m ? { site: m[1], uuid: m[2].toLowerCase() } : undefined;
}
