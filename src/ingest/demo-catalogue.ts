import { createHash } from 'node:crypto';
import { HEALPIX_INDEX_ORDER, nestedIndex } from '../../sky/index.js';
import { SeededRandom } from './random.js';

/** A surveyed field: sources are denser there, and they share its rights. */
export interface DemoField {
  readonly id: string;
  readonly ra: number;
  readonly dec: number;
  readonly radiusDeg: number;
  /** Restoring beam FWHM, arcsec. */
  readonly beamArcsec: number;
  readonly refFreqHz: number;
  readonly ownerGroup?: string;
  readonly releaseDate?: Date;
}

/** The columns of demo.sources in the order the generator yields them. */
export const DEMO_SOURCE_COLUMNS = [
  'source_id',
  'island_id',
  'field_id',
  'ra',
  'ra_err',
  'dec',
  'dec_err',
  'flux_peak',
  'flux_peak_err',
  'flux_int',
  'flux_int_err',
  'maj_axis',
  'maj_axis_err',
  'min_axis',
  'min_axis_err',
  'pos_angle',
  'pos_angle_err',
  'spectral_index',
  'spectral_index_err',
  'ref_freq',
  's_code',
  'owner_group',
  'release_date',
  'healpix',
] as const;

export interface DemoCatalogueOptions {
  readonly rows: number;
  readonly fields: readonly DemoField[];
  readonly seed?: number;
  /** Share of the rows placed inside the fields rather than over the southern sky. */
  readonly fieldFraction?: number;
}

const SKY_FIELD = 'southern-sky';
const BACKGROUND_BEAM_ARCSEC = 8;
const BACKGROUND_FREQ_HZ = 1.4e9;
const RMS_JY = 20e-6;

/**
 * A deterministic radio continuum catalogue shaped like a source finder's output
 * (PyBDSF srl): Euclidean-ish flux counts, beam-convolved sizes, errors that follow
 * the signal-to-noise, islands of one to three components. Rows come sorted by
 * HEALPix index so the table is stored in spatial order and cone searches read few
 * pages.
 */
export function* demoCatalogueRows(opts: DemoCatalogueOptions): Generator<unknown[]> {
  const seed = opts.seed ?? 20260401;
  const n = opts.rows;
  const fieldShare = opts.fields.length > 0 ? (opts.fieldFraction ?? 0.25) : 0;
  const pos = new SeededRandom(seed);
  const ra = new Float64Array(n);
  const dec = new Float64Array(n);
  const field = new Int16Array(n).fill(-1);
  const hpx = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    if (pos.next() < fieldShare) {
      const f = Math.floor(pos.next() * opts.fields.length);
      const fd = opts.fields[f];
      const [r, d] = pointInDisc(pos, fd.ra, fd.dec, fd.radiusDeg);
      ra[i] = r;
      dec[i] = d;
      field[i] = f;
    } else {
      // Area-uniform over dec -90..+30: the sky an SKA telescope sees.
      ra[i] = pos.next() * 360;
      dec[i] = (Math.asin(pos.uniform(-1, 0.5)) * 180) / Math.PI;
    }
    hpx[i] = nestedIndex(HEALPIX_INDEX_ORDER, ra[i], dec[i]);
  }
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => (hpx[a] < hpx[b] ? -1 : hpx[a] > hpx[b] ? 1 : a - b));

  const attr = new SeededRandom(seed ^ 0x5eed);
  const numbering = new RightsNumbering(seed);
  for (let k = 0; k < n; k++) {
    const i = order[k];
    const f = field[i] >= 0 ? opts.fields[field[i]] : undefined;
    const beam = f?.beamArcsec ?? BACKGROUND_BEAM_ARCSEC;
    const ids = numbering.of(f?.ownerGroup ? f.id : undefined);
    if (ids.islandLeft === 0) {
      ids.island++;
      const u = attr.next();
      ids.islandLeft = u < 0.85 ? 1 : u < 0.96 ? 2 : 3;
    }
    const multiple = ids.islandLeft > 1 || attr.next() < 0.05;
    ids.islandLeft--;
    ids.source++;
    // Flux: a power law from 0.1 mJy with a long bright tail, capped at 2 Jy.
    const fluxInt = Math.min(2, 1e-4 * (1 - attr.next()) ** (-1 / 0.8));
    const extended = attr.next() < 0.3;
    const intrinsicMaj = extended ? -Math.log(1 - attr.next()) * beam * 0.8 : 0;
    const intrinsicMin = intrinsicMaj * attr.uniform(0.3, 1);
    const maj = Math.hypot(beam, intrinsicMaj);
    const min = Math.hypot(beam, intrinsicMin);
    const fluxPeak = (fluxInt * beam * beam) / (maj * min);
    const snr = Math.max(fluxPeak / RMS_JY, 1);
    const peakErr = Math.hypot(RMS_JY, 0.05 * fluxPeak);
    const intErr = Math.hypot(RMS_JY * Math.sqrt((maj * min) / (beam * beam)), 0.05 * fluxInt);
    const posErr = maj / (2 * snr);
    const pa = attr.next() * 180;
    const alpha = -0.7 + 0.25 * attr.gaussian();
    yield [
      ids.base + BigInt(ids.source),
      ids.base + BigInt(ids.island),
      f?.id ?? SKY_FIELD,
      ra[i],
      round(posErr * attr.uniform(0.8, 1.2), 4),
      dec[i],
      round(posErr * attr.uniform(0.8, 1.2), 4),
      round(fluxPeak, 8),
      round(peakErr, 8),
      round(fluxInt, 8),
      round(intErr, 8),
      round(maj, 3),
      round(maj / snr, 3),
      round(min, 3),
      round(min / snr, 3),
      round(pa, 2),
      round(Math.min(90, (90 / snr) * (maj / Math.max(maj - min, 0.1))), 2),
      round(alpha, 3),
      round(0.1 + 2 / snr, 3),
      f?.refFreqHz ?? BACKGROUND_FREQ_HZ,
      multiple ? 'M' : 'S',
      f?.ownerGroup ?? null,
      f?.releaseDate ?? null,
      hpx[i],
    ];
  }
}

