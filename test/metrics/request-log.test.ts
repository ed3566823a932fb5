import { createHash } from 'node:crypto';
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

  /** The request line for a URL, once written (the line comes when the response is over). */
  async function lineFor(
    match: (l: Record<string, unknown>) => boolean,
  ): Promise<Record<string, unknown> | undefined> {
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      const line = node
        .log()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.msg === 'request' && match(l));
      if (line) return line;
      await new Promise((r) => setTimeout(r, 50));
    }
    return undefined;
  }

  it('gives a TAP query its rows and a query id, the same for the same ADQL', async () => {
    const adql = 'SELECT TOP 7 source_id FROM demo.sources ORDER BY source_id';
    for (const format of ['csv', 'votable']) {
      const res = await fetch(`${node.url}/tap/sync?probe=${format}`, {
        method: 'POST',
        body: new URLSearchParams({ LANG: 'ADQL', QUERY: adql, RESPONSEFORMAT: format }),
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      const line = await lineFor((l) => l.url === `/tap/sync?probe=${format}`);
      expect(line?.rows).toBe(7);
      expect(line?.queryId).toBe(createHash('sha256').update(adql).digest('hex').slice(0, 12));
    }
    // Overflow: MAXREC rows were sent, not the MAXREC+1 asked of PostgreSQL.
    const capped = await fetch(`${node.url}/tap/sync?probe=maxrec`, {
      method: 'POST',
      body: new URLSearchParams({ LANG: 'ADQL', QUERY: adql, MAXREC: '3', RESPONSEFORMAT: 'csv' }),
    });
    await capped.arrayBuffer();
    expect((await lineFor((l) => l.url === '/tap/sync?probe=maxrec'))?.rows).toBe(3);
    // A cone search's rows; it has no ADQL of its own, so no query id.
    const cone = await fetch(`${node.url}/scs/query?RA=0&DEC=0&SR=10&MAXREC=5&probe=scs`);
    expect(cone.status).toBe(200);
    await cone.arrayBuffer();
    const scs = await lineFor((l) => typeof l.url === 'string' && l.url.endsWith('probe=scs'));
    expect(scs?.rows).toBe(5);
    expect(scs?.queryId).toBeUndefined();
  });
});
