import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { python, SESSION_PY } from '../soda/python.js';
import { testDatabaseUrl } from '../support/db.js';
import { startTestNode, TEST_BASE_URL } from '../support/node.js';
import { runVonode } from '../support/process.js';

// Issue 17 item 2, FITS as SKA Regional Centres have it, through a running node: a gzipped
// Galactic survey tile and a multi-extension file whose image is tile-compressed (FK5 J2000)
// are ingested by `vonode ingest`, found by pyvo SIA2 at their ICRS positions, cut by SODA from
// an ICRS circle (checked against astropy), and the gzipped file is served whole by DataLink.

const COLLECTION = 'src-fits';
// Owned by a group with no release date: never public, so the products stay out of other test
// files' anonymous searches that run meanwhile on the shared database.
const GROUP = 'team-src';
const AUDIENCE = 'vonode-test';
const issuer = new TestIssuer();
let token: string;
let node: Awaited<ReturnType<typeof startTestNode>>;
let db: pg.Client;
let dir: string;
let made: Record<string, { centre: number[]; probe: number[] }>;
const dids: Record<string, string> = {};

const vonode = (args: string[]) =>
  runVonode(args, {
    DATABASE_URL: testDatabaseUrl(),
    VONODE_DATA_DIR: node.dataDir,
    VONODE_BASE_URL: TEST_BASE_URL,
  });

// Sky positions no other test uses (the demo fields lie at Dec −80..+10; ingest-live uses
// (240, 50), (120, 45), (60, 40)).
const MAKE = `
import sys, json, gzip, warnings
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from astropy.wcs.utils import pixel_to_skycoord
warnings.simplefilter('ignore')
d = sys.argv[1]
y, x = np.mgrid[0:100, 0:100]
val = (x + 300 * y).astype('>i2')
out = {}
def where(h, name):
    w = WCS(h).celestial
    c = pixel_to_skycoord(49.5, 49.5, w).icrs
    p = pixel_to_skycoord(30.2, 61.7, w).icrs
    out[name] = {'centre': [c.ra.deg, c.dec.deg], 'probe': [p.ra.deg, p.dec.deg]}
g = fits.Header()
g['CTYPE1'], g['CTYPE2'] = 'GLON-TAN', 'GLAT-TAN'
g['CRVAL1'], g['CRVAL2'] = 150.0, 40.0
g['CRPIX1'], g['CRPIX2'] = 50.5, 50.5
g['CDELT1'], g['CDELT2'] = -0.003, 0.003
g['BUNIT'] = 'K'; g['DATE-OBS'] = '2025-01-01T00:00:00'
raw = fits.HDUList([fits.PrimaryHDU(val, header=g)])
with gzip.open(d + '/gal-tile.fits.gz', 'wb') as f: raw.writeto(f)
where(g, 'gal-tile')
e = fits.Header()
e['CTYPE1'], e['CTYPE2'] = 'RA---SIN', 'DEC--SIN'
e['CRVAL1'], e['CRVAL2'] = 200.0, 55.0
e['CRPIX1'], e['CRPIX2'] = 50.5, 50.5
e['CDELT1'], e['CDELT2'] = -0.003, 0.003
e['RADESYS'] = 'FK5'; e['EQUINOX'] = 2000.0; e['BUNIT'] = 'Jy/beam'
mask = fits.ImageHDU(np.zeros((100, 100), dtype='u1'), name='MASK')
sci = fits.CompImageHDU(val, header=e, compression_type='RICE_1', tile_size=(100, 10), name='SCI')
wht = fits.ImageHDU(np.ones((100, 100), dtype='>f4'), header=e, name='WHT')
fits.HDUList([fits.PrimaryHDU(), mask, sci, wht]).writeto(d + '/mef-tiled.fits')
where(e, 'mef-tiled')
print(json.dumps(out))
`;

beforeAll(async () => {
  await issuer.start();
  issuer.keys = [await signingKey()];
  node = await startTestNode({ VONODE_OIDC_ISSUER: issuer.url, VONODE_OIDC_AUDIENCE: AUDIENCE });
  token = await issuer.token({ sub: 'sara', groups: [GROUP] }, { aud: AUDIENCE });
  db = new pg.Client({ connectionString: testDatabaseUrl() });
  await db.connect();
  await db.query('DELETE FROM ivoa.obscore WHERE obs_collection = $1', [COLLECTION]);
  dir = mkdtempSync(join(tmpdir(), 'vonode-src-fits-'));
  made = await python(MAKE, [dir]);
}, 180_000);

