import {
  DATA_NAME,
  ENV_LIMITS,
  environmentProblem,
  isImageProblem,
  parseImageReference,
} from './container.js';
import {
  type DataResource,
  type Executable,
  type ExecutionRequest,
  type Message,
  message,
  type Range,
} from './model.js';
import { readNotebookExecutable } from './notebook.js';

/**
 * Tolerant reader of execution requests (EB-20..23, EB-40..50): V25 `type`/`name` and V26
 * `kind`/`meta`, the 2025-04 nested `requested` ranges, compute as object or one-element
 * list, type URIs matched on their last segment (EB-85..88). Every problem becomes a
 * message with `values.path` pointing into the request (EB-61); any message ⇒ NO.
 */
export const TYPE_BASE = 'https://www.purl.org/ivoa.net/EB/schema/v1.0/types';
/** Site extension types (EB-41 GPU; registered pipelines): not IVOA URIs, so named under this node. */
export const VONODE_TYPES = 'urn:vonode:broker:types';

export const TYPES = {
  pipeline: `${VONODE_TYPES}:executable:pipeline-1.0`,
  docker: `${TYPE_BASE}/executable/docker-container-1.0`,
  notebook: `${TYPE_BASE}/executable/jupyter-notebook-1.0`,
  compute: `${TYPE_BASE}/compute/simple-compute-resource-1.0`,
  gpuCompute: `${VONODE_TYPES}:compute:gpu-compute-resource-1.0`,
  storage: `${TYPE_BASE}/storage/simple-storage-resource-1.0`,
  ivoaData: `${TYPE_BASE}/data/ivoa-data-resource-1.0`,
  simpleData: `${TYPE_BASE}/data/simple-data-resource-1.0`,
  rucioData: `${TYPE_BASE}/data/rucio-data-resource-1.0`,
  offerset: `${TYPE_BASE}/offerset/execution-offerset-1.0`,
  session: `${TYPE_BASE}/session/scheduled-execution-session-1.0`,
} as const;

