import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  type CatalogueDescription,
  type ColumnDescription,
  DescriptionError,
  parseDescription,
  parseFelis,
  publishedTableOf,
  validateDescription,
} from '../../src/publish/index.js';

/** A Felis schema of one table whose columns are the case's column entries. */
function felisWith(columns: string, extra = ''): string {
  return `name: s
"@id": "#s"
tables:
  - name: t
    "@id": "#t"
    description: a table
    columns:
      - {name: id, "@id": "#t.id", datatype: long, description: key}
${columns}${extra}`;
}

/*
 * Felis datatype (with length and votable: overrides) -> VOTable datatype, arraysize and
 * xtype, as Felis writes them into TAP_SCHEMA (TAP-58); byte is the one deliberate change.
 */
const TYPES: readonly (readonly [felis: string, expected: Partial<ColumnDescription>, why: string])[] = [
  ['datatype: boolean', { datatype: 'boolean' }, ''],
  ['datatype: byte', { datatype: 'short' }, 'signed: unsignedByte would misread negatives'],
  ['datatype: short', { datatype: 'short' }, ''],
  ['datatype: int', { datatype: 'int' }, ''],
  ['datatype: long', { datatype: 'long' }, ''],
  ['datatype: float', { datatype: 'float' }, ''],
  ['datatype: double', { datatype: 'double' }, ''],
  ['datatype: char, length: 1', { datatype: 'char' }, 'arraysize 1 is never written'],
  ['datatype: char, length: 16', { datatype: 'char', arraysize: '16' }, 'fixed length'],
  ['datatype: string, length: 32', { datatype: 'char', arraysize: '32*' }, 'bounded variable'],
  ['datatype: string', { datatype: 'char', arraysize: '*' }, 'unbounded'],
  ['datatype: unicode, length: 8', { datatype: 'unicodeChar', arraysize: '8*' }, ''],
  ['datatype: text', { datatype: 'char', arraysize: '*' }, ''],
  ['datatype: binary, length: 64', { datatype: 'unsignedByte', arraysize: '64*' }, ''],
  [
    'datatype: timestamp, precision: 6',
    { datatype: 'char', arraysize: '*', xtype: 'timestamp' },
    'DALI timestamp',
  ],
  ['datatype: char, length: 1, "votable:arraysize": "*"', { datatype: 'char', arraysize: '*' }, 'override'],
  ['datatype: byte, "votable:datatype": unsignedByte', { datatype: 'unsignedByte' }, 'override'],
  ['datatype: text, "votable:xtype": clob', { datatype: 'char', arraysize: '*', xtype: 'clob' }, ''],
  ['datatype: double, "fits:tunit": nJy', { datatype: 'double', unit: 'nJy' }, 'FITS unit'],
  ['datatype: double, "ivoa:unit": deg', { datatype: 'double', unit: 'deg' }, 'IVOA unit'],
  ['datatype: double, "fits:tunit":', { datatype: 'double' }, 'an empty unit is no unit'],
  ['datatype: double, "ivoa:ucd": phot.flux', { datatype: 'double', ucd: 'phot.flux' }, ''],
  ['datatype: int, "tap:principal": 1, "tap:std": 1', { datatype: 'int', principal: true, std: true }, ''],
  ['datatype: int, "tap:principal": 0', { datatype: 'int' }, '0 is the default'],
  ['datatype: int, nullable: false', { datatype: 'int', nullable: false }, ''],
  ['datatype: int, "votable:utype": obscore:x', { datatype: 'int', utype: 'obscore:x' }, ''],
  [
    'datatype: int, "mysql:datatype": INTEGER, value: 0, autoincrement: false',
    { datatype: 'int' },
    'SQL-only keys',
  ],
];

const ERRORS: readonly (readonly [name: string, text: string, message: RegExp])[] = [
  [
    'an unknown column key, with the nearest',
    felisWith('      - {name: x, "@id": "#t.x", datatype: int, "ivoa:ucf": meta.id}\n'),
    /^f\.yaml:9:49: tables\[0\]\.columns\[1\] has unknown key 'ivoa:ucf' \(did you mean 'ivoa:ucd'\?\)$/,
  ],
  [
    'a Felis datatype that does not exist',
    felisWith('      - {name: x, "@id": "#t.x", datatype: integer}\n'),
    /^f\.yaml:9:44: tables\[0\]\.columns\[1\]\.datatype 'integer' is not a Felis datatype/,
  ],
  [
    'a primary key naming no column',
    felisWith('', '    primaryKey: "#t.nope"\n'),
    /^f\.yaml:9:17: tables\[0\]\.primaryKey '#t\.nope' is not the @id of a column in this schema$/,
  ],
  [
    'ivoa:unit and fits:tunit that disagree',
    felisWith('      - {name: x, "@id": "#t.x", datatype: int, "ivoa:unit": m, "fits:tunit": s}\n'),
    /'s' and ivoa:unit 'm' disagree/,
  ],
  [
    'column references to other files',
    felisWith('', '    columnRefs: {other: {t: {x: null}}}\n'),
    /columnRefs are not read: expand them first with `felis dump --dereference-resources`/,
  ],
];

