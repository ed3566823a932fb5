import { parseConfig } from '../src/config/index.js';
import { startNode } from '../src/node.js';
const config = parseConfig({ ...process.env, PORT: '0', VONODE_DATA_DIR: '/tmp/cone-bench', VONODE_LOG_LEVEL: 'warn', VONODE_SYNC_MAX_PER_CLIENT: '32' });
const node = await startNode(config, (l) => console.error(l));
const adql = (i: number) => `SELECT source_id, ra, dec, flux_int FROM demo.sources WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', ${(i * 37.3) % 360}, ${((i * 13.7) % 120) - 60}, 0.1))`;
const conc = Number(process.argv[2] ?? 1);
const n = Number(process.argv[3] ?? 600);
let next = 0;
const t: number[] = [];
const t0 = performance.now();
await Promise.all(Array.from({ length: conc }, async () => {
  while (next < n) {
    const i = next++;
    const s = performance.now();
    const r = await fetch(`${node.url}/tap/sync`, { method: 'POST', body: new URLSearchParams({ LANG: 'ADQL', QUERY: adql(i), MAXREC: '100000' }) });
    await r.arrayBuffer();
    if (i >= 50) t.push(performance.now() - s);
  }
}));
t.sort((a, b) => a - b);
console.log('p50', t[t.length >> 1].toFixed(2), 'q/s', (n / ((performance.now() - t0) / 1000)).toFixed(1));
await node.close();
