import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type pg from 'pg';
import type { CatalogueSource } from '../catalogue/index.js';
import { encodeGrayAlphaPng, encodeHeader, encodePixels, stretchValue } from '../fits/index.js';
import { EmptyTiles } from './empty.js';
import { loadSurvey, renderTile, type Survey, tileKey, tileTouchesSurvey } from './survey.js';
import { TILE_WIDTH, tilePath } from './tiles.js';

export interface HipsDeps {
  readonly pool: pg.Pool;
  readonly baseUrl: string;
  /** Tiles are cached in <dataDir>/hips. */
  readonly dataDir: string;
  /** The naming authority of creator_did (HIPS-21). */
  readonly authority: string;
  /**
   * Its change events (the catalogue NOTIFY, which `vonode ingest` and `vonode retract` send
   * with payload ivoa.obscore) make the survey reload, so new images appear without a restart.
   */
  readonly catalogues?: Pick<CatalogueSource, 'onChange'>;
}

/** Catalogue change names that may change the images: the products table, or everything. */
const PRODUCT_CHANGES = new Set(['ivoa.obscore', '*']);

/** The one HiPS of the node: its public images. */
const HIPS_NAME = 'images';

// HIPS-34: Aladin Lite in any page fetches tiles across origins: the node's CORS hook
// (src/cors) answers for /hips as for every public endpoint.
const HEADERS = {
  'cache-control': 'public, max-age=3600',
};

const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((2880 - (b.length % 2880)) % 2880)]);

/** HIPS-20..22: key = value lines. */
function properties(s: Survey, deps: HipsDeps): string {
  const url = `${deps.baseUrl}/hips/${HIPS_NAME}`;
  const entries: Array<[string, string]> = [
    ['creator_did', `ivo://${deps.authority}/hips/${HIPS_NAME}`],
    ['obs_title', 'vonode: public radio continuum images'],
    [
      'obs_description',
      `The public images of ivoa.obscore (${s.images.length}), resampled to HEALPix (nearest pixel).`,
    ],
    ['dataproduct_type', 'image'],
    ['hips_version', '1.4'],
    ['hips_release_date', s.releaseDate.toISOString().slice(0, 16) + 'Z'],
    ['hips_status', 'public master clonableOnce'],
    ['hips_tile_format', 'png fits'],
    ['hips_tile_width', String(TILE_WIDTH)],
    ['hips_order', String(s.order)],
    ['hips_order_min', String(s.minOrder)],
    ['hips_frame', 'equatorial'],
    ['hips_pixel_bitpix', '-32'],
    ['hips_pixel_cut', `${s.cut[0]} ${s.cut[1]}`],
    ['hips_sampling', 'nearest'],
    ['hips_initial_ra', String(s.initial.ra)],
    ['hips_initial_dec', String(s.initial.dec)],
    ['hips_initial_fov', String(s.initial.fov)],
    ['hips_service_url', url],
    ['hips_builder', 'vonode'],
    ['moc_sky_fraction', String(s.moc.cells().length > 0 ? skyFraction(s) : 0)],
    ['obs_regime', 'Radio'],
    ['client_category', 'Image/Radio/SKA'],
  ];
  return `${entries.map(([k, v]) => `${k.padEnd(20)} = ${v}`).join('\n')}\n`;
}

function skyFraction(s: Survey): number {
  let cells = 0;
  for (const c of s.moc.cells()) cells += 4 ** (s.moc.order - c.order);
  return cells / (12 * 4 ** s.moc.order);
}

function pngTile(values: Float32Array, cut: readonly [number, number]): Buffer {
  const px = new Uint8Array(values.length * 2);
  const span = cut[1] - cut[0] || 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) continue; // alpha 0: no data here (HIPS-07)
    px[2 * i] = Math.round(255 * stretchValue((v - cut[0]) / span, 'asinh'));
    px[2 * i + 1] = 255;
  }
  return encodeGrayAlphaPng(TILE_WIDTH, TILE_WIDTH, px);
}