/** Last segment of a type URI, lower-cased, without a trailing version (docker-container). */
export function typeSuffix(uri: string): string {
  const last = uri.split(/[/:#]/).filter(Boolean).pop() ?? '';
  // Early schema URIs end in the schema file's name (…/simple-compute-1.0.yaml) and drop
  // "-resource": both spellings name the same type.
  const bare = last
    .toLowerCase()
    .replace(/\.(yaml|yml|json)$/, '')
    .replace(/-\d+(\.\d+)*$/, '');
  return bare === 'simple-compute' || bare === 'simple-storage' ? `${bare}-resource` : bare;
}

export interface ReadResult {
  readonly request?: ExecutionRequest;
  readonly messages: Message[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface ReadLimits {
  readonly maxDataResources: number;
}

export function readRequest(body: unknown, limits: ReadLimits = { maxDataResources: 100 }): ReadResult {
  const messages: Message[] = [];
  const fail = (path: string, type: string, text: string) => {
    messages.push(message('ERROR', type, text, { path }));
  };
  if (!isObj(body)) {
    fail('', 'uri:invalid-data', 'the request must be a JSON or YAML mapping with at least an "executable"');
    return { messages };
  }
  const typeOf = (o: Obj): string | undefined =>
    typeof o.kind === 'string' ? o.kind : typeof o.type === 'string' ? o.type : undefined;
  const nameOf = (o: Obj, fallback: string): string => {
    const meta = isObj(o.meta) ? o.meta : {};
    return typeof meta.name === 'string' ? meta.name : typeof o.name === 'string' ? o.name : fallback;
  };

  // ---- executable (EB-30..32 + site pipelines)
  let executable: Executable | undefined;
  const ex = body.executable;
  if (!isObj(ex)) fail('executable', 'uri:missing-required-value', 'the request has no "executable"');
  else {
    const type = typeOf(ex);
    const name = nameOf(ex, 'executable');
    const suffix = type ? typeSuffix(type) : '';
    if (!type)
      fail('executable.kind', 'uri:missing-required-value', 'the executable has no "kind" (or "type") URI');
    else if (suffix === 'pipeline') {
      if (typeof ex.pipeline !== 'string' || ex.pipeline === '') {
        fail(
          'executable.pipeline',
          'uri:missing-required-value',
          'a pipeline executable needs "pipeline": the name of a pipeline registered by this site',
        );
      } else
        executable = {
          kind: 'pipeline',
          type,
          name,
          pipeline: ex.pipeline,
          params: stringMap(ex.params, 'executable.params', fail),
        };
    } else if (
      suffix === 'docker-container' ||
      suffix === 'oci-container' ||
      suffix === 'singularity-container'
    ) {
      const image = isObj(ex.image)
        ? Array.isArray(ex.image.locations) && typeof ex.image.locations[0] === 'string'
          ? ex.image.locations[0]
          : undefined
        : typeof ex.image === 'string'
          ? ex.image
          : typeof ex.location === 'string'
            ? ex.location
            : undefined;
      if (!image)
        fail(
          'executable.image.locations',
          'uri:missing-required-value',
          'a container executable needs image.locations[0] (registry/name:tag)',
        );
      else if (ex.privileged === true)
        fail(
          'executable.privileged',
          'uri:forbidden',
          'privileged containers are never run by this node (EB-34)',
        );
      else {
        // Issue 13: every field reaches the engine as a value; each is checked here, once.
        const ref = parseImageReference(image);
        if (isImageProblem(ref)) fail('executable.image.locations', 'uri:invalid-data', ref.problem);
        const command = argList(ex.command, 'executable.command', fail);
        const entrypoint =
          ex.entrypoint === undefined
            ? undefined
            : argList([ex.entrypoint], 'executable.entrypoint', fail)[0];
        const environment = stringMap(ex.environment, 'executable.environment', fail);
        const envNames = Object.keys(environment);
        if (envNames.length > ENV_LIMITS.count)
          fail(
            'executable.environment',
            'uri:invalid-data',
            `at most ${ENV_LIMITS.count} environment variables`,
          );
        for (const k of envNames) {
          const problem = environmentProblem(k, environment[k]);
          if (problem) fail(`executable.environment.${k.slice(0, 100)}`, 'uri:invalid-data', problem);
        }
        if (!isImageProblem(ref))
          executable = { kind: 'container', type, name, image: ref, entrypoint, command, environment };
      }
    } else if (suffix === 'jupyter-notebook') {
      executable = readNotebookExecutable(ex, type, name, fail);
    } else fail('executable.kind', 'uri:unknown-type', `unknown executable type ${type} (EB-23)`);
  }

  // ---- compute (EB-40, EB-41)
  let compute = body.compute;
  if (Array.isArray(compute)) {
    if (compute.length > 1)
      fail('compute', 'uri:invalid-data', 'this node runs one compute resource per session; send one');
    compute = compute[0];
  }
  const c: Obj = isObj(compute) ? compute : {};
  const cType = typeOf(c) ?? TYPES.compute;
  const cSuffix = typeSuffix(cType);
  if (compute !== undefined && cSuffix !== 'simple-compute-resource' && cSuffix !== 'gpu-compute-resource') {
    fail('compute.kind', 'uri:unknown-type', `unknown compute resource type ${cType} (EB-23)`);
  }
  const cores = range(c.cores, 'compute.cores', 1, fail);
  const memory = range(c.memory, 'compute.memory', 1, fail);
  const gpus = range(c.gpus, 'compute.gpus', 0, fail);
  const gpuModel =
    typeof c.gpu_model === 'string' ? c.gpu_model : typeof c.gpuModel === 'string' ? c.gpuModel : undefined;

  // ---- storage (EB-42): the sum of the scratch sizes asked for.
  const storageList = Array.isArray(body.storage)
    ? body.storage
    : body.storage === undefined
      ? []
      : [body.storage];
  let storageMin = 0;
  let storageMax = 0;
  storageList.forEach((s, i) => {
    if (!isObj(s)) {
      fail(`storage[${i}]`, 'uri:invalid-data', 'a storage resource must be a mapping');
      return;
    }
    const t = typeOf(s);
    if (t && typeSuffix(t) !== 'simple-storage-resource')
      fail(`storage[${i}].kind`, 'uri:unknown-type', `unknown storage type ${t} (EB-23)`);
    const r = range(s.size, `storage[${i}].size`, 0, fail);
    storageMin += r.min;
    storageMax += r.max;
  });

  // ---- data (EB-44, EB-45)
  const dataList = Array.isArray(body.data) ? body.data : body.data === undefined ? [] : [body.data];
  if (dataList.length > limits.maxDataResources) {
    fail('data', 'uri:invalid-data', `at most ${limits.maxDataResources} data resources per request`);
  }
  const data: DataResource[] = [];
  const names = new Set<string>();
  dataList.slice(0, limits.maxDataResources).forEach((d, i) => {
    const path = `data[${i}]`;
    if (!isObj(d)) {
      fail(path, 'uri:invalid-data', 'a data resource must be a mapping');
      return;
    }
    const t = typeOf(d);
    const name = nameOf(d, `data-${i + 1}`);
    // A container sees the product at /data/<name>: a plain file name only, never mount options.
    // A notebook sees it at data/<name> next to the notebook: the same rule.
    if ((executable?.kind === 'container' || executable?.kind === 'notebook') && !DATA_NAME.test(name))
      fail(
        `${path}.meta.name`,
        'uri:invalid-data',
        `data resource name "${name.slice(0, 100)}" must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (it names ${executable?.kind === 'notebook' ? "the notebook's data/<name>" : "the container's mount /data/<name>"})`,
      );
    if (names.has(name))
      fail(`${path}.name`, 'uri:duplicate-resource', `two data resources are named ${name}`);
    names.add(name);
    const suffix = t ? typeSuffix(t) : '';
    const ids: string[] = [];
    const ivoa = isObj(d.ivoa) ? d.ivoa : {};
    const obscore = isObj(ivoa.obscore) ? ivoa.obscore : {};
    const datalink = isObj(ivoa.datalink) ? ivoa.datalink : {};
    for (const v of [
      obscore.obs_publisher_did,
      datalink.ID,
      datalink.id,
      ivoa.ivoid,
      obscore.obs_creator_did,
      obscore.obs_id,
      d.id,
      d.ID,
    ]) {
      if (typeof v === 'string' && v) ids.push(v);
    }
    if (suffix === 'skao-data-resource' && isObj(d.skao)) {
      if (typeof d.skao.objectname === 'string') ids.push(d.skao.objectname);
    } else if (suffix === 'simple-data-resource' && typeof d.location === 'string') {
      // A URL (a DataLink #this of this node or another, any http(s) download): staged when not here.
      ids.push(d.location);
    } else if (suffix === 'rucio-data-resource') {
      // EB-44: rucio {endpoint, scope, object} (2025-04: flat scope/domain, object); the DID is scope:object.
      const r = isObj(d.rucio) ? d.rucio : d;
      const scope =
        typeof r.scope === 'string' ? r.scope : typeof r.domain === 'string' ? r.domain : undefined;
      if (scope && typeof r.object === 'string') ids.push(`${scope}:${r.object}`);
    } else if (!t)
      fail(`${path}.kind`, 'uri:missing-required-value', 'a data resource needs a "kind" (or "type") URI');
    else if (
      suffix !== 'ivoa-data-resource' &&
      suffix !== 'skao-data-resource' &&
      suffix !== 'simple-data-resource' &&
      suffix !== 'rucio-data-resource'
    ) {
      fail(
        `${path}.kind`,
        'uri:unknown-type',
        `data resource type ${t} is not served by this node (EB-23); use ivoa-data-resource with an ObsCore obs_publisher_did`,
      );
    }
    if (t && ids.length === 0)
      fail(
        path,
        'uri:missing-required-value',
        `data resource ${name} names no product (ivoa.obscore.obs_publisher_did or ivoa.datalink.ID)`,
      );
    const { kind: _k, type: _t, meta: _m, ...spec } = d;
    data.push({ type: t ?? TYPES.ivoaData, name, ids, spec });
  });

  // ---- schedule (EB-50)
  const schedule: { earliest?: number; latest?: number; durationSeconds?: number } = {};
  const sched = isObj(body.schedule) ? body.schedule : {};
  const requested = isObj(sched.requested) ? sched.requested : sched;
  let start = requested.start;
  if (Array.isArray(start)) start = start[0];
  if (typeof start === 'string') {
    const iv = parseInterval(start);
    if (!iv)
      fail(
        'schedule.requested.start',
        'uri:invalid-data',
        `start "${start}" is not an ISO-8601 instant or interval (start/end or start/duration)`,
      );
    else {
      schedule.earliest = iv.start;
      schedule.latest = iv.end;
    }
  }
  if (typeof requested.duration === 'string') {
    const s = parseDuration(requested.duration);
    if (s === undefined || s <= 0)
      fail(
        'schedule.requested.duration',
        'uri:invalid-data',
        `duration "${requested.duration}" is not an ISO-8601 duration such as PT1H`,
      );
    else schedule.durationSeconds = s;
  }

  if (messages.length > 0 || !executable) return { messages };
  return {
    messages,
    request: {
      name: nameOf(body, '') || undefined,
      description: typeof body.description === 'string' ? body.description : undefined,
      executable,
      compute: { type: cType, name: nameOf(c, 'compute'), cores, memory, gpus, gpuModel },
      storage: {
        type: TYPES.storage,
        name: 'scratch',
        size: { min: storageMin, max: Math.max(storageMin, storageMax) },
      },
      data,
      schedule,
    },
  };
}

type Fail = (path: string, type: string, text: string) => void;

const ARG_LIMITS = { count: 1000, bytes: 128 * 1024 } as const;

/** Command arguments: strings or numbers, no NUL (an argv cannot carry one), bounded. */
export function argList(v: unknown, path: string, fail: Fail): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    fail(path, 'uri:invalid-data', `${path} must be a list of strings`);
    return [];
  }
  const out: string[] = [];
  let bytes = 0;
  for (const [i, x] of v.entries()) {
    if (typeof x !== 'string' && typeof x !== 'number') {
      fail(`${path}[${i}]`, 'uri:invalid-data', `${path}[${i}] must be a string or number`);
      continue;
    }
    const s = String(x);
    if (s.includes('\0')) fail(`${path}[${i}]`, 'uri:invalid-data', `${path}[${i}] holds a NUL character`);
    bytes += Buffer.byteLength(s);
    out.push(s);
  }
  if (out.length > ARG_LIMITS.count || bytes > ARG_LIMITS.bytes)
    fail(
      path,
      'uri:invalid-data',
      `${path}: at most ${ARG_LIMITS.count} arguments and ${ARG_LIMITS.bytes} bytes`,
    );
  return out;
}

function stringMap(v: unknown, path: string, fail: Fail): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isObj(v)) {
    fail(path, 'uri:invalid-data', `${path} must be a mapping of names to values`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === 'object' && x !== null)
      fail(`${path}.${k}`, 'uri:invalid-data', `${path}.${k} must be a string or number`);
    else out[k] = String(x);
  }
  return out;
}

