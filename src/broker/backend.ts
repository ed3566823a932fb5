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
  cancel(ref: string, workDir: string): Promise<void>;
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
export function wrapperScript(work: WorkSpec, prefix: readonly string[] = []): string {
  const env = Object.entries(hostEnvironment())
    .map(([k, v]) => `${k}=${shQuote(v)}; export ${k}\n`)
    .join('');
  return `#!/bin/sh
${env}cd ${shQuote(work.workDir)} || exit 1
${[...prefix, ...work.argv].map(shQuote).join(' ')} >${STDOUT_FILE} 2>${STDERR_FILE} </dev/null
code=$?
echo "$code" >${EXIT_FILE}.tmp && mv ${EXIT_FILE}.tmp ${EXIT_FILE}
exit "$code"
`;
}
