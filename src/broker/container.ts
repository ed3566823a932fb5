import { join } from 'node:path';
import { BrokerError } from './errors.js';

/**
 * What a user may put in a container executable, parsed once at the edge (request.ts,
 * srcnet.ts), and the one place the container engine's command line is put together.
 *
 * Isolation model (issue 13, EB-34): every field the user controls reaches the engine as
 * a value, never as an option and never through a shell or the host's environment:
 * - the image must match the OCI reference grammar (registry/name:tag@digest), so it can
 *   never start with '-' or hold whitespace, quotes or shell characters; it also follows `--`;
 * - the environment goes in a file the engine reads itself (`--env-file`), so it is set
 *   inside the container only;
 * - the entrypoint is given as `--entrypoint=<value>` (one argument, never an option);
 * - command arguments come after the image, where the engine passes them to the container;
 * - the run options are the node's: no privileges, no capabilities, no new privileges,
 *   a pids limit, an unprivileged user, the site's network (none by default), and no
 *   mounts but the granted products (read-only) and the session's output folder.
 */

/** An image reference that passed the grammar below; `text` is what the engine gets. */
export interface ImageReference {
  readonly text: string;
  readonly registry?: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

// The distribution reference grammar (the OCI/Docker convention), written as regular expressions:
// name components are lower-case alphanumerics joined by '.', '_', '__' or runs of '-'.
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const HOST_PART = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^${HOST_PART}(?:\\.${HOST_PART})*(?::[0-9]{1,5})?$`);
const PATH = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const MAX_NAME = 255;

/**
 * Parses an OCI image reference, or returns why it is not one. Transports other than
 * `docker://` (oci-archive:, dir:, docker-archive:, containers-storage: …) would read
 * host paths, so they are refused by the grammar itself.
 */
export interface ImageProblem {
  readonly problem: string;
}

export function parseImageReference(raw: string): ImageReference | ImageProblem {
  const bad = (why: string): ImageProblem => ({
    problem: `image "${raw.slice(0, 200)}" is not an OCI image reference (${why}); expected registry/name:tag or registry/name@sha256:<hex>, e.g. docker.io/library/python:3.12`,
  });
  if (raw.length > 512) return bad('longer than 512 characters');
  const s = raw.startsWith('docker://') ? raw.slice('docker://'.length) : raw;
  if (s === '') return bad('empty');
  if (s.startsWith('-')) return bad('it starts with "-", which the engine would read as an option');
  if (/[^\x21-\x7e]/.test(s)) return bad('it holds whitespace or control characters');
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) return bad(`"${digest}" is not a digest such as sha256:<hex>`);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG.test(tag)) return bad(`"${tag}" is not a tag (letters, digits, '_', '.', '-'; at most 128)`);
  }
  if (rest.length > MAX_NAME) return bad(`the name is longer than ${MAX_NAME} characters`);
  const slash = rest.indexOf('/');
  let registry: string | undefined;
  let repository = rest;
  if (slash > 0) {
    const first = rest.slice(0, slash);
    // The first component names a registry when it looks like a host (the usual convention).
    if (
      first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first !== first.toLowerCase()
    ) {
      if (!DOMAIN.test(first)) return bad(`"${first}" is not a registry host[:port]`);
      registry = first;
      repository = rest.slice(slash + 1);
    }
  }
  if (!PATH.test(repository))
    return bad(
      `"${repository}" is not a repository name (lower-case letters, digits and the separators . _ __ - between them, in /-separated parts)`,
    );
  return { text: s, registry, repository, tag, digest };
}

export const isImageProblem = (v: ImageReference | ImageProblem): v is ImageProblem => 'problem' in v;

/** POSIX name; LD_* are refused even inside the container (the loader reads them). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
export const ENV_LIMITS = { count: 256, valueBytes: 32 * 1024 } as const;

/** Why an environment entry cannot be passed, or undefined when it can. */
export function environmentProblem(name: string, value: string): string | undefined {
  if (!ENV_NAME.test(name))
    return `"${name.slice(0, 100)}" is not an environment variable name (letters, digits and '_', not starting with a digit, at most 128)`;
  if (name.toUpperCase().startsWith('LD_'))
    return `${name}: LD_* variables are reserved (the dynamic loader reads them)`;
  if (/[\0\r\n]/.test(value)) return `${name}: values may not hold NUL, CR or LF characters`;
  if (Buffer.byteLength(value) > ENV_LIMITS.valueBytes)
    return `${name}: value longer than ${ENV_LIMITS.valueBytes} bytes`;
  return undefined;
}

