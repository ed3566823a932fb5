import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAP_EXAMPLES } from '../../src/tap/examples.js';
import { startTestNode } from '../support/node.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;
let node: TestNode;

beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => {
  await node?.stop();
});

describe('/tap/examples (DALI-11, DALI-12, TAP-70..TAP-73)', () => {
  it('is XHTML with one RDFa vocab and every example marked up', async () => {
    const res = await fetch(`${node.url}/tap/examples`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/xhtml\+xml/);
    const doc = await res.text();
    expect(doc.match(/vocab="/g)).toHaveLength(1);
    for (const e of TAP_EXAMPLES) {
      expect(doc).toContain(`typeof="example" id="${e.id}" resource="#${e.id}"`);
    }
    expect(doc.match(/property="query"/g)).toHaveLength(TAP_EXAMPLES.length);
  });

  for (const e of TAP_EXAMPLES) {
    it(`example '${e.id}' runs on the demo data`, async () => {
      const res = await fetch(`${node.url}/tap/sync`, {
        method: 'POST',
        body: new URLSearchParams({ LANG: 'ADQL', QUERY: e.query, RESPONSEFORMAT: 'votable/td' }),
      });
      const text = await res.text();
      expect(res.status, text).toBe(200);
      expect(text).toMatch(/QUERY_STATUS" value="(OK|OVERFLOW)"/);
      expect(text).toMatch(/<FIELD/);
    });
  }
});
