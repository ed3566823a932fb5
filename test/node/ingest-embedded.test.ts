import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { demoPlan } from '../../src/ingest/demo.js';
import { writeDemoImage } from '../../src/ingest/demo-products.js';
import { type NodeProcess, runVonode, spawnNode } from '../support/process.js';

// Issue 17: `vonode ingest` into a node serving from its embedded PostgreSQL, with no
// DATABASE_URL and no port to look for, as a new user does it. The node starts with no images
// at all, so its HiPS answers "no images" first; the ingested image must reach it without a
// restart.

let dir: string;
let node: NodeProcess;

const vonode = (args: string[]) => runVonode(args, { VONODE_DATA_DIR: join(dir, 'var') });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vonode-embedded-ingest-'));
  chmodSync(dir, 0o755);
  node = await spawnNode({ DATABASE_URL: '', VONODE_DATA_DIR: join(dir, 'var'), VONODE_DEMO_ROWS: '0' });
}, 180_000);

afterAll(async () => {
  await node?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('vonode ingest into a node on its embedded PostgreSQL', () => {
  it('finds the running node from the data folder, and the node serves the image at once', async () => {
    const hips = () => fetch(`${node.url}/hips/images/properties`);
    // No images yet: the HiPS says so (and, before, kept saying so until a restart).
    expect((await hips()).status).toBe(404);
    const spec = { ...demoPlan(16)[3], fileName: 'first.fits', obsId: 'first' };
    const path = join(dir, 'first.fits');
    await writeDemoImage(path, spec, []);
    const r = await vonode(['ingest', '--collection', 'mine', path]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toMatch(/starting its embedded PostgreSQL/);
    const did = /ingested .* as (\S+)/.exec(r.out)?.[1] as string;
    const sia = await (await fetch(`${node.url}/sia/query?COLLECTION=mine`)).text();
    expect(sia).toContain(did);
    await vi.waitFor(async () => expect((await hips()).status).toBe(200), { timeout: 30_000, interval: 200 });
    const list = await vonode(['products']);
    expect(list.code, list.out).toBe(0);
    expect(list.out).toContain(did);
    expect(list.out).toMatch(/1 products/);
  });
});
