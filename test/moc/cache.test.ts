import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileCache } from '../../src/moc/cache.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'vonode-moc-cache-'));
  dirs.push(d);
  return d;
};

describe('the on-disk cache of computed MOCs', () => {
  it('makes a file once however many ask at the same time, and reads it back', async () => {
    const cache = new FileCache<number>(join(tempDir(), String(process.pid)), 4, 60_000);
    let made = 0;
    const make = async (path: string) => {
      made++;
      await writeFile(path, 'cells');
      return 5;
    };
    const files = await Promise.all([cache.get('k', make), cache.get('k', make), cache.get('k', make)]);
    expect(made).toBe(1);
    for (const f of files) {
      expect(f.meta).toBe(5);
      expect((await f.handle.readFile()).toString()).toBe('cells');
      await f.handle.close();
    }
    cache.close();
  });

  it('keeps at most its number of entries, a failure not at all, and an evicted file stays readable to whoever opened it', async () => {
    const cache = new FileCache<number>(join(tempDir(), String(process.pid)), 2, 60_000);
    let made = 0;
    const make = (text: string) => async (path: string) => {
      made++;
      await writeFile(path, text);
      return text.length;
    };
    const a = await cache.get('a', make('first'));
    await cache.get('b', make('second')).then((f) => f.handle.close());
    await cache.get('c', make('third')).then((f) => f.handle.close());
    // 'a' was evicted and its file removed, yet the open handle still reads it.
    expect((await a.handle.readFile()).toString()).toBe('first');
    await a.handle.close();
    await cache.get('a', make('first')).then((f) => f.handle.close());
    expect(made).toBe(4);
    await expect(
      cache.get('bad', async () => {
        throw new Error('the database said no');
      }),
    ).rejects.toThrow('the database said no');
    await cache.get('bad', make('fine')).then((f) => f.handle.close());
    expect(made).toBe(5);
    cache.close();
  });

  it('starts empty, and removes the folders of processes that are gone', () => {
    const parent = tempDir();
    const own = join(parent, String(process.pid));
    mkdirSync(own);
    writeFileSync(join(own, 'old'), 'stale');
    // No process has this id (above Linux's pid_max).
    const dead = join(parent, '99999999');
    mkdirSync(dead);
    writeFileSync(join(dead, '1'), 'stale');
    const other = join(parent, 'not-a-pid');
    mkdirSync(other);
    const cache = new FileCache<number>(own, 2, 60_000);
    expect(existsSync(join(own, 'old'))).toBe(false);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(other)).toBe(true);
    cache.close();
    expect(existsSync(own)).toBe(false);
  });
});