afterAll(async () => {
  await db?.query('DELETE FROM ivoa.obscore WHERE obs_collection = $1', [COLLECTION]);
  await db?.end();
  await node?.stop();
  await issuer.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('SRC-style FITS through a running node (issue 17 item 2)', () => {
  it('ingests a gzipped Galactic tile and a multi-extension tile-compressed image', async () => {
    const r = await vonode(['ingest', '--collection', COLLECTION, '--owner-group', GROUP, dir]);
    expect(r.code, r.out).toBe(0);
    for (const name of ['gal-tile', 'mef-tiled']) {
      const m = new RegExp(`ingested \\S*${name}\\.fits(\\.gz)? as (\\S+)`).exec(r.out);
      expect(m, r.out).not.toBeNull();
      dids[name] = (m as RegExpExecArray)[2];
    }
    // The multi-extension file is described by its first image with a celestial WCS (SCI).
    const row = await db.query(
      'SELECT s_xel1::int AS s_xel1, o_unit FROM ivoa.obscore WHERE obs_publisher_did = $1',
      [dids['mef-tiled']],
    );
    expect(row.rows[0]).toEqual({ s_xel1: 100, o_unit: 'Jy/beam' });
  });

  it('pyvo SIA2 finds each by an ICRS position', async () => {
    const found = await python<Record<string, string[]>>(
      `${SESSION_PY}
import warnings
warnings.simplefilter('ignore')
from pyvo.dal import sia2
import astropy.units as u
public, real, token = sys.argv[1], sys.argv[2], sys.argv[4]
made = json.loads(sys.argv[3])
s = Rewrite(public, real, token)
svc = sia2.SIAService(public + '/sia', session=s)
out = {}
for name, m in made.items():
    ra, dec = m['probe']
    r = svc.search(session=s, pos=(ra * u.deg, dec * u.deg, 0.005 * u.deg), collection='${COLLECTION}')
    out[name] = sorted(str(x) for x in r['obs_publisher_did'])
print(json.dumps(out))
`,
      [TEST_BASE_URL, node.url, JSON.stringify(made), token],
    );
    expect(found['gal-tile']).toEqual([dids['gal-tile']]);
    expect(found['mef-tiled']).toEqual([dids['mef-tiled']]);
  });

  it('SODA cuts the pixels under an ICRS circle, as astropy maps it, from each', async () => {
    for (const name of ['gal-tile', 'mef-tiled']) {
      const [ra, dec] = made[name].probe;
      const q = new URLSearchParams({ ID: dids[name], CIRCLE: `${ra} ${dec} 0.02` });
      const res = await fetch(`${node.url}/soda/sync?${q}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status, name).toBe(200);
      const cut = Buffer.from(await res.arrayBuffer());
      const check = await python<{ shape: number[]; value: number; expected: number }>(
        `
import sys, json, io, warnings
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from astropy.coordinates import SkyCoord
import astropy.units as u
warnings.simplefilter('ignore')
cut = fits.open(sys.argv[1])[0]
ra, dec = float(sys.argv[2]), float(sys.argv[3])
c = SkyCoord(ra * u.deg, dec * u.deg, frame='icrs')
x, y = WCS(cut.header).celestial.world_to_pixel(c)
xi, yi = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
# The original pixel under the probe: 30.2, 61.7 (0-based) rounds to 30, 62; values are x + 300 y.
print(json.dumps({'shape': list(cut.data.shape), 'value': int(cut.data[yi, xi]), 'expected': 30 + 300 * 62}))
`,
        [await writeTemp(`${name}-cut.fits`, cut), String(ra), String(dec)],
      );
      expect(check.value, name).toBe(check.expected);
      // 0.02° radius at 0.003° pixels: about 14 pixels across, not the whole 100 × 100 image.
      expect(check.shape[0], name).toBeGreaterThan(10);
      expect(check.shape[0], name).toBeLessThan(20);
    }
  });

  it('DataLink #this serves the gzipped file whole, as stored', async () => {
    const auth = { headers: { authorization: `Bearer ${token}` } };
    const res = await fetch(`${node.url}/datalink/files?ID=${encodeURIComponent(dids['gal-tile'])}`, auth);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.equals(readFileSync(join(dir, 'gal-tile.fits.gz')))).toBe(true);
    const links = await (
      await fetch(`${node.url}/datalink/links?ID=${encodeURIComponent(dids['gal-tile'])}`, auth)
    ).text();
    expect(links).toContain('application/gzip');
  });
});

async function writeTemp(name: string, bytes: Buffer): Promise<string> {
  const { writeFile } = await import('node:fs/promises');
  const p = join(dir, 'out', name);
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(dir, 'out'), { recursive: true });
  await writeFile(p, bytes);
  return p;
}
