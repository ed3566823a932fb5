import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nestedIndex } from '../../sky/index.js';
import { tilePath } from '../../src/hips/index.js';
import { startTestNode } from '../support/node.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;
let node: TestNode;
let list: Array<Record<string, string>>;

const C = 299_792_458;
const parseRecords = (text: string) =>
  text
    .split(/\n\s*\n/)
    .filter((r) => r.trim() !== '')
    .map((r) =>
      Object.fromEntries(
        r
          .split('\n')
          .filter((l) => l.includes('=') && !l.startsWith('#'))
          .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]),
      ),
    );

/**
 * Checks, with numpy and astropy, that each pixel of a FITS tile equals the NaN-aware mean of
 * the four cells under it in its children's FITS tiles, finding those cells from the HEALPix
 * numbering alone (HIPS-05: FITS column x, row y is sub-index interleave(W-1-y, x); the cells
 * one order deeper are 4s + d, in child tile (4s + d) div W^2).
 */
const COMPARE = `import io, json, sys, urllib.request, urllib.error, warnings
import numpy as np
from astropy.io import fits
base, order, index = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def tile(o, n):
    url = "%s/Norder%d/Dir%d/Npix%d.fits" % (base, o, n // 10000 * 10000, n)
    try:
        return fits.open(io.BytesIO(urllib.request.urlopen(url).read()))[0].data.astype("f8")
    except urllib.error.HTTPError:
        return None
parent = tile(order, index)
W = parent.shape[0]
children = [tile(order + 1, 4 * index + c) for c in range(4)]
def interleave(a, b):
    s = np.zeros_like(a)
    for k in range(16):
        s |= ((a >> k) & 1) << (2 * k) | ((b >> k) & 1) << (2 * k + 1)
    return s
def deinterleave(s):
    a = np.zeros_like(s); b = np.zeros_like(s)
    for k in range(16):
        a |= ((s >> (2 * k)) & 1) << k
        b |= ((s >> (2 * k + 1)) & 1) << k
    return a, b
y, x = np.mgrid[0:W, 0:W].astype(np.int64)
s = interleave(W - 1 - y, x)
vals = []
for d in range(4):
    deep = 4 * s + d
    child, sub = deep // (W * W), deep % (W * W)
    ix, iy = deinterleave(sub)
    cy, cx = W - 1 - ix, iy
    v = np.full((W, W), np.nan)
    for c in range(4):
        if children[c] is not None:
            m = child == c
            v[m] = children[c][cy[m], cx[m]]
    vals.append(v)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    expected = np.nanmean(np.stack(vals), axis=0)
finite = np.isfinite(parent)
same_mask = bool(np.array_equal(finite, np.isfinite(expected)))
diff = float(np.max(np.abs(parent[finite] - expected[finite]) / np.maximum(1e-30, np.abs(expected[finite])))) if finite.any() else 0.0
print(json.dumps({"pixels": int(finite.sum()), "sameMask": same_mask, "maxRelDiff": diff, "children": sum(c is not None for c in children)}))`;

// Asynchronous: the node answering Python's requests runs in this process.
async function compare(name: string, order: number, index: number) {
  const { stdout } = await promisify(execFile)('/usr/bin/python3', [
    '-c',
    COMPARE,
    `${node.url}/hips/${name}`,
    String(order),
    String(index),
  ]);
  return JSON.parse(stdout) as { pixels: number; sameMask: boolean; maxRelDiff: number; children: number };
}

beforeAll(async () => {
  node = await startTestNode();
  list = parseRecords(await (await fetch(`${node.url}/hips/hipslist`)).text());
}, 120_000);
afterAll(async () => {
  await node?.stop();
});

const centreMHz = (r: Record<string, string>) => (C / Number(r.em_min) + C / Number(r.em_max)) / 2 / 1e6;

