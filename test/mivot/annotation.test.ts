import { describe, expect, test } from 'vitest';
import { annotateEpochPosition, epochPositionColumns } from '../../src/mivot/index.js';
import { encode, type Field, type OutputFormat } from '../../votable/index.js';
import { collect, tempDir, writeTemp } from '../votable/helpers.js';
import { mivotCheck, votlint } from './check.js';

// Issue 19 item 5: MIVOT 1.0 annotations (a MANGO EpochPosition) on results whose UCDs give a
// position; the block validates against the MIVOT schema and reads back into coordinates.

/** A Gaia-like astrometric table, described only by its UCDs and units. */
function gaiaFields(): Field[] {
  return [
    { name: 'source_id', datatype: 'long', ucd: 'meta.id;meta.main' },
    { name: 'ra', datatype: 'double', unit: 'deg', ucd: 'pos.eq.ra;meta.main' },
    { name: 'ra_error', datatype: 'float', unit: 'mas', ucd: 'stat.error;pos.eq.ra' },
    { name: 'dec', datatype: 'double', unit: 'deg', ucd: 'pos.eq.dec;meta.main' },
    { name: 'pmra', datatype: 'double', unit: 'mas/yr', ucd: 'pos.pm;pos.eq.ra' },
    { name: 'pmra_error', datatype: 'float', unit: 'mas/yr', ucd: 'stat.error;pos.pm;pos.eq.ra' },
    { name: 'pmdec', datatype: 'double', unit: 'mas/yr', ucd: 'pos.pm;pos.eq.dec' },
    { name: 'parallax', datatype: 'double', unit: 'mas', ucd: 'pos.parallax.trig' },
    { name: 'radial_velocity', datatype: 'float', unit: 'km/s', ucd: 'spect.dopplerVeloc.opt;em.opt.I' },
    { name: 'ref_epoch', datatype: 'double', unit: 'yr', ucd: 'meta.ref;time.epoch' },
  ];
}

const ROWS = [
  [1n, 10.5, 0.1, -3.25, 5.5, 0.2, -2.25, 12.5, 21.5, 2016.0],
  [2n, 359.75, 0.1, 45.5, -120.25, 0.2, 80.75, 3.25, -7.5, 2015.5],
];

describe('which columns are mapped (by UCD)', () => {
  test('RA and Dec marked meta.main are required; errors are never taken for values', () => {
    const cols = epochPositionColumns(gaiaFields())!;
    expect(cols.longitude.name).toBe('ra');
    expect(cols.latitude.name).toBe('dec');
    expect(cols.pmLongitude?.name).toBe('pmra');
    expect(cols.pmLatitude?.name).toBe('pmdec');
    expect(cols.parallax?.name).toBe('parallax');
    expect(cols.radialVelocity?.name).toBe('radial_velocity');
    expect(cols.epoch?.name).toBe('ref_epoch');
    // Without meta.main there is no main position to annotate.
    const noMain = gaiaFields().map((f) => ({ ...f, ucd: f.ucd?.replace(';meta.main', '') }));
    expect(epochPositionColumns(noMain)).toBeUndefined();
    // Dec alone is not a position.
    expect(epochPositionColumns(gaiaFields().filter((f) => f.name !== 'ra'))).toBeUndefined();
    // One proper motion component alone is left out; the position stays.
    const half = epochPositionColumns(gaiaFields().filter((f) => f.name !== 'pmdec'))!;
    expect(half.pmLongitude).toBeUndefined();
    expect(half.pmLatitude).toBeUndefined();
    expect(half.longitude.name).toBe('ra');
  });

  test('an epoch column needs a unit that says how it counts time', () => {
    const fields = gaiaFields().map((f) => (f.name === 'ref_epoch' ? { ...f, unit: 's' } : f));
    expect(epochPositionColumns(fields)?.epoch).toBeUndefined();
    const mjd: Field[] = [
      ...gaiaFields().slice(0, 4),
      { name: 'epoch_mjd', datatype: 'double', unit: 'd', ucd: 'time.epoch' },
    ];
    expect(epochPositionColumns(mjd)?.epoch?.name).toBe('epoch_mjd');
  });

  test('IDs do not collide with existing IDs or other column names; nothing is touched without a position', () => {
    const fields: Field[] = [
      { name: 'ra', datatype: 'double', unit: 'deg', ucd: 'pos.eq.ra;meta.main', ID: 'ra' },
      { name: 'dec x', datatype: 'double', unit: 'deg', ucd: 'pos.eq.dec;meta.main' },
      { name: 'dec_x', datatype: 'double' },
      { name: '_icrs', datatype: 'int' },
    ];
    const a = annotateEpochPosition(fields)!;
    expect(fields[0].ID).toBe('ra');
    expect(fields[1].ID).toBe('dec_x_');
    expect(a.coosys.ID).toBe('_icrs_');
    expect(fields[0].ref).toBe('_icrs_');
    const plain: Field[] = [{ name: 'x', datatype: 'double', ucd: 'pos.eq.ra' }];
    expect(annotateEpochPosition(plain)).toBeUndefined();
    expect(plain[0]).toEqual({ name: 'x', datatype: 'double', ucd: 'pos.eq.ra' });
  });
});

