import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nestedIndex } from '../../sky/index.js';
import { connectionOptions } from '../../src/db/index.js';
import { EmptyTiles, marker } from '../../src/hips/empty.js';
import { tilePath } from '../../src/hips/index.js';
import { loadSurveys, renderTile, type Survey, tileKey } from '../../src/hips/survey.js';
import { testDatabaseUrl } from '../support/db.js';
import { startTestNode } from '../support/node.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;
let node: TestNode;
let pool: pg.Pool;
let survey: Survey;

beforeAll(async () => {
  node = await startTestNode();
  // Product paths resolved as the node resolves them (below its products root, sql/170).
  pool = new pg.Pool({
    connectionString: testDatabaseUrl(),
    max: 2,
    options: connectionOptions({ 'vonode.products_root': node.dataDir }),
  });
  const s = (await loadSurveys(pool)).find((x) => x.name === 'images');
  if (!s) throw new Error('the demo products make no HiPS');
  survey = s;
}, 120_000);
afterAll(async () => {
  await node?.stop();
  await pool?.end();
});

/** The first deepest-order tile that meets the survey's MOC yet has no image pixel. */
async function emptyTileInMoc(): Promise<number> {
  const o = survey.order;
  const shift = BigInt(2 * (29 - o));
  for (const [lo, hi] of survey.moc.degrade(o).ranges)
    for (let i = lo >> shift; i < hi >> shift; i++)
      if (!(await renderTile(survey, o, Number(i)))) return Number(i);
  throw new Error('every tile of the survey MOC has data');
}

describe('HiPS tiles with no data are remembered per data version (HIPS-03)', () => {
  it('a tile in the MOC with no pixel is rendered once: its 404 leaves a marker under its data version', async () => {
    const order = survey.order;
    const index = await emptyTileInMoc();
    for (const ext of ['png', 'fits']) {
      const path = join(
        node.dataDir,
        'hips',
        'images',
        'tiles',
        tileKey(survey, order, index, ext),
        tilePath(order, index, ext),
      );
      // The PNG tile is drawn from the FITS tile's values: asking for it marks both.
      expect(existsSync(marker(path))).toBe(ext === 'fits');
      for (let k = 0; k < 2; k++) {
        const res = await fetch(`${node.url}/hips/images/${tilePath(order, index, ext)}`);
        expect(res.status).toBe(404);
        expect(await res.text()).toMatch(/no data in this tile/);
        expect(existsSync(marker(path))).toBe(true);
        expect(existsSync(path)).toBe(false);
      }
    }
    // A tile with data (under the first image's centre) leaves its tile, never a marker.
    const full = Number(nestedIndex(order, survey.initial.ra, survey.initial.dec));
    expect(await renderTile(survey, order, full)).toBeDefined();
    const res = await fetch(`${node.url}/hips/images/${tilePath(order, full, 'png')}`);
    expect(res.status).toBe(200);
    const path = join(
      node.dataDir,
      'hips',
      'images',
      'tiles',
      tileKey(survey, order, full, 'png'),
      tilePath(order, full, 'png'),
    );
    expect(existsSync(path)).toBe(true);
    expect(existsSync(marker(path))).toBe(false);
  });

  it('the memory outlives the process (the marker) and is per data version (the path)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vonode-empty-'));
    try {
      const v1 = join(dir, 'aaaa', tilePath(9, 123456, 'png'));
      const v2 = join(dir, 'bbbb', tilePath(9, 123456, 'png'));
      const first = new EmptyTiles(2);
      expect(await first.has(v1)).toBe(false);
      await first.remember(v1);
      expect(await first.has(v1)).toBe(true);
      const again = new EmptyTiles(2);
      expect(await again.has(v1)).toBe(true);
      expect(await again.has(v2)).toBe(false);
      // Past its bound the memory forgets the oldest; the marker still answers.
      for (const n of [1, 2, 3]) await again.remember(join(dir, 'cccc', `${n}`));
      expect(await again.has(v1)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
