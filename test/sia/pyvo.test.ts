import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { python, SESSION_PY } from '../soda/python.js';
import { startTestNode, TEST_BASE_URL } from '../support/node.js';

// pyvo 1.2 (Debian) as a real client: SIA2Service reads /sia/capabilities, searches, then
// follows DataLink and calls the #cutout service descriptor. Its session sends the public
// URLs the documents carry to the loopback node.

let node: Awaited<ReturnType<typeof startTestNode>>;
let issuer: TestIssuer;
let teamA: string;

beforeAll(async () => {
  issuer = await new TestIssuer().start();
  issuer.keys.push(await signingKey('RS256', 'k1'));
  node = await startTestNode({ VONODE_OIDC_ISSUER: issuer.url, VONODE_OIDC_AUDIENCE: 'vonode-test' });
  teamA = await issuer.token({ sub: 'alice', groups: ['/team-a'] }, { aud: 'vonode-test' });
}, 120000);

afterAll(async () => {
  await node?.stop();
  await issuer?.stop();
});

const SEARCH_PY = `${SESSION_PY}
import warnings
warnings.simplefilter('ignore')
from pyvo.dal import sia2
import astropy.units as u
from astropy.time import Time
public, real, token = sys.argv[1], sys.argv[2], sys.argv[3] or None
s = Rewrite(public, real, token)
svc = sia2.SIAService(public + '/sia', session=s)
name = lambda r: sorted(str(x).split('?')[-1] for x in r['obs_publisher_did'])
out = {}
out['all'] = name(svc.search(session=s, maxrec=100))
out['pos'] = name(svc.search(session=s, pos=(1.8 * u.deg, -27.0 * u.deg, 0.5 * u.deg)))
out['pos_two'] = name(svc.search(session=s, pos=[(1.8 * u.deg, -27.0 * u.deg, 0.5 * u.deg), (83.8 * u.deg, -5.4 * u.deg, 0.1 * u.deg)]))
# 21 cm in frequency: pyvo converts to metres
out['band_hz'] = name(svc.search(session=s, band=(1.41e9 * u.Hz, 1.42e9 * u.Hz)))
out['band_m'] = name(svc.search(session=s, band=(0.9, 1.0) * u.m))
out['time'] = name(svc.search(session=s, time=(Time(60717.5, format='mjd'), Time(60717.7, format='mjd'))))
out['collection'] = name(svc.search(session=s, collection='ska-demo', facility='SKA-Mid'))
out['collection_none'] = name(svc.search(session=s, collection='no-such-collection'))
out['gc'] = name(svc.search(session=s, pos=(266.4 * u.deg, -29.0 * u.deg, 0.2 * u.deg)))
print(json.dumps(out))
`;

const CUTOUT_PY = `${SESSION_PY}
import warnings, io
warnings.simplefilter('ignore')
from pyvo.dal import sia2
import astropy.units as u
from astropy.io import fits
public, real = sys.argv[1], sys.argv[2]
s = Rewrite(public, real)
svc = sia2.SIAService(public + '/sia', session=s)
res = svc.search(session=s, pos=(83.8 * u.deg, -5.4 * u.deg, 0.05 * u.deg))
rec = res[0]
dl = rec.getdatalink()
cut = next(dl.bysemantics('#cutout', include_narrower=False))
stream = cut.process(circle=(83.8 * u.deg, -5.4 * u.deg, 0.05 * u.deg))
h = fits.open(io.BytesIO(stream.read()))[0]
whole = fits.open(io.BytesIO(next(dl.bysemantics('#this', include_narrower=False)).getdataset().read()))[0]
# (include_narrower=False: otherwise pyvo downloads the vocabulary from www.ivoa.net)
# and SODA straight from the SIA row (generic descriptor with ID ref)
direct = fits.open(io.BytesIO(rec.processed(circle=(83.8 * u.deg, -5.4 * u.deg, 0.05 * u.deg)).read()))[0]
print(json.dumps({'did': str(rec['obs_publisher_did']), 'shape': list(h.data.shape), 'whole': list(whole.data.shape),
                  'direct': list(direct.data.shape), 'history': [str(x) for x in h.header.get('HISTORY', [])]}))
`;

describe('pyvo SIA2 client', () => {
  test('POS, BAND, TIME and COLLECTION return the expected demo products', async () => {
    const anon = await python<Record<string, string[]>>(SEARCH_PY, [TEST_BASE_URL, node.url, '']);
    expect(anon.all).toHaveLength(8);
    expect(anon.all).not.toContain('image-07-mid');
    expect(anon.all).not.toContain('cube-02-low');
    expect(anon.pos).toEqual(['image-01-low']);
    expect(anon.pos_two).toEqual(['image-01-low', 'image-05-mid']);
    // 1.41-1.42 GHz = 0.2111-0.2126 m: the HI cube and the Band 2 images covering 21 cm
    expect(anon.band_hz).toEqual(['cube-01-mid', 'image-05-mid', 'image-06-mid']);
    expect(anon.band_m).toEqual(['image-04-low']);
    expect(anon.time).toEqual(['image-01-low']);
    expect(anon.collection).toEqual(['cube-01-mid', 'image-05-mid', 'image-06-mid', 'image-08-mid']);
    expect(anon.collection_none).toEqual([]);
    expect(anon.gc).toEqual([]);
    const owner = await python<Record<string, string[]>>(SEARCH_PY, [TEST_BASE_URL, node.url, teamA]);
    expect(owner.gc).toEqual(['image-07-mid']);
    expect(owner.all).toHaveLength(9);
  });

  test('DataLink processing: the #cutout descriptor called by pyvo returns a FITS cutout', async () => {
    const r = await python<{
      did: string;
      shape: number[];
      whole: number[];
      direct: number[];
      history: string[];
    }>(CUTOUT_PY, [TEST_BASE_URL, node.url]);
    expect(r.did).toBe('ivo://vonode.demo/ska?image-05-mid');
    const n = r.shape.length;
    expect(r.shape[n - 1]).toBeLessThan(r.whole[n - 1]);
    expect(r.shape[n - 2]).toBeLessThan(r.whole[n - 2]);
    expect(r.shape[n - 1]).toBeGreaterThan(2);
    expect(r.direct).toEqual(r.shape);
    expect(r.history.join(' ')).toContain('SODA cutout of ivo://vonode.demo/ska?image-05-mid');
  });
});
