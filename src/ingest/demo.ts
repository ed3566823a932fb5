import type pg from 'pg';
import { withMaintenance } from '../auth/index.js';
import { descriptionOf } from '../catalogue/convert.js';
import { notifyCatalogueChanged, putPublishedTable } from '../catalogue/index.js';
import { DEMO_SCHEMA } from '../tap/tables/index.js';
import { copyRows } from './copy.js';
import {
  DEMO_CATALOGUE_VERSION,
  DEMO_SOURCE_COLUMNS,
  type DemoField,
  demoCatalogueRows,
} from './demo-catalogue.js';
import { ensureDemoProducts } from './demo-fits.js';
import { type DemoImageSpec, demoProductPlan } from './demo-products.js';

export interface DemoOptions {
  readonly pool: pg.Pool;
  readonly dataDir: string;
  readonly baseUrl: string;
  readonly rows: number;
  /** 1 writes the full-size products; larger values write coarser ones (tests). */
  readonly scale?: number;
  readonly log: (line: string) => void;
}

// Two nodes starting on one empty database must not both generate the demo.
const DEMO_LOCK = 7_460_110_002;

const FAR_FUTURE = new Date('2031-01-01T00:00:00Z');
const PLAN_SEED = 20260401;

/** Groups owning the proprietary demo fields, by field id (documented in the README). */
export const DEMO_PROPRIETARY: Readonly<Record<string, string>> = {
  'field-07': 'team-a',
  'field-10': 'team-b',
};

/**
 * The demo fields are the footprints of the demo images and cubes, so the catalogue is
 * dense where the images are and every image shows catalogue sources.
 */
export function demoFields(scale = 1): DemoField[] {
  return demoPlan(scale).map((spec, i) => {
    const id = `field-${String(i + 1).padStart(2, '0')}`;
    const owner = DEMO_PROPRIETARY[id];
    return {
      id,
      ra: spec.raDeg,
      dec: spec.decDeg,
      // The inscribed circle: sources fill the image but not its corners' outside.
      radiusDeg: (Math.min(spec.nx, spec.ny) / 2) * (spec.pixelArcsec / 3600),
      beamArcsec: spec.beamMajArcsec,
      refFreqHz: spec.freqHz + ((spec.nchan - 1) / 2) * spec.chanWidthHz,
      ...(owner ? { ownerGroup: owner, releaseDate: FAR_FUTURE } : {}),
    };
  });
}

/**
 * The product plan, optionally made coarser by `scale` along every axis while keeping
 * each field of view and band: tests use it to write small files through the same code.
 */
export function demoPlan(scale = 1): DemoImageSpec[] {
  return demoProductPlan(PLAN_SEED).map((spec) =>
    scale === 1
      ? spec
      : {
          ...spec,
          nx: Math.max(16, Math.round(spec.nx / scale)),
          ny: Math.max(16, Math.round(spec.ny / scale)),
          pixelArcsec: spec.pixelArcsec * scale,
          nchan: spec.nchan === 1 ? 1 : Math.max(2, Math.round(spec.nchan / scale)),
          chanWidthHz: spec.nchan === 1 ? spec.chanWidthHz : spec.chanWidthHz * scale,
          beamMajArcsec: Math.max(spec.beamMajArcsec, spec.pixelArcsec * scale * 3),
          beamMinArcsec: Math.max(spec.beamMinArcsec, spec.pixelArcsec * scale * 2.5),
        },
  );
}

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
    await registerDemoCatalogue(client);
    await ensureDemoProducts(client, opts, demoFields(opts.scale), demoPlan(opts.scale));
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [DEMO_LOCK]).catch(() => {});
    client.release();
  }
}

async function ensureCatalogue(client: pg.PoolClient, opts: DemoOptions): Promise<void> {
  const state = await client.query<{ detail: { rows: number; version?: number } }>(
    "SELECT detail FROM vonode.demo_state WHERE item = 'catalogue'",
  );
  const stored = state.rows[0]?.detail;
  if (stored && stored.rows === opts.rows && (stored.version ?? 1) === DEMO_CATALOGUE_VERSION) return;
  const t0 = Date.now();
  opts.log(`generating the demo source catalogue: ${opts.rows} rows`);
  await client.query('BEGIN');
  try {
    // The tables are under forced row-level security; loading them is maintenance.
    await withMaintenance(client);
    await client.query('DROP INDEX IF EXISTS demo.sources_healpix');
    await client.query('TRUNCATE demo.sources');
    await client.query("DELETE FROM vonode.demo_state WHERE item IN ('catalogue', 'products')");
    const n = await copyRows(
      client,
      { schema: 'demo', table: 'sources', columns: DEMO_SOURCE_COLUMNS },
      demoCatalogueRows({ rows: opts.rows, fields: demoFields(opts.scale) }),
    );
    await client.query('CREATE INDEX sources_healpix ON demo.sources (healpix)');
    await client.query("INSERT INTO vonode.demo_state (item, detail) VALUES ('catalogue', $1)", [
      JSON.stringify({ rows: n, version: DEMO_CATALOGUE_VERSION }),
    ]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
  await client.query('ANALYZE demo.sources');
  opts.log(`demo source catalogue ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** The demo catalogue is a published table like any other (a row, TAP_SCHEMA rows). */
async function registerDemoCatalogue(client: pg.PoolClient): Promise<void> {
  const t = DEMO_SCHEMA.tables[0];
  const n = await client.query<{ n: string }>(
    'SELECT reltuples::bigint::text AS n FROM pg_class WHERE oid = $1::regclass',
    ['demo.sources'],
  );
  await client.query('BEGIN');
  try {
    await putPublishedTable(client, {
      table: t,
      sqlSchema: t.sql.schema,
      sqlTable: t.sql.table,
      description: descriptionOf(t),
      nrows: Math.max(0, Number(n.rows[0]?.n ?? 0)),
      bytes: null,
      version: 1,
      schema: { name: DEMO_SCHEMA.name, description: DEMO_SCHEMA.description },
    });
    await notifyCatalogueChanged(client, 'demo.sources');
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
