import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { FileResultStore, ResultNotFoundError } from '../../src/uws/index.js';
import { tempFolder } from './helpers.js';

const dir = tempFolder();
afterAll(() => dir.remove());

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('FileResultStore', () => {
  const store = new FileResultStore(dir.path);

  it('streams a result in and out with its size and MIME type', async () => {
    // Many small chunks: the store must pipe them, whatever their number.
    const parts = Array.from({ length: 1000 }, (_, i) => `row ${i}\n`);
    const { size } = await store.put('job1', 'result', Readable.from(parts), 'text/csv');
    const expected = parts.join('');
    expect(size).toBe(Buffer.byteLength(expected));
    const opened = await store.open('job1', 'result');
    expect(opened.size).toBe(size);
    expect(opened.mime).toBe('text/csv');
    expect(await text(opened.stream)).toBe(expected);
  });

  it('leaves no temporary file when the source stream fails, and keeps the earlier result', async () => {
    await store.put('job2', 'out', Readable.from(['first']), 'text/plain');
    const failing = new Readable({
      read() {
        this.push('partial');
        this.destroy(new Error('source broke'));
      },
    });
    await expect(store.put('job2', 'out', failing, 'text/plain')).rejects.toThrow('source broke');
    expect(readdirSync(join(dir.path, 'job2')).sort()).toEqual(['out', 'out.mime']);
    expect(await text((await store.open('job2', 'out')).stream)).toBe('first');
  });

  it('refuses ids that could leave its folder', async () => {
    await expect(store.put('../x', 'r', Readable.from(['a']), 'text/plain')).rejects.toThrow(/file name/);
    await expect(store.open('job1', '../../etc/passwd')).rejects.toThrow(/file name/);
  });

  it('reports a missing result as ResultNotFoundError, and deletes a job’s folder', async () => {
    await expect(store.open('job1', 'absent')).rejects.toBeInstanceOf(ResultNotFoundError);
    await store.delete('job1');
    expect(existsSync(join(dir.path, 'job1'))).toBe(false);
    await store.delete('never-existed');
  });
});
