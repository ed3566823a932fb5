import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { notifyCatalogueChanged, putPublishedTable, removePublishedTable } from '../catalogue/index.js';
import { parseDescriptionFile, publishCatalogue } from '../publish/index.js';
import { DEMO_CATALOGUE_VERSION, type DemoField } from './demo-catalogue.js';
import { ensureDemoProducts } from './demo-fits.js';
import { type DemoImageSpec, demoProductPlan } from './demo-products.js';
import { DEMO_TABLE, demoDataSource } from './demo-source.js';

export interface DemoOptions {
  readonly pool: pg.Pool;
  readonly dataDir: string;
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
    await ensureDemoProducts(client, opts, demoFields(opts.scale), demoPlan(opts.scale));
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [DEMO_LOCK]).catch(() => {});
    client.release();
  }
}

/** The demo catalogue's description file, published like any site's catalogue. */
export const DEMO_DESCRIPTION = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'catalogues',
  'demo.yaml',
);

async function ensureCatalogue(client: pg.PoolClient, opts: DemoOptions): Promise<void> {
  const state = await client.query<{ detail: { rows: number; version?: number } }>(
    "SELECT detail FROM vonode.demo_state WHERE item = 'catalogue'",
  );
  const stored = state.rows[0]?.detail;
  const published = await client.query('SELECT 1 FROM vonode.published_tables WHERE table_name = $1', [
    DEMO_TABLE,
  ]);
  if (
    published.rowCount &&
    stored &&
    stored.rows === opts.rows &&
    (stored.version ?? 1) === DEMO_CATALOGUE_VERSION
  )
    return;
  const t0 = Date.now();
  opts.log(`generating the demo source catalogue: ${opts.rows} rows`);
  await client.query("DELETE FROM vonode.demo_state WHERE item IN ('catalogue', 'products')");
  const description = await parseDescriptionFile(DEMO_DESCRIPTION);
  const table = description.tables.find((t) => `${t.schema}.${t.name}` === DEMO_TABLE);
  if (!table || description.tables.length !== 1)
    throw new Error(`${DEMO_DESCRIPTION} must describe the one table ${DEMO_TABLE}`);
  const source = demoDataSource(table, { rows: opts.rows, fields: demoFields(opts.scale) });
  // The same path as `vonode publish`: a killed start leaves the previous version served
  // (or nothing), never a half-loaded table, and the next start publishes again.
  const report = await publishCatalogue(opts.pool, description, [source], {
    store: { putPublishedTable, removePublishedTable, notifyCatalogueChanged },
    log: opts.log,
  });
  const n = report.tables[0]?.nrows ?? 0;
  await client.query("INSERT INTO vonode.demo_state (item, detail) VALUES ('catalogue', $1)", [
    JSON.stringify({ rows: n, version: DEMO_CATALOGUE_VERSION }),
  ]);
  opts.log(`demo source catalogue ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
