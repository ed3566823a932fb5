import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import sharp from 'sharp';
import { Wcs } from '../../sky/wcs/index.js';
import { ANONYMOUS } from '../auth/index.js';
import { heldElsewhere, lookupProduct, type Product, sendRefusal } from '../datalink/index.js';
import { FitsFile, productHdu, renderPreview } from '../fits/index.js';

export interface PreviewLimits {
  /** Longest side of a preview, pixels (FITS-81). */
  readonly maxSize: number;
  /** Longest side of a thumbnail, pixels. */
  readonly thumbnailSize: number;
}

export const DEFAULT_PREVIEW_LIMITS: PreviewLimits = { maxSize: 1024, thumbnailSize: 128 };

export interface PreviewDeps {
  readonly pool: pg.Pool;
  /** Previews are cached in <dataDir>/previews. */
  readonly dataDir: string;
  readonly limits?: Partial<PreviewLimits>;
}

const FAULTS = { authentication: 'AuthenticationError', authorization: 'AuthorizationError' };

/**
 * The PNG of a product: one plane (a cube's middle channel) block-averaged, zscale limits and
 * an asinh stretch (src/fits renderPreview), then made by sharp into the size asked for.
 * The file's path, size and time are in the cache key, so a replaced file gets a new preview.
 */
export async function productPreview(
  product: Product,
  cacheDir: string,
  size: number,
  maxSize = DEFAULT_PREVIEW_LIMITS.maxSize,
): Promise<Buffer> {
  const st = await stat(product.filePath);
  const key = createHash('sha256')
    .update(`${product.filePath}\n${st.size}\n${st.mtimeMs}\n${size}`)
    .digest('hex')
    .slice(0, 32);
  const cached = join(cacheDir, `${key}.png`);
  try {
    return await readFile(cached);
  } catch {
    // not cached yet
  }
  // Concurrent requests for the same preview share one rendering.
  const running = rendering.get(cached);
  if (running) return running;
  const job = render(product, cached, cacheDir, size, maxSize).finally(() => rendering.delete(cached));
  rendering.set(cached, job);
  return job;
}

const rendering = new Map<string, Promise<Buffer>>();

async function render(
  product: Product,
  cached: string,
  cacheDir: string,
  size: number,
  maxSize: number,
): Promise<Buffer> {
  const file = await FitsFile.open(product.filePath);
  let png: Buffer;
  try {
    const hdu = await productHdu(file);
    let spectralAxis: number | undefined;
    try {
      spectralAxis = Wcs.fromHeader(hdu.header).spectral?.axis;
    } catch {
      spectralAxis = undefined; // no usable WCS: plane 1 of every extra axis
    }
    const preview = await renderPreview(file, hdu, { maxSize, stretch: 'asinh', spectralAxis });
    png = await sharp(preview.png)
      .resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
      .png({ compressionLevel: 9 })
      .toBuffer();
  } finally {
    await file.close();
  }
  await mkdir(cacheDir, { recursive: true });
  const tmp = `${cached}.${process.pid}.${Date.now()}.partial`;
  await writeFile(tmp, png);
  await rename(tmp, cached);
  return png;
}

/** GET /preview/{ID}.png (DataLink #preview) and ?SIZE=thumbnail (#thumbnail). */
export function registerPreview(app: FastifyInstance, deps: PreviewDeps): void {
  const limits = { ...DEFAULT_PREVIEW_LIMITS, ...deps.limits };
  const cacheDir = join(deps.dataDir, 'previews');
  app.get<{ Params: { name: string }; Querystring: Record<string, string> }>(
    '/preview/:name',
    async (request, reply) => {
      const text = (status: number, message: string) =>
        reply.status(status).type('text/plain; charset=utf-8').send(`${message}\n`);
      const name = request.params.name;
      if (!name.endsWith('.png')) return text(404, 'UsageError: previews are at /preview/<ID>.png');
      const did = name.slice(0, -4);
      const sizeParam = Object.entries(request.query ?? {}).find(([k]) => k.toUpperCase() === 'SIZE')?.[1];
      const size = sizeParam === 'thumbnail' ? limits.thumbnailSize : limits.maxSize;
      const found = await lookupProduct(deps.pool, request.identity ?? ANONYMOUS, did);
      if (found.status === 'not-found') return text(404, `UsageError: no product has ID ${did}`);
      if (found.status === 'forbidden') return sendRefusal(request, reply, did, FAULTS);
      const elsewhere = heldElsewhere(found.product);
      if (elsewhere) return text(404, `UsageError: no preview: ${elsewhere}`);
      const png = await productPreview(found.product, cacheDir, size, limits.maxSize);
      return reply
        .status(200)
        .type('image/png')
        .header(
          'Cache-Control',
          found.product.proprietary ? 'private, max-age=3600' : 'public, max-age=86400',
        )
        .send(png);
    },
  );
}
