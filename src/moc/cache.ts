import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** One finished file of the cache: an open handle, so eviction cannot pull it away mid-read. */
export interface CachedFile<M> {
  readonly handle: FileHandle;
  readonly meta: M;
}

interface Entry<M> {
  readonly at: number;
  readonly file: Promise<{ path: string; meta: M }>;
}

/**
 * Files on disk keyed by what they were computed from (the data version among it), made once
 * however many requests ask at the same time, at most `entries` kept (the least recently
 * used go first) and each for at most `ttlMs`. On disk rather than in memory: a MOC of a
 * large catalogue is megabytes per order and format, and is streamed to the client from
 * the file. A failure is not kept.
 */
export class FileCache<M> {
  private readonly map = new Map<string, Entry<M>>();
  private serial = 0;

  constructor(
    readonly dir: string,
    private readonly entries: number,
    private readonly ttlMs: number,
  ) {
    // Files of an earlier run were keyed on that run's versions: never valid now.
    rmSync(dir, { recursive: true, force: true });
    removeDeadProcessFolders(dirname(dir));
    mkdirSync(dir, { recursive: true });
  }

  /** The file for `key`, made by `make(path)` (which returns its metadata) when missing. */
  async get(key: string, make: (path: string) => Promise<M>): Promise<CachedFile<M>> {
    for (let attempt = 0; ; attempt++) {
      const entry = this.entry(key, make);
      const { path, meta } = await entry.file;
      try {
        return { handle: await open(path, 'r'), meta };
      } catch (err) {
        // Evicted between being made and being opened: make it again, once.
        if (attempt > 0 || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        if (this.map.get(key) === entry) this.map.delete(key);
      }
    }
  }

  close(): void {
    this.map.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private entry(key: string, make: (path: string) => Promise<M>): Entry<M> {
    const hit = this.map.get(key);
    if (hit && Date.now() - hit.at < this.ttlMs) {
      // Least recently used order: a hit moves to the end.
      this.map.delete(key);
      this.map.set(key, hit);
      return hit;
    }
    if (hit) this.drop(key);
    const path = join(this.dir, `${++this.serial}`);
    const file = make(path).then(
      (meta) => ({ path, meta }),
      async (err: unknown) => {
        if (this.map.get(key) === entry) this.map.delete(key);
        await rm(path, { force: true });
        throw err;
      },
    );
    const entry: Entry<M> = { at: Date.now(), file };
    this.map.set(key, entry);
    while (this.map.size > this.entries) this.drop(this.map.keys().next().value as string);
    return entry;
  }

  private drop(key: string): void {
    const e = this.map.get(key);
    if (!e) return;
    this.map.delete(key);
    // A file still being made is removed once made; an open handle keeps reading it.
    e.file.then(
      ({ path }) => rm(path, { force: true }),
      () => {},
    );
  }
}

/**
 * Folders named by the id of a process that is gone (one that stopped without closing, as on
 * a crash) are removed, so the cache folders of past runs do not pile up.
 */
function removeDeadProcessFolders(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      process.kill(Number(name), 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH')
        rmSync(join(parent, name), { recursive: true, force: true });
    }
  }
}
