/**
 * What a backend has granted, over time (issue 21 item 2). Every session that holds or
 * reserves resources is a *booking*: cores, memory, GPUs and scratch from a start to an end.
 * An offer is made only for a time at which the request fits next to every booking for its
 * whole duration (EB-62: an offer must satisfy the platform's capability), and offers
 * themselves are bookings until they expire (EB-63), so requests made at the same moment
 * get different slots instead of all the same cores.
 *
 * Pure functions: the store reads the bookings (under a lock, so that two offers cannot take
 * the same slot), this module does the arithmetic.
 */

export interface Amount {
  readonly cores: number;
  readonly memoryGiB: number;
  readonly gpus: number;
  readonly storageGiB: number;
}

export interface Booking extends Amount {
  /** ms since the epoch */
  readonly start: number;
  readonly end: number;
  /** The session (or offer set) holding it; a session never competes with itself. */
  readonly holder: string;
}

const KINDS = ['cores', 'memoryGiB', 'gpus', 'storageGiB'] as const;

export const ZERO: Amount = { cores: 0, memoryGiB: 0, gpus: 0, storageGiB: 0 };

/** The largest total of each resource booked at any instant of [from, to). */
export function peakUse(bookings: readonly Booking[], from: number, to: number): Amount {
  const inside = bookings.filter((b) => b.start < to && b.end > from);
  // The total only rises when a booking starts, so the peak is at `from` or at a start inside.
  const instants = [from, ...inside.map((b) => b.start).filter((t) => t > from)];
  const peak = { cores: 0, memoryGiB: 0, gpus: 0, storageGiB: 0 };
  for (const t of instants) {
    const now = inside.filter((b) => b.start <= t && b.end > t);
    for (const k of KINDS) {
      const sum = now.reduce((s, b) => s + b[k], 0);
      if (sum > peak[k]) peak[k] = sum;
    }
  }
  return peak;
}

/** The resources `want` lacks for [from, to) next to `bookings`, or an empty list when it fits. */
export function shortfall(
  capacity: Amount,
  bookings: readonly Booking[],
  want: Amount,
  from: number,
  to: number,
): (keyof Amount)[] {
  const peak = peakUse(bookings, from, to);
  return KINDS.filter((k) => want[k] > 0 && peak[k] + want[k] > capacity[k]);
}

export function fits(
  capacity: Amount,
  bookings: readonly Booking[],
  want: Amount,
  from: number,
  durationMs: number,
): boolean {
  return shortfall(capacity, bookings, want, from, from + durationMs).length === 0;
}

/**
 * The earliest start at or after `from` (and not after `latest`, when given) at which `want`
 * fits for `durationMs`; undefined when none does. Only `from` and the ends of bookings can
 * be the earliest such start: between two ends the use never falls.
 */
export function earliestStart(
  capacity: Amount,
  bookings: readonly Booking[],
  want: Amount,
  from: number,
  durationMs: number,
  latest?: number,
): number | undefined {
  if (KINDS.some((k) => want[k] > capacity[k])) return undefined;
  const candidates = [from, ...bookings.map((b) => b.end).filter((t) => t > from)].sort((a, b) => a - b);
  for (const t of candidates) {
    if (latest !== undefined && t > latest) return undefined;
    if (fits(capacity, bookings, want, t, durationMs)) return t;
  }
  return undefined;
}

/**
 * The offers of one offer set are alternatives: only one can be accepted, and accepting it
 * rejects the others (EB-63). They are booked as one, with the largest of each resource,
 * from the earliest start to the latest end.
 */
export function mergeAlternatives(holder: string, offers: readonly Booking[]): Booking {
  return {
    holder,
    start: Math.min(...offers.map((o) => o.start)),
    end: Math.max(...offers.map((o) => o.end)),
    cores: Math.max(...offers.map((o) => o.cores)),
    memoryGiB: Math.max(...offers.map((o) => o.memoryGiB)),
    gpus: Math.max(...offers.map((o) => o.gpus)),
    storageGiB: Math.max(...offers.map((o) => o.storageGiB)),
  };
}

const NAMES: Record<keyof Amount, string> = {
  cores: 'cores',
  memoryGiB: 'memory',
  gpus: 'GPUs',
  storageGiB: 'scratch storage',
};

export function describeShortfall(kinds: readonly (keyof Amount)[]): string {
  return kinds.map((k) => NAMES[k]).join(', ');
}
