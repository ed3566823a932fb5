import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EmptyTiles } from './empty.js';
import { allskyPng, fitsTile, fitsTileValues, pngTile } from './encode.js';
import { meanOfChildren } from './pyramid.js';
import { renderTile, type Survey, tileKey, tileTouchesSurvey } from './survey.js';
import { TILE_WIDTH, tilePath } from './tiles.js';

/** Allsky thumbnails are this wide, at this order (HIPS-10). */
export const ALLSKY_ORDER = 3;
const ALLSKY_TILE = 64;

async function writeAtomically(path: string, bytes: Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.partial`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

/**
 * The tiles of one image or cube HiPS, made on first request and cached under
 * <cacheDir>/tiles/<tileKey>/NorderK/DirD/NpixN[_F].<ext>. The FITS tiles are the pyramid's
 * store: the deepest order is resampled from the images (renderTile) and every lower order
 * averages the four children (HIPS-07), read back from their cached FITS tiles; PNG tiles
 * are drawn from the same values.
 */
export class ImageHips {
  private readonly jobs = new Map<string, Promise<Float32Array | undefined>>();
  private readonly empty = new EmptyTiles();
  private allskyJob?: Promise<Buffer>;

  constructor(
    readonly survey: Survey,
    private readonly cacheDir: string,
  ) {}

  private path(order: number, index: number, ext: string, frame: number): string {
    const key = tileKey(this.survey, order, index, ext);
    return join(this.cacheDir, 'tiles', key, tilePath(order, index, ext, frame));
  }

  /** The tile's values, row by row from the top; undefined where the HiPS has no data. */
  async values(order: number, index: number, frame = 0): Promise<Float32Array | undefined> {
    const s = this.survey;
    if (!tileTouchesSurvey(s, order, index)) return undefined;
    const path = this.path(order, index, 'fits', frame);
    try {
      return fitsTileValues(await readFile(path), TILE_WIDTH);
    } catch {
      // not made yet
    }
    if (await this.empty.has(path)) return undefined;
    let job = this.jobs.get(path);
    if (!job) {
      job = (async () => {
        let values: Float32Array | undefined;
        if (order >= s.order) values = await renderTile(s, order, index, TILE_WIDTH, frame);
        else {
          // One child at a time: a deep pyramid holds at most one tile per order in memory.
          const children: Array<Float32Array | undefined> = [];
          for (let c = 0; c < 4; c++) children.push(await this.values(order + 1, 4 * index + c, frame));
          values = meanOfChildren(children, TILE_WIDTH);
        }
        if (!values) {
          await this.empty.remember(path);
          return undefined;
        }
        await writeAtomically(path, fitsTile(values, TILE_WIDTH, order, index));
        return values;
      })().finally(() => this.jobs.delete(path));
      this.jobs.set(path, job);
    }
    return job;
  }

  /** The tile as a file, PNG or FITS (HIPS-06); undefined where there is no data. */
  async tile(order: number, index: number, ext: 'png' | 'fits', frame = 0): Promise<Buffer | undefined> {
    if (ext === 'fits') {
      const path = this.path(order, index, 'fits', frame);
      const values = await this.values(order, index, frame);
      return values ? readFile(path) : undefined;
    }
    const path = this.path(order, index, 'png', frame);
    try {
      return await readFile(path);
    } catch {
      // not drawn yet
    }
    if (await this.empty.has(path)) return undefined;
    const values = await this.values(order, index, frame);
    if (!values) {
      if (tileTouchesSurvey(this.survey, order, index)) await this.empty.remember(path);
      return undefined;
    }
    const bytes = pngTile(values, TILE_WIDTH, this.survey.cut);
    await writeAtomically(path, bytes);
    return bytes;
  }

  /**
   * Norder3/Allsky.png (HIPS-10): the 768 order-3 tiles as 64-pixel thumbnails, each pixel
   * the nearest image pixel under its order-9 cell, as the deepest tiles are drawn: averaging
   * would render every deepest tile of the sky first, minutes before a client's first view.
   * Tiles with no data stay transparent. Cubes have one per frame (Allsky_F.png, HIPS-23).
   */
  async allsky(frame = 0): Promise<Buffer> {
    const s = this.survey;
    const path = join(
      this.cacheDir,
      s.key,
      `Norder${ALLSKY_ORDER}`,
      `Allsky${frame > 0 ? `_${frame}` : ''}.png`,
    );
    try {
      return await readFile(path);
    } catch {
      // not drawn yet
    }
    if (frame === 0 && this.allskyJob) return this.allskyJob;
    const job = (async () => {
      const count = 12 * 4 ** ALLSKY_ORDER;
      const thumbs = new Map<number, Float32Array>();
      for (let i = 0; i < count; i++) {
        const values = await renderTile(s, ALLSKY_ORDER, i, ALLSKY_TILE, frame);
        if (values) thumbs.set(i, values);
      }
      const bytes = allskyPng(thumbs, count, ALLSKY_TILE, s.cut);
      await writeAtomically(path, bytes);
      return bytes;
    })();
    if (frame === 0)
      this.allskyJob = job.finally(() => {
        this.allskyJob = undefined;
      });
    return job;
  }
}
