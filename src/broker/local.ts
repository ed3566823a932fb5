import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Backend,
  EXIT_FILE,
  hostEnvironment,
  OUTPUT_DIR,
  type WorkSpec,
  type WorkState,
  WRAPPER,
  wrapperScript,
} from './backend.js';
import { tailInside } from './files.js';

const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => existsSync(p));

/**
 * Runs work as a detached process group on this machine (the default backend). The group
 * outlives a node restart; cancel and timeout kill the whole group. Resource limits go
 * through prlimit when it exists: data segment = the granted memory (not address space: V8 reserves several GiB of it up front), CPU seconds =
 * cores × duration (a process past it gets SIGXCPU), and output file size.
 */
export class LocalBackend implements Backend {
  readonly name = 'local';

  constructor(
    /**
     * Unprivileged user site pipelines run as (issue 13); set when the node runs as root.
     * A container engine starts as the node's user and drops privileges itself.
     */
    private readonly runAs?: { readonly uid: number; readonly gid: number },
    private readonly maxFileBytes = 10 * 2 ** 30,
  ) {}

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
    const user = work.kind === 'command' ? this.runAs : undefined;
    if (user) {
      // The work folder becomes the user's (it writes its logs, exit status and output there);
      // nothing else on the host is, and downloads from it follow no links (files.ts).
      await chown(work.workDir, user.uid, user.gid);
      await chown(join(work.workDir, OUTPUT_DIR), user.uid, user.gid);
    }
    // Not the node's environment (DATABASE_URL, secrets): only its fixed host variables.
    const child = spawn('/bin/sh', [script], {
      cwd: work.workDir,
      detached: true,
      stdio: 'ignore',
      env: user ? { ...withoutUser(hostEnvironment()), HOME: work.workDir } : hostEnvironment(),
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
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

function withoutUser(env: Record<string, string>): Record<string, string> {
  const { USER: _u, LOGNAME: _l, XDG_RUNTIME_DIR: _x, ...rest } = env;
  return rest;
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

/** The exit status the wrapper recorded; read without following links (the work may own the folder). */
export async function readExit(workDir: string): Promise<number | undefined> {
  const t = (await tailInside(workDir, [EXIT_FILE], 32)).trim();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}
