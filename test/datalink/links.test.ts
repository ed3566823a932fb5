import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { startTestNode, TEST_BASE_URL } from '../support/node.js';

let node: Awaited<ReturnType<typeof startTestNode>>;
let issuer: TestIssuer;
let teamA: string;
let teamB: string;

const DID = (name: string) => `ivo://vonode.demo/ska?${name}`;

beforeAll(async () => {
  issuer = await new TestIssuer().start();
  issuer.keys.push(await signingKey('RS256', 'k1'));
  node = await startTestNode({ VONODE_OIDC_ISSUER: issuer.url, VONODE_OIDC_AUDIENCE: 'vonode-test' });
  teamA = await issuer.token({ sub: 'alice', groups: ['/team-a'] }, { aud: 'vonode-test' });
  teamB = await issuer.token({ sub: 'bob', groups: ['/team-b'] }, { aud: 'vonode-test' });
}, 120000);

afterAll(async () => {
  await node?.stop();
  await issuer?.stop();
});

const local = (url: string) => url.replace(TEST_BASE_URL, node.url).replace(/&amp;/g, '&');

async function links(ids: string[], token?: string) {
  const u = new URLSearchParams();
  for (const id of ids) u.append('ID', id);
  const res = await fetch(`${node.url}/datalink/links?${u}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const body = await res.text();
  const rows = [...body.matchAll(/<TR>(.*?)<\/TR>/gs)].map((m) =>
    [...m[1].matchAll(/<TD>(.*?)<\/TD>|<TD\/>/gs)].map((c) => c[1] ?? ''),
  );
  return { status: res.status, type: res.headers.get('content-type'), body, rows };
}

describe('DataLink links', () => {
  test('one ID gives #this with the file size, #preview and #cutout with a SODA descriptor (DL-80..82)', async () => {
    const r = await links([DID('cube-01-mid')]);
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/x-votable+xml;content=datalink');
    expect(r.body).toContain('<INFO name="standardID" value="ivo://ivoa.net/std/DataLink#links-1.1"');
    const sem = r.rows.map((x) => x[5]);
    expect(sem).toEqual(expect.arrayContaining(['#this', '#preview', '#cutout', '#detached-header']));
    expect(Number(r.rows.find((x) => x[5] === '#this')?.[7])).toBeGreaterThan(2880);
    // The cutout row points at a descriptor with the dataset's ranges (SODA-71).
    const cut = r.rows.find((x) => x[5] === '#cutout');
    expect(cut?.[2]).toMatch(/^soda-\d+$/);
    const desc =
      new RegExp(`<RESOURCE[^>]*ID="${cut?.[2]}"[^>]*>([\\s\\S]*?)</RESOURCE>`).exec(r.body)?.[1] ?? '';
    expect(desc).toContain('value="ivo://ivoa.net/std/SODA#sync-1.0"');
    expect(desc).toMatch(/name="ID"[^>]*value="ivo:\/\/vonode.demo\/ska\?cube-01-mid"/);
    expect(desc).toMatch(/name="BAND"[\s\S]*?<MIN value="0\.2110\d*"\/>[\s\S]*?<MAX value="0\.2130\d*"\/>/);
    expect(desc).toMatch(/name="POLYGON"[\s\S]*?<MAX value="40\.88/);
  });

  test('#this downloads the whole file with its size in content_length and Content-Length (DL-80)', async () => {
    const r = await links([DID('image-04-low')]);
    const self = r.rows.find((x) => x[5] === '#this');
    const file = await fetch(local(self?.[1] ?? ''));
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('application/fits');
    const bytes = Buffer.from(await file.arrayBuffer());
    expect(String(bytes.length)).toBe(self?.[7]);
    expect(file.headers.get('content-length')).toBe(String(bytes.length));
    expect(bytes.subarray(0, 30).toString('latin1')).toMatch(/^SIMPLE {2}=\s+T/);
    // a byte range: the first header block only
    const part = await fetch(local(self?.[1] ?? ''), { headers: { range: 'bytes=0-2879' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 0-2879/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(0, 2880))).toBe(true);
    const tail = await fetch(local(self?.[1] ?? ''), { headers: { range: 'bytes=-100' } });
    expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 100))).toBe(true);
    const beyond = await fetch(local(self?.[1] ?? ''), { headers: { range: `bytes=${bytes.length}-` } });
    expect(beyond.status).toBe(416);
    await beyond.text();
  });

  test('several IDs keep their order, unknown ones get a NotFoundFault row (DL-12, DL-41)', async () => {
    const r = await links([DID('image-02-low'), 'ivo://nowhere/x', DID('image-01-low')]);
    expect(r.status).toBe(200);
    const order = [...new Set(r.rows.map((x) => x[0]))];
    expect(order).toEqual([DID('image-02-low'), 'ivo://nowhere/x', DID('image-01-low')]);
    const bad = r.rows.filter((x) => x[0] === 'ivo://nowhere/x');
    expect(bad).toHaveLength(1);
    expect(bad[0][3]).toMatch(/^NotFoundFault: /);
    expect(bad[0][5]).toBe('#this');
  });

  test('no ID: empty table and the self-description (DL-06, DL-64)', async () => {
    const r = await links([]);
    expect(r.status).toBe(200);
    expect(r.rows).toEqual([]);
    expect(r.body).toContain('utype="adhoc:this"');
  });

  test('proprietary: not found for anonymous and other groups (issue 13), links for the owner group', async () => {
    const anon = await links([DID('image-07-mid')]);
    expect(anon.rows).toHaveLength(1);
    expect(anon.rows[0][3]).toMatch(/^NotFoundFault: no dataset has ID/);
    const other = await links([DID('image-07-mid')], teamB);
    expect(other.rows[0][3]).toMatch(/^NotFoundFault: /);
    const owner = await links([DID('image-07-mid')], teamA);
    const self = owner.rows.find((x) => x[5] === '#this');
    expect(self?.[10]).toBe('true');
    const url = local(self?.[1] ?? '');
    expect((await fetch(url)).status).toBe(404);
    expect((await fetch(url, { headers: { authorization: `Bearer ${teamB}` } })).status).toBe(404);
    const ok = await fetch(url, { headers: { authorization: `Bearer ${teamA}` } });
    expect(ok.status).toBe(200);
    expect(Number(ok.headers.get('content-length'))).toBeGreaterThan(2880);
    await ok.arrayBuffer();
  });

  test('preview is a PNG of the image, thumbnail smaller; proprietary preview needs rights', async () => {
    const r = await links([DID('image-03-low')]);
    const prev = r.rows.find((x) => x[5] === '#preview');
    const res = await fetch(local(prev?.[1] ?? ''));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const png = Buffer.from(await res.arrayBuffer());
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    expect(width).toBeGreaterThan(16);
    expect(height).toBeGreaterThan(16);
    const thumb = await fetch(`${local(prev?.[1] ?? '')}?SIZE=thumbnail`);
    const t = Buffer.from(await thumb.arrayBuffer());
    expect(Math.max(t.readUInt32BE(16), t.readUInt32BE(20))).toBeLessThanOrEqual(128);
    const cube = await links([DID('cube-01-mid')]);
    const cubePreview = await fetch(local(cube.rows.find((x) => x[5] === '#preview')?.[1] ?? ''));
    expect(cubePreview.status).toBe(200);
    expect(
      Buffer.from(await cubePreview.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    const hidden = `${node.url}/preview/${encodeURIComponent(DID('cube-02-low'))}.png`;
    expect((await fetch(hidden)).status).toBe(404);
    expect((await fetch(hidden, { headers: { authorization: `Bearer ${teamA}` } })).status).toBe(404);
    expect((await fetch(hidden, { headers: { authorization: `Bearer ${teamB}` } })).status).toBe(200);
  });

  test('detached header lists the cards of the file', async () => {
    const r = await links([DID('image-01-low')]);
    const h = r.rows.find((x) => x[5] === '#detached-header');
    const res = await fetch(local(h?.[1] ?? ''));
    const text = await res.text();
    expect(text).toMatch(/^# HDU 0 \(PRIMARY\)\nSIMPLE {2}=/);
    expect(text).toMatch(/CTYPE1 {2}= 'RA---SIN'/);
    expect(text.trimEnd().endsWith('END')).toBe(true);
  });
});
