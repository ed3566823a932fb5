import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NodeProcess, spawnNode } from '../support/process.js';

/** Issue 23 item 6: one JSON line per request with the fields operators filter on. */
describe('request log', () => {
  let node: NodeProcess;
  beforeAll(async () => {
    node = await spawnNode({ VONODE_LOG_LEVEL: 'info' });
  }, 150_000);
  afterAll(async () => {
    await node?.stop();
  });

  it('names each security-relevant setting at start', () => {
    const settings = node
      .log()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .map((l) => l.setting)
      .filter((v) => v !== undefined);
    expect(settings).toEqual(expect.arrayContaining(['dev issuer', 'anonymous access', 'cors origins']));
  });

  it('writes status, duration, bytes and user for a request', async () => {
    expect((await fetch(`${node.url}/tap/capabilities?probe=log`)).status).toBe(200);
    let line: Record<string, unknown> | undefined;
    const deadline = Date.now() + 10_000;
    while (!line && Date.now() < deadline) {
      line = node
        .log()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === 'request' && l.url === '/tap/capabilities?probe=log');
      if (!line) await new Promise((r) => setTimeout(r, 50));
    }
    expect(line).toBeDefined();
    expect(line?.status).toBe(200);
    expect(line?.level).toBe(30);
    expect(typeof line?.ms).toBe('number');
    expect(line?.user).toBeNull();
  });
});