/** Allsky thumbnails are this wide, laid out ALLSKY_COLUMNS to a row (HIPS-10). */
const ALLSKY_ORDER = 3;
const ALLSKY_TILE = 64;
const ALLSKY_COLUMNS = Math.floor(Math.sqrt(12 * 4 ** ALLSKY_ORDER));

/**
 * Norder3/Allsky.png (HIPS-10): the 768 tiles of order 3 as 64-pixel thumbnails, left to
 * right and top to bottom in index order; tiles with no data stay transparent.
 */
async function allskyPng(s: Survey): Promise<Buffer> {
  const n = 12 * 4 ** ALLSKY_ORDER;
  const rows = Math.ceil(n / ALLSKY_COLUMNS);
  const width = ALLSKY_COLUMNS * ALLSKY_TILE;
  const px = new Uint8Array(width * rows * ALLSKY_TILE * 2);
  const span = s.cut[1] - s.cut[0] || 1;
  for (let i = 0; i < n; i++) {
    const values = await renderTile(s, ALLSKY_ORDER, i, ALLSKY_TILE);
    if (!values) continue;
    const x0 = (i % ALLSKY_COLUMNS) * ALLSKY_TILE;
    const y0 = Math.floor(i / ALLSKY_COLUMNS) * ALLSKY_TILE;
    for (let r = 0; r < ALLSKY_TILE; r++)
      for (let x = 0; x < ALLSKY_TILE; x++) {
        const v = values[r * ALLSKY_TILE + x];
        if (Number.isNaN(v)) continue;
        const o = ((y0 + r) * width + x0 + x) * 2;
        px[o] = Math.round(255 * stretchValue((v - s.cut[0]) / span, 'asinh'));
        px[o + 1] = 255;
      }
  }
  return encodeGrayAlphaPng(width, rows * ALLSKY_TILE, px);
}

/** A FITS tile stores rows bottom-up: its row y is the PNG's row W - 1 - y (HIPS-05). */
function fitsTile(values: Float32Array, order: number, index: number): Buffer {
  const flipped = new Float32Array(values.length);
  for (let y = 0; y < TILE_WIDTH; y++)
    flipped.set(
      values.subarray((TILE_WIDTH - 1 - y) * TILE_WIDTH, (TILE_WIDTH - y) * TILE_WIDTH),
      y * TILE_WIDTH,
    );
  const header = encodeHeader([
    { keyword: 'SIMPLE', value: true },
    { keyword: 'BITPIX', value: -32 },
    { keyword: 'NAXIS', value: 2 },
    { keyword: 'NAXIS1', value: TILE_WIDTH },
    { keyword: 'NAXIS2', value: TILE_WIDTH },
    { keyword: 'ORDER', value: order, comment: 'HEALPix order of the tile' },
    { keyword: 'NPIX', value: index, comment: 'HEALPix NESTED index of the tile' },
  ]);
  return Buffer.concat([header, pad(encodePixels({ bitpix: -32, bzero: 0 }, flipped))]);
}

/**
 * A HiPS (HiPS 1.0) of the node's public images, for Aladin: properties, Moc.fits, PNG and
 * FITS tiles made on first request and cached, and the HiPS list (HIPS-31).
 */
