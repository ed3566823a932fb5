import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type CatalogueDescription,
  DescriptionError,
  parseDescription,
  parseDescriptionFile,
  publishedTableOf,
  validateDescription,
} from '../../src/publish/index.js';
import { DEMO_SCHEMA } from '../../src/tap/tables/demo.js';

/** A small valid file; the error cases below each break it in one place. */
const BASE = `schema: {name: radio, description: Radio catalogues}
tables:
  - name: srl
    description: Sources
    columns:
      - {name: source_id, datatype: long, ucd: meta.id;meta.main, description: id}
      - {name: ra, datatype: double, unit: deg, ucd: pos.eq.ra;meta.main, description: RA}
`;

/*
 * Each case: the file text and the exact messages (file:line:col: path what). Lines and
 * columns are 1-based, as editors show them.
 */
const ERRORS: readonly (readonly [name: string, text: string, messages: readonly string[]])[] = [
  [
    'a misspelt datatype, with the nearest one and the list',
    BASE.replace('datatype: double', 'datatype: doubel'),
    [
      "t.yaml:7:30: tables[0].columns[1].datatype 'doubel' is not a VOTable datatype (did you mean 'double'? one of boolean, bit, unsignedByte, short, int, long, char, unicodeChar, float, double, floatComplex, doubleComplex)",
    ],
  ],
  [
    'an unknown key names the nearest known key',
    BASE.replace('unit: deg', 'unti: deg'),
    ["t.yaml:7:38: tables[0].columns[1] has unknown key 'unti' (did you mean 'unit'?)"],
  ],
  [
    'an unknown top-level key',
    `validaton: lax\n${BASE}`,
    ["t.yaml:1:1: has unknown key 'validaton' (did you mean 'validation'?)"],
  ],
  [
    'a missing required key is reported at its mapping',
    BASE.replace('{name: source_id, datatype: long, ', '{name: source_id, '),
    ["t.yaml:6:9: tables[0].columns[0] needs 'datatype'"],
  ],
  [
    'several problems are all reported, in file order',
    BASE.replace('datatype: long', 'datatype: lnog').replace('description: Sources', 'descripton: Sources'),
    [
      "t.yaml:4:5: tables[0] has unknown key 'descripton' (did you mean 'description'?)",
      "t.yaml:6:37: tables[0].columns[0].datatype 'lnog' is not a VOTable datatype (did you mean 'long'? one of boolean, bit, unsignedByte, short, int, long, char, unicodeChar, float, double, floatComplex, doubleComplex)",
    ],
  ],
  [
    'a wrong value type',
    BASE.replace('description: Sources', 'description: [a, b]'),
    ['t.yaml:4:18: tables[0].description must be a single value, not a list'],
  ],
  [
    'a boolean that is not one',
    BASE.replace('description: id}', 'description: id, principal: yes}'),
    ["t.yaml:6:95: tables[0].columns[0].principal must be true or false, not 'yes'"],
  ],
  [
    'an arraysize that is not VOTable syntax',
    BASE.replace('datatype: long,', 'datatype: char, arraysize: "10**",'),
    ["t.yaml:6:54: tables[0].columns[0].arraysize '10**' is not a VOTable arraysize (e.g. 16, 16*, *, 3x3)"],
  ],
  [
    'a release date that is not a date',
    `${BASE}    rights: {ownerGroup: team, releaseDate: next year}\n`,
    ["t.yaml:8:45: tables[0].rights.releaseDate 'next year' is not an ISO 8601 date (YYYY-MM-DD)"],
  ],
  [
    'a waveband VOResource does not know',
    `${BASE}    registry: {waveband: [Radio, Opitcal]}\n`,
    [
      "t.yaml:8:34: tables[0].registry.waveband[1] 'Opitcal' is not a VOResource waveband (did you mean 'Optical'? one of Radio, Millimeter, Infrared, Optical, UV, EUV, X-ray, Gamma-ray)",
    ],
  ],
  [
    'a table in a schema the file does not declare',
    BASE.replace('  - name: srl', '  - name: srl\n    schema: optical'),
    ["t.yaml:4:13: tables[0].schema 'optical' is not a schema declared in this file (radio)"],
  ],
  [
    'a table without a schema when there are several',
    BASE.replace('schema: {name: radio, description: Radio catalogues}', 'schemas: [{name: a}, {name: b}]'),
    ["t.yaml:3:5: tables[0] needs 'schema': the file declares several (a, b)"],
  ],
  ['no tables', 'schema: radio\n', ["t.yaml:1:1: needs 'tables'"]],
  [
    'a list where a mapping belongs is reported once',
    `${BASE}    position: [ra, dec]\n`,
    ['t.yaml:8:15: tables[0].position must be a mapping of keys to values, not a list'],
  ],
  [
    'a file that is not a mapping',
    '- a\n- b\n',
    ['t.yaml:1:1: must be a mapping of keys to values, not a list'],
  ],
  [
    'broken YAML',
    'schema: radio\ntables:\n  - name: x\n   columns: []\n',
    ['t.yaml:4:1: YAML: Sequence item without - indicator'],
  ],
  [
    'a duplicate key (YAML forbids it)',
    BASE.replace('description: Sources', 'description: Sources\n    description: again'),
    ['t.yaml:5:5: YAML: Map keys must be unique'],
  ],
];

