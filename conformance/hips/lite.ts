// Aladin Lite (node_modules/aladin-lite, served by the node) in Debian's Chromium loads each
// HiPS named on the command line and the screenshot of its map is checked for drawn pixels.
// Usage: tsx conformance/hips/lite.ts BASE OUTDIR name:kind:ra:dec:fov ...
// kind: image (grey pixels), catalog (the catalogue's coloured markers), cube (grey pixels).
// Prints one line per view: "lite NAME drawn=N of M"; exits 1 when any view drew nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { CHROMIUM_FLAGS } from '../../test/web/browser.js';

const [base, outDir, ...views] = process.argv.slice(2);
const html = await (await fetch(`${base}/web/sky`)).text();
const aladinPath = /assets\/aladin-lite\.[0-9a-f]{16}\.js/.exec(html)?.[0];
if (!aladinPath) throw new Error('the sky page names no Aladin Lite asset');
const aladinUrl = `${base}/web/${aladinPath}`;

const profile = mkdtempSync(join(tmpdir(), 'vonode-hips-lite-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.VONODE_TEST_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: CHROMIUM_FLAGS,
  viewport: { width: 900, height: 700 },
});
let failed = 0;
try {
  for (const view of views) {
    const [name, kind, ra, dec, fov] = view.split(':');
    const page = await context.newPage();
    // Same origin as the node: the page is written over one of its plain-text documents.
    await page.goto(`${base}/hips/hipslist`);
    const tiles: string[] = [];
    page.on('pageerror', (e) => console.log(`lite ${name}: page error ${e.message}`));
    page.on('response', (r) => {
      if (process.env.HIPS_LITE_TRACE && r.url().includes('/hips/'))
        console.log(`lite ${name}: ${r.status()} ${r.url()}`);
      if (
        /\/Norder\d+\/(Dir\d+\/Npix\d+(_\d+)?|Allsky(_\d+)?)\.(png|fits|tsv)$/.test(r.url()) &&
        r.url().includes(`/hips/${name}/`) &&
        r.status() === 200
      )
        tiles.push(r.url());
    });
    await page.setContent(`<!doctype html><html><body style="margin:0;background:#000">
<div id="aladin" style="width:800px;height:600px"></div>
<script type="module">
const A = (await import(${JSON.stringify(aladinUrl)})).default;
await A.init;
const hips = ${JSON.stringify(`${base}/hips/${name}`)};
const catalog = ${JSON.stringify(kind === 'catalog')};
const a = A.aladin(document.getElementById('aladin'), {
  survey: catalog ? ${JSON.stringify(`${base}/hips/images`)} : hips, hipsList: [], log: false, samp: false,
  showReticle: false, showFrame: false, showLayersControl: false, showGotoControl: false,
  showZoomControl: false, showFullscreenControl: false, showCooGridControl: false,
  showProjectionControl: false, showSimbadPointerControl: false, showShareControl: false,
  showContextMenu: false, showStatusBar: false, backgroundColor: 'rgb(0, 0, 0)',
  fov: ${Number(fov)}, target: '${Number(ra)} ${Number(dec)}',
});
if (catalog) {
  a.addCatalog(A.catalogHiPS(hips, { color: 'rgb(255, 0, 0)', sourceSize: 14, shape: 'square' }));
}
document.body.dataset.ready = '1';
</script></body></html>`);
    await page.waitForSelector('body[data-ready="1"]', { timeout: 240_000, state: 'attached' });
    // Poll the map until it draws, for up to two minutes (tiles are made on first request).
    let drawn = 0;
    let total = 0;
    let png: Buffer = Buffer.alloc(0);
    // Drawn pixels are counted away from Aladin Lite's own widgets (the position box at the
    // top, the field size at the bottom), and only once a tile of this HiPS has arrived.
    for (let i = 0; i < 120 && (drawn < 200 || tiles.length === 0); i++) {
      await page.waitForTimeout(1000);
      png = await page.locator('#aladin').screenshot();
      const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
      total = 0;
      drawn = 0;
      for (let y = 50; y < info.height - 40; y++)
        for (let x = 0; x < info.width; x++) {
          const p = (y * info.width + x) * info.channels;
          const [r, g, b] = [data[p], data[p + 1], data[p + 2]];
          total++;
          if (
            kind === 'catalog'
              ? r > 150 && g < 90 && b < 90
              : r > 12 && Math.abs(r - g) < 10 && Math.abs(g - b) < 10
          )
            drawn++;
        }
    }
    await sharp(png).toFile(join(outDir, `lite-${name}-${fov}.png`));
    console.log(
      `lite ${name} (${kind}, fov ${fov}) drawn=${drawn} of ${total}; tiles fetched=${tiles.length}`,
    );
    if (drawn < 200 || tiles.length === 0) failed++;
    await page.close();
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
