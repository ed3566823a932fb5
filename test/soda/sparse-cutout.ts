/**
 * Child-process script (run by sparse.test.ts): makes a sparse ~5 GB FITS cube, cuts about
 * 100×100×20 out of it with the SODA planner and the FITS cutout writer, and prints the bytes
 * this process read (/proc/self/io rchar) and its peak RSS. A separate process so that no
 * other test's reads are counted.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { Wcs } from '../../sky/wcs/index.js';
import type { Product } from '../../src/datalink/index.js';
import { encodeHeader, FitsFile } from '../../src/fits/index.js';
import { planCutout, streamCutout } from '../../src/soda/index.js';

const path = process.argv[2];
const [NX, NY, NZ] = [2048, 2048, 300];

async function rchar(): Promise<number> {
  const io = await readFile('/proc/self/io', 'utf8');
  return Number(/rchar:\s*(\d+)/.exec(io)?.[1]);
}

const header = encodeHeader([
  { keyword: 'SIMPLE', value: true },
  { keyword: 'BITPIX', value: -32 },
  { keyword: 'NAXIS', value: 3 },
  { keyword: 'NAXIS1', value: NX },
  { keyword: 'NAXIS2', value: NY },
  { keyword: 'NAXIS3', value: NZ },
  { keyword: 'CTYPE1', value: 'RA---SIN' },
  { keyword: 'CTYPE2', value: 'DEC--SIN' },
  { keyword: 'CTYPE3', value: 'FREQ' },
  { keyword: 'CRPIX1', value: 1024.5 },
  { keyword: 'CRPIX2', value: 1024.5 },
  { keyword: 'CRPIX3', value: 1 },
  { keyword: 'CRVAL1', value: 150 },
  { keyword: 'CRVAL2', value: -30 },
  { keyword: 'CRVAL3', value: 1.4e9 },
  { keyword: 'CDELT1', value: -2 / 3600 },
  { keyword: 'CDELT2', value: 2 / 3600 },
  { keyword: 'CDELT3', value: 1e5 },
  { keyword: 'CUNIT1', value: 'deg' },
  { keyword: 'CUNIT2', value: 'deg' },
  { keyword: 'CUNIT3', value: 'Hz' },
  { keyword: 'SPECSYS', value: 'TOPOCENT' },
]);
const dataBytes = NX * NY * NZ * 4;
const handle = await open(path, 'w');
await handle.write(header, 0, header.length, 0);
await handle.truncate(header.length + Math.ceil(dataBytes / 2880) * 2880);
await handle.close();

const before = await rchar();
const file = await FitsFile.open(path);
const hdu = file.primary;
const wcs = Wcs.fromHeader(hdu.header);
// 20 channels: 141..160, asked by wavelengths just inside their outer edges
const wl = (p: number) => wcs.wavelengthM(wcs.spectralValue(p)) as number;
const band: [number, number] = [Math.min(wl(141.1), wl(159.9)), Math.max(wl(141.1), wl(159.9))];
const [ra, dec] = wcs.pixelToSky(700, 1300);
const product: Product = {
  did: 'ivo://test/sparse',
  type: 'cube',
  title: null,
  filePath: path,
  fileSize: null,
  sRa: null,
  sDec: null,
  sFov: null,
  sRegion: null,
  emMin: null,
  emMax: null,
  tMin: null,
  tMax: null,
  polStates: [],
  proprietary: false,
};
const plan = planCutout(hdu, product, { region: { type: 'circle', ra, dec, radius: 99.5 / 3600 }, band });
if ('empty' in plan) throw new Error(plan.empty);
let written = 0;
await streamCutout(
  file,
  hdu,
  plan.box,
  {
    async write(chunk) {
      written += chunk.byteLength;
    },
  },
  { maxReadBytes: 4 * 1024 * 1024 },
);
await file.close();
const read = (await rchar()) - before;
await rm(path, { force: true });
console.log(
  JSON.stringify({
    fileBytes: header.length + dataBytes,
    box: plan.box,
    written,
    read,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  }),
);
