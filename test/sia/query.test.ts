import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestNode } from '../support/node.js';

let node: Awaited<ReturnType<typeof startTestNode>>;

beforeAll(async () => {
  node = await startTestNode();
}, 120000);

afterAll(async () => {
  await node?.stop();
});

async function sia(query: string): Promise<{ status: number; body: string; ids: string[] }> {
  const res = await fetch(`${node.url}/sia/query?${query}`);
  const body = await res.text();
  const ids = [...body.matchAll(/<TD>(ivo:\/\/vonode\.demo\/ska\?[^<]+)<\/TD>/g)].map((m) =>
    m[1].replace(/.*\?/, ''),
  );
  return { status: res.status, body, ids };
}

const q = (params: Record<string, string | string[]>) => {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) u.append(k, x);
  return u.toString();
};

describe('SIA 2.0 query', () => {
  test('no constraint returns every public image and cube, proprietary ones hidden (SIA-11, SIA-81)', async () => {
    const r = await sia('');
    expect(r.status).toBe(200);
    expect(r.body).toContain('<INFO name="QUERY_STATUS" value="OK"');
    expect(r.ids).toContain('image-01-low');
    expect(r.ids).toContain('cube-01-mid');
    expect(r.ids).not.toContain('image-07-mid');
    expect(r.ids).not.toContain('cube-02-low');
  });

  test('POS CIRCLE intersects the footprint, not only the centre (SIA-44)', async () => {
    // image-01-low is centred at 359.50 -27.00 and reaches about 1.9 deg east in RA.
    const r = await sia(q({ POS: 'CIRCLE 1.8 -27.0 0.5' }));
    expect(r.status).toBe(200);
    expect(r.ids).toEqual(['image-01-low']);
    const none = await sia(q({ POS: 'CIRCLE 3.0 -27.0 0.5' }));
    expect(none.ids).toEqual([]);
  });
});
