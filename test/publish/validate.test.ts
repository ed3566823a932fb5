import { describe, expect, it } from 'vitest';
import {
  type CatalogueDescription,
  type ColumnDescription,
  checkUcd,
  formatProblems,
  type Problem,
  type TableDescription,
  validateDescription,
} from '../../src/publish/index.js';

const COLUMNS: readonly ColumnDescription[] = [
  { name: 'source_id', datatype: 'long', ucd: 'meta.id;meta.main', description: 'id', nullable: false },
  { name: 'ra', datatype: 'double', unit: 'deg', ucd: 'pos.eq.ra;meta.main', description: 'RA' },
  { name: 'dec', datatype: 'double', unit: 'deg', ucd: 'pos.eq.dec;meta.main', description: 'Dec' },
  { name: 'flux', datatype: 'float', unit: 'mJy', ucd: 'phot.flux.density;em.radio', description: 'flux' },
  { name: 'owner', datatype: 'char', arraysize: '*', ucd: 'meta.id', description: 'owner group' },
  {
    name: 'released',
    datatype: 'char',
    arraysize: '*',
    xtype: 'timestamp',
    ucd: 'time.release',
    description: 'release',
  },
];

const TABLE: TableDescription = {
  schema: 'radio',
  name: 'srl',
  description: 'sources',
  columns: COLUMNS,
  primaryKey: ['source_id'],
  position: { ra: 'ra', dec: 'dec' },
  rights: { ownerGroupColumn: 'owner', releaseColumn: 'released' },
};

const BASE: CatalogueDescription = { schemas: [{ name: 'radio', description: 'radio' }], tables: [TABLE] };

const withTable = (t: Partial<TableDescription>): CatalogueDescription => ({
  ...BASE,
  tables: [{ ...TABLE, ...t }],
});
const withColumn = (name: string, c: Partial<ColumnDescription> | null): CatalogueDescription =>
  withTable({
    columns: COLUMNS.flatMap((x) =>
      x.name !== name ? [x] : c === null ? [] : [{ ...x, ...c } as ColumnDescription],
    ),
  });
const addColumn = (c: ColumnDescription): CatalogueDescription => withTable({ columns: [...COLUMNS, c] });
const E = (where: string, message: string): Problem => ({ where, message, severity: 'error' });
const W = (where: string, message: string): Problem => ({ where, message, severity: 'warning' });

/*
 * Each case: one change to a valid description and every problem it must produce.
 * Errors refuse at any level; warnings refuse in strict only (issue 14 item 6).
 */
