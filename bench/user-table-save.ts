// bench/user-table-save: an async TAP job saving N rows as a user table (SAVE_AS_TABLE,
// issue 16 item 3) beside the same N rows streamed out as a BINARY2 VOTable through
// /tap/sync, in the same run on the same node (the ratio is what keeping the rows costs
// against sending them).
//
//   npx tsx bench/user-table-save.ts [rows=1000000] [dataDir]
//
// The demo catalogue is generated with N rows first (minutes for a million); pass the folder
// of an earlier run with the same N to reuse it. DATABASE_URL is honoured.
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DevIssuer, devIssuerSettings } from '../src/auth/index.js';
import { parseConfig } from '../src/config/index.js';
import { startNode } from '../src/node.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const dataDir = process.argv[3] ?? mkdtempSync(join(tmpdir(), 'vonode-bench-'));
chmodSync(dataDir, 0o755);
const env = {
  ...process.env,
  PORT: '0',
  VONODE_DATA_DIR: dataDir,
  VONODE_LOG_LEVEL: 'warn',
  VONODE_DEV_ISSUER: 'on',
  VONODE_DEMO_ROWS: String(rows),
};
const config = parseConfig(env);
const node = await startNode(config, (l) => console.error(l));
const issuer = await DevIssuer.open(devIssuerSettings(env));
const token = await issuer.mintToken({ sub: 'bench', groups: ['team-a'] });
const auth = { authorization: `Bearer ${token}` };

const count = Number(
  (
    await (
      await fetch(`${node.url}/tap/sync`, {
        method: 'POST',
        headers: auth,
        body: new URLSearchParams({
          LANG: 'ADQL',
          RESPONSEFORMAT: 'csv',
          QUERY: 'SELECT COUNT(*) FROM demo.sources',
        }),
      })
    ).text()
  ).split(/\r?\n/)[1],
);
const QUERY =
  'SELECT source_id, field_id, ra, dec, flux_peak, flux_int, maj_axis, min_axis FROM demo.sources';

async function stream(): Promise<{ seconds: number; bytes: number }> {
  const t0 = performance.now();
  const res = await fetch(`${node.url}/tap/sync`, {
    method: 'POST',
    headers: auth,
    body: new URLSearchParams({
      LANG: 'ADQL',
      QUERY,
      MAXREC: String(count),
      RESPONSEFORMAT: 'application/x-votable+xml;serialization=BINARY2',
    }),
  });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
  return { seconds: (performance.now() - t0) / 1000, bytes };
}

let saves = 0;
async function save(): Promise<{ seconds: number; table: string }> {
  const name = `saved_${++saves}`;
  const t0 = performance.now();
  const created = await fetch(`${node.url}/tap/async`, {
    method: 'POST',
    headers: auth,
    body: new URLSearchParams({ LANG: 'ADQL', QUERY, SAVE_AS_TABLE: name, PHASE: 'RUN' }),
    redirect: 'manual',
  });
  const url = created.headers.get('location')!.replace(config.baseUrl, node.url);
  for (;;) {
    const doc = await (await fetch(`${url}?WAIT=30`, { headers: auth })).text();
    const phase = /<uws:phase>([A-Z]+)</.exec(doc)?.[1];
    if (phase === 'COMPLETED') break;
    if (phase === 'ERROR' || phase === 'ABORTED')
      throw new Error(`${phase}: ${/<uws:message>([^<]*)</.exec(doc)?.[1]}`);
  }
  return { seconds: (performance.now() - t0) / 1000, table: `user_bench.${name}` };
}

async function drop(table: string) {
  await fetch(`${node.url}/tap/tables/${table}`, { method: 'DELETE', headers: auth });
}

// Warm the caches once each, then alternate so neither side gets the warmer machine.
await stream();
await drop((await save()).table);
const streamed: number[] = [];
const saved: number[] = [];
let bytes = 0;
for (let i = 0; i < 3; i++) {
  const s = await stream();
  streamed.push(s.seconds);
  bytes = s.bytes;
  const t = await save();
  saved.push(t.seconds);
  await drop(t.table);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = median(streamed);
const mt = median(saved);
console.log(`rows: ${count} (demo.sources, 8 columns), 3 runs each, medians`);
console.log(
  `stream as BINARY2 (/tap/sync):  ${ms.toFixed(2)} s  ${(count / ms).toFixed(0)} rows/s  ${(bytes / 1e6).toFixed(1)} MB`,
);
console.log(
  `save as a user table (async):   ${mt.toFixed(2)} s  ${(count / mt).toFixed(0)} rows/s  (HEALPix column and index included)`,
);
console.log(`save / stream: ${(mt / ms).toFixed(2)}`);
await node.close();
