import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Backend,
  EXIT_FILE,
  hostEnvironment,
  type WorkSpec,
  type WorkState,
  WRAPPER,
  wrapperScript,
} from './backend.js';

const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => existsSync(p));

/**
 * Runs work as a detached process group on this machine (the default backend). The group
 * outlives a node restart; cancel and timeout kill the whole group. Resource limits go
 * through prlimit when it exists: data segment = the granted memory (not address space: V8 reserves several GiB of it up front), CPU seconds =
 * cores × duration (a process past it gets SIGXCPU), and output file size.
 */
export class LocalBackend implements Backend {
  readonly name = 'local';

  constructor(private readonly maxFileBytes = 10 * 2 ** 30) {}

  async start(work: WorkSpec): Promise<string> {
    const limits = PRLIMIT
      ? [
          PRLIMIT,
          `--data=${Math.max(1, work.memoryGiB) * 2 ** 30}`,
          `--cpu=${Math.max(1, Math.ceil(work.seconds * work.cores))}`,
          `--fsize=${this.maxFileBytes}`,
          '--',
        ]
      : [];
    const script = join(work.workDir, WRAPPER);
    await writeFile(script, wrapperScript(work, limits));
    await chmod(script, 0o755);
    // Not the node's environment (DATABASE_URL, secrets): only its fixed host variables.
    const child = spawn('/bin/sh', [script], {
      cwd: work.workDir,
      detached: true,
      stdio: 'ignore',
      env: hostEnvironment(),
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid as number));
    });
    child.unref();
    return String(pid);
  }

  async poll(ref: string, workDir: string): Promise<WorkState> {
    const code = await readExit(workDir);
    if (code !== undefined) return { state: 'exited', code };
    if (groupAlive(Number(ref))) return { state: 'running' };
    // The group may have ended between the two checks.
    const again = await readExit(workDir);
    if (again !== undefined) return { state: 'exited', code: again };
    return { state: 'lost', reason: `process group ${ref} ended without recording an exit status` };
  }

  async cancel(ref: string): Promise<void> {
    const pgid = Number(ref);
    if (!Number.isInteger(pgid) || pgid <= 1) return;
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function groupAlive(pgid: number): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function readExit(workDir: string): Promise<number | undefined> {
  try {
    const t = (await readFile(join(workDir, EXIT_FILE), 'utf8')).trim();
    return /^\d+$/.test(t) ? Number(t) : undefined;
  } catch {
    return undefined;
  }
}
