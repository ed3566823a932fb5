import { describe, expect, it } from 'vitest';
import { compile } from '../../adql/index.js';
import { parseDescription, publishedTableOf, type TableDescription } from '../../src/publish/index.js';
import { publishedCatalogue } from '../../src/tap/catalogue.js';

const DESC: TableDescription = {
  schema: 'radio',
  name: 'srl',
  title: 'Sources',
  description: 'source list',
  columns: [
    { name: 'id', datatype: 'long', ucd: 'meta.id;meta.main', description: 'id', nullable: false },
    {
      name: 'ra',
      datatype: 'double',
      unit: 'deg',
      ucd: 'pos.eq.ra;meta.main',
      description: 'RA',
      principal: true,
    },
    {
      name: 'dec',
      datatype: 'double',
      unit: 'deg',
      ucd: 'pos.eq.dec;meta.main',
      description: 'Dec',
      principal: true,
    },
    {
      name: '"Min"',
      sqlName: 'min_axis',
      source: 'Min',
      datatype: 'float',
      unit: 'arcsec',
      ucd: 'phys.angSize.sminAxis',
    },
    { name: 'grp', datatype: 'char', arraysize: '*', ucd: 'meta.id', description: 'owner' },
    {
      name: 'rel',
      datatype: 'char',
      arraysize: '*',
      xtype: 'timestamp',
      ucd: 'time.release',
      description: 'release',
    },
  ],
  primaryKey: ['id'],
  position: { ra: 'ra', dec: 'dec', healpixColumn: 'hpx' },
  foreignKeys: [{ target: 'radio.fields', columns: [['id', 'source_id']], description: 'field' }],
  rights: { ownerGroupColumn: 'grp', releaseColumn: 'rel' },
  registry: { waveband: ['Radio'], licence: 'CC-BY-4.0' },
};

describe('publishedTableOf', () => {
  it('publishes the description at the physical table the loader chose', () => {
    expect(publishedTableOf(DESC, { sqlSchema: 'radio', sqlTable: 'srl_v3' }, 1234)).toStrictEqual({
      schema: 'radio',
      name: 'srl',
      sql: { schema: 'radio', table: 'srl_v3' },
      type: 'table',
      description: 'source list',
      title: 'Sources',
      columns: [
        { name: 'id', datatype: 'long', ucd: 'meta.id;meta.main', description: 'id' },
        {
          name: 'ra',
          datatype: 'double',
          unit: 'deg',
          ucd: 'pos.eq.ra;meta.main',
          description: 'RA',
          principal: true,
        },
        {
          name: 'dec',
          datatype: 'double',
          unit: 'deg',
          ucd: 'pos.eq.dec;meta.main',
          description: 'Dec',
          principal: true,
        },
        // source is the data file's business; a missing description publishes empty
        {
          name: '"Min"',
          sqlName: 'min_axis',
          datatype: 'float',
          unit: 'arcsec',
          ucd: 'phys.angSize.sminAxis',
          description: '',
        },
        // grp and rel (the rights columns) are enforced, not published; the HEALPix column is added
        {
          name: 'hpx',
          datatype: 'long',
          ucd: 'pos.healpix',
          description: 'HEALPix NESTED index at order 29 (ICRS), for spatial indexing',
          indexed: true,
        },
      ],
      // TAP_SCHEMA.keys.key_id is unique across the service (TAP-60)
      foreignKeys: [
        { id: 'radio.srl.fk1', target: 'radio.fields', columns: [['id', 'source_id']], description: 'field' },
      ],
      spatialIndex: { column: 'hpx', lon: 'ra', lat: 'dec' },
      primaryKey: ['id'],
      nrows: 1234,
      rights: { ownerGroupColumn: 'grp', releaseColumn: 'rel' },
      registry: { waveband: ['Radio'], licence: 'CC-BY-4.0' },
    });
  });

  it('adds no HEALPix column or spatial index to a table without a position', () => {
    const { position: _p, ...noPosition } = DESC;
    const p = publishedTableOf(noPosition, { sqlSchema: 's', sqlTable: 't' });
    expect(p.spatialIndex).toBeUndefined();
    expect(p.columns.map((c) => c.name)).toEqual(['id', 'ra', 'dec', '"Min"']);
    expect(p.nrows).toBeUndefined();
  });

  it('keeps a HEALPix column a description already lists (a declared table written as a description)', () => {
    const hpx = {
      name: 'hpx',
      datatype: 'long',
      ucd: 'pos.healpix',
      description: 'index',
      indexed: true,
    } as const;
    const p = publishedTableOf(
      { ...DESC, columns: [...DESC.columns, hpx] },
      { sqlSchema: 's', sqlTable: 't' },
    );
    expect(p.columns.filter((c) => c.name === 'hpx')).toStrictEqual([hpx]);
  });
});

describe('a column marked datalink (issue 19)', () => {
  it('keeps the mark from the description to the compiled result columns, which the TAP output turns into a DataLink descriptor (DL-56)', () => {
    const desc = parseDescription(
      `schema: {name: radio, description: radio catalogues}
tables:
  - name: detections
    description: detections on the images
    columns:
      - {name: det_id, datatype: long, ucd: meta.id;meta.main, description: detection}
      - {name: image_did, datatype: char, arraysize: '*', ucd: meta.ref.ivoid, description: the image, datalink: true}
`,
      'd.yaml',
    );
    expect(desc.tables[0].columns.map((c) => c.datalink)).toEqual([undefined, true]);
    const table = publishedTableOf(desc.tables[0], { sqlSchema: 'radio', sqlTable: 'detections' }, 0);
    const compiled = compile(
      'SELECT det_id, image_did, image_did AS img, UPPER(image_did) AS up FROM radio.detections',
      { tables: () => publishedCatalogue([{ name: 'radio', description: '', tables: [table] }]) },
    );
    expect(compiled.columns.map((c) => c.datalink)).toEqual([undefined, true, true, undefined]);
  });

  it('refuses a datalink mark that is not a boolean', () => {
    expect(() =>
      parseDescription(
        `schema: {name: radio}
tables:
  - name: t
    description: t
    columns: [{name: a, datatype: char, arraysize: '*', datalink: maybe}]
`,
        'd.yaml',
      ),
    ).toThrow(/datalink/);
  });
});
