import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import pg from 'pg';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Moc, nestedIndex } from '../../sky/index.js';
import { ANONYMOUS, withReadOnlyIdentity } from '../../src/auth/index.js';
import { connectionOptions } from '../../src/db/index.js';
import { TILE_WIDTH, tilePath, tilePixelCentres } from '../../src/hips/index.js';
import { testDatabaseUrl } from '../support/db.js';
import { startTestNode } from '../support/node.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;
let node: TestNode;
let pool: pg.Pool;
let props: Record<string, string>;
let images: Array<{ did: string; ra: number; dec: number; path: string }>;

const get = (path: string) => fetch(`${node.url}/hips/images/${path}`);

beforeAll(async () => {
  node = await startTestNode();
  // Product paths resolved as the node resolves them (below its products root, sql/170).
  pool = new pg.Pool({
    connectionString: testDatabaseUrl(),
    max: 2,
    options: connectionOptions({ 'vonode.products_root': node.dataDir }),
  });
  const text = await (await get('properties')).text();
  props = Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]),
  );
  // The images of this HiPS's band (em_min..em_max): the other bands have HiPS of their own.
  images = await withReadOnlyIdentity(pool, ANONYMOUS, async (c) => {
    const r = await c.query<{ did: string; ra: number; dec: number; path: string }>(
      `SELECT obs_publisher_did AS did, s_ra AS ra, s_dec AS dec, ivoa.product_file(file_path) AS path FROM ivoa.obscore
       WHERE dataproduct_type = 'image' AND obs_collection = 'ska-demo' AND em_min >= $1 AND em_max <= $2 ORDER BY 1`,
      [Number(props.em_min), Number(props.em_max)],
    );
    return r.rows;
  });
}, 120_000);
afterAll(async () => {
  await node?.stop();
  await pool?.end();
});

/** The tile at `order` under a sky position. */
const tileAt = (order: number, ra: number, dec: number) => Number(nestedIndex(order, ra, dec));