describe('Felis reader', () => {
  it.each(TYPES)('%s', (column, expected) => {
    const d = parseFelis(felisWith(`      - {name: x, "@id": "#t.x", ${column}}\n`), 'f.yaml');
    const x = d.tables[0].columns.find((c) => c.name === 'x');
    expect(x).toStrictEqual({ name: 'x', ...expected });
  });

  it.each(ERRORS)('%s', (_name, text, message) => {
    expect(() => parseFelis(text, 'f.yaml')).toThrow(DescriptionError);
    expect(() => parseFelis(text, 'f.yaml')).toThrow(message);
  });

  it('orders by tap:table_index and tap:column_index, keeping file order for the rest', () => {
    const d = parseFelis(
      `name: s
tables:
  - {name: b, "@id": "#b", "tap:table_index": 2, columns: [{name: x, "@id": "#b.x", datatype: int}]}
  - {name: a, "@id": "#a", "tap:table_index": 1, columns: [
      {name: p, "@id": "#a.p", datatype: int},
      {name: q, "@id": "#a.q", datatype: int, "tap:column_index": 2},
      {name: r, "@id": "#a.r", datatype: int, "tap:column_index": 1},
      {name: s, "@id": "#a.s", datatype: int}]}
`,
      'o.yaml',
    );
    expect(d.tables.map((t) => t.name)).toEqual(['a', 'b']);
    expect(d.tables[0].columns.map((c) => c.name)).toEqual(['r', 'q', 'p', 's']);
  });
});

describe('the DP0.2 schema from lsst/sdm_schemas', () => {
  const path = 'test/fixtures/felis/dp02_dm.yaml';
  // biome-ignore lint/suspicious/noExplicitAny: the raw YAML, read independently of the reader under test
  let raw: any;
  let desc: CatalogueDescription;
  beforeAll(() => {
    const text = readFileSync(path, 'utf8');
    raw = parseYaml(text);
    desc = parseDescription(text, path);
  });

  it('has every table and every column, with its datatype, unit, UCD and description', () => {
    expect(desc.schemas).toStrictEqual([{ name: 'dp02_dc2_catalogs', description: raw.description }]);
    expect(desc.tables.map((t) => t.name).sort()).toEqual(
      raw.tables.map((t: { name: string }) => t.name).sort(),
    );
    let columns = 0;
    for (const rt of raw.tables) {
      const t = desc.tables.find((x) => x.name === rt.name)!;
      expect(t.schema).toBe('dp02_dc2_catalogs');
      expect(t.description).toBe(rt.description);
      expect(t.columns.map((c) => c.name).sort()).toEqual(
        rt.columns.map((c: { name: string }) => c.name).sort(),
      );
      for (const rc of rt.columns) {
        const c = t.columns.find((x) => x.name === rc.name)!;
        expect(c.description).toBe(rc.description);
        expect(c.unit).toBe((rc['ivoa:unit'] ?? rc['fits:tunit']) || undefined);
        expect(c.ucd).toBe(rc['ivoa:ucd'] || undefined);
        expect(c.principal ?? false).toBe(rc['tap:principal'] === 1);
        const numeric: Record<string, string> = {
          boolean: 'boolean',
          int: 'int',
          long: 'long',
          float: 'float',
          double: 'double',
        };
        expect(c.datatype).toBe(numeric[rc.datatype] ?? 'char');
        columns++;
      }
    }
    expect(desc.tables).toHaveLength(12);
    expect(columns).toBe(1534);
  });

  it('resolves primary keys, foreign keys and positions', () => {
    const t = (name: string) => desc.tables.find((x) => x.name === name)!;
    expect(t('Object').primaryKey).toEqual(['objectId']);
    expect(t('Object').position).toEqual({ ra: 'coord_ra', dec: 'coord_dec' });
    expect(t('DiaObject').position).toEqual({ ra: 'ra', dec: 'decl' });
    expect(t('ForcedSource').foreignKeys).toEqual([
      {
        target: 'dp02_dc2_catalogs.Object',
        columns: [['objectId', 'objectId']],
        description: 'Link Objects to associated ForcedSources',
      },
      {
        target: 'dp02_dc2_catalogs.CcdVisit',
        columns: [['ccdVisitId', 'ccdVisitId']],
        description: 'Link CCD-level images to associated ForcedSources',
      },
    ]);
    expect(desc.tables.reduce((n, x) => n + (x.foreignKeys?.length ?? 0), 0)).toBe(9);
    // MatchesTruth has no position columns, so no HEALPix index
    expect(t('MatchesTruth').position).toBeUndefined();
    expect(desc.tables.filter((x) => x.position)).toHaveLength(11);
    const visit = t('Visit').columns.find((c) => c.name === 'expMidpt');
    expect(visit).toMatchObject({ datatype: 'char', arraysize: '*', xtype: 'timestamp' });
  });

  it('validates lax with no errors; strict lists the columns without a UCD', () => {
    const lax = validateDescription(desc, 'lax');
    expect(lax.ok).toBe(true);
    expect(lax.problems.filter((p) => p.severity === 'error')).toEqual([]);
    const strict = validateDescription(desc, 'strict');
    expect(strict.ok).toBe(false);
    expect(new Set(strict.problems.map((p) => p.message))).toEqual(new Set(['no UCD']));
    expect(strict.problems).toHaveLength(1332);
  });

  it('converts every table to a published table with a HEALPix index where it has a position', () => {
    for (const t of desc.tables) {
      const p = publishedTableOf(t, { sqlSchema: 'dp02', sqlTable: t.name.toLowerCase() });
      expect(p.columns).toHaveLength(t.columns.length + (t.position ? 1 : 0));
      if (t.position)
        expect(p.spatialIndex).toEqual({ column: 'healpix', lon: t.position.ra, lat: t.position.dec });
    }
  });
});
