/**
 * Data brought to the job (issue 21, item 3), against a reference measured in the same run:
 *  - staging a file into a session's scratch (streamed, SHA-256 hashed, progress written,
 *    renamed) vs a plain streamed download of the same file from the same loopback server;
 *  - the offer's staging estimate before any transfer (configured rate) and after one
 *    (observed rate), as a ratio to the time the copy then took.
 *
 *   npx tsx bench/broker-staging.ts          (BENCH_STAGING_MB=256 for a larger file; default 64)
 */
import { chmodSync, createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import {
  BrokerService,
  brokerSettings,
  LocalBackend,
  readRequest,
  stagingSettings,
} from '../src/broker/index.js';
import { ensureDatabase, startEmbeddedPostgres } from '../src/db/embedded.js';
import { applyMigrations } from '../src/db/migrate.js';

const MB = Number(process.env.BENCH_STAGING_MB ?? 64);
const RUNS = 3;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function main(): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'vonode-bench-staging-'));
  chmodSync(base, 0o755);
  const db = await startEmbeddedPostgres({ dataDir: join(base, 'pg') });
  await ensureDatabase(db.url);
  const pool = new pg.Pool({ connectionString: db.url, max: 8 });
  pool.on('error', () => {});
  await applyMigrations(pool);

  const file = join(base, 'product.fits');
  const bytes = Buffer.alloc(MB * 1e6);
  for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i & 0xff;
  writeFileSync(file, bytes);
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': bytes.length, 'content-type': 'application/fits' });
    res.end(bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/product.fits`;

  const env = {
    VONODE_BROKER_PIPELINES: JSON.stringify([{ name: 'true', command: ['/bin/true', '{input}'] }]),
    VONODE_BROKER_POLL_MS: '20',
    VONODE_BROKER_MAX_ACTIVE_PER_USER: '0',
    VONODE_BROKER_STORAGE_GIB: '10',
  };
  const own = brokerSettings(env, []);
  const settings = { ...own, staging: stagingSettings(env, 'http://bench.invalid', []) };
  const log = {
    warn: (o: object, m: string) => console.error(m, o),
    error: (o: object, m: string) => console.error(m, o),
  };
  const service = new BrokerService(pool, settings, new LocalBackend(), join(base, 'data'), log);
  const identity = { sub: 'bench', groups: [] };
  const read = readRequest({
    executable: { kind: 'urn:vonode:broker:types:executable:pipeline-1.0', pipeline: 'true' },
    data: [
      {
        kind: 'https://www.purl.org/ivoa.net/EB/schema/v1.0/types/data/simple-data-resource-1.0',
        meta: { name: 'p' },
        location: url,
      },
    ],
  });

  const plain: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const res = await fetch(url);
    await pipeline(
      Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
      createWriteStream(join(base, `plain-${i}`)),
    );
    plain.push((performance.now() - t) / 1000);
  }

  service.start();
  const staged: number[] = [];
  const estimates: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    const out = await service.offer(identity, read.request, [], []);
    const offer = (
      await pool.query<{ uuid: string; allocation: { preparingSeconds: number } }>(
        'SELECT uuid, allocation FROM broker.sessions WHERE offerset = $1 ORDER BY rank LIMIT 1',
        [out.uuid],
      )
    ).rows[0];
    await service.update(identity, offer.uuid, 'ACCEPTED');
    let row: { phase: string; data: { staging?: { seconds?: number } }[] };
    for (;;) {
      row = (await pool.query('SELECT phase, data FROM broker.sessions WHERE uuid = $1', [offer.uuid]))
        .rows[0];
      if (row.phase === 'COMPLETED' || row.phase === 'FAILED') break;
      await new Promise((r) => setTimeout(r, 5));
    }
    if (row.phase !== 'COMPLETED') throw new Error(`session ${offer.uuid} ${row.phase}`);
    const seconds = row.data[0].staging?.seconds ?? Number.NaN;
    staged.push(seconds);
    estimates.push(
      `${i === 0 ? 'configured rate' : 'observed rate'}: estimate ${offer.allocation.preparingSeconds} s = ${(offer.allocation.preparingSeconds / seconds).toFixed(1)} × the ${seconds.toFixed(2)} s it took`,
    );
  }
  await service.stop();
  console.log(
    `staging ${MB} MB: median ${median(staged).toFixed(2)} s = ${(median(staged) / median(plain)).toFixed(2)} × a plain streamed download (${median(plain).toFixed(2)} s)`,
  );
  for (const e of estimates) console.log(`  ${e}`);
  server.close();
  await pool.end();
  await db.stop();
  rmSync(base, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