describe('image HiPS per band, averaged lower orders (HIPS-07)', () => {
  it('the HiPS list has one image HiPS per band, never 150 MHz beside 1.4 GHz, and a cube HiPS per band of cubes (HIPS-31)', () => {
    const images = list.filter((r) => r.dataproduct_type === 'image');
    const cubes = list.filter((r) => r.dataproduct_type === 'cube');
    expect(images.map((r) => r.hips_service_url)).toContain('http://vo.example.test/node/hips/images');
    expect(images.length).toBeGreaterThanOrEqual(2);
    expect(cubes.length).toBeGreaterThanOrEqual(1);
    for (const r of [...images, ...cubes]) {
      // Within a band the edges are within the band ratio (3): 150 MHz and 1.4 GHz never share one.
      const lo = C / Number(r.em_max);
      const hi = C / Number(r.em_min);
      expect(hi / lo, r.creator_did).toBeLessThan(10);
      expect(r.hips_release_date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\dZ$/);
    }
    const low = images.find((r) => r.hips_service_url.endsWith('/hips/images'));
    expect(low && centreMHz(low)).toBeLessThan(400);
    expect(images.some((r) => centreMHz(r) > 900)).toBe(true);
    for (const r of cubes) {
      expect(Number(r.hips_cube_depth)).toBeGreaterThan(1);
      for (const k of ['hips_cube_firstframe', 'data_cube_crpix3', 'data_cube_crval3', 'data_cube_cdelt3'])
        expect(Number.isFinite(Number(r[k])), k).toBe(true);
    }
  });

  it('a tile one order above the deepest is the mean of its four children, within float tolerance', async () => {
    for (const r of list.filter((x) => x.dataproduct_type === 'image')) {
      const name = r.hips_service_url.split('/').pop() as string;
      const order = Number(r.hips_order) - 1;
      const index = Number(nestedIndex(order, Number(r.hips_initial_ra), Number(r.hips_initial_dec)));
      const c = await compare(name, order, index);
      expect(c.pixels, name).toBeGreaterThan(1000);
      expect(c.sameMask, name).toBe(true);
      expect(c.maxRelDiff, name).toBeLessThan(1e-5);
    }
  }, 300_000);

  it('order 3, the lowest, is the mean of its order-4 children too (the cube HiPS: the smallest pyramid)', async () => {
    const r = list.find((x) => x.dataproduct_type === 'cube') as Record<string, string>;
    const name = r.hips_service_url.split('/').pop() as string;
    const index = Number(nestedIndex(3, Number(r.hips_initial_ra), Number(r.hips_initial_dec)));
    const c = await compare(name, 3, index);
    expect(c.pixels).toBeGreaterThan(10);
    expect(c.sameMask).toBe(true);
    expect(c.maxRelDiff).toBeLessThan(1e-5);
  }, 600_000);
});

describe('cube HiPS (HiPS 1.0 cubes, HIPS-23)', () => {
  it('frame F of a deepest tile holds plane F of the cube (NpixN_F.fits)', async () => {
    const r = list.find((x) => x.dataproduct_type === 'cube') as Record<string, string>;
    const name = r.hips_service_url.split('/').pop() as string;
    const order = Number(r.hips_order);
    const index = Number(nestedIndex(order, Number(r.hips_initial_ra), Number(r.hips_initial_dec)));
    const depth = Number(r.hips_cube_depth);
    const base = `${node.url}/hips/${name}`;
    const frame = Math.floor(depth / 2);
    const f0 = await fetch(`${base}/${tilePath(order, index, 'fits')}`);
    const fF = await fetch(`${base}/${tilePath(order, index, 'fits', frame)}`);
    expect([f0.status, fF.status]).toEqual([200, 200]);
    expect(Buffer.from(await f0.arrayBuffer()).equals(Buffer.from(await fF.arrayBuffer()))).toBe(false);
    expect((await fetch(`${base}/${tilePath(order, index, 'png', depth)}`)).status).toBe(404);
    expect((await fetch(`${base}/${tilePath(order, index, 'png', frame)}`)).headers.get('content-type')).toBe(
      'image/png',
    );
    expect((await fetch(`${base}/Norder3/Allsky_${frame}.png`)).status).toBe(200);
  }, 300_000);
});
