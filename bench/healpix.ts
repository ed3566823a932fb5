/**
 * HEALPix throughput: nestedIndex points/s at several orders, coneCoverage and
 * polygonCoverage calls/s, and (same run, same points) sky.healpix_nest in PostgreSQL.
 * Run: npx tsx bench/healpix.ts   (DATABASE_URL to use an existing PostgreSQL;
 * otherwise an embedded one is started in a temporary folder; NO_PG=1 skips SQL).
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { coneCoverage, nestedIndex, polygonCoverage } from '../sky/index.js';

const N = 1_000_000;
const lon = new Float64Array(N);
const lat = new Float64Array(N);
let seed = 12345;
const rand = (): number => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
for (let i = 0; i < N; i++) {
  lon[i] = rand() * 360;
  lat[i] = (Math.asin(2 * rand() - 1) * 180) / Math.PI;
}

function time(label: string, calls: number, fn: () => unknown): number {
  fn(); // warm up
  const t0 = performance.now();
  fn();
  const s = (performance.now() - t0) / 1000;
  console.log(
    `${label.padEnd(44)} ${(calls / s).toExponential(3).padStart(10)} /s   (${(s * 1000).toFixed(1)} ms)`,
  );
  return calls / s;
}

console.log(`node ${process.version}, ${N} random points`);
let sink = 0n;
const rates: Record<number, number> = {};
for (const order of [10, 20, 29]) {
  rates[order] = time(`nestedIndex order ${order}`, N, () => {
    for (let i = 0; i < N; i++) sink ^= nestedIndex(order, lon[i]!, lat[i]!);
  });
}
let plain = 0;
time('reference: Math.sin + Math.floor per point', N, () => {
  for (let i = 0; i < N; i++) plain += Math.floor(Math.sin(lat[i]!) * 1000 + lon[i]!);
});

const CONES = 2000;
for (const radius of [1 / 3600, 0.1, 1, 10, 90]) {
  time(`coneCoverage r=${radius.toPrecision(3)}° (64 ranges)`, CONES, () => {
    for (let i = 0; i < CONES; i++) coneCoverage(lon[i]!, lat[i]!, radius);
  });
}
time('polygonCoverage 1° square (64 ranges)', CONES, () => {
  for (let i = 0; i < CONES; i++) {
    const a = lon[i]!;
    const b = Math.max(-88, Math.min(88, lat[i]!));
    polygonCoverage([
      [a, b],
      [a + 1, b],
      [a + 1, b + 1],
      [a, b + 1],
    ]);
  }
});

// Tightness: covered area / true cap area, averaged over 200 random centres.
for (const maxRanges of [16, 64, 256]) {
  const cells = [];
  for (const radius of [1 / 3600, 0.1, 1, 10]) {
    let sum = 0;
    for (let i = 0; i < 200; i++) {
      let covered = 0n;
      for (const [a, b] of coneCoverage(lon[i]!, lat[i]!, radius, { maxRanges })) covered += b - a;
      const cap = 2 * Math.PI * (1 - Math.cos((radius * Math.PI) / 180));
      sum += (Number(covered) * 4 * Math.PI) / (12 * 4 ** 29) / cap;
    }
    cells.push(`r=${radius.toPrecision(3)}°: ${(sum / 200).toFixed(4)}`);
  }
  console.log(`coverage/cap area, maxRanges ${String(maxRanges).padEnd(3)}  ${cells.join('  ')}`);
}

async function sql(): Promise<void> {
  if (process.env.NO_PG) return;
  let url = process.env.DATABASE_URL;
  let stop = async (): Promise<void> => {};
  if (!url) {
    const { ensureDatabase, startEmbeddedPostgres } = await import('../src/db/embedded.js');
    const base = mkdtempSync(join(tmpdir(), 'vonode-bench-'));
    chmodSync(base, 0o755);
    const db = await startEmbeddedPostgres({ dataDir: join(base, 'pg') });
    await ensureDatabase(db.url);
    url = db.url;
    stop = async () => {
      await db.stop();
      rmSync(base, { recursive: true, force: true });
    };
  }
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    await pool.query(readFileSync(new URL('../sql/020_healpix.sql', import.meta.url), 'utf8'));
    const M = 200_000;
    const args = [Array.from(lon.subarray(0, M)), Array.from(lat.subarray(0, M))];
    await pool.query(
      'CREATE TEMP TABLE pts AS SELECT * FROM unnest($1::float8[], $2::float8[]) AS p(lon, lat)',
      args,
    );
    const q = 'SELECT sum(sky.healpix_nest(29, lon, lat) % 1000) FROM pts';
    await pool.query(q);
    const t0 = performance.now();
    await pool.query(q);
    const s = (performance.now() - t0) / 1000;
    const rate = M / s;
    console.log(
      `${'sky.healpix_nest order 29 (PL/pgSQL)'.padEnd(44)} ${rate.toExponential(3).padStart(10)} /s   (${(s * 1000).toFixed(1)} ms for ${M})`,
    );
    console.log(`ratio nestedIndex(29) / SQL: ${(rates[29]! / rate).toFixed(1)}×`);
  } finally {
    await pool.end();
    await stop();
  }
}

await sql();
console.log(`(checksum ${sink & 0xffn} ${plain & 1})`);
