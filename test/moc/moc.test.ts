import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Moc } from '../../sky/index.js';
import { ANONYMOUS, withMaintenance, withReadOnlyIdentity } from '../../src/auth/index.js';
import { testDatabaseUrl } from '../support/db.js';
import { startTestNode } from '../support/node.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;
let node: TestNode;
let pool: pg.Pool;

beforeAll(async () => {
  node = await startTestNode();
  pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 });
});
afterAll(async () => {
  await node?.stop();
  await pool?.end();
});

const get = (path: string) => fetch(`${node.url}${path}`);

/** The NESTED cells of the points at `order`, by astropy-healpix (Debian's), the reference. */
function astropyCells(points: Array<[number, number]>, order: number): string[] {
  const out = execFileSync(
    '/usr/bin/python3',
    [
      '-c',
      `import json, sys
import numpy as np
from astropy import units as u
from astropy_healpix import HEALPix
pts = np.array(json.load(sys.stdin), dtype=float).reshape(-1, 2)
hp = HEALPix(nside=2 ** ${order}, order='nested')
cells = hp.lonlat_to_healpix(pts[:, 0] * u.deg, pts[:, 1] * u.deg) if len(pts) else []
print(json.dumps(sorted({int(c) for c in cells})))`,
    ],
    { input: JSON.stringify(points), maxBuffer: 64 * 1024 * 1024 },
  );
  return (JSON.parse(out.toString()) as number[]).map(String);
}

async function sourcePositions(visibleTo: 'anonymous' | 'everyone'): Promise<Array<[number, number]>> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN READ ONLY');
    if (visibleTo === 'everyone') await withMaintenance(client);
    const r =
      visibleTo === 'everyone'
        ? await client.query<{ ra: number; dec: number }>('SELECT ra, dec FROM demo.sources')
        : await withReadOnlyIdentity(pool, ANONYMOUS, (c) =>
            c.query<{ ra: number; dec: number }>('SELECT ra, dec FROM demo.sources'),
          );
    return r.rows.map((x) => [x.ra, x.dec]);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

const cellsOf = (moc: Moc, order: number) =>
  moc
    .degrade(order)
    .cells()
    .flatMap((c) => {
      // Coarser cells of the MOC stand for all their children at `order`.
      const n = 4n ** BigInt(order - c.order);
      return Array.from({ length: Number(n) }, (_, k) => (c.index * n + BigInt(k)).toString());
    })
    .sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));

describe('/moc (MOC 2.0 coverage)', () => {
  it('lists its MOCs', async () => {
    const res = await get('/moc');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { mocs: Array<{ url: string }> };
    expect(body.mocs.map((m) => m.url).slice(0, 2)).toEqual([
      'http://vo.example.test/node/moc/sources',
      'http://vo.example.test/node/moc/products',
    ]);
  });

  it('the source MOC has exactly the cells astropy-healpix puts the visible sources in, and not the proprietary ones', async () => {
    const order = 6;
    const res = await get(`/moc/sources?order=${order}&format=json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const moc = Moc.parseJson(await res.text());
    expect(moc.order).toBe(order);
    const visible = astropyCells(await sourcePositions('anonymous'), order);
    expect(cellsOf(moc, order)).toEqual(visible.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)));
    // The proprietary fields add cells an anonymous caller must not be shown.
    const all = astropyCells(await sourcePositions('everyone'), order);
    expect(all.length).toBeGreaterThan(visible.length);
  });

  it('FITS (the default), JSON and ASCII are the same MOC; astropy reads the FITS as MOC 2.0', async () => {
    const fits = Buffer.from(await (await get('/moc/sources?order=5')).arrayBuffer());
    const json = await (await get('/moc/sources?order=5&format=json')).text();
    const ascii = await (await get('/moc/sources?order=5&format=ascii')).text();
    const m = Moc.parseFits(fits);
    expect(m.equals(Moc.parseJson(json))).toBe(true);
    expect(m.equals(Moc.parseAscii(ascii))).toBe(true);
    const header = execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        `import sys, json
from astropy.io import fits
import io
h = fits.open(io.BytesIO(sys.stdin.buffer.read()))[1]
print(json.dumps({k: str(h.header.get(k)) for k in ['MOCVERS', 'MOCDIM', 'ORDERING', 'MOCORD_S', 'COORDSYS', 'MOCTYPE']} | {'rows': len(h.data)}))`,
      ],
      { input: fits },
    );
    const h = JSON.parse(header.toString());
    expect(h).toMatchObject({
      MOCVERS: '2.0',
      MOCDIM: 'SPACE',
      ORDERING: 'NUNIQ',
      MOCORD_S: '5',
      COORDSYS: 'C',
      MOCTYPE: 'CATALOG',
    });
    expect(h.rows).toBe(m.uniq().length);
  });

  it('the product MOC covers each visible footprint and is their union', async () => {
    const regions = await withReadOnlyIdentity(pool, ANONYMOUS, (c) =>
      c.query<{ did: string; ra: number; dec: number }>(
        "SELECT obs_publisher_did AS did, s_ra AS ra, s_dec AS dec FROM ivoa.obscore WHERE obs_collection = 'ska-demo'",
      ),
    );
    expect(regions.rows.length).toBeGreaterThan(0);
    const all = Moc.parseJson(
      await (await get('/moc/products?collection=ska-demo&order=8&format=json')).text(),
    );
    let union = Moc.empty(8);
    for (const r of regions.rows) {
      expect(all.contains(r.ra, r.dec)).toBe(true);
      const one = Moc.parseJson(
        await (await get(`/moc/products?id=${encodeURIComponent(r.did)}&order=8&format=json`)).text(),
      );
      expect(one.contains(r.ra, r.dec)).toBe(true);
      union = union.union(one);
    }
    expect(union.equals(all)).toBe(true);
    const none = Moc.parseJson(await (await get('/moc/products?collection=no-such&format=json')).text());
    expect(none.cells()).toEqual([]);
  });

  it('refuses a bad order or format with 400 and a message', async () => {
    for (const [q, msg] of [
      ['order=13', /order='13' is not a HEALPix order from 0 to 12/],
      ['order=-1', /order='-1'/],
      ['format=png', /format='png' is not offered/],
    ] as const) {
      const res = await get(`/moc/sources?${q}`);
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(msg);
    }
  });
});