test('COOSYS refposition is written only where the VOTable version has it (1.5)', async () => {
  const fields = gaiaFields();
  const a = annotateEpochPosition(fields)!;
  const doc = { fields, rows: ROWS, metaResources: [a.resource], coosys: [a.coosys] };
  const v14 = (await collect(encode('votable/td', doc))).toString();
  const v15 = (await collect(encode('votable/td', { ...doc, version: '1.5' }))).toString();
  expect(v14).toContain(`<COOSYS ID="${a.coosys.ID}" system="ICRS"/>`);
  expect(v15).toContain(`<COOSYS ID="${a.coosys.ID}" system="ICRS" refposition="BARYCENTER"/>`);
  // The meta RESOURCE sits in the results RESOURCE, before the TABLE (MIVOT 1.0 §3).
  expect(v14.indexOf('<RESOURCE type="meta">')).toBeGreaterThan(v14.indexOf('<RESOURCE type="results">'));
  expect(v14.indexOf('</RESOURCE>')).toBeLessThan(v14.indexOf('<TABLE>'));
});

describe.each(['votable/td', 'votable/binary2'] as OutputFormat[])('%s with the annotation', (format) => {
  test('validates against the MIVOT XSD, passes votlint and reads back into coordinates with epoch', async () => {
    const fields = gaiaFields();
    const a = annotateEpochPosition(fields)!;
    const body = await collect(
      encode(format, { fields, rows: ROWS, metaResources: [a.resource], coosys: [a.coosys] }),
    );
    const file = writeTemp(tempDir(), 'annotated.vot', body);
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
    expect(check.frame).toBe('ICRS');
    expect(check.refPosition).toBe('BARYCENTER');
    expect(check.field_coosys).toEqual({
      longitude: 'ICRS',
      latitude: 'ICRS',
      pmLongitude: 'ICRS',
      pmLatitude: 'ICRS',
    });
    expect(check.coords).toHaveLength(ROWS.length);
    for (const [i, row] of ROWS.entries()) {
      const c = check.coords![i];
      expect(c.frame).toBe('icrs');
      expect(c.ra).toBeCloseTo(row[1] as number, 9);
      expect(c.dec).toBeCloseTo(row[3] as number, 9);
      expect(c.pm_ra_cosdec).toBeCloseTo(row[4] as number, 9);
      expect(c.pm_dec).toBeCloseTo(row[6] as number, 9);
      expect(c.distance_pc).toBeCloseTo(1000 / (row[7] as number), 6);
      expect(c.radial_velocity).toBeCloseTo(row[8] as number, 5);
      expect(c.obstime_jyear).toBeCloseTo(row[9] as number, 9);
      // The epoch lets the position move: ten years on it is elsewhere, by about pm x 10 yr.
      const [ra2, dec2] = c.moved_10yr as number[];
      expect((dec2 - (row[3] as number)) * 3.6e6).toBeCloseTo((row[6] as number) * 10, -1);
      expect(ra2).not.toBe(row[1]);
    }
    // The mapping block is in a foreign namespace, which STIL 4.1's votlint reports as a
    // warning on any such element (MIVOT 1.0 §3 places it there by design); nothing else.
    const lint = await votlint(file);
    expect(lint.errors).toEqual([]);
    expect(lint.warnings.map((w) => w.replace(/^WARNING \([^)]*\): /, ''))).toEqual(
      lint.warnings.map(() => 'Element VODML in foreign namespace (http://www.ivoa.net/xml/mivot)'),
    );
  }, 60000);
});
