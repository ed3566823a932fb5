import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SphericalPolygon } from '../../sky/index.js';
import { FitsError } from '../../src/fits/index.js';
import { type DemoImageSpec, writeDemoCube, writeDemoImage } from '../../src/ingest/demo-products.js';
import { describeFitsProduct } from '../../src/ingest/fits-product.js';
import { DATALINK_ACCESS_FORMAT, OBSCORE_RECORD_COLUMNS } from '../../src/ingest/obscore-record.js';
import { runPython } from '../fits/python.js';

const dir = mkdtempSync(join(tmpdir(), 'vonode-obscore-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const opts = {
  collection: 'ska-demo',
  publisherDid: (obsId: string, file: string) => `ivo://test.org/demo?${obsId}/${file}`,
  accessUrl: (_obsId: string, did: string) => `http://localhost/datalink/links?ID=${encodeURIComponent(did)}`,
};

const image: DemoImageSpec = {
  fileName: 'img.fits',
  kind: 'image',
  obsId: 'mid-20250301-001',
  object: 'Test field',
  telescope: 'SKA-Mid',
  instrument: 'SKA-Mid Band 2',
  raDeg: 359.8,
  decDeg: -45,
  nx: 300,
  ny: 200,
  pixelArcsec: 4,
  projection: 'SIN',
  nchan: 1,
  freqHz: 1.355e9,
  chanWidthHz: 8e8,
  specsys: 'TOPOCENT',
  beamMajArcsec: 12,
  beamMinArcsec: 9,
  beamPaDeg: 20,
  noiseJy: 1e-5,
  dateObs: '2025-03-01T12:00:00',
  durationS: 7200,
  exposureS: 6000,
  proposalId: 'SKA-DEMO-2025-01',
  seed: 3,
};

/** astropy's view of a product: centre, corners (calc_footprint on pixel edges), spectral edges. */
const REFERENCE = `
import sys, json, numpy as np, warnings
from astropy.io import fits
from astropy.wcs import WCS
warnings.simplefilter('ignore')
path = json.load(sys.stdin)
h = fits.getheader(path)
w = WCS(h)
c = w.celestial
nx, ny = h['NAXIS1'], h['NAXIS2']
from astropy.wcs.utils import pixel_to_skycoord
def icrs(x, y):
    s = pixel_to_skycoord(np.array(x) - 1, np.array(y) - 1, c, origin=0).icrs
    return [[float(a), float(d)] for a, d in zip(s.ra.deg, s.dec.deg)]
# ObsCore positions are ICRS (FK5 headers are rotated, FITS-43).
centre = icrs([(nx + 1) / 2], [(ny + 1) / 2])[0]
corners = icrs([0.5, nx + 0.5, nx + 0.5, 0.5], [0.5, 0.5, ny + 0.5, ny + 0.5])
out = {'centre': centre, 'corners': corners}
if w.wcs.spec >= 0:
    s = w.sub([w.wcs.spec + 1])
    n = h['NAXIS%d' % (w.wcs.spec + 1)]
    edges = s.all_pix2world([[0.5], [n + 0.5]], 1)[:, 0]
    if w.wcs.ctype[w.wcs.spec].startswith('VRAD'):
        nu0 = w.wcs.restfrq
        edges = nu0 * (1 - edges / 299792458.0)
    wl = 299792458.0 / edges
    out['em'] = [float(min(wl)), float(max(wl))]
print(json.dumps(out))
`;

function expectPolygonMatches(region: number[], corners: number[][]): void {
  expect(region.length).toBe(8);
  const got = [0, 1, 2, 3].map((i) => [region[2 * i], region[2 * i + 1]]);
  for (const [ra, dec] of corners) {
    const match = got.some(
      ([r, d]) => Math.abs(((r - ra + 540) % 360) - 180) < 1e-9 && Math.abs(d - dec) < 1e-9,
    );
    expect(match, `corner ${ra},${dec} in ${JSON.stringify(got)}`).toBe(true);
  }
  // The sky module's polygon takes unflipped = interior on the left, as DALI intends.
  expect(new SphericalPolygon(got as [number, number][]).flipped).toBe(false);
}

describe('describeFitsProduct (ObsCore from FITS headers)', () => {
  it('describes a continuum image like astropy sees it, across RA 0', async () => {
    const path = join(dir, image.fileName);
    await writeDemoImage(path, image, []);
    const rec = await describeFitsProduct(path, opts);
    const ref = runPython<{ centre: number[]; corners: number[][]; em: number[] }>(REFERENCE, path);
    // Every ObsCore column, and the product's ObsCore radio extension row (src/ingest/obscore-radio.ts).
    expect(Object.keys(rec).sort()).toEqual([...OBSCORE_RECORD_COLUMNS, 'radio'].sort());
    expect(rec).toMatchObject({
      dataproduct_type: 'image',
      dataproduct_subtype: null,
      calib_level: 2,
      obs_collection: 'ska-demo',
      obs_id: 'mid-20250301-001',
      obs_publisher_did: 'ivo://test.org/demo?mid-20250301-001/img.fits',
      access_url: `http://localhost/datalink/links?ID=${encodeURIComponent('ivo://test.org/demo?mid-20250301-001/img.fits')}`,
      access_format: DATALINK_ACCESS_FORMAT,
      access_estsize: Math.ceil(statSync(path).size / 1024),
      target_name: 'Test field',
      s_xel1: 300,
      s_xel2: 200,
      t_min: 60735.5,
      t_exptime: 6000,
      t_xel: 1,
      em_xel: 1,
      em_ucd: 'em.freq',
      em_unit: 'Hz',
      o_ucd: 'phot.flux.density',
      o_unit: 'Jy/beam',
      pol_states: '/I/',
      pol_xel: 1,
      facility_name: 'SKA-Mid',
      instrument_name: 'SKA-Mid Band 2',
      proposal_id: 'SKA-DEMO-2025-01',
      data_rights: 'public',
      obs_release_date: '2025-03-01T14:00:00',
      file_path: path,
      file_size: statSync(path).size,
    });
    expect(rec.t_max).toBeCloseTo(60735.5 + 2 / 24, 9);
    expect(rec.s_resolution).toBeCloseTo(12, 9);
    expect(rec.s_pixel_scale).toBeCloseTo(4, 9);
    expect(rec.s_ra).toBeCloseTo(ref.centre[0], 9);
    expect(rec.s_dec).toBeCloseTo(ref.centre[1], 9);
    expectPolygonMatches(rec.s_region!, ref.corners);
    // s_fov: diameter of the circle around the centre through the farthest corner (OBS-64).
    const halfDiagDeg = (Math.hypot(300, 200) / 2) * (4 / 3600);
    expect(rec.s_fov! / 2).toBeCloseTo(halfDiagDeg, 4);
    expect(rec.em_min! / ref.em[0]).toBeCloseTo(1, 12);
    expect(rec.em_max! / ref.em[1]).toBeCloseTo(1, 12);
    expect(rec.em_min).toBeCloseTo(299792458 / 1.755e9, 12);
    expect(rec.em_res_power).toBeCloseTo(1.355e9 / 8e8, 9);
    expect(rec.obs_title).toContain('Test field SKA-Mid continuum image');
    expect(rec.file_sha256).toBeNull();
    const hp = runPython<string>(
      `
import sys, json
import astropy.units as u
from astropy_healpix import HEALPix
a = json.load(sys.stdin)
print(json.dumps(str(int(HEALPix(nside=2**29, order='nested').lonlat_to_healpix(a[0] * u.deg, a[1] * u.deg)))))
`,
      [rec.s_ra, rec.s_dec],
    );
    expect(rec.healpix).toBe(BigInt(hp));
  });

  it('describes a spectral cube and hashes it when asked', async () => {
    const spec: DemoImageSpec = {
      ...image,
      fileName: 'cube.fits',
      kind: 'cube',
      obsId: 'mid-cube-1',
      nx: 64,
      ny: 48,
      nchan: 16,
      raDeg: 40.7,
      decDeg: 0,
      freqHz: 1.4075e9,
      chanWidthHz: 1e5,
      restFreqHz: 1.420405752e9,
      specsys: 'LSRK',
    };
    const path = join(dir, spec.fileName);
    await writeDemoCube(path, spec, []);
    const rec = await describeFitsProduct(path, {
      ...opts,
      sha256: true,
      dataRights: 'proprietary',
      ownerGroup: 'ska-team',
    });
    const ref = runPython<{ centre: number[]; corners: number[][]; em: number[] }>(REFERENCE, path);
    expect(rec).toMatchObject({
      dataproduct_type: 'cube',
      dataproduct_subtype: 'spectral-cube',
      em_xel: 16,
      data_rights: 'proprietary',
      obs_release_date: null,
      owner_group: 'ska-team',
    });
    expect(rec.em_min! / ref.em[0]).toBeCloseTo(1, 12);
    expect(rec.em_max! / ref.em[1]).toBeCloseTo(1, 12);
    expect(rec.em_res_power).toBeCloseTo((1.4075e9 + 7.5e5) / 1e5, 6);
    expectPolygonMatches(rec.s_region!, ref.corners);
    const sha = runPython<string>(
      `import sys, json, hashlib\nprint(json.dumps(hashlib.sha256(open(json.load(sys.stdin), 'rb').read()).hexdigest()))`,
      path,
    );
    expect(rec.file_sha256).toBe(sha);
  });

  it('handles astropy-written headers: mirrored axes, full Stokes, VRAD, CD matrix, DATE-END only', async () => {
    const path = join(dir, 'stokes.fits');
    runPython(
      `
import sys, json, numpy as np
from astropy.io import fits
h = fits.Header()
for k, v in [('CTYPE1', 'RA---TAN'), ('CTYPE2', 'DEC--TAN'), ('CTYPE3', 'VRAD'), ('CTYPE4', 'STOKES'),
             ('CRPIX1', 10.0), ('CRPIX2', 12.0), ('CRPIX3', 1.0), ('CRPIX4', 1.0),
             ('CRVAL1', 150.0), ('CRVAL2', -60.0), ('CRVAL3', 1000.0), ('CRVAL4', 1.0),
             ('CD1_1', 0.001), ('CD1_2', 0.0002), ('CD2_1', -0.0002), ('CD2_2', 0.001), ('CD3_3', 2000.0), ('CD4_4', 1.0),
             ('CUNIT3', 'm/s'), ('RESTFRQ', 1.420405752e9), ('BUNIT', 'Jy/beam'), ('BMAJ', 0.002),
             ('DATE-OBS', '2026-04-02T10:00:00'), ('DATE-END', '2026-04-02T16:00:00'), ('TELESCOP', 'SKA-Mid'),
             ('OBJECT', 'Polarised thing'), ('RADESYS', 'FK5'), ('EQUINOX', 2000.0)]:
    h[k] = v
fits.PrimaryHDU(np.zeros((4, 5, 30, 20), dtype='>f4'), header=h).writeto(json.load(sys.stdin))
print('null')
`,
      path,
    );
    const rec = await describeFitsProduct(path, { ...opts, obsId: 'forced' });
    const ref = runPython<{ centre: number[]; corners: number[][]; em: number[] }>(REFERENCE, path);
    expect(rec).toMatchObject({
      obs_id: 'forced',
      dataproduct_type: 'cube',
      dataproduct_subtype: 'spectral-cube',
      pol_states: '/I/Q/U/V/',
      pol_xel: 4,
      o_ucd: 'phot.flux.density;phys.polarization.stokes',
      em_ucd: 'spect.dopplerVeloc.radio',
      em_unit: 'm/s',
      em_xel: 5,
      t_exptime: 6 * 3600,
      instrument_name: null,
    });
    expect(rec.t_min).toBeCloseTo(61132 + 10 / 24, 9);
    expect(rec.em_min! / ref.em[0]).toBeCloseTo(1, 12);
    expect(rec.em_max! / ref.em[1]).toBeCloseTo(1, 12);
    expect(rec.s_ra).toBeCloseTo(ref.centre[0], 9);
    expectPolygonMatches(rec.s_region!, ref.corners);
  });

  it('raises FitsError for bad files and headers, with a reason', async () => {
    const notFits = join(dir, 'not.fits');
    writeFileSync(notFits, 'x'.repeat(5000));
    await expect(describeFitsProduct(notFits, opts)).rejects.toMatchObject({ code: 'NOT_FITS' });

    const good = join(dir, image.fileName);
    const truncated = join(dir, 'trunc.fits');
    writeFileSync(truncated, readFileSync(good).subarray(0, 10000));
    await expect(describeFitsProduct(truncated, opts)).rejects.toMatchObject({ code: 'TRUNCATED' });

    const noWcs = join(dir, 'nowcs.fits');
    const ecliptic = join(dir, 'ecl.fits');
    const gappt = join(dir, 'gappt.fits');
    const zpn = join(dir, 'zpn.fits');
    runPython(
      `
import sys, json, numpy as np
from astropy.io import fits
a = json.load(sys.stdin)
d = np.zeros((4, 4), dtype='>f4')
fits.PrimaryHDU(d).writeto(a[0])
def cel(t1, t2, extra):
    h = fits.Header()
    h['CTYPE1'] = t1; h['CTYPE2'] = t2; h['CDELT1'] = -0.01; h['CDELT2'] = 0.01
    for k, v in extra: h[k] = v
    return h
fits.PrimaryHDU(d, header=cel('ELON-TAN', 'ELAT-TAN', [])).writeto(a[1])
fits.PrimaryHDU(d, header=cel('RA---TAN', 'DEC--TAN', [('RADESYS', 'GAPPT'), ('MJD-OBS', 60000.0)])).writeto(a[2])
fits.PrimaryHDU(d, header=cel('RA---ZPN', 'DEC--ZPN', [])).writeto(a[3])
print('null')
`,
      [noWcs, ecliptic, gappt, zpn],
    );
    await expect(describeFitsProduct(noWcs, opts)).rejects.toThrow(/no celestial WCS/);
    // Frames with no rotation to ICRS here are refused naming the keyword (Galactic, FK4 and FK5
    // are converted: test/ingest-fits/frames.test.ts).
    await expect(describeFitsProduct(ecliptic, opts)).rejects.toThrow(/CTYPE ELON\/ELAT/);
    await expect(describeFitsProduct(gappt, opts)).rejects.toThrow(/RADESYS GAPPT/);
    const err = await describeFitsProduct(zpn, opts).catch((e) => e);
    expect(err).toBeInstanceOf(FitsError);
    expect(err.code).toBe('BAD_HEADER');
    expect(err.message).toMatch(/ZPN/);
    await expect(describeFitsProduct(good, { ...opts, calibLevel: 7 })).rejects.toThrow(/calib_level/);
    const tiled = join(dir, 'tiled.fits');
    runPython(
      `
import sys, json, numpy as np
from astropy.io import fits
fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(np.zeros((16, 16), dtype='>f4'))]).writeto(json.load(sys.stdin))
print('null')
`,
      tiled,
    );
    // A tile-compressed image is read (test/fits/tiled.test.ts); this one has no WCS.
    await expect(describeFitsProduct(tiled, opts)).rejects.toThrow(/no celestial WCS/);
  });
});
