import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { startTestNode } from '../support/node.js';
import { python } from './python.js';

let node: Awaited<ReturnType<typeof startTestNode>>;
let issuer: TestIssuer;
let teamA: string;
let teamB: string;
let dir: string;

const DID = (name: string) => `ivo://vonode.demo/ska?${name}`;

beforeAll(async () => {
  issuer = await new TestIssuer().start();
  issuer.keys.push(await signingKey('RS256', 'k1'));
  node = await startTestNode({ VONODE_OIDC_ISSUER: issuer.url, VONODE_OIDC_AUDIENCE: 'vonode-test' });
  teamA = await issuer.token({ sub: 'alice', groups: ['/team-a'] }, { aud: 'vonode-test' });
  teamB = await issuer.token({ sub: 'bob', groups: ['/team-b'] }, { aud: 'vonode-test' });
  dir = await mkdtemp(join(tmpdir(), 'soda-test-'));
}, 120000);

afterAll(async () => {
  await node?.stop();
  await issuer?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function soda(params: Record<string, string | string[]>, token?: string) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) u.append(k, x);
  const res = await fetch(`${node.url}/soda/sync?${u}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

const productPath = (name: string) => join(node.dataDir, 'products', `${name}.fits`);

// Independent check with astropy: where the cutout sits in the original (from the WCS alone),
// pixels equal to the original's, cutout WCS corners matching the original WCS sliced by
// astropy, every original pixel centre inside the circle present, channels overlapping BAND.
const CHECK_PY = `
import sys, json
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from astropy.coordinates import SkyCoord
import astropy.units as u
orig_path, cut_path, req = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
o = fits.open(orig_path, memmap=True)[0]
c = fits.open(cut_path)[0]
wo, wc = WCS(o.header), WCS(c.header)
n = wo.naxis
ones = [1.0] * n
# origin: world of the cutout's first pixel, back to original pixel coordinates (1-based)
origin = wo.all_world2pix([wc.all_pix2world([ones], 1)[0]], 1)[0]
start = [int(round(v)) for v in origin]
shape = c.data.shape  # numpy order: last FITS axis first
slices = tuple(slice(start[n - 1 - i] - 1, start[n - 1 - i] - 1 + shape[i]) for i in range(n))
same = bool(np.array_equal(o.section[slices], c.data, equal_nan=True))
sliced = wo.slice(slices)
corners = []
for cx in (1, shape[-1]):
    for cy in (1, shape[-2]):
        p = [float(cx), float(cy)] + [1.0] * (n - 2)
        back = sliced.all_world2pix([wc.all_pix2world([p], 1)[0]], 1)[0]
        corners.append(max(abs(back[k] - p[k]) for k in range(n)))
out = {'start': start, 'shape': list(shape), 'same': same, 'origin_err': max(abs(origin[k] - start[k]) for k in range(n)),
       'corner_err': max(corners)}
if 'circle' in req:
    ra, dec, r = req['circle']
    ny, nx = o.data.shape[-2], o.data.shape[-1]
    yy, xx = np.mgrid[1:ny + 1, 1:nx + 1]
    cel = wo.celestial
    w = cel.all_pix2world(xx.ravel(), yy.ravel(), 1)
    sep = SkyCoord(w[0] * u.deg, w[1] * u.deg).separation(SkyCoord(ra * u.deg, dec * u.deg)).deg
    inside = sep <= r
    xs, ys = xx.ravel()[inside], yy.ravel()[inside]
    out['inside_box'] = [int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())]
if 'band' in req and n >= 3:
    lo, hi = req['band']
    spec = wo.spectral
    k = wo.wcs.spec
    nch = o.data.shape[n - 1 - k]
    chans = []
    for ch in range(1, nch + 1):
        f1, f2 = spec.all_pix2world([ch - 0.5, ch + 0.5], 1)[0]
        l1, l2 = sorted([299792458.0 / f1, 299792458.0 / f2])
        if l2 >= lo and l1 <= hi: chans.append(ch)
    out['band_channels'] = [min(chans), max(chans)] if chans else None
    out['spec_axis'] = k
print(json.dumps(out))
`;

async function checkCutout(name: string, body: Buffer, req: Record<string, unknown>) {
  const cut = join(dir, `${name}-${Date.now()}.fits`);
  await writeFile(cut, body);
  return python<{
    start: number[];
    shape: number[];
    same: boolean;
    origin_err: number;
    corner_err: number;
    inside_box?: number[];
    band_channels?: number[] | null;
    spec_axis?: number;
  }>(CHECK_PY, [productPath(name), cut, JSON.stringify(req)]);
}

describe('SODA sync cutouts agree with astropy', () => {
  test('CIRCLE on an image: same pixels, WCS within 0.01 pixel, covers the circle (SODA-42, SODA-81)', async () => {
    const circle = [83.9, -5.3, 0.15];
    const { res, body } = await soda({ ID: DID('image-05-mid'), CIRCLE: circle.join(' ') });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/fits');
    expect(Number(res.headers.get('content-length'))).toBe(body.length);
    expect(body.length % 2880).toBe(0);
    const c = await checkCutout('image-05-mid', body, { circle });
    expect(c.same).toBe(true);
    expect(c.origin_err).toBeLessThan(0.01);
    expect(c.corner_err).toBeLessThan(0.01);
    const [x0, x1, y0, y1] = c.inside_box ?? [];
    const nx = c.shape[c.shape.length - 1];
    const ny = c.shape[c.shape.length - 2];
    // Every pixel whose centre is in the circle is in the cutout, and the box is no wider than them + 1.
    expect(c.start[0]).toBeLessThanOrEqual(x0);
    expect(c.start[0] + nx - 1).toBeGreaterThanOrEqual(x1);
    expect(c.start[1]).toBeLessThanOrEqual(y0);
    expect(c.start[1] + ny - 1).toBeGreaterThanOrEqual(y1);
    expect(nx).toBeLessThanOrEqual(x1 - x0 + 3);
    expect(ny).toBeLessThanOrEqual(y1 - y0 + 3);
  });

  test('POS POLYGON + BAND on a cube: spatial box and the channels overlapping BAND (SODA-82)', async () => {
    const band = [0.2115, 0.2122];
    const pos = 'POLYGON 40.6 -0.1 40.75 -0.1 40.75 0.05 40.6 0.05';
    const { res, body } = await soda({ ID: DID('cube-01-mid'), POS: pos, BAND: band.join(' ') });
    expect(res.status).toBe(200);
    const c = await checkCutout('cube-01-mid', body, { band });
    expect(c.same).toBe(true);
    expect(c.corner_err).toBeLessThan(0.01);
    const k = c.spec_axis ?? 2;
    const nch = c.shape[c.shape.length - 1 - k];
    expect([c.start[k], c.start[k] + nch - 1]).toEqual(c.band_channels);
  });

  test('RANGE and a scalar BAND select one channel', async () => {
    const { res, body } = await soda({
      ID: DID('cube-01-mid'),
      POS: 'RANGE 40.6 40.7 -0.1 0.0',
      BAND: '0.212',
    });
    expect(res.status).toBe(200);
    const c = await checkCutout('cube-01-mid', body, { band: [0.212, 0.212] });
    expect(c.same).toBe(true);
    const k = c.spec_axis ?? 2;
    expect(c.shape[c.shape.length - 1 - k]).toBe(1);
    expect([c.start[k], c.start[k]]).toEqual(c.band_channels);
  });
});

describe('SODA sync answers', () => {
  test('POL selects the Stokes plane of a 4-D image (SODA-30, SODA-83)', async () => {
    const { res, body } = await soda({ ID: DID('image-06-mid'), CIRCLE: '201.4 -43 0.1', POL: ['I', 'Q'] });
    expect(res.status).toBe(200);
    const c = await checkCutout('image-06-mid', body, {});
    expect(c.same).toBe(true);
    expect(c.shape).toHaveLength(4);
    expect(c.shape[0]).toBe(1);
  });

  test('no overlap is 204 with an empty body (SODA-51)', async () => {
    const far = await soda({ ID: DID('image-05-mid'), CIRCLE: '200 40 0.1' });
    expect(far.res.status).toBe(204);
    expect(far.body.length).toBe(0);
    const band = await soda({ ID: DID('cube-01-mid'), BAND: '0.5 0.6' });
    expect(band.res.status).toBe(204);
    const time = await soda({ ID: DID('image-05-mid'), TIME: '50000 50001' });
    expect(time.res.status).toBe(204);
  });

  test('no filter returns the whole dataset', async () => {
    const { res, body } = await soda({ ID: DID('image-04-low') });
    expect(res.status).toBe(200);
    const c = await checkCutout('image-04-low', body, {});
    expect(c.same).toBe(true);
    expect(c.start.every((s) => s === 1)).toBe(true);
  });

  test('bad requests are UsageError / MultiValuedParamNotSupported text (SODA-52..54)', async () => {
    const cases: Array<[Record<string, string | string[]>, RegExp, number]> = [
      [{ CIRCLE: '10 10 1' }, /^UsageError: ID is required/, 400],
      [{ ID: DID('image-05-mid'), CIRCLE: '10 95 1' }, /^UsageError: .*latitude 95/, 400],
      [{ ID: DID('image-05-mid'), CIRCLE: '10 10 0' }, /^UsageError: .*radius/, 400],
      [{ ID: DID('image-05-mid'), BAND: '2 1' }, /^UsageError: .*lower bound/, 400],
      [{ ID: DID('image-05-mid'), POS: 'BOX 1 2 3 4' }, /^UsageError: .*BOX/, 400],
      [{ ID: DID('image-05-mid'), POL: 'Z' }, /^UsageError: POL/, 400],
      [{ ID: DID('image-05-mid'), POL: 'Q' }, /^UsageError: POL Q not in this dataset; it has I/, 400],
      [{ ID: [DID('image-05-mid'), DID('image-04-low')] }, /^MultiValuedParamNotSupported: ID/, 400],
      [
        { ID: DID('image-05-mid'), CIRCLE: '83.9 -5.3 0.1', POLYGON: '1 1 2 2 3 1' },
        /^MultiValuedParamNotSupported/,
        400,
      ],
      [{ ID: 'ivo://nowhere/x' }, /^UsageError: no dataset/, 404],
    ];
    for (const [params, re, status] of cases) {
      const { res, body } = await soda(params);
      expect({ params, status: res.status }).toEqual({ params, status });
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(body.toString()).toMatch(re);
    }
  });

  test('proprietary: 404 as if unknown to anonymous and another group (issue 13), the cutout to the owner', async () => {
    const params = { ID: DID('image-07-mid'), CIRCLE: '266.4 -29.0 0.1' };
    const anon = await soda(params);
    expect(anon.res.status).toBe(404);
    expect(anon.body.toString()).toMatch(/^UsageError: no dataset has ID/);
    const other = await soda(params, teamB);
    expect(other.res.status).toBe(404);
    expect(other.body.toString()).toMatch(/^UsageError: no dataset has ID/);
    const owner = await soda(params, teamA);
    expect(owner.res.status).toBe(200);
    const c = await checkCutout('image-07-mid', owner.body, {});
    expect(c.same).toBe(true);
    expect(c.corner_err).toBeLessThan(0.01);
  });
});
