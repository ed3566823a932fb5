import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { coneCoverage } from '../../sky/index.js';
import { withMaintenance } from '../auth/index.js';
import type { DemoField } from './demo-catalogue.js';
import {
  type DemoImageSpec,
  type DemoSource,
  demoFieldRadiusDeg,
  writeDemoCube,
  writeDemoImage,
} from './demo-products.js';
import { demoSourcesTable } from './demo-source.js';
import { describeFitsProduct } from './fits-product.js';
import { datalinkUrl, publisherDid, upsertRecord } from './products.js';

export const DEMO_COLLECTION = 'ska-demo';
export const DEMO_DID_PREFIX = 'ivo://vonode.demo/ska';

interface ProductsState {
  readonly files: string[];
  /** Pixels per axis of each file, so a changed VONODE_DEMO_SCALE regenerates. */
  readonly sizes: string[];
}

const sizeOf = (s: DemoImageSpec) => `${s.nx}x${s.ny}x${s.nchan}`;

interface DemoContext {
  readonly dataDir: string;
  readonly log: (line: string) => void;
}

/**
 * Writes the demo images and cubes with the catalogue's own sources in them, then
 * registers each through the same ingest a site uses for its files (describeFitsProduct
 * and upsertRecord). A later start reuses them.
 */
export async function ensureDemoProducts(
  client: pg.PoolClient,
  ctx: DemoContext,
  fields: DemoField[],
  plan: DemoImageSpec[],
): Promise<void> {
  const dir = join(ctx.dataDir, 'products');
  const state = await client.query<{ detail: ProductsState }>(
    "SELECT detail FROM vonode.demo_state WHERE item = 'products'",
  );
  const known = state.rows[0]?.detail;
  const same =
    known?.sizes?.length === plan.length &&
    plan.every(
      (p, i) =>
        known.files[i] === p.fileName && known.sizes[i] === sizeOf(p) && existsSync(join(dir, p.fileName)),
    );
  // access_url is stored relative to the node (sql/148): a changed base URL needs no rewrite.
  if (known && same) return;
  mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  ctx.log(`writing ${plan.length} demo FITS products to ${dir}`);
  for (const [i, spec] of plan.entries()) {
    const field = fields[i];
    const path = join(dir, spec.fileName);
    const sources = await sourcesIn(client, spec, field.beamArcsec);
    if (spec.kind === 'cube') await writeDemoCube(path, spec, sources);
    else await writeDemoImage(path, spec, sources);
    const did = publisherDid(DEMO_DID_PREFIX, spec.fileName);
    const record = await describeFitsProduct(path, {
      collection: DEMO_COLLECTION,
      publisherDid: () => did,
      accessUrl: () => datalinkUrl(did),
      dataRights: field.ownerGroup ? 'proprietary' : 'public',
      ownerGroup: field.ownerGroup ?? null,
      obsReleaseDate: field.releaseDate ? field.releaseDate.toISOString().slice(0, 19) : undefined,
    });
    await upsertRecord(client, record);
  }
  const detail: ProductsState = {
    files: plan.map((p) => p.fileName),
    sizes: plan.map(sizeOf),
  };
  await client.query(
    "INSERT INTO vonode.demo_state (item, detail) VALUES ('products', $1) ON CONFLICT (item) DO UPDATE SET detail = EXCLUDED.detail, created_at = now()",
    [JSON.stringify(detail)],
  );
  ctx.log(`demo FITS products ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

/** Catalogue sources inside a product's field, bright enough to show above its noise. */
async function sourcesIn(
  client: pg.PoolClient,
  spec: DemoImageSpec,
  catalogueBeam: number,
): Promise<DemoSource[]> {
  const radius = demoFieldRadiusDeg(spec);
  const ranges = coneCoverage(spec.raDeg, spec.decDeg, radius, { maxRanges: 32 });
  const lo = ranges.map((r) => r[0].toString());
  const hi = ranges.map((r) => r[1].toString());
  await client.query('BEGIN');
  try {
    await withMaintenance(client);
    const sources = await demoSourcesTable(client);
    const r = await client.query<{
      ra: number;
      dec: number;
      flux_int: number;
      maj_axis: number;
      min_axis: number;
      pos_angle: number;
      spectral_index: number;
    }>(
      `SELECT s.ra, s.dec, s.flux_int, s.maj_axis, s.min_axis, s.pos_angle, s.spectral_index
         FROM ${sources} s JOIN unnest($1::bigint[], $2::bigint[]) AS r(lo, hi) ON s.healpix >= r.lo AND s.healpix < r.hi
        WHERE s.flux_peak > $3`,
      [lo, hi, spec.noiseJy * 0.3],
    );
    return r.rows.map((s) => ({
      ra: s.ra,
      dec: s.dec,
      fluxJy: s.flux_int,
      // The catalogue lists beam-convolved sizes; the image convolves with its own beam.
      majorArcsec: Math.sqrt(Math.max(0, s.maj_axis ** 2 - catalogueBeam ** 2)),
      minorArcsec: Math.sqrt(Math.max(0, s.min_axis ** 2 - catalogueBeam ** 2)),
      paDeg: s.pos_angle,
      spectralIndex: s.spectral_index,
    }));
  } finally {
    await client.query('COMMIT');
  }
}
