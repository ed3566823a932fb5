import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { python } from '../soda/python.js';
import { openSession, type Session, SHOTS } from './browser.js';

/**
 * Issue 18, item 4: the product search, a product's page and a SODA cutout in Debian's
 * Chromium against a live node. What the page lists is checked against the node's own
 * ObsCore table (TAP), and the FITS the cutout form downloads is read by astropy.
 */

let s: Session;
beforeAll(async () => {
  s = await openSession();
}, 120_000);
afterAll(async () => {
  await s?.close();
});

/** Rows of an ADQL query as CSV cells (the node's TAP, as any client reads it). */
async function tapRows(query: string): Promise<string[][]> {
  const res = await fetch(
    `${s.base}/tap/sync?LANG=ADQL&RESPONSEFORMAT=csv&QUERY=${encodeURIComponent(query)}`,
  );
  expect(res.status).toBe(200);
  return (await res.text())
    .trim()
    .split(/\r?\n/)
    .slice(1)
    .map((l) => l.split(','));
}

// astropy reads the cutout: its shape, the sky position of its centre pixel, its pixel
// scale, and for a cube the frequency range of its channels.
const FITS_PY = `
import sys, json
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
h = fits.open(sys.argv[1])[0]
w = WCS(h.header)
n = w.naxis
centre = [(h.header['NAXIS%d' % (k + 1)] + 1) / 2 for k in range(n)]
world = w.all_pix2world([centre], 1)[0]
out = {'shape': list(h.data.shape), 'ra': float(world[0]), 'dec': float(world[1]),
       'scale': float(abs(w.celestial.proj_plane_pixel_scales()[0].value))}
if n >= 3 and h.header['NAXIS3'] >= 1:
    ch = np.arange(1, h.header['NAXIS3'] + 1)
    pix = np.ones((len(ch), n)) * centre
    pix[:, 2] = ch
    f = w.all_pix2world(pix, 1)[:, 2]
    out['freq'] = [float(f.min()), float(f.max())]
print(json.dumps(out))
`;

