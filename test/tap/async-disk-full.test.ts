import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CatalogueTable } from '../../adql/index.js';
import { READER_ROLE } from '../../src/auth/index.js';
import { adqlCatalogueSource } from '../../src/catalogue/index.js';
import { tapJobRunner } from '../../src/tap/async.js';
import { JobFiles } from '../../src/uws/index.js';
import { type FullDisk, mountFullDisk } from '../support/full-disk.js';
import { newService, untilFinal, uwsDatabase } from '../uws/helpers.js';

/*
 * Issue 13, "disk-full answered as an error with the job in ERROR, never a crash, and every
 * release of a pooled client exactly once": a TAP job whose result does not fit the result
 * store. The store is a real 1 MB tmpfs (mounted here; the tests run as root), so the write
 * fails with a real ENOSPC, and the pool counts every release of every checkout.
 */

interface Guarded {
  pool: pg.Pool;
  /** One entry per release() of a checkout that was already released. */
  doubleReleases: string[];
  /** Checkouts not yet released. */
  outstanding(): number;
}

/** Counts releases per checkout: node-postgres throws on the second one, and we record it. */
function guard(pool: pg.Pool): Guarded {
  const doubleReleases: string[] = [];
  let out = 0;
  const wrap = (client: pg.PoolClient) => {
    out++;
    let released = false;
    const release = client.release.bind(client);
    client.release = ((err?: Error | boolean) => {
      if (released) doubleReleases.push(new Error('second release').stack ?? 'second release');
      else out--;
      released = true;
      return release(err);
    }) as pg.PoolClient['release'];
    return client;
  };
  const connect = pool.connect.bind(pool) as (...a: unknown[]) => unknown;
  (pool as { connect: unknown }).connect = (
    cb?: (e: Error | undefined, c?: pg.PoolClient, d?: unknown) => void,
  ) => {
    if (cb)
      return connect((e: Error | undefined, c?: pg.PoolClient, d?: unknown) => cb(e, c ? wrap(c) : c, d));
    return (connect() as Promise<pg.PoolClient>).then(wrap);
  };
  return { pool, doubleReleases, outstanding: () => out };
}

let db: Awaited<ReturnType<typeof uwsDatabase>>;
let guarded: Guarded;
let disk: FullDisk | undefined;
let table: CatalogueTable;

beforeAll(async () => {
  db = await uwsDatabase();
  guarded = guard(db.pool);
  const schema = (db.pool as unknown as { schema: string }).schema;
  // About 6 MB of CSV or VOTable: far more than the store holds.
  await db.pool.query(
    `CREATE TABLE "${schema}".big AS SELECT i::bigint AS id, repeat('x', 40) || i AS label FROM generate_series(1, 120000) AS i`,
  );
  await db.pool.query(`GRANT USAGE ON SCHEMA "${schema}" TO ${READER_ROLE}`);
  await db.pool.query(`GRANT SELECT ON "${schema}".big TO ${READER_ROLE}`);
  table = {
    schema: 'lab',
    name: 'big',
    sql: { schema, table: 'big' },
    columns: [
      { name: 'id', datatype: 'long' },
      { name: 'label', datatype: 'char', arraysize: '*' },
    ],
  };
  disk = mountFullDisk('1m');
});
afterAll(async () => {
  disk?.remove();
  await db?.close();
});

describe('a full result store (issue 13)', () => {
  it.each(['votable', 'csv', 'tsv', 'votable/td'])(
    'puts a %s job in ERROR saying the store is full, releases each client once, and does not crash',
    async (format) => {
      const store = join((disk as FullDisk).path, `results-${format.replace('/', '-')}`);
      mkdirSync(store);
      const uploads = mkdtempSync(join(tmpdir(), 'vonode-uploads-'));
      const service = newService(guarded.pool, db.schema, store, {
        tap: tapJobRunner({
          pool: guarded.pool,
          baseUrl: 'http://127.0.0.1',
          limits: {
            maxrecDefault: 1_000_000,
            maxrecHard: 1_000_000,
            syncTimeoutSeconds: 60,
            asyncDurationDefault: 60,
            asyncDurationHard: 60,
            retentionDefault: 3600,
            retentionHard: 3600,
            uploadMaxBytes: 1_000_000,
            uploadMaxRows: 1000,
          },
          uploadLimits: {
            maxBytes: 1_000_000,
            maxRows: 1000,
            maxTables: 2,
            fetchTimeoutSeconds: 5,
            allowPrivateUrls: false,
          },
          catalogues: adqlCatalogueSource([table]),
          files: new JobFiles(uploads),
        }),
      });
      await service.start();
      try {
        const job = await service.create({
          kind: 'tap',
          owner: null,
          run: true,
          parameters: [
            { id: 'LANG', value: 'ADQL' },
            { id: 'QUERY', value: 'SELECT id, label FROM lab.big' },
            { id: 'RESPONSEFORMAT', value: format },
          ],
        });
        expect(await untilFinal(service, job.id)).toBe('ERROR');
        const done = await service.storage.get(job.id);
        expect(done?.error?.message).toMatch(/^the result store is full/);
        expect(done?.results).toEqual([]);
        // The store keeps no half-written temporary behind.
        expect(execFileSync('find', [store, '-type', 'f']).toString().trim()).toBe('');
        // Let any late close or release land before counting.
        await new Promise((r) => setTimeout(r, 300));
        expect(guarded.doubleReleases).toEqual([]);
        expect(guarded.outstanding()).toBe(0);
        expect(disk?.crashes).toEqual([]);
        // The pool still works.
        expect((await guarded.pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
      } finally {
        await service.stop();
        rmSync(uploads, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