/**
 * Bumped when the same options give different rows, so a node with stored demo data of an
 * older generator makes it again (2: ids numbered per rights partition).
 */
export const DEMO_CATALOGUE_VERSION = 2;

/** Ids of a proprietary field start at a multiple of this; no partition holds this many rows. */
const PARTITION_SPAN = 2n ** 32n;
/** Proprietary id ranges are spread over this many spans (ids stay below 2^53 for JSON clients). */
const PARTITION_SLOTS = 2 ** 20;

interface PartitionIds {
  readonly base: bigint;
  source: number;
  island: number;
  islandLeft: number;
}

/**
 * source_id and island_id numbered per rights partition (issue 13): the public rows, the
 * unowned fields and the sky, densely 1..N in storage (HEALPix) order, and each proprietary
 * field in a range of its own that starts at a multiple of 2^32 picked by a hash of the seed
 * and the field id. A public id so says nothing of how many proprietary rows there are or
 * where they lie, and a member of one group learns nothing of another group's rows from its
 * own ids. Islands never span two partitions. Ids depend only on the seed and the options.
 */
class RightsNumbering {
  private readonly partitions = new Map<string, PartitionIds>();
  private readonly usedSlots = new Set<number>();

  constructor(private readonly seed: number) {}

  of(proprietaryField: string | undefined): PartitionIds {
    const key = proprietaryField ?? '';
    let p = this.partitions.get(key);
    if (!p) {
      p = {
        base: proprietaryField === undefined ? 0n : this.rangeOf(proprietaryField),
        source: 0,
        island: 0,
        islandLeft: 0,
      };
      this.partitions.set(key, p);
    }
    return p;
  }

  private rangeOf(fieldId: string): bigint {
    const digest = createHash('sha256').update(`${this.seed}:${fieldId}`).digest();
    // Slot 0 is the public range; a collision moves on to the next free slot.
    let slot = 1 + (digest.readUInt32BE(0) % (PARTITION_SLOTS - 1));
    while (this.usedSlots.has(slot)) slot = 1 + (slot % (PARTITION_SLOTS - 1));
    this.usedSlots.add(slot);
    return BigInt(slot) * PARTITION_SPAN;
  }
}

function round(x: number, digits: number): number {
  const p = 10 ** digits;
  return Math.round(x * p) / p;
}

/** A point uniformly distributed in a spherical cap. */
function pointInDisc(rng: SeededRandom, ra0: number, dec0: number, radiusDeg: number): [number, number] {
  const rad = Math.PI / 180;
  const cosR = Math.cos(radiusDeg * rad);
  const cosT = 1 - rng.next() * (1 - cosR);
  const sinT = Math.sqrt(Math.max(0, 1 - cosT * cosT));
  const phi = rng.next() * 2 * Math.PI;
  // Rotate (theta, phi) around the pole onto the field centre.
  const d0 = dec0 * rad;
  const sinDec = Math.sin(d0) * cosT + Math.cos(d0) * sinT * Math.cos(phi);
  const dec = Math.asin(Math.max(-1, Math.min(1, sinDec)));
  const y = sinT * Math.sin(phi);
  const x = cosT * Math.cos(d0) - sinT * Math.sin(d0) * Math.cos(phi);
  let ra = ra0 + Math.atan2(y, x) / rad;
  ra = ((ra % 360) + 360) % 360;
  return [ra, dec / rad];
}
