import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Tiles found to have no data (HIPS-03: a partial HiPS answers 404 there), so a tile that
 * touches the survey's MOC yet has no image pixel under any of its cells is rendered once,
 * not at every request. Keyed on the tile's cache path, which names the versions of the
 * images it is drawn from (tileKey): an image ingested over it gives it a new path, and it
 * is rendered again. Kept in memory (the newest `max`) and as an empty marker file beside
 * where the tile would be, so a restart or another process on the same data folder knows too.
 */
export class EmptyTiles {
  private readonly known = new Set<string>();

  constructor(private readonly max = 100_000) {}

  async has(tilePath: string): Promise<boolean> {
    if (this.known.has(tilePath)) return true;
    try {
      await access(marker(tilePath));
    } catch {
      return false;
    }
    this.add(tilePath);
    return true;
  }

  async remember(tilePath: string): Promise<void> {
    this.add(tilePath);
    await mkdir(dirname(tilePath), { recursive: true });
    await writeFile(marker(tilePath), '');
  }

  private add(tilePath: string): void {
    this.known.add(tilePath);
    if (this.known.size > this.max) this.known.delete(this.known.values().next().value as string);
  }
}

/** The marker of an empty tile: its path with `.empty` added. */
export const marker = (tilePath: string) => `${tilePath}.empty`;
