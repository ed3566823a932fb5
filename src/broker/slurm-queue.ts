import { execFile } from 'node:child_process';
import type { Amount, Booking } from './capacity.js';

/**
 * What Slurm itself says about a partition (issue 21 item 2): its size (sinfo) and the jobs
 * in it (squeue), so that the broker offers only what fits next to work it did not submit,
 * and at start times that follow Slurm's own estimates. Read through the Slurm clients with
 * SLURM_CONF set (without it they would look the controller up in DNS), at most once per
 * `cacheMs`: offers and the driver share one snapshot.
 */

export interface SlurmJob {
  readonly id: string;
  /** PENDING, RUNNING, CONFIGURING, COMPLETING, SUSPENDED… */
  readonly state: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly gpus: number;
  /** Actual start (RUNNING) or Slurm's estimate (PENDING); undefined when Slurm has none. */
  readonly start?: number;
  /** Time limit in ms; undefined = unlimited. */
  readonly limitMs?: number;
}

export interface SlurmSnapshot {
  readonly partition: string;
  /** Sum over the partition's usable nodes (not down, drained or failed). */
  readonly capacity: Amount;
  readonly jobs: readonly SlurmJob[];
  readonly read: number;
}

/** Job states that hold (or wait for) resources. */
const LIVE = ['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED'];
/** Node states that take no work. */
const UNUSABLE = /^(down|drain|drained|draining|fail|failing|future|maint|unknown|not_responding|power)/i;

export class SlurmQueue {
  private last: SlurmSnapshot | undefined;
  private pending: Promise<SlurmSnapshot> | undefined;

  constructor(
    private readonly slurmConf: string,
    private readonly partition?: string,
    private readonly cacheMs = 2000,
    private readonly timeoutMs = 15_000,
  ) {}

  private run(cmd: string, args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        cmd,
        args,
        { env: { ...process.env, SLURM_CONF: this.slurmConf }, timeout: this.timeoutMs, maxBuffer: 16 << 20 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`${cmd} failed: ${(stderr || err.message).trim()}`));
          else resolve(stdout);
        },
      );
    });
  }

  /** The partition and its jobs, read again when older than `cacheMs`. */
  async snapshot(): Promise<SlurmSnapshot> {
    if (this.last && Date.now() - this.last.read < this.cacheMs) return this.last;
    this.pending ??= this.read().finally(() => {
      this.pending = undefined;
    });
    this.last = await this.pending;
    return this.last;
  }

  private async read(): Promise<SlurmSnapshot> {
    const nodes = parseSinfo(
      await this.run('sinfo', ['-h', '-N', '-o', '%n|%c|%m|%G|%T|%P']),
      this.partition,
    );
    const jobs = parseSqueue(
      await this.run('squeue', [
        '-h',
        '-p',
        nodes.partition,
        '-t',
        LIVE.join(','),
        '-o',
        '%i|%T|%C|%m|%S|%l|%b',
      ]),
    );
    return { partition: nodes.partition, capacity: nodes.capacity, jobs, read: Date.now() };
  }
}

/**
 * `sinfo -h -N -o '%n|%c|%m|%G|%T|%P'`: one line per node and partition; the default
 * partition is marked `*`. Each node counts once.
 */
export function parseSinfo(text: string, wanted?: string): { partition: string; capacity: Amount } {
  const rows = text
    .split('\n')
    .map((l) => l.trim().split('|'))
    .filter((f) => f.length >= 6);
  const partitions = rows.map((f) => f[5]);
  const partition =
    wanted ??
    partitions.find((p) => p.endsWith('*'))?.replace(/\*$/, '') ??
    partitions[0]?.replace(/\*$/, '');
  if (!partition) throw new Error('sinfo lists no partition');
  const seen = new Set<string>();
  const cap = { cores: 0, memoryGiB: 0, gpus: 0, storageGiB: 0 };
  for (const [node, cpus, mem, gres, state, part] of rows) {
    if (part.replace(/\*$/, '') !== partition || seen.has(node) || UNUSABLE.test(state)) continue;
    seen.add(node);
    cap.cores += Number(cpus) || 0;
    cap.memoryGiB += (Number.parseInt(mem, 10) || 0) / 1024;
    cap.gpus += gpuCount(gres);
  }
  if (seen.size === 0) {
    const known = [...new Set(partitions.map((p) => p.replace(/\*$/, '')))].join(', ');
    throw new Error(`Slurm partition ${partition} has no usable node (partitions: ${known || 'none'})`);
  }
  return { partition, capacity: { ...cap, memoryGiB: Math.floor(cap.memoryGiB) } };
}

/** `gpu:2`, `gpu:k40:2(S:0-1)`, `gres/gpu:1`, comma separated; anything else counts 0. */
export function gpuCount(gres: string): number {
  let n = 0;
  for (const part of gres.split(',')) {
    const m = /^(?:gres\/)?gpu(?::[^:()]+)?:(\d+)/.exec(part.trim());
    if (m) n += Number(m[1]);
    else if (/^(?:gres\/)?gpu$/.test(part.trim())) n += 1;
  }
  return n;
}

/** `squeue -h -o '%i|%T|%C|%m|%S|%l|%b'`. */
export function parseSqueue(text: string): SlurmJob[] {
  const out: SlurmJob[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split('|');
    if (f.length < 7 || !f[0]) continue;
    out.push({
      id: f[0],
      state: f[1],
      cores: Number(f[2]) || 1,
      memoryGiB: memoryGiB(f[3]),
      gpus: f[6] === 'N/A' ? 0 : gpuCount(f[6]),
      start: slurmTime(f[4]),
      limitMs: slurmDuration(f[5]),
    });
  }
  return out;
}

/** Slurm's memory sizes: a number of MB, or with a K/M/G/T suffix. */
export function memoryGiB(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)/i.exec(text.trim());
  if (!m) return 0;
  const mb = Number(m[1]) * ({ K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 }[m[2].toUpperCase()] ?? 1);
  return mb / 1024;
}

/** Slurm prints times in the local time zone, without an offset: read them as local time. */
export function slurmTime(text: string): number | undefined {
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(text.trim())) return undefined;
  const t = new Date(text.trim()).getTime();
  return Number.isNaN(t) ? undefined : t;
}

/** `[days-]hours:minutes:seconds`, `minutes:seconds`, `UNLIMITED`, `INVALID`. */
export function slurmDuration(text: string): number | undefined {
  const m = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$/.exec(text.trim());
  if (!m) return undefined;
  const [d, h, min, s] = [m[1], m[2], m[3], m[4]].map((x) => Number(x ?? 0));
  return (((d * 24 + h) * 60 + min) * 60 + s) * 1000;
}

/**
 * Jobs the broker did not submit, as bookings: running ones until their time limit, pending
 * ones from Slurm's estimated start (or now, when it has none: they may start any moment).
 * Jobs without a time limit are booked for `unlimitedMs`.
 */
export function foreignBookings(
  snap: SlurmSnapshot,
  ours: ReadonlySet<string>,
  now: number,
  unlimitedMs: number,
): Booking[] {
  return snap.jobs
    .filter((j) => !ours.has(j.id))
    .map((j) => {
      const start = j.state === 'PENDING' ? Math.max(now, j.start ?? now) : Math.min(now, j.start ?? now);
      const end = start + (j.limitMs ?? unlimitedMs);
      return {
        holder: `slurm:${j.id}`,
        start,
        end: Math.max(end, now + 1000),
        cores: j.cores,
        memoryGiB: j.memoryGiB,
        gpus: j.gpus,
        storageGiB: 0,
      };
    });
}
