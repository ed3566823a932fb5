import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  aliceToken,
  type NodeFacts,
  nodeSnapshot,
  populateNode,
  runVonode,
  STATE_QUERIES,
} from '../support/node-state.js';
import { freePort, type NodeProcess, spawnNode } from '../support/process.js';

// Issue 23, acceptance: a node with a published catalogue, user tables, jobs and products is
// backed up while it serves, restored into a fresh data folder, and the restored node answers
// the same queries with the same rows, and still serves the job's result.

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'vonode.js');
let dir: string;
let first: NodeProcess;
let restored: NodeProcess | undefined;
let facts: NodeFacts;
const envOf = (name: string, port: number): Record<string, string> => ({
  DATABASE_URL: '',
  VONODE_DATA_DIR: join(dir, name),
  VONODE_DEMO_ROWS: '300',
  VONODE_DEMO_SCALE: '16',
  VONODE_DEV_ISSUER: 'on',
  PORT: String(port),
});
let firstPort: number;
let restoredPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vonode-backup-'));
  chmodSync(dir, 0o755);
  firstPort = await freePort();
  restoredPort = await freePort();
  first = await spawnNode(envOf('var', firstPort), firstPort);
  facts = await populateNode(first.url, (args) => runVonode(BIN, envOf('var', firstPort), args), dir);
}, 300_000);

afterAll(async () => {
  await restored?.stop();
  await first?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('vonode backup and restore of a node on its embedded PostgreSQL', () => {
  it('backs up while the node serves, restores into a fresh data folder, and the same queries give the same rows', async () => {
    const file = join(dir, 'node.backup');
    const backup = await runVonode(BIN, envOf('var', firstPort), ['backup', file]);
    expect(backup.code, backup.out).toBe(0);
    expect(backup.stdout).toMatch(/backed up .* base backup of the embedded PostgreSQL/);
    // The ingested image lies outside the data folder: listed, not copied.
    expect(backup.stdout).toMatch(/1 product file\(s\) lie outside the data folder/);

    const restore = await runVonode(BIN, envOf('restored', restoredPort), ['restore', file]);
    expect(restore.code, restore.out).toBe(0);
    expect(restore.stdout).toMatch(/restored .* into/);
    expect(readdirSync(join(dir, 'restored', 'results')).length).toBeGreaterThan(0);

    restored = await spawnNode(envOf('restored', restoredPort), restoredPort);
    const before = await nodeSnapshot(
      first.url,
      await aliceToken((a) => runVonode(BIN, envOf('var', firstPort), a)),
      facts,
    );
    const after = await nodeSnapshot(
      restored.url,
      await aliceToken((a) => runVonode(BIN, envOf('restored', restoredPort), a)),
      facts,
    );
    for (const name of Object.keys(STATE_QUERIES)) {
      // Each answer has its header and rows: an empty table would compare equal too easily.
      expect(before[name].trim().split('\n').length, name).toBeGreaterThan(1);
      expect(after[name], name).toBe(before[name]);
    }
    expect(after.completedJobPhase).toBe('COMPLETED');
    expect(after.pendingJobPhase).toBe('PENDING');
    expect(after.completedJobQuery).toBe(before.completedJobQuery);

    // The job's result file came along: the same bytes from the restored node.
    const result = async (url: string, port: number, name: string) => {
      const token = await aliceToken((a) => runVonode(BIN, envOf(name, port), a));
      const res = await fetch(`${url}/tap/async/${facts.completedJob}/results/result`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      return res.text();
    };
    const original = await result(first.url, firstPort, 'var');
    expect(original).toContain('<INFO name="QUERY_STATUS" value="OK"/>');
    expect(original).toContain('<STREAM encoding="base64">');
    expect(await result(restored.url, restoredPort, 'restored')).toBe(original);
  }, 300_000);

  it('refuses to restore over a data folder that holds a node, saying what to do', async () => {
    const file = join(dir, 'node.backup');
    expect(existsSync(file)).toBe(true);
    const again = await runVonode(BIN, envOf('restored', restoredPort), ['restore', file]);
    expect(again.code).toBe(2);
    expect(again.out).toMatch(/already holds a node .*restore into a fresh data folder/);
    const notBackup = await runVonode(BIN, envOf('other', restoredPort), [
      'restore',
      join(dir, 'sources.csv'),
    ]);
    expect(notBackup.code).toBe(1);
    expect(notBackup.out).toMatch(/is not a vonode backup/);
  }, 120_000);
});
