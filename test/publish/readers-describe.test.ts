import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { draftYaml } from '../../src/cli/describe.js';
import { main } from '../../src/cli/main.js';
import { adqlName, draftTable } from '../../src/publish/draft.js';
import { parseDescription, validateDescription } from '../../src/publish/index.js';
import { openDataSource } from '../../src/publish/readers/index.js';
import { handFits, tempDir } from './readers-files.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('draft description', () => {
  it('takes metadata from a FITS table and guesses position (UCD, then name) and primary key (UCD)', async () => {
    const p = join(dir, 'pybdsf.fits');
    writeFileSync(p, handFits());
    const ds = await openDataSource(p);
    const { table, notes } = draftTable(ds, { schema: 'radio' });
    await ds.close();
    expect(table.schema).toBe('radio');
    expect(table.name).toBe('sources');
    expect(table.position).toEqual({ ra: 'RA_deg', dec: 'DEJ2000' });
    expect(table.primaryKey).toEqual(['id']);
    expect(table.columns[0]).toEqual({
      name: 'id',
      datatype: 'long',
      ucd: 'meta.id;meta.main',
      description: 'Source identifier',
      nullable: false,
    });
    expect(table.columns[2]).toMatchObject({ name: 'DEJ2000', unit: 'deg', ucd: 'pos.eq.dec;meta.main' });
    expect(notes.columns.get('DEJ2000')).toEqual(['ucd guessed from the name', 'description']);
    expect(notes.columns.get('RA_deg')).toBeUndefined();
    expect(notes.table).toContain('position columns guessed from their names: check them');
  });

  it('makes file column names legal ADQL names, keeping the file name as source', async () => {
    expect(adqlName('RA (deg)')).toBe('RA_deg');
    expect(adqlName('2mass_j')).toBe('c_2mass_j');
    expect(adqlName('select')).toBe('select_');
    const p = join(dir, 'my cat.csv');
    writeFileSync(p, 'Source ID,ra_peak,dec_peak,select,flux\n1,10,20,x,1.5\n2,11,21,y,2.5\n');
    const ds = await openDataSource(p);
    const { table, notes } = draftTable(ds);
    await ds.close();
    expect(table.name).toBe('my_cat');
    expect(table.columns.map((c) => [c.name, c.source])).toEqual([
      ['Source_ID', 'Source ID'],
      ['ra_peak', undefined],
      ['dec_peak', undefined],
      ['select_', 'select'],
      ['flux', undefined],
    ]);
    expect(table.position).toEqual({ ra: 'ra_peak', dec: 'dec_peak' });
    expect(table.primaryKey).toBeUndefined();
    expect(notes.table).toContain('no primary key found: add primaryKey: [...] if a column is unique');
  });

  it('prints YAML in the description-file format with TODO comments', async () => {
    const p = join(dir, 'sofia.csv');
    writeFileSync(p, 'id,ra,dec,f_sum\n1,10.5,-30.1,0.25\n2,10.6,-30.2,0.5\n');
    const ds = await openDataSource(p);
    const text = draftYaml(draftTable(ds, { schema: 'wallaby', name: 'sofia' }), ds);
    await ds.close();
    const doc = parse(text);
    expect(doc.validation).toBe('strict');
    expect(doc.schema).toEqual({ name: 'wallaby', description: '' });
    expect(doc.tables[0]).toMatchObject({
      name: 'sofia',
      primaryKey: ['id'],
      position: { ra: 'ra', dec: 'dec' },
    });
    expect(doc.tables[0].columns[3]).toEqual({ name: 'f_sum', datatype: 'double' });
    expect(text).toMatch(
      /\{name: f_sum, datatype: double\} # TODO: description; unit \(or remove the TODO if it has none\); ucd/,
    );
    expect(text).toMatch(/# TODO: primary key guessed from the name id: check it is unique/);
  });

  it('is a description file: it parses, passes lax, and strict refuses exactly what the TODOs name', async () => {
    const p = join(dir, 'draft.fits');
    writeFileSync(p, handFits());
    const ds = await openDataSource(p);
    const draft = draftTable(ds, { schema: 'radio' });
    const text = draftYaml(draft, ds);
    await ds.close();
    const desc = parseDescription(text, 'draft.yaml');
    expect(desc.tables[0].position).toEqual({ ra: 'RA_deg', dec: 'DEJ2000' });
    expect(desc.tables[0].columns).toEqual(draft.table.columns);
    const lax = validateDescription(desc, 'lax');
    expect(lax.ok).toBe(true);
    expect(lax.problems.filter((q) => q.severity === 'error')).toEqual([]);
    const strict = validateDescription(desc, 'strict');
    expect(strict.ok).toBe(false);
    const todo = [...draft.notes.columns]
      .filter(([, l]) => l.some((s) => s === 'description'))
      .map(([c]) => c);
    expect(strict.problems.filter((q) => q.message === 'no description').map((q) => q.where)).toEqual(
      todo.map((c) => `radio.sources.${c}`),
    );
  });

  it('vonode describe prints the draft, and one line naming the file when it cannot be read', async () => {
    const p = join(dir, 'one.csv');
    writeFileSync(p, 'a,b\n1,x\n');
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await main(['describe', p, '--schema', 's1', '--name', 't1'])).toBe(0);
      expect(parse(String(out.mock.calls[0][0])).tables[0].name).toBe('t1');
      expect(await main(['describe', join(dir, 'absent.csv')])).toBe(1);
      expect(String(err.mock.calls[0][0])).toMatch(/^vonode: .*absent\.csv: cannot read the file: ENOENT/);
      expect(err.mock.calls[0][0]).not.toMatch(/\n.*\n/);
      expect(await main(['describe', p, '--schema', 'bad name'])).toBe(2);
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });
});
