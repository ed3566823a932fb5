import pg from 'pg';
import { compile } from '../adql/index.js';
import { copyFormatFor, encode } from '../votable/index.js';
import { loadPublishedSchemas } from '../src/catalogue/index.js';
import { parseConfig } from '../src/config/index.js';
import { startNode } from '../src/node.js';
import { ANONYMOUS } from '../src/auth/index.js';
import { catalogueOf, publishedCatalogue } from '../src/tap/catalogue.js';
import { executeQuery } from '../src/tap/execute.js';

const config = parseConfig({ ...process.env, PORT: '0', VONODE_DATA_DIR: '/tmp/cone-bench', VONODE_LOG_LEVEL: 'warn' });
const node = await startNode(config, (l) => console.error(l));
const catalogue = catalogueOf(publishedCatalogue(await loadPublishedSchemas(node.db.pool)));
const adql = (i: number) => `SELECT source_id, ra, dec, flux_int FROM demo.sources WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', ${(i * 37) % 360}, ${((i * 13) % 120) - 60}, 0.1))`;
const bare = new pg.Pool({ connectionString: node.db.url, max: 4, options: '-c role=vonode_reader' });
const runs: Record<string, (i: number) => Promise<unknown>> = {
  httpFloor: async () => { const r = await fetch(`${node.url}/tap/availability`); await r.arrayBuffer(); },
  http404: async () => { const r = await fetch(`${node.url}/nothing`); await r.arrayBuffer(); },
  tapSync: async (i) => { const r = await fetch(`${node.url}/tap/sync`, { method: 'POST', body: new URLSearchParams({ LANG: 'ADQL', QUERY: adql(i), MAXREC: '100000' }) }); await r.arrayBuffer(); },
  compileOnly: async (i) => compile(adql(i), catalogue, { maxrec: 100000 }),
  executeEncode: async (i) => {
    const c = compile(adql(i), catalogue, { maxrec: 100000 });
    const res = await executeQuery(node.db.pool, c, { identity: ANONYMOUS, maxrec: 100000, timeoutSeconds: 60, copyFormat: copyFormatFor('votable/binary2'), catalogueVersion: 1 });
    for await (const _ of encode('votable/binary2', { fields: res.fields, rows: res.rows, copy: res.copy, leadingStatus: res.leadingStatus, trailingStatus: res.trailingStatus })) {}
    await res.close();
  },
  bareSql: async (i) => { const c = compile(adql(i), catalogue, { maxrec: 100000 }); await bare.query({ text: c.sql, values: c.params, rowMode: 'array' }); },
};
for (let round = 0; round < 2; round++)
for (const [name, f] of Object.entries(runs)) {
  for (let i = 0; i < 20; i++) await f(i);
  const t: number[] = [];
  for (let i = 0; i < 200; i++) { const t0 = performance.now(); await f(i); t.push(performance.now() - t0); }
  t.sort((a, b) => a - b);
  console.log(name.padEnd(14), 'p50', t[100].toFixed(2), 'p25', t[50].toFixed(2));
}
await bare.end();
await node.close();
