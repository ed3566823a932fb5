/** What a session's work is to a backend: a command in a folder, with limits. */
export interface WorkSpec {
  readonly uuid: string;
  readonly workDir: string;
  /** Values only: the wrapper quotes every one (the container's environment is in its env file). */
  readonly argv: readonly string[];
  /**
   * `container`: argv runs an engine, which must start as the node's user (it drops to the
   * container's unprivileged user itself); `command`: a site pipeline, run unprivileged.
   */
  readonly kind: 'container' | 'command';
  readonly cores: number;
  readonly memoryGiB: number;
  readonly seconds: number;
  /** GPUs granted (Slurm: --gres=gpu:N; a container gets its devices on its command line). */
  readonly gpus?: number;
  /** Scratch storage granted, in bytes (the work folder is watched against it; one file may not pass it). */
  readonly scratchBytes?: number;
  /** For a container: the argv that removes it by its name (containerStopArgv); run on cancel and time limit. */
  readonly stopArgv?: readonly string[];
  /** Host paths of the products granted to the session: the only data a command may see (read-only). */
  readonly readable?: readonly string[];
}

export type WorkState =
  | { readonly state: 'running' }
  /** Handed to the backend but waiting for resources (a PENDING Slurm job): the session is WAITING. */
  | { readonly state: 'queued' }
  | { readonly state: 'exited'; readonly code: number }
  | { readonly state: 'lost'; readonly reason: string };

/**
 * One interface for every place work can run. `start` returns a handle stored with the
 * session, so that any node's driver (after a restart, or another process on the same
 * database) can poll or cancel the work.
 */
export interface Backend {
  readonly name: string;
  start(work: WorkSpec): Promise<string>;
  poll(ref: string, workDir: string): Promise<WorkState>;
  /** Stops the work; `stopArgv` (a container's) removes the container itself, not only its client. */
  cancel(ref: string, workDir: string, stopArgv?: readonly string[]): Promise<void>;
}

/** Files the wrapper writes in the work folder. */
export const EXIT_FILE = 'exit_code';
export const STDOUT_FILE = 'stdout.log';
export const STDERR_FILE = 'stderr.log';
export const OUTPUT_DIR = 'output';
export const WRAPPER = 'run.sh';

const shQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * The node's own variables the work may see (to find programs and, for a rootless engine,
 * its storage); everything else of the node's environment (DATABASE_URL, VONODE_*, tokens)
 * and anything a user sent stays out of the host side of the work (issue 13).
 */
const HOST_VARIABLES = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'TZ', 'TMPDIR', 'XDG_RUNTIME_DIR'];
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The environment the work's host-side process starts with. */
export function hostEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = { PATH: DEFAULT_PATH };
  for (const k of HOST_VARIABLES) {
    const v = env[k];
    if (v !== undefined && v !== '' && !/[\0\n]/.test(v)) out[k] = v;
  }
  return out;
}

/**
 * A POSIX shell wrapper that runs the work and then records its exit status atomically
 * (write + rename), which is how a restarted node learns the outcome of work that outlived it.
 * It sets the node's fixed host variables itself (Slurm starts it with --export=NONE) and
 * every argument is single-quoted: the shell interprets nothing a user sent.
 */
export function wrapperScript(
  work: WorkSpec,
  prefix: readonly string[] = [],
  before: readonly string[] = [],
): string {
  const env = Object.entries(hostEnvironment())
    .map(([k, v]) => `${k}=${shQuote(v)}; export ${k}\n`)
    .join('');
  const run = `${[...prefix, ...work.argv].map(shQuote).join(' ')} >${STDOUT_FILE} 2>${STDERR_FILE} </dev/null`;
  // A container's engine client runs in the background so that a signal to the wrapper
  // (scancel's SIGTERM, Slurm's time limit, a hang-up) interrupts `wait` at once and the
  // trap removes the container itself: killing only the client would leave it running.
  const body = work.stopArgv
    ? `stop_container() { ${work.stopArgv.map(shQuote).join(' ')} >/dev/null 2>&1; }
trap 'stop_container; exit 143' TERM INT HUP
${run} &
wait $!
code=$?`
    : `${run}
code=$?`;
  return `#!/bin/sh
${env}${before.map((l) => `${l}\n`).join('')}cd ${shQuote(work.workDir)} || exit 1
${body}
echo "$code" >${EXIT_FILE}.tmp && mv ${EXIT_FILE}.tmp ${EXIT_FILE}
exit "$code"
`;
}
