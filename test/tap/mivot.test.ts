import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mivotCheck, votlint } from '../mivot/check.js';
import { startTestNode } from '../support/node.js';
import { tempDir, writeTemp } from '../votable/helpers.js';

// Issue 19 item 5: a plain TAP result whose columns' UCDs (from TAP_SCHEMA / the published
// metadata, or an upload's FIELDs) give the main position carries a MIVOT MANGO EpochPosition,
// in BINARY2 and TABLEDATA, sync and async; pyvo 1.6+ turns it into SkyCoords.

let node: Awaited<ReturnType<typeof startTestNode>>;

beforeAll(async () => {
  node = await startTestNode({ VONODE_MIVOT: 'on' });
}, 120000);

afterAll(async () => {
  await node?.stop();
});

/** A Gaia-like astrometric table, as a client would upload it: the FIELDs' UCDs say what each column is. */
const STARS = [
  [1, 10.5, -3.25, 5.5, -2.25, 12.5, 21.5, 2016.0],
  [2, 359.75, 45.5, -120.25, 80.75, 3.25, -7.5, 2015.5],
  [3, 180.125, -60.0625, 0.5, 0.25, 0.75, 0, 2016.0],
];
const STARS_VOT = `<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>
<FIELD name="source_id" datatype="long" ucd="meta.id;meta.main"/>
<FIELD name="ra" datatype="double" unit="deg" ucd="pos.eq.ra;meta.main"/>
<FIELD name="dec" datatype="double" unit="deg" ucd="pos.eq.dec;meta.main"/>
<FIELD name="pmra" datatype="double" unit="mas/yr" ucd="pos.pm;pos.eq.ra"/>
<FIELD name="pmdec" datatype="double" unit="mas/yr" ucd="pos.pm;pos.eq.dec"/>
<FIELD name="parallax" datatype="double" unit="mas" ucd="pos.parallax.trig"/>
<FIELD name="radial_velocity" datatype="double" unit="km/s" ucd="spect.dopplerVeloc.opt;em.opt.I"/>
<FIELD name="ref_epoch" datatype="double" unit="yr" ucd="meta.ref;time.epoch"/>
<DATA><TABLEDATA>
${STARS.map((r) => `<TR>${r.map((v) => `<TD>${v}</TD>`).join('')}</TR>`).join('\n')}
</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>`;

function form(query: string, format: string, upload: boolean): FormData {
  const f = new FormData();
  f.set('LANG', 'ADQL');
  f.set('QUERY', query);
  f.set('RESPONSEFORMAT', format);
  if (upload) {
    f.set('UPLOAD', 'stars,param:stars');
    f.set('stars', new Blob([STARS_VOT], { type: 'application/x-votable+xml' }), 'stars.vot');
  }
  return f;
}

async function sync(query: string, format: string, upload = false): Promise<string> {
  const res = await fetch(`${node.url}/tap/sync`, { method: 'POST', body: form(query, format, upload) });
  const body = await res.text();
  expect(res.status, body).toBe(200);
  return body;
}

async function async_(query: string, format: string, upload = false): Promise<string> {
  const f = form(query, format, upload);
  f.set('PHASE', 'RUN');
  const res = await fetch(`${node.url}/tap/async`, { method: 'POST', body: f, redirect: 'manual' });
  expect(res.status).toBe(303);
  const path = `/tap/async/${res.headers.get('location')!.split('/').pop()}`;
  // UWS 1.1 blocking: the job resource with WAIT returns once the phase leaves an active one.
  for (let i = 0; i < 30; i++) {
    const job = await (await fetch(`${node.url}${path}?WAIT=10`)).text();
    const phase = /<uws:phase>([A-Z]+)<\/uws:phase>/.exec(job)?.[1];
    if (phase === 'COMPLETED') return (await fetch(`${node.url}${path}/results/result`)).text();
    expect(['QUEUED', 'EXECUTING', 'PENDING']).toContain(phase);
  }
  throw new Error(`job ${path} did not finish`);
}

const run = { sync, async: async_ };
const saved = (body: string) => writeTemp(tempDir(), 'result.vot', body);

