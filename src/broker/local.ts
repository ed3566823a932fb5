import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
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
import { type CgroupLayout, createGroup, detectCgroups, removeGroup } from './cgroup.js';
import { tailInside } from './files.js';
import { canIsolate, isolatedCommand } from './isolate.js';

export const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => existsSync(p));

export interface LocalOptions {
  /**
   * Unprivileged user site pipelines run as (issue 13); set when the node runs as root.
   * A container engine starts as the node's user and drops privileges itself.
   */
  readonly runAs?: { readonly uid: number; readonly gid: number };
  /** Folders a command never sees (the node's data folder, the database's, VONODE_BROKER_HIDE). */
  readonly hide?: readonly string[];
  /** Largest file a command may write when the session has no storage grant. */
  readonly maxFileBytes?: number;
  /** Where session control groups go; detected when not given, `null` = none. */
  readonly cgroups?: CgroupLayout | null;
}

/**
 * Runs work as a detached process group on this machine (the default backend). The group
 * outlives a node restart; cancel and timeout kill the whole group, and remove a container
 * by its name. The wrapper starts as the node; for a site pipeline (a command):
 * - cores and memory are a control group's CPU quota and memory limit (cgroup.ts), which the
 *   wrapper joins before anything else runs;
 * - the command runs isolated (isolate.ts): its own mount, PID, IPC and network namespaces,
 *   none of the node's folders, the granted products read-only, as the unprivileged user;
 * - prlimit sets the data segment to the granted memory (when no control group can be made)
 *   and the largest file to the storage grant.
 * A container gets the same limits from its engine (container.ts).
 */
export class LocalBackend implements Backend {
  readonly name = 'local';
  /** How cores are enforced for commands: a control group, or (no cgroups here) CPU seconds. */
  readonly cpuLimit: 'cgroup-v1' | 'cgroup-v2' | 'rlimit-cpu-seconds';
  private readonly cgroups: CgroupLayout | undefined;
  private readonly runAs?: { readonly uid: number; readonly gid: number };
  private readonly hide: readonly string[];
  private readonly maxFileBytes: number;

  constructor(options: LocalOptions = {}) {
    this.runAs = options.runAs;
    this.hide = options.hide ?? [];
    this.maxFileBytes = options.maxFileBytes ?? 10 * 2 ** 30;
    this.cgroups = options.cgroups === null ? undefined : (options.cgroups ?? detectCgroups());
    this.cpuLimit = this.cgroups ? `cgroup-v${this.cgroups.version}` : 'rlimit-cpu-seconds';
  }

  async start(work: WorkSpec): Promise<string> {
    const command = work.kind === 'command';
    const memoryBytes = Math.max(1, work.memoryGiB) * 2 ** 30;
    const join_: string[] = [];
    if (command && this.cgroups) {
      for (const procs of createGroup(this.cgroups, work.uuid, work.cores, memoryBytes))
        join_.push(`echo $$ >${shQuote(procs)} || exit 1`);
    }
    const fsize =
      work.scratchBytes !== undefined ? Math.ceil(work.scratchBytes) + 2 ** 20 : this.maxFileBytes;
    const limits =
      command && PRLIMIT
        ? [
            PRLIMIT,
            // Without a control group: the data segment (not address space: V8 reserves
            // several GiB of it up front) and CPU seconds = cores × duration.
            ...(this.cgroups
              ? []
              : [`--data=${memoryBytes}`, `--cpu=${Math.max(1, Math.ceil(work.seconds * work.cores))}`]),
            `--fsize=${fsize}`,
            '--',
          ]
        : [];
    const user = command ? this.runAs : undefined;
    const isolated = user && canIsolate();
    const iso = { hide: this.hide, readable: work.readable ?? [], workDir: work.workDir };
    const prefix = isolated && user ? await isolatedCommand({ ...iso, user }, limits) : limits;
    const script = join(work.workDir, WRAPPER);
    await writeFile(script, wrapperScript(work, prefix, join_));
    await chmod(script, 0o755);
    if (user && !isolated) {
      // Not isolated (no util-linux): the wrapper itself runs as the user, in a folder it owns.
      await chown(work.workDir, user.uid, user.gid);
      await chown(join(work.workDir, OUTPUT_DIR), user.uid, user.gid);
    }
    // Not the node's environment (DATABASE_URL, secrets): only its fixed host variables. An
    // isolated command's wrapper starts as the node (it makes the namespaces, then drops to
    // the user); without isolation it starts as the user.
    const child = spawn('/bin/sh', [script], {
      cwd: work.workDir,
      detached: true,
      stdio: 'ignore',
      env: user && !isolated ? { ...withoutUser(hostEnvironment()), HOME: work.workDir } : hostEnvironment(),
      ...(user && !isolated ? { uid: user.uid, gid: user.gid } : {}),
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
    if (code !== undefined) return this.ended(workDir, { state: 'exited', code });
    if (groupAlive(Number(ref))) return { state: 'running' };
    // The group may have ended between the two checks.
    const again = await readExit(workDir);
    if (again !== undefined) return this.ended(workDir, { state: 'exited', code: again });
    return this.ended(workDir, {
      state: 'lost',
      reason: `process group ${ref} ended without recording an exit status`,
    });
  }

  private ended(workDir: string, w: WorkState): WorkState {
    if (this.cgroups) removeGroup(this.cgroups, basename(workDir));
    return w;
  }

  async cancel(ref: string, workDir: string, stopArgv?: readonly string[]): Promise<void> {
    const pgid = Number(ref);
    if (Number.isInteger(pgid) && pgid > 1) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    // The engine's client is gone now, but not its container (conmon keeps it): remove it by name.
    if (stopArgv?.length) await runStop(stopArgv);
    if (this.cgroups) {
      const layout = this.cgroups;
      // SIGKILLed processes leave the group within moments; the group is removed then.
      setTimeout(() => removeGroup(layout, basename(workDir)), 2000).unref();
    }
  }
}

const shQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Runs a container's stop argv (containerStopArgv) with the node's fixed host variables only. */
export function runStop(argv: readonly string[], timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { env: hostEnvironment(), timeout: timeoutMs }, (err, _o, stderr) => {
      if (err) reject(new Error(`${argv.slice(0, 3).join(' ')} … failed: ${(stderr || err.message).trim()}`));
      else resolve();
    });
  });
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
