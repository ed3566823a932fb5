import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/index.js';
import { type RunningNode, startNode } from '../../src/node.js';
import { testDatabaseUrl } from './db.js';

/** Rows of the demo catalogue every test node shares (the first to start generates it). */
export const TEST_DEMO_ROWS = 5000;

/** A real node on the test database, on a free loopback port. */
export async function startTestNode(
  env: Record<string, string> = {},
): Promise<RunningNode & { dataDir: string; stop(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vonode-node-'));
  const config = parseConfig({
    DATABASE_URL: testDatabaseUrl(),
    PORT: '0',
    VONODE_DATA_DIR: dataDir,
    VONODE_DEMO_ROWS: String(TEST_DEMO_ROWS),
    VONODE_LOG_LEVEL: 'silent',
    ...env,
  });
  const node = await startNode(config);
  return Object.assign(node, {
    dataDir,
    async stop() {
      await node.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}
