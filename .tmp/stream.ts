import { compile } from '../adql/index.js';
import { copyFormatFor, encode } from '../votable/index.js';
import { loadPublishedSchemas } from '../src/catalogue/index.js';
import { parseConfig } from '../src/config/index.js';
import { startNode } from '../src/node.js';
import { ANONYMOUS } from '../src/auth/index.js';
import { catalogueOf, publishedCatalogue } from '../src/tap/catalogue.js';
import { executeQuery } from '../src/tap/execute.js';
const node = await startNode(parseConfig({ ...process.env, PORT: '0', VONODE_DATA_DIR: '/tmp/cone-bench', VONODE_LOG_LEVEL: 'warn' }));
const catalogue = catalogueOf(publishedCatalogue(await loadPublishedSchemas(node.db.pool)));
const c = compile('SELECT source_id, ra, dec, flux_int FROM demo.sources', catalogue, { maxrec: 2000000 });
for (const format of ['votable/b2', 'votable/td'] as const) {
  for (let round = 0; round < 3; round++) {
    for (const mode of ['batch', 'copy-streams'] as const) {
      const t0 = performance.now();
      const res = await executeQuery(node.db.pool, mode === 'batch' ? c : async () => c, { identity: ANONYMOUS, maxrec: 2000000, timeoutSeconds: 600, copyFormat: copyFormatFor(format === 'votable/b2' ? 'votable/binary2' : 'votable/td'), catalogueVersion: 7 });
      let bytes = 0;
      for await (const b of encode(format === 'votable/b2' ? 'votable/binary2' : 'votable/td', { fields: res.fields, rows: res.rows, copy: res.copy, leadingStatus: res.leadingStatus, trailingStatus: res.trailingStatus })) bytes += b.length;
      await res.close();
      const s = (performance.now() - t0) / 1000;
      console.log(format, mode, round, `${(1e6 / s / 1000).toFixed(0)}k rows/s`, bytes, res.copy ? 'copy' : 'rows');
    }
  }
}
await node.close();
