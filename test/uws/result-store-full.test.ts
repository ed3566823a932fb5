import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRunner } from '../../src/uws/index.js';
import { type FullDisk, mountFullDisk } from '../support/full-disk.js';
import { newService, untilFinal, uwsDatabase } from './helpers.js';

/*
 * Issue 13: a result store with no room left. The store is a real 512 KB tmpfs mounted here
 * (the tests run as root), so writes fail with a real ENOSPC. A runner that streams as SODA's
 * cutouts do (writing into a PassThrough and waiting for 'drain') must hear of the failure
 * instead of waiting forever, the job must end in ERROR saying the store is full, and no
 * 'error' event may escape as an uncaught exception.
 */

let db: Awaited<ReturnType<typeof uwsDatabase>>;
let disk: FullDisk | undefined;

beforeAll(async () => {
  db = await uwsDatabase();
  disk = mountFullDisk('512k');
});
afterAll(async () => {
  disk?.remove();
  await db?.close();
});

/** Writes 4 MB in 64 KB chunks, waiting for drain like SODA's cutout sink. */
const streaming: JobRunner = async (job) => {
  const stream = new PassThrough({ highWaterMark: 64 * 1024 });
  const stored = job.addResult('cutout-1', stream, 'application/fits');
  try {
    for (let i = 0; i < 64; i++) {
      if (!stream.write(Buffer.alloc(64 * 1024, i))) await once(stream, 'drain');
    }
    stream.end();
  } catch (err) {
    await stored.catch(() => undefined);
    throw err;
  }
  await stored;
  return undefined;
};

/** A small result first, then one that does not fit. */
const twoResults: JobRunner = async (job) => {
  await job.addResult('small', Readable.from([Buffer.from('fits')]), 'text/plain');
  await job.addResult('large', Readable.from([Buffer.alloc(2 * 1024 * 1024, 1)]), 'application/octet-stream');
  return undefined;
};

describe('a result store with no room (issue 13)', () => {
  it.each([
    ['a streaming runner', 'stream'],
    ['a runner with several results', 'two'],
  ])('ends the job of %s in ERROR saying the store is full, without a crash', async (_label, kind) => {
    const store = join((disk as FullDisk).path, kind);
    mkdirSync(store);
    const service = newService(db.pool, db.schema, store, { stream: streaming, two: twoResults });
    await service.start();
    try {
      const job = await service.create({ kind, owner: null, parameters: [], run: true });
      expect(await untilFinal(service, job.id)).toBe('ERROR');
      const done = await service.storage.get(job.id);
      expect(done?.error).toMatchObject({ type: 'transient' });
      expect(done?.error?.message).toMatch(/^the result store is full: result (cutout-1|large) of this job/);
      expect(disk?.crashes).toEqual([]);
      // The service carries on: the next job runs, and ends the same way (still too large).
      await service.delete(job.id, null);
      const next = await service.create({ kind: 'two', owner: null, parameters: [], run: true });
      expect(await untilFinal(service, next.id)).toBe('ERROR');
      await service.delete(next.id, null);
    } finally {
      await service.stop();
    }
  });
});
