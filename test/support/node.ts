import type { CatalogueSource } from '../../src/catalogue/index.js';
import { parseConfig } from '../../src/config/index.js';
import { type RunningNode, startNode } from '../../src/node.js';
import { testDatabaseUrl, testDataDir } from './db.js';

/** Rows of the demo catalogue every test node shares (the first to start generates it). */
export const TEST_DEMO_ROWS = 5000;

/** The public URL test nodes write into documents (the demo access URLs use it). */
export const TEST_BASE_URL = 'http://vo.example.test/node';

/** A real node on the test database and the run's shared data folder, on a free loopback port. */
export async function startTestNode(
  env: Record<string, string> = {},
  opts: { readonly catalogues?: CatalogueSource } = {},
): Promise<RunningNode & { dataDir: string; stop(): Promise<void> }> {
  const dataDir = testDataDir();
  const config = parseConfig({
    DATABASE_URL: testDatabaseUrl(),
    PORT: '0',
    VONODE_DATA_DIR: dataDir,
    VONODE_DEMO_ROWS: String(TEST_DEMO_ROWS),
    // Full size: the tests' expectations (SIA's SPATRES, DataLink's sizes...) are those of
    // the demo as served by default. test/node/ingest-live.test.ts checks the scale.
    VONODE_DEMO_SCALE: '1',
    VONODE_BASE_URL: TEST_BASE_URL,
    VONODE_LOG_LEVEL: 'silent',
    ...env,
  });
  const node = await startNode(config, undefined, opts);
  return Object.assign(node, {
    dataDir,
    async stop() {
      await node.close();
    },
  });
}
