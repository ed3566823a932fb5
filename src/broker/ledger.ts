import { existsSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Amount, type Booking, mergeAlternatives } from './capacity.js';
import type { BrokerSettings } from './settings.js';
import { foreignBookings, type SlurmQueue, type SlurmSnapshot } from './slurm-queue.js';
import type { LedgerAllocation, LedgerRow } from './store.js';

/**
 * The capacity of one site on one backend and the bookings on it (issue 21 item 2): the
 * sessions in the database (capacity.ts does the arithmetic) and, on Slurm, the jobs the
 * broker did not submit. The key names the lock under which it is read and changed.
 */
export class Ledger {
  readonly key: string;
  private readonly scratchGiB: number;

  constructor(
    private readonly settings: BrokerSettings,
    readonly backend: string,
    dataDir: string,
    private readonly slurm?: SlurmQueue,
  ) {
    this.key = `${backend}:${settings.site}`;
    this.scratchGiB = settings.capacity.scratchTotalGiB ?? freeGiB(dataDir);
  }

  /**
   * What the backend has and what others hold on it, read before taking the lock (the Slurm
   * clients are slow): the site's declared capacity, or the Slurm partition's capped by it.
   */
  async outside(): Promise<{ capacity: Amount; foreign: Booking[]; slurm?: SlurmSnapshot }> {
    const c = this.settings.capacity;
    const d = this.settings.declared;
    const local: Amount = {
      cores: c.cores,
      memoryGiB: c.memoryGiB,
      gpus: c.gpus,
      storageGiB: this.scratchGiB,
    };
    if (!this.slurm) return { capacity: local, foreign: [] };
    const snap = await this.slurm.snapshot();
    const p = snap.capacity;
    return {
      capacity: {
        cores: d.cores ? Math.min(c.cores, p.cores) : p.cores,
        memoryGiB: d.memory ? Math.min(c.memoryGiB, p.memoryGiB) : p.memoryGiB,
        gpus: d.gpus ? Math.min(c.gpus, p.gpus) : p.gpus,
        storageGiB: this.scratchGiB,
      },
      foreign: [],
      slurm: snap,
    };
  }

  /** Bookings of the sessions in `rows` (and foreign Slurm jobs), as of `now`. */
  bookings(
    rows: readonly LedgerRow[],
    now: number,
    slurm?: SlurmSnapshot,
    /** Handles of this site's work that ended lately (store.recentRefs): not foreign jobs. */
    ended: readonly string[] = [],
  ): Booking[] {
    const out: Booking[] = [];
    const offers = new Map<string, Booking[]>();
    const grace = this.settings.pollMs + 1000;
    for (const r of rows) {
      const b = bookingOf(r, now, grace);
      if (r.phase === 'OFFERED' && r.offerset) {
        offers.set(r.offerset, [...(offers.get(r.offerset) ?? []), b]);
      } else out.push(b);
    }
    for (const [set, list] of offers) out.push(mergeAlternatives(`offerset:${set}`, list));
    if (slurm) {
      const ours = new Set([...ended, ...rows.flatMap((r) => (r.backendRef ? [r.backendRef] : []))]);
      out.push(...foreignBookings(slurm, ours, now, this.settings.maxDurationSeconds * 1000));
    }
    return out;
  }
}

export function want(a: LedgerAllocation): Amount {
  return { cores: a.cores, memoryGiB: a.memoryGiB, gpus: a.gpus, storageGiB: a.storageGiB };
}

/**
 * A session holds its grant from its real start for its duration (work past it is stopped
 * within a driver pass: `grace`); before it starts, from its planned start, or now when that
 * has passed (it starts as soon as it fits); while being released, only for a moment more.
 */
function bookingOf(r: LedgerRow, now: number, grace: number): Booking {
  const a = r.allocation;
  const dur = a.durationSeconds * 1000;
  let start: number;
  let end: number;
  if (r.phase === 'RELEASING') {
    start = now;
    end = now + grace;
  } else if (r.started) {
    start = r.started.getTime();
    end = Math.max(start + dur, now + grace);
  } else {
    start = Math.max(a.start, now);
    end = start + dur;
  }
  return { holder: r.uuid, start, end, ...want(a) };
}

/** Free space of the file system the work folders go to, in GiB (at least 1). */
function freeGiB(dir: string): number {
  let d = dir;
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  try {
    const s = statfsSync(d);
    return Math.max(1, Math.floor((s.bavail * s.bsize) / 2 ** 30));
  } catch {
    return 1;
  }
}
