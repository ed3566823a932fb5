import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedDatabase, ensureDatabase, startEmbeddedPostgres } from '../../src/db/embedded.js';

/** PostgreSQL servers of the test's own on loopback, as shards (src/shards). */
export interface ShardServers {
  readonly urls: readonly string[];
  /** Kills server i (0-based) with SIGKILL, as a crashed machine would leave it. */
  kill(i: number): void;
  close(): Promise<void>;
}

export async function startShardServers(n: number): Promise<ShardServers> {
  const base = mkdtempSync(join(tmpdir(), 'vonode-shards-'));
  chmodSync(base, 0o755);
  const dbs: (EmbeddedDatabase | undefined)[] = [];
  // One at a time: initdb on a shared 2-core machine is slow enough already.
  for (let i = 0; i < n; i++) {
    const db = await startEmbeddedPostgres({ dataDir: join(base, `shard${i + 1}`), supervise: false });
    await ensureDatabase(db.url);
    dbs.push(db);
  }
  return {
    urls: dbs.map((d) => (d as EmbeddedDatabase).url),
    kill(i) {
      const pid = Number(readFileSync(join(base, `shard${i + 1}`, 'postmaster.pid'), 'utf8').split('\n')[0]);
      dbs[i] = undefined;
      process.kill(pid, 'SIGKILL');
    },
    async close() {
      for (const d of dbs) await d?.stop().catch(() => {});
      rmSync(base, { recursive: true, force: true });
    },
  };
}