describe.each(['sync', 'async'] as const)('%s', (mode) => {
  test.each(['votable/td', 'votable'])(
    'an uploaded astrometric table reads back into positions with motion and epoch (%s)',
    async (format) => {
      const body = await run[mode]('SELECT * FROM TAP_UPLOAD.stars ORDER BY source_id', format, true);
      const file = saved(body);
      const check = await mivotCheck(file);
      expect(check.blocks).toBe(1);
      expect(check.xsd_errors).toEqual([]);
      expect(check.dangling).toEqual([]);
      expect(check.roles).toEqual({
        longitude: 'ra',
        latitude: 'dec',
        pmLongitude: 'pmra',
        pmLatitude: 'pmdec',
        parallax: 'parallax',
        radialVelocity: 'radial_velocity',
      });
      expect(check.epoch).toEqual({ representation: 'year', ref: 'ref_epoch' });
      expect(check.field_coosys).toEqual({
        longitude: 'ICRS',
        latitude: 'ICRS',
        pmLongitude: 'ICRS',
        pmLatitude: 'ICRS',
      });
      expect(check.coords).toHaveLength(STARS.length);
      for (const [i, s] of STARS.entries()) {
        const c = check.coords![i];
        expect([c.ra, c.dec, c.pm_ra_cosdec, c.pm_dec]).toEqual([s[1], s[2], s[3], s[4]]);
        expect(c.distance_pc).toBeCloseTo(1000 / s[5], 6);
        expect(c.radial_velocity).toBe(s[6]);
        expect(c.obstime_jyear).toBeCloseTo(s[7], 9);
      }
      const lint = await votlint(file);
      expect(lint.errors).toEqual([]);
      expect(
        lint.warnings.every((w) =>
          w.endsWith('Element VODML in foreign namespace (http://www.ivoa.net/xml/mivot)'),
        ),
      ).toBe(true);
    },
    60000,
  );
});

describe('published tables', () => {
  test('demo.sources: the position comes from TAP_SCHEMA UCDs; the refs pick the right columns', async () => {
    const q = 'SELECT TOP 20 source_id, ra, ra_err, dec FROM demo.sources ORDER BY source_id';
    const file = saved(await sync(q, 'votable'));
    const check = await mivotCheck(file);
    expect(check.blocks).toBe(1);
    expect(check.xsd_errors).toEqual([]);
    // ra_err is stat.error;pos.eq.ra: never taken for the position.
    expect(check.roles).toEqual({ longitude: 'ra', latitude: 'dec' });
    expect(check.epoch).toBeNull();
    const csv = (await sync(q, 'csv')).trim().split(/\r?\n/).slice(1);
    expect(check.coords!.map((c) => [c.ra, c.dec])).toEqual(
      csv.map((line) => {
        const v = line.split(',');
        return [Number(v[1]), Number(v[3])];
      }),
    );
  }, 60000);

  test('a Simple Cone Search answer carries the same annotation, its positions those of the rows (SCS-13)', async () => {
    const res = await fetch(`${node.url}/scs/query?RA=150&DEC=2&SR=1&VERB=1`);
    const body = await res.text();
    expect(res.status, body).toBe(200);
    const check = await mivotCheck(saved(body));
    expect(check.blocks).toBe(1);
    expect(check.xsd_errors).toEqual([]);
    expect(check.dangling).toEqual([]);
    expect(check.roles).toEqual({ longitude: 'ra', latitude: 'dec' });
    // The rows by the cone's own columns (id, ra, dec, dist: VERB=1).
    const rows = [...body.matchAll(/<TR><TD>[^<]*<\/TD><TD>([^<]*)<\/TD><TD>([^<]*)<\/TD>/g)];
    expect(rows.length).toBeGreaterThan(0);
    expect(check.coords!.map((c) => [c.ra, c.dec])).toEqual(rows.map((m) => [Number(m[1]), Number(m[2])]));
    // SCS 1.03 clients still find the main columns by their UCD1 (SCS-13).
    expect(body).toContain('ucd="POS_EQ_RA_MAIN"');
  }, 60000);

  test('no annotation without the main RA and Dec, nor outside VOTable', async () => {
    const noDec = await sync('SELECT TOP 3 source_id, ra FROM demo.sources', 'votable/td');
    expect(noDec).not.toContain('VODML');
    expect(noDec).not.toContain('<COOSYS');
    // A computed column has no UCD.
    const computed = await sync('SELECT TOP 3 ra + 0 AS x, dec + 0 AS y FROM demo.sources', 'votable/td');
    expect(computed).not.toContain('VODML');
    const json = await sync('SELECT TOP 3 ra, dec FROM demo.sources', 'json');
    expect(json).not.toContain('VODML');
    expect(JSON.parse(json).metadata.map((m: { name: string }) => m.name)).toEqual(['ra', 'dec']);
  }, 60000);

  test('off unless the site switches it on (VONODE_MIVOT): the same query on a default node has no block', async () => {
    const plain = await startTestNode();
    try {
      const res = await fetch(
        `${plain.url}/tap/sync?LANG=ADQL&RESPONSEFORMAT=votable/td&QUERY=${encodeURIComponent('SELECT TOP 3 source_id, ra, dec FROM demo.sources')}`,
      );
      const doc = await res.text();
      expect(res.status).toBe(200);
      expect(doc).toContain('<TABLE');
      expect(doc).not.toContain('VODML');
      expect(doc).not.toContain('type="meta"');
    } finally {
      await plain.stop();
    }
  }, 60000);
});