describe('description files', () => {
  it.each(ERRORS)('%s', (_name, text, messages) => {
    let caught: unknown;
    try {
      parseDescription(text, 't.yaml');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DescriptionError);
    expect((caught as Error).message.split('\n')).toEqual(messages);
  });

  it('names a file it cannot read in one line', async () => {
    await expect(parseDescriptionFile('catalogues/nope.yaml')).rejects.toThrow(
      /^catalogues\/nope\.yaml: cannot be read: no such file$/,
    );
  });

  it('reads every key into the description types', () => {
    const text = `validation: lax
schemas:
  - {name: radio, description: Radio catalogues, utype: u:s}
tables:
  - name: srl
    schema: radio
    title: Source list
    description: Sources
    type: table
    utype: u:t
    primaryKey: source_id
    position: {ra: ra, dec: dec, frame: ICRS, healpixColumn: hpx}
    time: {column: mjd, format: mjd, scale: tt}
    spectral: {column: freq, unit: Hz}
    foreignKeys:
      - target: radio.fields
        columns: [[field_id, field_id], {from: obs, target: obs}]
        description: the field
    rights: {ownerGroup: team, releaseDate: 2027-06-01}
    registry:
      title: SRL
      creators: [A. Person]
      subjects: radio sources
      waveband: Radio
      licence: CC-BY-4.0
      referenceUrl: https://example.org/srl
      contact: data@example.org
    columns:
      - name: source_id
        sqlName: sid
        source: Source_id
        datatype: long
        ucd: meta.id;meta.main
        utype: u:c
        description: id
        principal: true
        indexed: true
        nullable: false
        std: false
      - {name: spec, datatype: float, arraysize: 3x*, xtype: x, unit: 1}
`;
    const expected: CatalogueDescription = {
      validation: 'lax',
      schemas: [{ name: 'radio', description: 'Radio catalogues', utype: 'u:s' }],
      tables: [
        {
          schema: 'radio',
          name: 'srl',
          title: 'Source list',
          description: 'Sources',
          type: 'table',
          utype: 'u:t',
          primaryKey: ['source_id'],
          position: { ra: 'ra', dec: 'dec', frame: 'ICRS', healpixColumn: 'hpx' },
          time: { column: 'mjd', format: 'mjd', scale: 'tt' },
          spectral: { column: 'freq', unit: 'Hz' },
          foreignKeys: [
            {
              target: 'radio.fields',
              columns: [
                ['field_id', 'field_id'],
                ['obs', 'obs'],
              ],
              description: 'the field',
            },
          ],
          rights: { ownerGroup: 'team', releaseDate: '2027-06-01' },
          registry: {
            title: 'SRL',
            creators: ['A. Person'],
            subjects: ['radio sources'],
            waveband: ['Radio'],
            licence: 'CC-BY-4.0',
            referenceUrl: 'https://example.org/srl',
            contact: 'data@example.org',
          },
          columns: [
            {
              name: 'source_id',
              sqlName: 'sid',
              source: 'Source_id',
              datatype: 'long',
              ucd: 'meta.id;meta.main',
              utype: 'u:c',
              description: 'id',
              principal: true,
              indexed: true,
              nullable: false,
              std: false,
            },
            { name: 'spec', datatype: 'float', arraysize: '3x*', xtype: 'x', unit: '1' },
          ],
        },
      ],
    };
    // toStrictEqual: no stray undefined members (descriptions are stored as JSON)
    expect(parseDescription(text, 'all.yaml')).toStrictEqual(expected);
  });

  it('reads an empty unit, UCD or description as none (VOUnits §2.8: no unit is an empty string)', () => {
    const d = parseDescription(
      BASE.replace(
        'unit: deg, ucd: pos.eq.ra;meta.main, description: RA',
        'unit: "", ucd: "", description: ""',
      ),
      'e.yaml',
    );
    expect(d.tables[0].columns[1]).toStrictEqual({ name: 'ra', datatype: 'double' });
  });

  it('gives a table the file’s single schema, and a file without schemas those of its tables', () => {
    expect(parseDescription(BASE, 'b.yaml').tables[0].schema).toBe('radio');
    const noSchema = BASE.replace('schema: {name: radio, description: Radio catalogues}\n', '').replace(
      '  - name: srl',
      '  - name: srl\n    schema: optical',
    );
    expect(parseDescription(noSchema, 'c.yaml').schemas).toStrictEqual([{ name: 'optical' }]);
  });

  it('reads the complete example of docs/publishing.md, which passes strict validation', () => {
    const doc = readFileSync('docs/publishing.md', 'utf8');
    const example = /## A complete description[\s\S]*?```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const desc = parseDescription(example!, 'publishing.md');
    expect(validateDescription(desc)).toEqual({ problems: [], ok: true });
    const t = desc.tables[0];
    // every table key of the reference tables is used in the example (but utype)
    expect(Object.keys(t).sort()).toEqual(
      [
        'columns',
        'description',
        'foreignKeys',
        'name',
        'position',
        'primaryKey',
        'registry',
        'rights',
        'schema',
      ]
        .concat(['spectral', 'time', 'title', 'type'])
        .sort(),
    );
  });

  it('reads catalogues/demo.yaml, which passes strict validation', async () => {
    const desc = await parseDescriptionFile('catalogues/demo.yaml');
    expect(desc.validation).toBe('strict');
    expect(validateDescription(desc)).toEqual({ problems: [], ok: true });
  });

  it('publishes the demo catalogue exactly as src/tap/tables/demo.ts declares it', async () => {
    // The switch from the TypeScript declaration to the description file must change nothing
    // a client sees: same columns (order, types, units, UCDs, descriptions, flags), same
    // table and schema metadata, same spatial index.
    const desc = await parseDescriptionFile('catalogues/demo.yaml');
    const declared = DEMO_SCHEMA.tables[0];
    const published = publishedTableOf(desc.tables[0], { sqlSchema: 'demo', sqlTable: 'sources' });
    expect(published.columns).toStrictEqual(declared.columns);
    const { columns: _a, primaryKey, title, rights, registry, ...meta } = published;
    const { columns: _b, ...declaredMeta } = declared;
    expect(meta).toStrictEqual(declaredMeta);
    expect(desc.schemas).toStrictEqual([{ name: DEMO_SCHEMA.name, description: DEMO_SCHEMA.description }]);
    // what the description adds: the key, and rights/registry for the loader and the registry
    expect({ primaryKey, rights }).toStrictEqual({
      primaryKey: ['source_id'],
      rights: { ownerGroupColumn: 'owner_group', releaseColumn: 'release_date' },
    });
    expect(title).toBeTruthy();
    expect(registry?.waveband).toEqual(['Radio']);
  });

  it('recognises a Felis file and reads it with the Felis reader', () => {
    const felis = readFileSync('test/fixtures/felis/dp02_dm.yaml', 'utf8');
    const d = parseDescription(felis, 'dp02.yaml');
    expect(d.schemas.map((s) => s.name)).toEqual(['dp02_dc2_catalogs']);
    // and an error in a Felis file is still file:line:col
    expect(() =>
      parseDescription(felis.replace('datatype: double', 'datatype: doubel'), 'dp02.yaml'),
    ).toThrow(
      /^dp02\.yaml:\d+:15: tables\[0\]\.columns\[1\]\.datatype 'doubel' is not a Felis datatype \(did you mean 'double'\?/,
    );
  });
});
