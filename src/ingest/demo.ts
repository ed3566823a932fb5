import type pg from 'pg';
import { withMaintenance } from '../auth/index.js';
import { copyRows } from './copy.js';
import { DEMO_SOURCE_COLUMNS, type DemoField, demoCatalogueRows } from './demo-catalogue.js';

export interface DemoOptions {
  readonly pool: pg.Pool;
  readonly dataDir: string;
  readonly baseUrl: string;
  readonly rows: number;
  readonly log: (line: string) => void;
}

// Two nodes starting on one empty database must not both generate the demo.
const DEMO_LOCK = 7_460_110_002;

/** The demo fields: where the images are, and which of them are proprietary. */
export function demoFields(): DemoField[] {
  return DEMO_FIELDS;
}

const FAR_FUTURE = new Date('2031-01-01T00:00:00Z');

const DEMO_FIELDS: DemoField[] = [
  { id: 'field-01', ra: 150.1, dec: 2.2, radiusDeg: 0.6, beamArcsec: 8, refFreqHz: 1.4e9 },
  { id: 'field-02', ra: 53.1, dec: -27.8, radiusDeg: 0.6, beamArcsec: 8, refFreqHz: 1.4e9 },
  { id: 'field-03', ra: 359.8, dec: -30.5, radiusDeg: 0.6, beamArcsec: 8, refFreqHz: 1.4e9 },
  { id: 'field-04', ra: 201.4, dec: -43.0, radiusDeg: 2.5, beamArcsec: 40, refFreqHz: 150e6 },
  { id: 'field-05', ra: 84.0, dec: -69.3, radiusDeg: 2.5, beamArcsec: 40, refFreqHz: 150e6 },
  { id: 'field-06', ra: 266.4, dec: -29.0, radiusDeg: 0.6, beamArcsec: 8, refFreqHz: 1.4e9 },
  {
    id: 'field-07',
    ra: 10.7,
    dec: -72.8,
    radiusDeg: 0.6,
    beamArcsec: 8,
    refFreqHz: 1.4e9,
    ownerGroup: 'team-a',
    releaseDate: FAR_FUTURE,
  },
  {
    id: 'field-08',
    ra: 120.0,
    dec: -45.0,
    radiusDeg: 2.5,
    beamArcsec: 40,
    refFreqHz: 150e6,
    ownerGroup: 'team-b',
    releaseDate: FAR_FUTURE,
  },
];

/**
 * Generates the demo data on first start and records it, so later starts reuse it.
 * The catalogue load is one transaction: a start interrupted half-way leaves nothing
 * that looks finished, and the next start generates again.
 */
export async function ensureDemoData(opts: DemoOptions): Promise<void> {
  const client = await opts.pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [DEMO_LOCK]);
    await ensureCatalogue(client, opts);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [DEMO_LOCK]).catch(() => {});
    client.release();
  }
}

async function ensureCatalogue(client: pg.PoolClient, opts: DemoOptions): Promise<void> {
  const state = await client.query<{ detail: { rows: number } }>(
    "SELECT detail FROM vonode.demo_state WHERE item = 'catalogue'",
  );
  if (state.rowCount && state.rows[0].detail.rows === opts.rows) return;
  const t0 = Date.now();
  opts.log(`generating the demo source catalogue: ${opts.rows} rows`);
  await client.query('BEGIN');
  try {
    // The tables are under forced row-level security; loading them is maintenance.
    await withMaintenance(client);
    await client.query('DROP INDEX IF EXISTS demo.sources_healpix');
    await client.query('TRUNCATE demo.sources');
    await client.query("DELETE FROM vonode.demo_state WHERE item = 'catalogue'");
    const n = await copyRows(
      client,
      { schema: 'demo', table: 'sources', columns: DEMO_SOURCE_COLUMNS },
      demoCatalogueRows({ rows: opts.rows, fields: DEMO_FIELDS }),
    );
    await client.query('CREATE INDEX sources_healpix ON demo.sources (healpix)');
    await client.query("INSERT INTO vonode.demo_state (item, detail) VALUES ('catalogue', $1)", [
      JSON.stringify({ rows: n }),
    ]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
  await client.query('ANALYZE demo.sources');
  opts.log(`demo source catalogue ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