const CASES: readonly (readonly [name: string, desc: CatalogueDescription, problems: readonly Problem[]])[] =
  [
    ['the valid base', BASE, []],
    [
      'a column without description',
      withColumn('flux', { description: undefined }),
      [W('radio.srl.flux', 'no description')],
    ],
    [
      'a table without description',
      withTable({ description: ' ' }),
      [W('radio.srl', 'the table has no description')],
    ],
    ['a column without UCD', withColumn('flux', { ucd: undefined }), [W('radio.srl.flux', 'no UCD')]],
    [
      'a UCD word not in the list (UCD1+)',
      withColumn('flux', { ucd: 'phot.flux.dens' }),
      [
        W(
          'radio.srl.flux',
          "UCD 'phot.flux.dens' is not a word of the IVOA UCD list (did you mean 'phot.flux.density'?)",
        ),
      ],
    ],
    [
      'a secondary word first (UCD1+ syntax code S)',
      withColumn('flux', { ucd: 'meta.main;phot.flux.density' }),
      [
        W(
          'radio.srl.flux',
          "UCD 'meta.main' is a secondary word and cannot come first in 'meta.main;phot.flux.density'",
        ),
      ],
    ],
    [
      'a primary word second (UCD1+ syntax code P)',
      withColumn('flux', { ucd: 'phot.flux.density;stat.error' }),
      [
        W(
          'radio.srl.flux',
          "UCD 'stat.error' is a primary word and can only come first in 'phot.flux.density;stat.error'",
        ),
      ],
    ],
    [
      'a unit that is not VOUnits',
      withColumn('flux', { unit: 'mJy per beam' }),
      [
        W(
          'radio.srl.flux',
          "unit 'mJy per beam' is not a VOUnit: whitespace is not allowed (write products with a dot: N.m) at character 4 (' ')",
        ),
      ],
    ],
    [
      'an unknown unit symbol',
      withColumn('flux', { unit: 'mJy/bm' }),
      [
        W(
          'radio.srl.flux',
          "unit 'bm' is not a known VOUnit (quote it as 'bm' in the unit string if it is meant)",
        ),
      ],
    ],
    [
      'a column name that is an ADQL reserved word (ADQL-53/54/55)',
      addColumn({
        name: 'size',
        datatype: 'double',
        ucd: 'phys.angSize',
        description: 'size',
        unit: 'arcsec',
      }),
      [
        E(
          'radio.srl.size',
          `column name 'size' is an ADQL reserved word: rename it or write it delimited as '"size"'`,
        ),
      ],
    ],
    [
      'a reserved word kept by delimiting it',
      addColumn({
        name: '"size"',
        datatype: 'double',
        ucd: 'phys.angSize',
        description: 'size',
        unit: 'arcsec',
      }),
      [],
    ],
    [
      'an illegal identifier',
      addColumn({ name: 'flux-peak', datatype: 'double', ucd: 'phot.flux', description: 'f' }),
      [
        E(
          'radio.srl.flux-peak',
          `column name 'flux-peak' is not an ADQL identifier (a letter, then letters, digits or _); write it delimited as '"flux-peak"' to keep it`,
        ),
      ],
    ],
    [
      'a duplicate column (ADQL names ignore case)',
      addColumn({ name: 'FLUX', datatype: 'double', ucd: 'phot.flux', description: 'f' }),
      [E('radio.srl.FLUX', "column 'FLUX' is described twice")],
    ],
    [
      'a duplicate table',
      { ...BASE, tables: [TABLE, TABLE] },
      [E('radio.srl', 'table radio.srl is described twice')],
    ],
    [
      'a PostgreSQL system column name',
      addColumn({ name: 'xmin', datatype: 'double', ucd: 'phot.flux', description: 'f' }),
      [E('radio.srl.xmin', "'xmin' is a PostgreSQL system column name: rename the column or give a sqlName")],
    ],
    [
      'an unknown datatype (a description not read from YAML)',
      withColumn('flux', { datatype: 'real' as never }),
      [
        E(
          'radio.srl.flux',
          "'real' is not a VOTable datatype (boolean, bit, unsignedByte, short, int, long, char, unicodeChar, float, double, floatComplex, doubleComplex)",
        ),
      ],
    ],
    [
      'a missing position column',
      withColumn('dec', null),
      [E('radio.srl', "position.dec column 'dec' is not a column of the table")],
    ],
    [
      'a non-numeric position column',
      withColumn('ra', { datatype: 'char', arraysize: '*' }),
      [E('radio.srl.ra', 'position.ra must be a number in degrees, not char[*]')],
    ],
    [
      'a position in radians',
      withColumn('ra', { unit: 'rad' }),
      [E('radio.srl.ra', "position.ra is in 'rad': positions are read in degrees (unit deg)")],
    ],
    [
      'a column named like the generated HEALPix column',
      addColumn({ name: 'healpix', datatype: 'long', ucd: 'pos.healpix', description: 'h' }),
      [
        E(
          'radio.srl.healpix',
          "'healpix' is the name of the generated HEALPix column: rename the column or set position.healpixColumn",
        ),
      ],
    ],
    [
      'a primary key column that does not exist',
      withTable({ primaryKey: ['id'] }),
      [E('radio.srl', "primaryKey column 'id' is not a column of the table")],
    ],
    [
      'a rights column that does not exist, and one of the wrong type',
      withTable({ rights: { ownerGroupColumn: 'group', releaseColumn: 'flux' } }),
      [
        E('radio.srl', "rights.ownerGroupColumn 'group' is not a column of the table"),
        E('radio.srl.flux', 'rights.releaseColumn must be a timestamp (datatype char, xtype timestamp)'),
      ],
    ],
    [
      'both a table owner group and an owner group column',
      withTable({ rights: { ownerGroup: 'team', ownerGroupColumn: 'owner' } }),
      [
        E(
          'radio.srl',
          'rights: give ownerGroup (one group for the table) or ownerGroupColumn (per row), not both',
        ),
      ],
    ],
    [
      'a release date without an owner',
      withTable({ rights: { releaseDate: '2027-01-01' } }),
      [
        E(
          'radio.srl',
          'rights without an owner group: a release date alone restricts nothing (give ownerGroup or ownerGroupColumn)',
        ),
      ],
    ],
    [
      'a foreign key to a table in the file, with a wrong column',
      {
        ...BASE,
        tables: [
          TABLE,
          {
            schema: 'radio',
            name: 'gaussians',
            description: 'components',
            columns: [{ name: 'src', datatype: 'long', ucd: 'meta.id.parent', description: 'source' }],
            foreignKeys: [{ target: 'radio.srl', columns: [['src', 'sourceid']] }],
          },
        ],
      },
      [E('radio.gaussians foreignKeys[0]', "target column 'sourceid' is not a column of radio.srl")],
    ],
    [
      'a foreign key target that is not qualified',
      withTable({ foreignKeys: [{ target: 'fields', columns: [['source_id', 'id']] }] }),
      [E('radio.srl foreignKeys[0]', "target 'fields' must be a qualified table name (schema.table)")],
    ],
    [
      'a table in an undeclared schema, without schema description',
      { schemas: [{ name: 'radio' }], tables: [{ ...TABLE, schema: 'optical' }] },
      [W('radio', 'the schema has no description'), E('optical.srl', "schema 'optical' is not declared")],
    ],
  ];