export function registerHips(app: FastifyInstance, deps: HipsDeps): void {
  let survey: Promise<Survey | undefined> | undefined;
  const getSurvey = () => {
    if (!survey) {
      const loading: Promise<Survey | undefined> = loadSurvey(deps.pool).catch((err) => {
        if (survey === loading) survey = undefined;
        throw err;
      });
      survey = loading;
    }
    return survey;
  };
  // "No images" and the image list are kept only until the products change: the next request
  // loads them again (a load already under way finishes for the requests that began it).
  deps.catalogues?.onChange((name) => {
    if (PRODUCT_CHANGES.has(name)) survey = undefined;
  });
  const cacheDir = join(deps.dataDir, 'hips', HIPS_NAME);
  const rendering = new Map<string, Promise<Buffer | undefined>>();
  const empty = new EmptyTiles();
  const notFound = (reply: FastifyReply, message: string) =>
    reply.status(404).headers(HEADERS).type('text/plain; charset=utf-8').send(`${message}\n`);

  app.get('/hips/hipslist', async (_request, reply) => {
    const s = await getSurvey();
    return reply
      .headers(HEADERS)
      .type('text/plain; charset=utf-8')
      .send(s ? properties(s, deps) : '');
  });
  app.get(`/hips/${HIPS_NAME}/properties`, async (_request, reply) => {
    const s = await getSurvey();
    if (!s) return notFound(reply, 'there are no public images to make a HiPS of');
    return reply.headers(HEADERS).type('text/plain; charset=utf-8').send(properties(s, deps));
  });
  app.get(`/hips/${HIPS_NAME}/Moc.fits`, async (_request, reply) => {
    const s = await getSurvey();
    if (!s) return notFound(reply, 'there are no public images to make a HiPS of');
    return reply
      .headers(HEADERS)
      .type('application/fits')
      .send(s.moc.toFits({ mocType: 'IMAGE' }));
  });
  let allsky: Promise<Buffer> | undefined;
  app.get(`/hips/${HIPS_NAME}/Norder${ALLSKY_ORDER}/Allsky.png`, async (_request, reply) => {
    const s = await getSurvey();
    if (!s) return notFound(reply, 'there are no public images to make a HiPS of');
    const path = join(cacheDir, s.key, `Norder${ALLSKY_ORDER}`, 'Allsky.png');
    let body: Buffer;
    try {
      body = await readFile(path);
    } catch {
      allsky ??= (async () => {
        const bytes = await allskyPng(s);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(`${path}.${process.pid}.partial`, bytes);
        await rename(`${path}.${process.pid}.partial`, path);
        return bytes;
      })().finally(() => {
        allsky = undefined;
      });
      body = await allsky;
    }
    return reply.headers(HEADERS).type('image/png').send(body);
  });
  app.get<{ Params: { norder: string; dir: string; npix: string } }>(
    `/hips/${HIPS_NAME}/:norder/:dir/:npix`,
    async (request, reply) => {
      const s = await getSurvey();
      if (!s) return notFound(reply, 'there are no public images to make a HiPS of');
      const { norder, dir, npix } = request.params;
      const o = /^Norder(\d{1,2})$/.exec(norder);
      const p = /^Npix(\d{1,12})\.(png|fits)$/.exec(npix);
      const order = o ? Number(o[1]) : -1;
      const index = p ? Number(p[1]) : -1;
      if (
        !o ||
        !p ||
        order < s.minOrder ||
        order > s.order ||
        index >= 12 * 4 ** order ||
        dir !== `Dir${Math.floor(index / 10000) * 10000}`
      )
        return notFound(
          reply,
          `no tile ${norder}/${dir}/${npix}: tiles are Norder${s.minOrder}..${s.order}/DirD/NpixN.png|fits`,
        );
      // HIPS-03/34: a partial HiPS answers 404, fast, where it has no data.
      if (!tileTouchesSurvey(s, order, index)) return notFound(reply, 'no data in this tile');
      const ext = p[2];
      const path = join(cacheDir, 'tiles', tileKey(s, order, index, ext), tilePath(order, index, ext));
      let body: Buffer | undefined;
      try {
        body = await readFile(path);
      } catch {
        if (await empty.has(path)) return notFound(reply, 'no data in this tile');
        let job = rendering.get(path);
        if (!job) {
          job = (async () => {
            const values = await renderTile(s, order, index);
            if (!values) {
              await empty.remember(path);
              return undefined;
            }
            const bytes = ext === 'png' ? pngTile(values, s.cut) : fitsTile(values, order, index);
            await mkdir(dirname(path), { recursive: true });
            const tmp = `${path}.${process.pid}.partial`;
            await writeFile(tmp, bytes);
            await rename(tmp, path);
            return bytes;
          })().finally(() => rendering.delete(path));
          rendering.set(path, job);
        }
        body = await job;
      }
      // HIPS-03/34: a partial HiPS answers 404, fast, where it has no data.
      if (!body) return notFound(reply, 'no data in this tile');
      return reply
        .headers(HEADERS)
        .type(ext === 'png' ? 'image/png' : 'application/fits')
        .send(body);
    },
  );
}
