// bench/hips-empty: a HiPS tile that meets the survey's MOC but has no image pixel (404),
// asked for twice: the first request renders it, the second is answered from the memory of
// empty tiles; a tile with data beside, first (rendered) and again (from the tile cache),
// as the reference of the same run. Starts its own node on a small demo catalogue in a
// temporary folder (DATABASE_URL is honoured); loopback only; stops by itself.
//
//   npx tsx bench/hips-empty.ts
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nestedIndex } from '../sky/index.js';
import { parseConfig } from '../src/config/index.js';
import { renderTile, tilePath } from '../src/hips/index.js';
import { loadSurveys } from '../src/hips/survey.js';
import { startNode } from '../src/node.js';

setTimeout(() => {
  console.error('hips-empty bench: hard time limit reached');
  process.exit(2);
}, 600_000).unref();

const dataDir = mkdtempSync(join(tmpdir(), 'vonode-bench-hips-'));
chmodSync(dataDir, 0o755);
const config = parseConfig({
  ...process.env,
  PORT: '0',
  VONODE_DATA_DIR: dataDir,
  VONODE_LOG_LEVEL: 'warn',
  VONODE_DEMO_ROWS: '1000',
  VONODE_DEMO_SCALE: '1',
});
const node = await startNode(config, () => {});
const cwd = process.cwd();
try {
  // Product paths are relative to the data folder.
  process.chdir(dataDir);
  const survey = (await loadSurveys(node.db.pool)).find((s) => s.name === 'images');
  if (!survey) throw new Error('the demo products make no HiPS');
  const order = survey.order;
  const shift = BigInt(2 * (29 - order));
  let empty = -1;
  search: for (const [lo, hi] of survey.moc.degrade(order).ranges)
    for (let i = lo >> shift; i < hi >> shift; i++)
      if (!(await renderTile(survey, order, Number(i)))) {
        empty = Number(i);
        break search;
      }
  if (empty < 0) throw new Error('every tile of the survey MOC has data');
  const full = Number(nestedIndex(order, survey.initial.ra, survey.initial.dec));
  const time = async (index: number) => {
    const t = performance.now();
    const res = await fetch(`${node.url}/hips/images/${tilePath(order, index, 'png')}`);
    await res.arrayBuffer();
    return { ms: performance.now() - t, status: res.status };
  };
  const e1 = await time(empty);
  const e2 = await time(empty);
  const f1 = await time(full);
  const f2 = await time(full);
  console.log(`order ${order}; the machine may be shared: compare within this run`);
  console.log(
    `empty tile in the MOC (${e1.status}): first ${e1.ms.toFixed(1)} ms, again ${e2.ms.toFixed(1)} ms (${(e1.ms / e2.ms).toFixed(0)}x faster)`,
  );
  console.log(
    `tile with data (${f1.status}):       first ${f1.ms.toFixed(1)} ms, again ${f2.ms.toFixed(1)} ms (from the tile cache)`,
  );
} finally {
  process.chdir(cwd);
  await node.close();
  rmSync(dataDir, { recursive: true, force: true });
}