describe('description validation', () => {
  it.each(CASES)('%s', (_name, desc, problems) => {
    const strict = validateDescription(desc, 'strict');
    const lax = validateDescription(desc, 'lax');
    expect(strict.problems).toEqual(problems);
    expect(lax.problems).toEqual(problems);
    // strict refuses any problem; lax refuses errors only
    expect(strict.ok).toBe(problems.length === 0);
    expect(lax.ok).toBe(!problems.some((p) => p.severity === 'error'));
  });

  it('uses the level the description asks for unless told otherwise', () => {
    const d = withColumn('flux', { ucd: undefined });
    expect(validateDescription(d).ok).toBe(false);
    expect(validateDescription({ ...d, validation: 'lax' }).ok).toBe(true);
    expect(validateDescription({ ...d, validation: 'lax' }, 'strict').ok).toBe(false);
  });

  it('prints one line per problem', () => {
    const d = withColumn('flux', { ucd: undefined, description: undefined });
    expect(formatProblems(validateDescription(d).problems)).toBe(
      'warning: radio.srl.flux: no description\nwarning: radio.srl.flux: no UCD',
    );
  });
});

/* UCD1+ (IVOA UCDList 1.6): each string and what is wrong with it ([] when valid). */
const UCDS: readonly (readonly [ucd: string, problems: readonly string[]])[] = [
  ['pos.eq.ra;meta.main', []],
  ['meta.id;src;meta.main', []],
  ['stat.error;phot.flux.density;stat.max', []],
  ['phot.mag;em.opt.V', []],
  ['PHOT.MAG;EM.OPT.V', []],
  ['ivoa:phot.mag', []],
  ['pos.healpix', []],
  ['phot.flux.density.sb', []],
  ['time.release', []],
  ['', ['an empty UCD: leave the ucd out or give one']],
  ['pos.eq.ra; meta.main', ["'pos.eq.ra; meta.main' contains whitespace (words are separated by ';' alone)"]],
  ['pos.eq.ra;;meta.main', ["'pos.eq.ra;;meta.main' has an empty word (a stray ';')"]],
  ['pos.eq.ra;meta.main;meta.main', ["'meta.main' appears twice in 'pos.eq.ra;meta.main;meta.main'"]],
  ['custom:flux', ["'custom:flux' is in namespace 'custom', not an IVOA UCD word"]],
  ['phot.color.B-V', ["'phot.color.B-V' is a deprecated UCD word: use 'phot.color;em.opt.B;em.opt.V'"]],
  ['POS_EQ_RA_MAIN', ["'POS_EQ_RA_MAIN' is not a word of the IVOA UCD list"]],
  ['pos.eq.rra', ["'pos.eq.rra' is not a word of the IVOA UCD list (did you mean 'pos.eq.ra'?)"]],
  ['pos.eq', []],
  ['meta.main', ["'meta.main' is a secondary word and cannot come first in 'meta.main'"]],
];

describe('UCD1+ checker', () => {
  it.each(UCDS)('%s', (ucd, problems) => {
    expect(checkUcd(ucd)).toEqual(problems);
  });
});
