import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Moc } from '../../sky/index.js';
import { ANONYMOUS } from '../../src/auth/index.js';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { startTestNode } from '../support/node.js';
import {
  type CatalogueFixture,
  createCatalogueFixture,
  OWNER_GROUP,
} from '../support/published-catalogues.js';

const AUDIENCE = 'vonode-moc-catalogues';
const issuer = new TestIssuer();
let node: Awaited<ReturnType<typeof startTestNode>>;
let fx: CatalogueFixture;
let owner: string;
let stranger: string;

beforeAll(async () => {
  fx = await createCatalogueFixture();
  await issuer.start();
  issuer.keys = [await signingKey()];
  node = await startTestNode(
    { VONODE_OIDC_ISSUER: issuer.url, VONODE_OIDC_AUDIENCE: AUDIENCE },
    { catalogues: fx.source },
  );
  owner = await issuer.token({ sub: 'olga', groups: [OWNER_GROUP] }, { aud: AUDIENCE });
  stranger = await issuer.token({ sub: 'sam', groups: ['other-team'] }, { aud: AUDIENCE });
});
afterAll(async () => {
  await node?.stop();
  await issuer.stop();
  await fx?.close();
});

const get = (path: string, token?: string) =>
  fetch(`${node.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

type Points = Array<{ ra: number; dec: number }>;

/**
 * The NESTED cells of each set of points at `order`, by astropy-healpix (Debian's), the
 * reference; one Python start for all the sets.
 */
function astropyCellSets(sets: Points[], order: number): string[][] {
  const out = execFileSync(
    '/usr/bin/python3',
    [
      '-c',
      `import json, sys
import numpy as np
from astropy import units as u
from astropy_healpix import HEALPix
hp = HEALPix(nside=2 ** ${order}, order='nested')
out = []
for s in json.load(sys.stdin):
    pts = np.array(s, dtype=float).reshape(-1, 2)
    cells = hp.lonlat_to_healpix(pts[:, 0] * u.deg, pts[:, 1] * u.deg) if len(pts) else []
    out.append(sorted({int(c) for c in cells}))
print(json.dumps(out))`,
    ],
    { input: JSON.stringify(sets.map((points) => points.map((p) => [p.ra, p.dec]))) },
  );
  return (JSON.parse(out.toString()) as number[][]).map((cells) => cells.map(String));
}
const astropyCells = (points: Points, order: number) => astropyCellSets([points], order)[0];

const cellsOf = (moc: Moc, order: number) =>
  moc
    .degrade(order)
    .cells()
    .flatMap((c) => {
      const n = 4n ** BigInt(order - c.order);
      return Array.from({ length: Number(n) }, (_, k) => (c.index * n + BigInt(k)).toString());
    })
    .sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
const sorted = (cells: string[]) => [...cells].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));

// The checks against astropy-healpix get three minutes: Python with astropy starts slowly on
// a loaded machine (this is a guard against a hang, not a measurement).
describe('/moc/<schema>.<table>: the coverage of each published catalogue', () => {
  it("has exactly the cells astropy-healpix puts a second catalogue's rows in, in FITS, JSON and ASCII", async () => {
    const order = 11;
    const res = await get(`/moc/${fx.schema}.pybdsf?order=${order}&format=json`);
    expect(res.status).toBe(200);
    const moc = Moc.parseJson(await res.text());
    expect(moc.order).toBe(order);
    // The owners' unreleased rows are left out for an anonymous caller and included for them.
    const [want, mine] = astropyCellSets(
      [await fx.rows('pybdsf', ANONYMOUS), await fx.rows('pybdsf', { sub: 'olga', groups: [OWNER_GROUP] })],
      order,
    ).map(sorted);
    const ownerMoc = Moc.parseJson(
      await (await get(`/moc/${fx.schema}.pybdsf?order=${order}&format=json`, owner)).text(),
    );
    expect(cellsOf(ownerMoc, order)).toEqual(mine);
    expect(mine.length).toBeGreaterThan(want.length);
    expect(want.length).toBeGreaterThan(3);
    expect(cellsOf(moc, order)).toEqual(want);
    const fits = Moc.parseFits(
      Buffer.from(await (await get(`/moc/${fx.schema}.pybdsf?order=${order}`)).arrayBuffer()),
    );
    expect(fits.equals(moc)).toBe(true);
    const ascii = await (await get(`/moc/${fx.schema}.pybdsf?order=${order}&format=ascii`)).text();
    expect(Moc.parseAscii(ascii).equals(moc)).toBe(true);
  }, 180_000);

  it('an owner group without a release date: 404 for anonymous callers and other groups, the whole coverage for the owners', async () => {
    const path = `/moc/${fx.schema}.private_cat?order=6&format=json`;
    for (const token of [undefined, stranger]) {
      const res = await get(path, token);
      expect(res.status).toBe(404);
      expect(await res.text()).toMatch(/no published catalogue with a position is named/);
    }
    const res = await get(path, owner);
    expect(res.status).toBe(200);
    const rows = await fx.rows('private_cat', { sub: 'olga', groups: [OWNER_GROUP] });
    expect(rows).toHaveLength(150);
    expect(cellsOf(Moc.parseJson(await res.text()), 6)).toEqual(sorted(astropyCells(rows, 6)));
  }, 180_000);

  it('lists the MOCs of the catalogues the caller may see', async () => {
    const urls = async (token?: string) =>
      ((await (await get('/moc', token)).json()) as { mocs: Array<{ url: string }> }).mocs.map((m) => m.url);
    const base = 'http://vo.example.test/node/moc';
    const anon = await urls();
    expect(anon.slice(0, 2)).toEqual([`${base}/sources`, `${base}/products`]);
    expect(anon).toContain(`${base}/${fx.schema}.pybdsf`);
    expect(anon).not.toContain(`${base}/${fx.schema}.private_cat`);
    expect(await urls(stranger)).not.toContain(`${base}/${fx.schema}.private_cat`);
    expect(await urls(owner)).toContain(`${base}/${fx.schema}.private_cat`);
  });

  it('a re-publish is answered from the new version, not the cached MOC of the old one', async () => {
    const path = `/moc/${fx.schema}.moving?order=5&format=json`;
    expect((await get(path)).status).toBe(404);
    await fx.publish('moving', 40, 60, 20);
    const first = Moc.parseJson(await (await get(path)).text());
    expect(cellsOf(first, 5)).toEqual(sorted(astropyCells(await fx.rows('moving', ANONYMOUS), 5)));
    expect(Moc.parseJson(await (await get(path)).text()).equals(first)).toBe(true);
    await fx.publish('moving', 40, 240, -20);
    const second = Moc.parseJson(await (await get(path)).text());
    expect(cellsOf(second, 5)).toEqual(sorted(astropyCells(await fx.rows('moving', ANONYMOUS), 5)));
    expect(second.equals(first)).toBe(false);
    await fx.unpublish('moving');
    expect((await get(path)).status).toBe(404);
  }, 180_000);

  it('refuses a bad order or format for a catalogue with 400', async () => {
    for (const q of ['order=13', 'format=png']) {
      const res = await get(`/moc/${fx.schema}.pybdsf?${q}`);
      expect(res.status).toBe(400);
    }
  });
});
