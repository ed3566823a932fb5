import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEALPIX_INDEX_ORDER, Moc, type MocCell } from '../../sky/index.js';
import { ANONYMOUS, withReadOnlyIdentity } from '../../src/auth/index.js';
import { canonicalCellsSql } from '../../src/moc/cells.js';
import { encode, type MocFormat } from '../../src/moc/encode.js';
import { testDatabaseUrl } from '../support/db.js';
import { startTestNode } from '../support/node.js';

let node: Awaited<ReturnType<typeof startTestNode>>;
let pool: pg.Pool;

beforeAll(async () => {
  node = await startTestNode();
  pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 });
});
afterAll(async () => {
  await node?.stop();
  await pool?.end();
});

/**
 * The MOC as vonode computed it before it was made in the database: the distinct cells of
 * the sources the caller may see, through the in-memory Moc (sky/), serialised at once.
 */
async function inMemory(order: number): Promise<Moc> {
  const r = await withReadOnlyIdentity(pool, ANONYMOUS, (c) =>
    c.query<{ cell: string }>('SELECT DISTINCT healpix >> $1 AS cell FROM demo.sources', [
      2 * (HEALPIX_INDEX_ORDER - order),
    ]),
  );
  return Moc.fromCells(
    r.rows.map((x): MocCell => ({ order, index: BigInt(x.cell) })),
    order,
  );
}

const serialise = (moc: Moc, format: MocFormat): Buffer =>
  format === 'fits'
    ? moc.toFits({ mocType: 'CATALOG' })
    : Buffer.from(format === 'json' ? moc.toJson() : moc.toAscii());

async function collect(gen: AsyncGenerator<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of gen) parts.push(b);
  return Buffer.concat(parts);
}

/** COPY text lines of the given cells, cut into chunks of `size` characters. */
function* chunked(moc: Moc, size: number): Generator<string> {
  const text = moc
    .cells()
    .map((c) => `${c.order}\t${c.index}\n`)
    .join('');
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function* asAsync<T>(it: Iterable<T>): AsyncGenerator<T> {
  yield* it;
}

describe('MOCs computed in the database and streamed (MOC-03, MOC-05, MOC-06, MOC-20, MOC-23)', () => {
  it('/moc/sources is byte for byte the in-memory MOC at every order, in every format', async () => {
    for (let order = 0; order <= 12; order++) {
      const moc = await inMemory(order);
      for (const format of ['json', 'ascii', 'fits'] as const) {
        const res = await fetch(`${node.url}/moc/sources?order=${order}&format=${format}`);
        expect(res.status, `order ${order} ${format}`).toBe(200);
        const body = Buffer.from(await res.arrayBuffer());
        expect(body.equals(serialise(moc, format)), `order ${order} ${format}`).toBe(true);
        expect(res.headers.get('content-length')).toBe(String(body.length));
      }
    }
  });

  it('a cached MOC is answered again the same', async () => {
    const first = Buffer.from(
      await (await fetch(`${node.url}/moc/sources?order=9&format=ascii`)).arrayBuffer(),
    );
    const again = await Promise.all(
      Array.from({ length: 4 }, async () =>
        Buffer.from(await (await fetch(`${node.url}/moc/sources?order=9&format=ascii`)).arrayBuffer()),
      ),
    );
    for (const b of again) expect(b.equals(first)).toBe(true);
    expect(first.equals(serialise(await inMemory(9), 'ascii'))).toBe(true);
  });

  it('the canonical-cell SQL unmaps ranges as Moc does: cones and polygons with whole low-order cells', async () => {
    const mocs = [
      Moc.fromCone(83.6, 22.0, 12, 7),
      Moc.fromCone(0, 90, 40, 5),
      Moc.fromPolygon(
        [
          [10, -10],
          [60, -10],
          [60, 30],
          [10, 30],
        ],
        8,
      ),
      Moc.fullSky(3),
      Moc.empty(4),
    ];
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('CREATE TEMP TABLE moc_points (k bigint)');
      for (const moc of mocs) {
        await client.query('TRUNCATE moc_points');
        // Every order-29 index at the start of each cell of the MOC at its order.
        const cells = moc.degrade(moc.order).ranges.flatMap(([lo, hi]) => {
          const step = 1n << BigInt(2 * (HEALPIX_INDEX_ORDER - moc.order));
          const out: string[] = [];
          for (let i = lo; i < hi; i += step) out.push(String(i));
          return out;
        });
        await client.query('INSERT INTO moc_points SELECT unnest($1::bigint[])', [cells]);
        const r = await client.query<{ o: number; i: string }>(
          canonicalCellsSql('pg_temp', 'moc_points', 'k', moc.order),
        );
        expect(r.rows.map((x) => `${x.o}/${x.i}`)).toEqual(moc.cells().map((c) => `${c.order}/${c.index}`));
        // And the streaming encoders give what Moc writes, however the lines are cut.
        for (const format of ['json', 'ascii', 'fits'] as const)
          for (const size of [1, 7, 4096]) {
            const out = await collect(
              encode(format, asAsync(chunked(moc, size)), moc.order, moc.cells().length, 'CATALOG'),
            );
            expect(out.equals(serialise(moc, format)), `${format} ${size}`).toBe(true);
          }
      }
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});
