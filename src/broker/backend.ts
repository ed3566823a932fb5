/** What a session's work is to a backend: a command in a folder, with limits. */
export interface WorkSpec {
  readonly uuid: string;
  readonly workDir: string;
  readonly argv: readonly string[];
  readonly environment: Record<string, string>;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly seconds: number;
}

export type WorkState =
  | { readonly state: 'running' }
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
 * A POSIX shell wrapper that runs the work and then records its exit status atomically
 * (write + rename), which is how a restarted node learns the outcome of work that outlived it.
 */
export function wrapperScript(work: WorkSpec, prefix: readonly string[] = []): string {
  const env = Object.entries(work.environment)
    .filter(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
    .map(([k, v]) => `export ${k}=${shQuote(v)}\n`)
    .join('');
  return `#!/bin/sh
cd ${shQuote(work.workDir)} || exit 1
${env}${[...prefix, ...work.argv].map(shQuote).join(' ')} >${STDOUT_FILE} 2>${STDERR_FILE} </dev/null
code=$?
echo "$code" >${EXIT_FILE}.tmp && mv ${EXIT_FILE}.tmp ${EXIT_FILE}
exit "$code"
`;
}