/** The engine's env file: one NAME=value a line, read by the engine, never by a shell. */
export function envFileText(environment: Readonly<Record<string, string>>): string {
  return Object.entries(environment)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
}

/** File the container's environment is written to, in the session's work folder (not its output). */
export const ENV_FILE = 'container.env';

/** Data resource names become mount points (/data/<name>): a plain file name only. */
export const DATA_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The node's fixed run options (settings.ts reads them from VONODE_BROKER_CONTAINER_*). */
export interface ContainerPolicy {
  /** argv prefix that runs an image, e.g. ["podman", "run", "--rm"]. */
  readonly runtime: readonly string[];
  /** `none` unless the site allows a network (never `host`). */
  readonly network: string;
  readonly pidsLimit: number;
  readonly nofile: number;
  /** uid:gid the container's processes run as. */
  readonly user: { readonly uid: number; readonly gid: number };
  /** Allowed image prefixes; empty = any valid reference. */
  readonly images: readonly string[];
  /** Host GPU devices (e.g. /dev/nvidia0) a session granted GPUs gets, in order; empty = none. */
  readonly gpuDevices?: readonly string[];
}

/** The name every container of a session runs under: the broker owns it, and stops it by it. */
export const containerName = (sessionUuid: string): string => `vonode-${sessionUuid}`;

/** Whether the engine is podman (it has --timeout, --read-only-tmpfs and `rm --time/--ignore`). */
function isPodman(runtime: readonly string[]): boolean {
  return /(^|\/)podman$/.test(runtime[0] ?? '');
}

/**
 * Seconds past the granted duration after which the engine itself kills a podman container
 * (`--timeout`): the driver stops work at its time limit; this is the backstop for when no
 * driver is running (node stopped, database unreachable).
 */
export const ENGINE_TIMEOUT_GRACE_SECONDS = 30;

/** Headroom over the storage grant for one file (RLIMIT_FSIZE): the watcher ends the job first. */
export const FSIZE_HEADROOM_BYTES = 2 ** 20;

export interface ContainerRun {
  readonly image: ImageReference;
  readonly entrypoint?: string;
  readonly command: readonly string[];
  readonly hasEnvironment: boolean;
  readonly mounts: readonly { readonly source: string; readonly name: string }[];
  readonly workDir: string;
  readonly outputDir: string;
  readonly cores: number;
  readonly memoryGiB: number;
  /** The container's name (containerName(session uuid)). */
  readonly name?: string;
  /** Granted duration in seconds (podman's --timeout backstop). */
  readonly seconds?: number;
  /** Granted scratch storage in bytes: one file may not grow past it (plus FSIZE_HEADROOM_BYTES). */
  readonly storageBytes?: number;
  /** GPUs granted: that many of the policy's gpuDevices are passed with --device. */
  readonly gpus?: number;
}

/**
 * The engine's argv: the site's prefix, the node's fixed options, the mounts, then `--`,
 * the image and the command. Paths come from the node (products' file_path, work folders);
 * names and image were checked at the edge; a path the engine would misread is refused.
 */
