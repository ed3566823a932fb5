import { readFileSync, readlinkSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ConfigError } from '../config/errors.js';

/**
 * What a cluster's postmaster.pid says about who holds the data folder. PostgreSQL writes
 * the file at start and removes it at a clean stop; its first line is the postmaster's pid.
 *
 * - `free`: no file, or a stale one whose process is gone (PostgreSQL itself removes it).
 * - `stale`: the pid now belongs to an unrelated process; PostgreSQL would take that for
 *   a live postmaster and refuse to start, so the file is ours to remove.
 * - `orphan`: a live postmaster of this folder whose parent node is gone (the node was
 *   killed with SIGKILL and the postmaster was re-parented to init).
 * - `owned`: a live postmaster of this folder whose parent is a live Node.js process: another
 *   node runs on this data folder.
 */
export type PostmasterHolder =
  | { readonly kind: 'free' }
  | { readonly kind: 'stale'; readonly pid: number }
  | { readonly kind: 'orphan'; readonly pid: number; readonly parent: number }
  | { readonly kind: 'owned'; readonly pid: number; readonly node: number };

export function postmasterHolder(dataDir: string): PostmasterHolder {
  const pid = lockPid(dataDir);
  if (pid === undefined || !alive(pid)) return { kind: 'free' };
  const args = commandLine(pid);
  // Not Linux (no /proc) or not readable: leave the decision to PostgreSQL.
  if (args === undefined) return { kind: 'free' };
  if (!isPostmasterOf(args, dataDir)) return { kind: 'stale', pid };
  const parent = parentPid(pid);
  if (parent !== undefined && parent > 0 && alive(parent) && isNodeProcess(parent)) {
    return { kind: 'owned', pid, node: parent };
  }
  return { kind: 'orphan', pid, parent: parent ?? 0 };
}

export interface ClearOptions {
  readonly log?: (line: string) => void;
  /** How long a fast shutdown may take before an immediate one, and that before SIGKILL. */
  readonly graceMs?: number;
}

/**
 * Makes the data folder startable: stops an orphaned postmaster (fast shutdown, then
 * immediate, then SIGKILL), removes a stale lock file, and refuses, with the running
 * node's pid, when another live node holds the folder (two nodes cannot share one
 * embedded cluster).
 */
export async function clearDataFolder(dataDir: string, options: ClearOptions = {}): Promise<void> {
  const log = options.log ?? (() => {});
  const holder = postmasterHolder(dataDir);
  switch (holder.kind) {
    case 'free':
      return;
    case 'owned':
      throw new ConfigError(
        `the embedded PostgreSQL in ${dataDir} belongs to a running vonode node (pid ${holder.node})`,
        `stop that node first, or give this one another VONODE_DATA_DIR`,
      );
    case 'stale':
      log(
        `warning: removing the stale ${join(dataDir, 'postmaster.pid')} (pid ${holder.pid} is not a postmaster of this folder)`,
      );
      rmSync(join(dataDir, 'postmaster.pid'), { force: true });
      return;
    case 'orphan': {
      log(
        `warning: stopping the embedded PostgreSQL (pid ${holder.pid}) left running by a node that was killed; it recovers at the next start`,
      );
      await stopPostmaster(holder.pid, options.graceMs ?? DEFAULT_GRACE_MS);
      return;
    }
  }
}

const DEFAULT_GRACE_MS = 10_000;

/** SIGINT is PostgreSQL's fast shutdown, SIGQUIT its immediate one (crash recovery at next start). */
export async function stopPostmaster(pid: number, graceMs: number): Promise<void> {
  for (const signal of ['SIGINT', 'SIGQUIT', 'SIGKILL'] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return; // already gone
    }
    if (await exited(pid, signal === 'SIGKILL' ? 5000 : graceMs)) return;
  }
  throw new Error(`the orphaned PostgreSQL (pid ${pid}) did not stop, even after SIGKILL`);
}

async function exited(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    if (!alive(pid)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function lockPid(dataDir: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.split('\n')[0]?.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Alive and not a zombie (a killed postmaster whose parent has not reaped it yet). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    if ((err as { code?: string }).code !== 'EPERM') return false;
  }
  const state = statFields(pid)?.[0];
  return state !== 'Z' && state !== 'X';
}

function commandLine(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a.length > 0);
  } catch {
    return undefined;
  }
}

function isPostmasterOf(args: string[], dataDir: string): boolean {
  if (args.length === 0 || basename(args[0]) !== 'postgres') return false;
  const d = args.indexOf('-D');
  if (d >= 0 && args[d + 1]) return resolve(args[d + 1]) === resolve(dataDir);
  const eq = args.find((a) => a.startsWith('-D') && a.length > 2);
  return eq !== undefined && resolve(eq.slice(2)) === resolve(dataDir);
}

/** /proc/PID/stat after the command name: state, ppid, ... */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat
      .slice(stat.lastIndexOf(')') + 2)
      .trim()
      .split(' ');
  } catch {
    return undefined;
  }
}

function parentPid(pid: number): number | undefined {
  const ppid = Number(statFields(pid)?.[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

/** The embedded cluster's postmaster is spawned directly by the node, a Node.js process. */
function isNodeProcess(pid: number): boolean {
  try {
    const exe = readlinkSync(`/proc/${pid}/exe`);
    return exe === process.execPath || /^node(js)?\d*$/.test(basename(exe));
  } catch {
    // Not readable (another user's process, e.g. init): not a node of ours.
    return false;
  }
}