describe('products: search, product page and cutout (issue 18)', () => {
  it('searches ObsCore by position and type and lists what the node holds (SIA-20, SIA-33)', async () => {
    const { page, base } = s;
    await page.goto(`${base}/`);
    await page.getByRole('link', { name: 'Products' }).click();
    await page.waitForURL(`${base}/web/products`);
    // Type: every cube, by the node's own table.
    const cubes = (
      await tapRows("SELECT obs_id FROM ivoa.obscore WHERE dataproduct_type = 'cube' ORDER BY obs_id")
    ).map((r) => r[0]);
    expect(cubes.length).toBeGreaterThan(0);
    await page.getByLabel('Data product type').selectOption('cube');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('#search-status').innerText()).toMatch(/^\d+ products?/);
    expect((await page.locator('#search-results tbody th').allInnerTexts()).sort()).toEqual(cubes);
    // Position: a circle on an image's centre finds it (SIA-20: footprints intersecting).
    const [obsId, ra, dec] = (
      await tapRows(
        "SELECT TOP 1 obs_id, s_ra, s_dec FROM ivoa.obscore WHERE dataproduct_type = 'image' ORDER BY obs_id",
      )
    )[0]!;
    await page.getByLabel('Data product type').selectOption('');
    await page.getByLabel('RA', { exact: true }).fill(ra!);
    await page.getByLabel('Dec', { exact: true }).fill(dec!);
    await page.getByLabel('Radius', { exact: true }).fill('0.05');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('#search-results tbody th').allInnerTexts()).toContain(obsId);
    // Thumbnails are drawn from the node's previews.
    await expect
      .poll(
        () =>
          page
            .locator('#search-results img')
            .first()
            .evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth),
        // A preview is rendered from the FITS file on its first request.
        { timeout: 60_000 },
      )
      .toBeGreaterThan(0);
    await page.screenshot({ path: join(SHOTS, 'products.png'), fullPage: true });
  }, 120_000);

  it('searches by band, dates and collection (SIA-21, SIA-22, SIA-30), as ObsCore says', async () => {
    const { page, base } = s;
    await page.goto(`${base}/web/products`);
    // A band inside the first product's: every product overlapping it, by the node's table.
    const [emMin, emMax, tMin, collection] = (
      await tapRows('SELECT TOP 1 em_min, em_max, t_min, obs_collection FROM ivoa.obscore ORDER BY obs_id')
    )[0]!;
    const c = 299_792_458;
    const [fLo, fHi] = [c / Number(emMax) / 1e6, c / Number(emMin) / 1e6];
    const [bLo, bHi] = [fLo + (fHi - fLo) / 3, fLo + (2 * (fHi - fLo)) / 3];
    const overlapping = (
      await tapRows(
        `SELECT obs_id FROM ivoa.obscore WHERE em_min <= ${c / (bLo * 1e6)} AND em_max >= ${c / (bHi * 1e6)} ORDER BY obs_id`,
      )
    ).map((r) => r[0]);
    await page.getByLabel('Lowest frequency (MHz)').fill(String(bLo));
    await page.getByLabel('Highest frequency (MHz)').fill(String(bHi));
    await page.getByRole('button', { name: 'Search' }).click();
    await expect
      .poll(async () => (await page.locator('#search-results tbody th').allInnerTexts()).sort())
      .toEqual(overlapping);
    // The first product's start day, and its collection.
    const day = new Date((Number(tMin) - 40_587) * 86_400_000).toISOString().slice(0, 10);
    const sameDay = (
      await tapRows(
        `SELECT obs_id FROM ivoa.obscore WHERE em_min <= ${c / (bLo * 1e6)} AND em_max >= ${c / (bHi * 1e6)} AND t_min < ${Date.parse(`${day}T00:00:00Z`) / 86_400_000 + 40_588} AND t_max >= ${Date.parse(`${day}T00:00:00Z`) / 86_400_000 + 40_587} AND obs_collection = '${collection}' ORDER BY obs_id`,
      )
    ).map((r) => r[0]);
    expect(sameDay.length).toBeGreaterThan(0);
    await page.getByLabel('First date').fill(day);
    await page.getByLabel('Last date').fill(day);
    await page.getByLabel('Collection').selectOption(collection!);
    await page.getByRole('button', { name: 'Search' }).click();
    await expect
      .poll(async () => (await page.locator('#search-results tbody th').allInnerTexts()).sort())
      .toEqual(sameDay);
    // The same search's footprints on the sky (SIA2 parameters passed to the sky view).
    await page.getByRole('link', { name: 'Show these footprints on the sky' }).click();
    await page.waitForURL(/\/web\/sky\?sia=/);
    await page.waitForSelector('body[data-sky="drawn"]', { timeout: 150_000 });
    expect(
      (await page.locator('#footprint-list li').allInnerTexts()).map((t) => t.split(' ')[0]).sort(),
    ).toEqual(sameDay);
  }, 240_000);

  it('says clearly when nothing matches, when the input is wrong and when the node is gone', async () => {
    const { page, base } = s;
    await page.goto(`${base}/web/products`);
    // Far south of every footprint, by the node's own table.
    const [minDec] = (await tapRows('SELECT MIN(s_dec) FROM ivoa.obscore'))[0]!;
    await page.getByLabel('RA', { exact: true }).fill('10');
    await page.getByLabel('Dec', { exact: true }).fill(String(Math.max(-90, Number(minDec) - 20)));
    await page.getByLabel('Radius', { exact: true }).fill('1');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect
      .poll(() => page.locator('#search-status').innerText())
      .toMatch(/No products match this search/);
    await page.getByLabel('Dec', { exact: true }).fill('north');
    await page.getByRole('button', { name: 'Search' }).click();
    expect(await page.locator('#search-error').innerText()).toMatch(/Dec must be a number of degrees/);
    await page.getByLabel('Dec', { exact: true }).fill('0');
    await page.route('**/sia/query*', (route) => route.abort('internetdisconnected'));
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('#search-error').innerText()).toMatch(/could not be reached/);
    await page.unroute('**/sia/query*');
  }, 60_000);

  it('opens a product with its preview and links, cuts out a circle, and astropy reads the FITS (SODA)', async () => {
    const { page, base } = s;
    const [did, obsId, ra, dec, fov] = (
      await tapRows(
        "SELECT TOP 1 obs_publisher_did, obs_id, s_ra, s_dec, s_fov FROM ivoa.obscore WHERE dataproduct_type = 'image' ORDER BY obs_id",
      )
    )[0]!;
    await page.goto(`${base}/web/products`);
    await page.getByLabel('Data product type').selectOption('image');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: obsId!, exact: true }).click();
    await page.waitForURL(`${base}/web/product?id=${encodeURIComponent(did!)}`);
    await expect.poll(() => page.locator('#product-h').innerText()).toBe(obsId);
    // The preview is drawn, and the DataLink links are listed (DL: #this, #preview, #cutout).
    await expect
      .poll(
        () =>
          page
            .locator('#preview img')
            .evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth),
        // A preview is rendered from the FITS file on its first request.
        { timeout: 60_000 },
      )
      .toBeGreaterThan(0);
    const links = await page.locator('#links').innerText();
    for (const sem of ['#this', '#preview', '#cutout']) expect(links).toContain(sem);
    // The circle: an eighth of the field at a point off the centre.
    const [cra, cdec, r] = [
      Number(ra) + 0.02 / Math.cos((Number(dec) * Math.PI) / 180),
      Number(dec) - 0.02,
      Number(fov) / 8,
    ];
    await page.getByLabel('RA (deg)').fill(String(cra));
    await page.getByLabel('Dec (deg)').fill(String(cdec));
    await page.getByLabel('Radius (deg)').fill(String(r));
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download the cutout (FITS)' }).click(),
    ]);
    const file = (await download.path())!;
    expect(readFileSync(file).subarray(0, 9).toString()).toBe('SIMPLE  =');
    await expect.poll(() => page.locator('#cutout-status').innerText()).toMatch(/Downloaded .*\.fits/);
    await page.screenshot({ path: join(SHOTS, 'product.png'), fullPage: true });
    const fits = await python<{ shape: number[]; ra: number; dec: number; scale: number }>(FITS_PY, [file]);
    // The cutout is the circle's bounding box: 2r across, to a pixel, centred on the circle.
    const across = (2 * r) / fits.scale;
    expect(Math.abs(fits.shape.at(-1)! - across)).toBeLessThanOrEqual(2);
    expect(Math.abs(fits.shape.at(-2)! - across)).toBeLessThanOrEqual(2);
    const dra = (fits.ra - cra) * Math.cos((cdec * Math.PI) / 180);
    expect(Math.hypot(dra, fits.dec - cdec)).toBeLessThanOrEqual(1.5 * fits.scale);
  }, 120_000);

  it('cuts a cube by polygon and band, and says so when the region is outside the image (SODA-51)', async () => {
    const { page, base } = s;
    const [did, ra, dec, fov, emMin, emMax] = (
      await tapRows(
        "SELECT TOP 1 obs_publisher_did, s_ra, s_dec, s_fov, em_min, em_max FROM ivoa.obscore WHERE dataproduct_type = 'cube' ORDER BY obs_id",
      )
    )[0]!.map((v, i) => (i === 0 ? v : Number(v))) as [string, number, number, number, number, number];
    await page.goto(`${base}/web/product?id=${encodeURIComponent(did)}`);
    await expect.poll(() => page.locator('#c-ra').inputValue()).not.toBe('');
    // A triangle around the centre, and the middle third of the band (the form's default).
    const d = fov / 8;
    const cos = Math.cos((dec * Math.PI) / 180);
    await page.getByLabel('Polygon').check();
    await page
      .getByLabel(/Vertices/)
      .fill(`${ra - d / cos} ${dec - d}  ${ra + d / cos} ${dec - d}  ${ra} ${dec + d}`);
    const fLo = Number(await page.getByLabel('Lowest frequency (MHz)').inputValue());
    const fHi = Number(await page.getByLabel('Highest frequency (MHz)').inputValue());
    const c = 299_792_458;
    expect(fLo).toBeGreaterThan(c / emMax / 1e6);
    expect(fHi).toBeLessThan(c / emMin / 1e6);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download the cutout (FITS)' }).click(),
    ]);
    const fits = await python<{ shape: number[]; ra: number; dec: number; scale: number; freq: number[] }>(
      FITS_PY,
      [(await download.path())!],
    );
    const [channels, width] = [
      fits.shape.at(-3)!,
      (fits.freq[1]! - fits.freq[0]!) / Math.max(1, fits.shape.at(-3)! - 1),
    ];
    expect(channels).toBeGreaterThan(0);
    // Channels overlapping the band: their centres within the band widened by one channel.
    expect(fits.freq[0]! / 1e6).toBeGreaterThanOrEqual(fLo - width / 1e6 - 1e-6);
    expect(fits.freq[1]! / 1e6).toBeLessThanOrEqual(fHi + width / 1e6 + 1e-6);
    expect(Math.abs(fits.shape.at(-1)! - ((2 * d) / cos / fits.scale) * cos)).toBeLessThanOrEqual(3);

    // Outside the image: a circle two fields of view east of it.
    await page.getByLabel('Circle').check();
    await page.getByLabel('RA (deg)').fill(String((ra + (2 * fov) / cos) % 360));
    await page.getByLabel('Dec (deg)').fill(String(dec));
    await page.getByLabel('Radius (deg)').fill('0.1');
    await page.getByRole('button', { name: 'Download the cutout (FITS)' }).click();
    await expect.poll(() => page.locator('#cutout-error').innerText()).toMatch(/outside the image/);
    // And on the far side of the sky, which a SIN projection must not fold back onto the field.
    await page.getByLabel('RA (deg)').fill(String((ra + 180) % 360));
    await page.getByLabel('Dec (deg)').fill(String(-dec));
    await page.locator('#cutout-error').evaluate((e) => {
      e.textContent = '';
    });
    await page.getByRole('button', { name: 'Download the cutout (FITS)' }).click();
    await expect.poll(() => page.locator('#cutout-error').innerText()).toMatch(/outside the image/);
    // Bad input and a lost connection are said too.
    await page.getByLabel('Radius (deg)').fill('wide');
    await page.getByRole('button', { name: 'Download the cutout (FITS)' }).click();
    expect(await page.locator('#cutout-error').innerText()).toMatch(/must be numbers of degrees/);
    await page.getByLabel('Radius (deg)').fill('0.1');
    await page.route('**/soda/sync*', (route) => route.abort('internetdisconnected'));
    await page.getByRole('button', { name: 'Download the cutout (FITS)' }).click();
    await expect.poll(() => page.locator('#cutout-error').innerText()).toMatch(/could not be reached/);
    await page.unroute('**/soda/sync*');
    await page.screenshot({ path: join(SHOTS, 'cutout-error.png'), fullPage: true });
  }, 120_000);

  it('says so when the product does not exist', async () => {
    const { page, base } = s;
    await page.goto(`${base}/web/product?id=${encodeURIComponent('ivo://nowhere/none?x')}`);
    await expect
      .poll(() => page.locator('#product-error').innerText())
      .toMatch(/No product ivo:\/\/nowhere\/none\?x is visible/);
    expect(s.foreign).toEqual([]);
  }, 60_000);
});
