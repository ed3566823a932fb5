import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Cores and memory of a local command as kernel limits: one control group per session,
 * with a CPU quota of `cores` CPUs per period (cgroup v1 cpu.cfs_quota_us, v2 cpu.max) and
 * a memory limit (v1 memory.limit_in_bytes, v2 memory.max). A CPU-seconds rlimit (what the
 * local backend had) lets a 1-core job run on every core until its seconds run out; a quota
 * holds it to its cores at every moment, across all its threads and processes. Containers
 * get the same limits from their engine (--cpus, --memory).
 *
 * The groups are written directly, not through systemd-run: the node may run where no
 * systemd is PID 1 (containers, Slurm nodes), and a group is a folder and two files. They are
 * made below the node's own group in each hierarchy (v1), or next to it (v2, where a group
 * with processes may not hand controllers to children), under `vonode-broker/<uuid>`.
 */

export type CgroupLayout =
  | { readonly version: 1; readonly cpu: string; readonly memory: string }
  | { readonly version: 2; readonly base: string };

const ROOT = '/sys/fs/cgroup';
const PERIOD_US = 100_000;

/** The node's own path in a v1 hierarchy (by controller) or in v2 ('' key), from /proc/self/cgroup. */
function ownGroups(): Map<string, string> {
  const out = new Map<string, string>();
  let text = '';
  try {
    text = readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const c of m[1].split(',')) out.set(c, m[2]);
  }
  return out;
}

/** Where session groups go on this host, or undefined when the node cannot make them (not root, read-only). */
export function detectCgroups(root = ROOT): CgroupLayout | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const own = ownGroups();
  try {
    if (existsSync(join(root, 'cpu', 'cpu.cfs_quota_us')) && existsSync(join(root, 'memory'))) {
      const cpu = join(root, 'cpu', own.get('cpu') ?? '/', 'vonode-broker');
      const memory = join(root, 'memory', own.get('memory') ?? '/', 'vonode-broker');
      mkdirSync(cpu, { recursive: true });
      mkdirSync(memory, { recursive: true });
      return { version: 1, cpu, memory };
    }
    if (existsSync(join(root, 'cgroup.controllers'))) {
      const mine = own.get('') ?? '/';
      const parent = join(root, mine === '/' ? '/' : dirname(mine));
      const base = join(parent, 'vonode-broker');
      mkdirSync(base, { recursive: true });
      for (const g of [parent, base]) {
        const want = ['cpu', 'memory'].filter(
          (c) => !readFileSync(join(g, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes(c),
        );
        if (want.length) writeFileSync(join(g, 'cgroup.subtree_control'), want.map((c) => `+${c}`).join(' '));
      }
      return { version: 2, base };
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** Makes a session's group with its limits; returns the cgroup.procs files its wrapper joins. */
export function createGroup(
  layout: CgroupLayout,
  uuid: string,
  cores: number,
  memoryBytes: number,
): string[] {
  if (!/^[0-9a-f-]{36}$/i.test(uuid)) throw new Error(`not a session uuid: ${uuid}`);
  const quota = Math.max(1, cores) * PERIOD_US;
  if (layout.version === 1) {
    const cpu = join(layout.cpu, uuid);
    const mem = join(layout.memory, uuid);
    mkdirSync(cpu, { recursive: true });
    mkdirSync(mem, { recursive: true });
    writeFileSync(join(cpu, 'cpu.cfs_period_us'), String(PERIOD_US));
    writeFileSync(join(cpu, 'cpu.cfs_quota_us'), String(quota));
    writeFileSync(join(mem, 'memory.limit_in_bytes'), String(memoryBytes));
    return [join(cpu, 'cgroup.procs'), join(mem, 'cgroup.procs')];
  }
  const g = join(layout.base, uuid);
  mkdirSync(g, { recursive: true });
  writeFileSync(join(g, 'cpu.max'), `${quota} ${PERIOD_US}`);
  writeFileSync(join(g, 'memory.max'), String(memoryBytes));
  if (existsSync(join(g, 'memory.swap.max'))) writeFileSync(join(g, 'memory.swap.max'), '0');
  return [join(g, 'cgroup.procs')];
}

/** Removes a session's group once its processes are gone (an rmdir of a busy group fails; that is fine). */
export function removeGroup(layout: CgroupLayout, uuid: string): void {
  if (!/^[0-9a-f-]{36}$/i.test(uuid)) return;
  const dirs = layout.version === 1 ? [layout.cpu, layout.memory] : [layout.base];
  for (const d of dirs) {
    try {
      rmdirSync(join(d, uuid));
    } catch {
      // still busy or already gone
    }
  }
}