describe('/hips (HiPS 1.0 of the public images)', () => {
  it('properties has every mandatory key (HIPS-20, HIPS-21); the HiPS list carries it (HIPS-31)', async () => {
    for (const k of [
      'creator_did',
      'obs_title',
      'dataproduct_type',
      'hips_version',
      'hips_release_date',
      'hips_status',
      'hips_tile_format',
      'hips_order',
      'hips_frame',
    ])
      expect(props[k], k).toBeTruthy();
    expect(props.hips_version).toBe('1.4');
    expect(props.hips_frame).toBe('equatorial');
    expect(props.hips_release_date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\dZ$/);
    expect(Number(props.hips_order)).toBeGreaterThanOrEqual(3);
    expect(props.hips_tile_width).toBe(String(TILE_WIDTH));
    const list = await (await fetch(`${node.url}/hips/hipslist`)).text();
    expect(list).toContain('hips_service_url     = http://vo.example.test/node/hips/images');
    expect(list).toContain(`creator_did          = ${props.creator_did}`);
  });

  it('Moc.fits covers every public image and no proprietary one (HIPS-30)', async () => {
    const res = await get('Moc.fits');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const moc = Moc.parseFits(Buffer.from(await res.arrayBuffer()));
    expect(images.length).toBeGreaterThan(0);
    for (const im of images) expect(moc.contains(im.ra, im.dec)).toBe(true);
    const hidden = await pool.query<{ ra: number; dec: number }>(
      "SELECT s_ra AS ra, s_dec AS dec FROM ivoa.obscore WHERE owner_group IS NOT NULL AND obs_release_date > now() AND dataproduct_type = 'image'",
    );
    const publicMoc = Moc.parseJson(
      await (await fetch(`${node.url}/moc/products?format=json&order=8`)).text(),
    );
    for (const h of hidden.rows)
      if (!publicMoc.contains(h.ra, h.dec)) expect(moc.contains(h.ra, h.dec)).toBe(false);
  });

  it('a tile is laid out as HIPS-05 says: top-left the south corner, bottom-right the north (astropy-healpix)', () => {
    // An equatorial and a southern polar-face tile, away from RA 0 so east is the larger RA.
    for (const [order, ra, dec] of [
      [5, 150, 2],
      [6, 40, -60],
    ]) {
      const index = tileAt(order, ra, dec);
      const c = tilePixelCentres(order, index);
      const at = (x: number, r: number) => [c[(r * TILE_WIDTH + x) * 2], c[(r * TILE_WIDTH + x) * 2 + 1]];
      const corners = JSON.parse(
        execFileSync('/usr/bin/python3', [
          '-c',
          `import json
from astropy_healpix import HEALPix
lon, lat = HEALPix(nside=2 ** ${order}, order='nested').boundaries_lonlat([${index}], step=1)
print(json.dumps([[float(a), float(b)] for a, b in zip(lon.deg[0], lat.deg[0])]))`,
        ]).toString(),
      ) as Array<[number, number]>;
      const byLat = [...corners].sort((a, b) => a[1] - b[1]);
      const south = byLat[0];
      const north = byLat[3];
      // Of the two middle corners, east has the larger RA (the cell is small, away from RA 0).
      const [west, east] = [byLat[1], byLat[2]].sort((a, b) => a[0] - b[0]);
      const near = (p: number[], q: number[]) =>
        Math.hypot((p[0] - q[0]) * Math.cos((q[1] * Math.PI) / 180), p[1] - q[1]);
      const cell = 58.63 / 2 ** order;
      const last = TILE_WIDTH - 1;
      expect(near(at(0, 0), south)).toBeLessThan(cell / 50);
      expect(near(at(last, 0), west)).toBeLessThan(cell / 50);
      expect(near(at(0, last), east)).toBeLessThan(cell / 50);
      expect(near(at(last, last), north)).toBeLessThan(cell / 50);
    }
  });

  it('FITS tiles hold the nearest image pixel under each HEALPix cell, as astropy.wcs finds it (HIPS-05, HIPS-07)', async () => {
    const order = Number(props.hips_order);
    const im = images[0];
    const index = tileAt(order, im.ra, im.dec);
    const res = await get(tilePath(order, index, 'fits'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/fits');
    const tile = Buffer.from(await res.arrayBuffer());
    const out = execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        `import io, json, sys
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from astropy_healpix import HEALPix
order, index, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
tile = fits.open(io.BytesIO(sys.stdin.buffer.read()))[0].data
img = fits.open(path)[0]
w = WCS(img.header).celestial
data = img.data.reshape(img.data.shape[-2:]) if img.data.ndim > 2 else img.data
hp = HEALPix(nside=2 ** (order + 9), order='nested')
def spread(v):
    r = 0
    for k in range(16):
        r |= ((v >> k) & 1) << (2 * k)
    return r
n = bad = 0
for y in range(0, 512, 9):
    for x in range(0, 512, 9):
        v = tile[y, x]
        if np.isnan(v):
            continue
        deep = index * 512 * 512 + (spread(511 - y) | (spread(x) << 1))
        lon, lat = hp.healpix_to_lonlat([deep])
        px, py = w.world_to_pixel_values(lon.deg[0], lat.deg[0])
        xi, yi = int(np.floor(px + 0.5)), int(np.floor(py + 0.5))
        if 0 <= xi < data.shape[1] and 0 <= yi < data.shape[0]:
            n += 1
            if data[yi, xi] != v:
                bad += 1
print(json.dumps({"n": n, "bad": bad}))`,
        String(order),
        String(index),
        im.path,
      ],
      { input: tile },
    );
    const r = JSON.parse(out.toString()) as { n: number; bad: number };
    expect(r.n).toBeGreaterThan(100);
    expect(r.bad).toBe(0);
    const png = await get(tilePath(order, index, 'png'));
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(
      Buffer.from(await png.arrayBuffer())
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
  });

  it('Norder3/Allsky.png holds the 768 order-3 tiles as 64-pixel thumbnails, 27 to a row (HIPS-10)', async () => {
    const res = await get('Norder3/Allsky.png');
    expect(res.status).toBe(200);
    const { data, info } = await sharp(Buffer.from(await res.arrayBuffer()))
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([27 * 64, 29 * 64]);
    // sharp hands grey + alpha back as RGBA: alpha is the last channel either way.
    const a = info.channels - 1;
    const opaque = (tile: number) => {
      let n = 0;
      const x0 = (tile % 27) * 64;
      const y0 = Math.floor(tile / 27) * 64;
      for (let r = 0; r < 64; r++)
        for (let x = 0; x < 64; x++)
          if (data[((y0 + r) * info.width + x0 + x) * info.channels + a] === 255) n++;
      return n;
    };
    expect(opaque(tileAt(3, images[0].ra, images[0].dec))).toBeGreaterThan(0);
    expect(opaque(tileAt(3, 0, 89.9))).toBe(0);
  });

  it('answers 404 where there is no data and for paths that are not tiles (HIPS-03, HIPS-34)', async () => {
    const order = Number(props.hips_order);
    // The north pole: no SKA image there.
    const empty = tileAt(order, 0, 89.9);
    for (const path of [
      tilePath(order, empty, 'png'),
      tilePath(order + 1, 0, 'png'),
      'Norder2/Dir0/Npix1.png',
      `Norder${order}/Dir10000/Npix5.png`,
      `Norder${order}/Dir0/Npix5.jpg`,
    ]) {
      const res = await get(path);
      expect([path, res.status]).toEqual([path, 404]);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
    }
  });
});

describe('hips_release_date (HIPS-22)', () => {
  it('is when the images last changed, the same after a restart', async () => {
    const minutes = new Set(
      images.map((i) =>
        statSync(isAbsolute(i.path) ? i.path : join(node.dataDir, i.path))
          .mtime.toISOString()
          .slice(0, 16),
      ),
    );
    expect(minutes).toContain(props.hips_release_date.slice(0, 16));
    await node.stop();
    node = await startTestNode();
    const again = await (await get('properties')).text();
    expect(again).toMatch(new RegExp(`hips_release_date\\s*=\\s*${props.hips_release_date}`));
  }, 120_000);
});
