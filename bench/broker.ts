/**
 * ExecutionBroker figures, each against a reference measured in the same run:
 *  - making an offer set (request read, quota query, two offers inserted) vs one SQL round trip;
 *  - accept → COMPLETED for a pipeline that runs /bin/true on the local backend (driver
 *    polling every 20 ms, wrapper script, prlimit) vs spawning /bin/true directly.
 *
 *   npx tsx bench/broker.ts            (embedded PostgreSQL in a temporary folder)
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { BrokerService, brokerSettings, LocalBackend, readRequest } from '../src/broker/index.js';
import { ensureDatabase, startEmbeddedPostgres } from '../src/db/embedded.js';
import { applyMigrations } from '../src/db/migrate.js';

const OFFERS = 300;
const RUNS = 40;

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function main(): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'vonode-bench-broker-'));
  chmodSync(base, 0o755);
  const db = await startEmbeddedPostgres({ dataDir: join(base, 'pg') });
  await ensureDatabase(db.url);
  const pool = new pg.Pool({ connectionString: db.url, max: 8 });
  pool.on('error', () => {});
  await applyMigrations(pool);
  const settings = brokerSettings(
    {
      VONODE_BROKER_PIPELINES: JSON.stringify([{ name: 'true', command: ['/bin/true'] }]),
      VONODE_BROKER_POLL_MS: '20',
      VONODE_BROKER_MAX_ACTIVE_PER_USER: '0',
    },
    [],
  );
  const log = { warn: () => {}, error: (o: object, m: string) => console.error(m, o) };
  const service = new BrokerService(pool, settings, new LocalBackend(), join(base, 'data'), log);
  const identity = { sub: 'bench', groups: [] };
  const read = readRequest({
    executable: { kind: 'urn:vonode:broker:types:executable:pipeline-1.0', pipeline: 'true' },
    compute: { cores: { min: 1, max: 2 }, memory: { min: 1 } },
  });

  // offers vs a round trip
  const rt: number[] = [];
  for (let i = 0; i < OFFERS; i++) {
    const t = performance.now();
    await pool.query('SELECT 1');
    rt.push(performance.now() - t);
  }
  const offer: number[] = [];
  const uuids: string[] = [];
  for (let i = 0; i < OFFERS; i++) {
    const t = performance.now();
    const out = await service.offer(identity, read.request, [], []);
    offer.push(performance.now() - t);
    uuids.push(out.uuid);
  }
  console.log(
    `offer set: median ${median(offer).toFixed(2)} ms = ${(median(offer) / median(rt)).toFixed(1)} × one SQL round trip (${median(rt).toFixed(3)} ms)`,
  );

  // accept → COMPLETED vs spawning the same program
  const spawnMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await new Promise((resolve) => spawn('/bin/true').once('exit', resolve));
    spawnMs.push(performance.now() - t);
  }
  service.start();
  const life: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const first = (
      await pool.query('SELECT uuid FROM broker.sessions WHERE offerset = $1 ORDER BY rank LIMIT 1', [
        uuids[i],
      ])
    ).rows[0].uuid;
    const t = performance.now();
    await service.update(identity, first, 'ACCEPTED');
    for (;;) {
      const p = (await pool.query('SELECT phase FROM broker.sessions WHERE uuid = $1', [first])).rows[0]
        .phase;
      if (p === 'COMPLETED' || p === 'FAILED') break;
      await new Promise((r) => setTimeout(r, 5));
    }
    life.push(performance.now() - t);
  }
  await service.stop();
  console.log(
    `accept → COMPLETED: median ${median(life).toFixed(1)} ms = ${(median(life) / median(spawnMs)).toFixed(1)} × spawning /bin/true (${median(spawnMs).toFixed(2)} ms); driver poll 20 ms`,
  );
  await pool.end();
  await db.stop();
  rmSync(base, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
