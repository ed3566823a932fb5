import pg from 'pg';
import { compile } from '../adql/index.js';
import { loadPublishedSchemas } from '../src/catalogue/index.js';
import { SeededRandom } from '../src/ingest/random.js';
import { catalogueOf, publishedCatalogue } from '../src/tap/catalogue.js';
import { queryShape } from '../src/tap/result-types.js';
import { parseConfig } from '../src/config/index.js';
import { startNode } from '../src/node.js';
const node = await startNode(parseConfig({ ...process.env, PORT: '0', VONODE_DATA_DIR: '/tmp/cone-bench', VONODE_LOG_LEVEL: 'warn' }));
const pool = node.db.pool;
const catalogue = catalogueOf(publishedCatalogue(await loadPublishedSchemas(pool)));
const rng = new SeededRandom(42);
const shapes = new Set<string>();
let misses = 0;
for (let i = 0; i < 400; i++) {
  const ra = rng.next() * 360; const dec = (Math.asin(rng.uniform(-1, 0.5)) * 180) / Math.PI;
  const c = compile(`SELECT source_id, ra, dec, flux_int FROM demo.sources WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', ${ra}, ${dec}, 0.1))`, catalogue, { maxrec: 100000 });
  const s = queryShape(c.sql); if (!shapes.has(s)) { misses++; shapes.add(s); }
}
console.log('distinct shapes in 400 cones', shapes.size);
await node.close();