/** {min,max}, {requested:{min,max}} (2025-04) or a bare number; min defaults to `floor`, max to min. */
function range(v: unknown, path: string, floor: number, fail: Fail): Range {
  if (v === undefined || v === null) return { min: floor, max: floor };
  let o: unknown = v;
  if (isObj(o) && isObj(o.requested)) o = o.requested;
  if (typeof o === 'number') o = { min: o };
  if (!isObj(o)) {
    fail(path, 'uri:invalid-data', `${path} must be {min, max} or a number`);
    return { min: floor, max: floor };
  }
  const num = (x: unknown, f: number): number | undefined =>
    x === undefined
      ? f
      : typeof x === 'number' && Number.isInteger(x) && x >= 0
        ? x
        : typeof x === 'string' && /^\d+$/.test(x)
          ? Number(x)
          : undefined;
  const min = num(o.min, floor);
  const max = num(o.max, min ?? floor);
  if (min === undefined || max === undefined) {
    fail(path, 'uri:invalid-data', `${path}.min and .max must be non-negative integers`);
    return { min: floor, max: floor };
  }
  if (max < min) {
    fail(path, 'uri:invalid-data', `${path}: max ${max} is below min ${min}`);
    return { min, max: min };
  }
  return { min, max };
}

/** ISO-8601 duration in seconds (EB-54: P1H accepted leniently as PT1H on input). */
export function parseDuration(s: string): number | undefined {
  const m =
    /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T?(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(
      s.trim(),
    );
  if (!m || s.trim() === 'P' || s.trim() === 'PT') return undefined;
  const [, w, d, h, mi, sec] = m.map((x) => (x === undefined ? 0 : Number(x)));
  return w * 604800 + d * 86400 + h * 3600 + mi * 60 + sec;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return `PT${h ? `${h}H` : ''}${m ? `${m}M` : ''}${r || (!h && !m) ? `${r}S` : ''}`;
}

function parseInterval(s: string): { start: number; end?: number } | undefined {
  const [a, b] = s.split('/');
  const start = Date.parse(a);
  if (Number.isNaN(start) || !/^\d{4}-\d\d-\d\dT/.test(a)) return undefined;
  if (b === undefined) return { start, end: start };
  if (b.startsWith('P')) {
    const d = parseDuration(b);
    return d === undefined ? undefined : { start, end: start + d * 1000 };
  }
  const end = Date.parse(b);
  return Number.isNaN(end) || end < start ? undefined : { start, end };
}