export function containerArgv(policy: ContainerPolicy, run: ContainerRun): string[] {
  for (const m of run.mounts) {
    if (!DATA_NAME.test(m.name)) throw unmountable(`data resource name ${m.name} is not a plain name`);
    if (/[:,\0\n]/.test(m.source)) throw unmountable(`a product's file name holds ':' or ','`);
  }
  for (const p of [run.outputDir, run.workDir]) {
    if (/[:,\0\n]/.test(p)) throw unmountable(`the work folder ${p} holds ':' or ','`);
  }
  const gpus = run.gpus ?? 0;
  const devices = policy.gpuDevices ?? [];
  if (gpus > devices.length)
    throw unmountable(`${gpus} GPUs granted but the site lists ${devices.length} GPU devices`);
  const podman = isPodman(policy.runtime);
  const fsize =
    run.storageBytes !== undefined ? Math.ceil(run.storageBytes) + FSIZE_HEADROOM_BYTES : undefined;
  return [
    ...policy.runtime,
    // A name the broker owns: cancel and the time limit remove the container by it (the
    // engine's client may be gone by then; the container itself would run on under conmon).
    ...(run.name ? [`--name=${run.name}`] : []),
    ...(podman && run.seconds ? [`--timeout=${Math.ceil(run.seconds) + ENGINE_TIMEOUT_GRACE_SECONDS}`] : []),
    `--network=${policy.network}`,
    '--cap-drop=all',
    '--security-opt=no-new-privileges',
    `--pids-limit=${policy.pidsLimit}`,
    `--ulimit=nofile=${policy.nofile}:${policy.nofile}`,
    // RLIMIT_NPROC counts every process of the uid, so it is set well above the pids limit.
    `--ulimit=nproc=${policy.pidsLimit * 16}:${policy.pidsLimit * 16}`,
    ...(fsize !== undefined ? [`--ulimit=fsize=${fsize}:${fsize}`] : []),
    `--user=${policy.user.uid}:${policy.user.gid}`,
    // Engine limits (cgroup): cores as a CPU quota (cpu.cfs_quota_us / cpu.max), memory with
    // swap equal to it (no swap beyond the grant).
    `--memory=${Math.max(1, run.memoryGiB)}g`,
    `--memory-swap=${Math.max(1, run.memoryGiB)}g`,
    `--cpus=${Math.max(1, run.cores)}`,
    ...devices.slice(0, gpus).map((d) => `--device=${d}`),
    // Nothing of the image is writable: the work writes to /output (the work folder, watched
    // against the storage grant) and to a small /tmp in memory (counted in --memory).
    '--read-only',
    ...(podman ? ['--read-only-tmpfs=false'] : []),
    `--tmpfs=/tmp:rw,nosuid,nodev,size=${TMP_BYTES},mode=1777`,
    ...(run.hasEnvironment ? [`--env-file=${join(run.workDir, ENV_FILE)}`] : []),
    ...run.mounts.map((m) => `--volume=${m.source}:/data/${m.name}:ro`),
    `--volume=${run.outputDir}:/output`,
    ...(run.entrypoint !== undefined ? [`--entrypoint=${run.entrypoint}`] : []),
    '--',
    run.image.text,
    ...run.command,
  ];
}

/** Size of a container's in-memory /tmp. */
export const TMP_BYTES = 64 * 2 ** 20;

/**
 * The argv that removes a session's container at once (no grace: the work is past its
 * limit or cancelled), whatever state it is in and whether or not it still exists: the
 * site's prefix up to its `run` subcommand, then `rm`.
 */
export function containerStopArgv(runtime: readonly string[], name: string): string[] {
  const run = runtime.indexOf('run');
  const engine = run > 0 ? runtime.slice(0, run) : runtime.slice(0, 1);
  return isPodman(runtime)
    ? [...engine, 'rm', '--force', '--time=0', '--ignore', name]
    : [...engine, 'rm', '--force', name];
}

const unmountable = (why: string) =>
  new BrokerError(422, 'uri:unsupported-executable', `this container cannot be run here: ${why}`);

/** Options a site's runtime prefix may not carry: they would undo the isolation above. */
const FORBIDDEN_PREFIX = [
  /^--privileged/,
  /^--(network|net)\b/,
  /^--(pid|ipc|uts|userns|cgroupns)\b/,
  /^--cap-add/,
  /^(-v|--volume|--mount|--volumes-from|--device|--env|-e)\b/,
  /^--security-opt=?.*(unconfined|label=disable|label:disable)/,
  /^--user\b/,
  // the broker names each container and removes it by that name
  /^--name\b/,
];

/** Why a runtime prefix is unsafe, or undefined. */
export function runtimeProblem(argv: readonly string[]): string | undefined {
  // Each argument alone and joined with the next, for options given as two arguments.
  for (const [i, arg] of argv.entries()) {
    const a = argv[i + 1] === undefined ? arg : `${arg}=${argv[i + 1]}`;
    if (FORBIDDEN_PREFIX.some((r) => r.test(arg) || r.test(a)))
      return `"${arg}" is set by the node itself (network, namespaces, capabilities, mounts, environment, user); remove it from VONODE_BROKER_CONTAINER_RUNTIME`;
  }
  return undefined;
}

/** Network names a site may choose; `host` and other namespaces' networks never. */
export function networkProblem(name: string): string | undefined {
  if (name === 'host' || /^(container|ns):/.test(name) || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name))
    return `network "${name}" is not allowed: use none (default), or a named bridge network (never host)`;
  return undefined;
}

/** Whether the site's image allow-list admits an image. */
export function imageAllowed(policy: ContainerPolicy, image: ImageReference): boolean {
  return policy.images.length === 0 || policy.images.some((p) => image.text.startsWith(p));
}
