import { describe, expect, it } from 'vitest';
import { encode } from '../../votable/index.js';
import { csvToVOTable, parseCsv, uploadNameFor } from '../../web/query/upload.js';
import { parseCells, TableDataReader } from '../../web/query/votable-stream.js';

/** The query page's parsers, without a browser: the node's own TABLEDATA, read in pieces. */

async function tabledata(rows: unknown[][], trailing?: 'OVERFLOW'): Promise<string> {
  const chunks: string[] = [];
  const body = encode('votable/td', {
    fields: [
      { name: 'id', datatype: 'long', ucd: 'meta.id', description: 'an <id> & more' },
      { name: 'name', datatype: 'char', arraysize: '*' },
      { name: 'flux', datatype: 'double', unit: 'Jy' },
    ],
    rows: (async function* () {
      for (const r of rows) yield r;
    })(),
    ...(trailing ? { trailingStatus: () => trailing } : {}),
  });
  for await (const c of body) chunks.push(c.toString('utf8'));
  return chunks.join('');
}

function read(doc: string, step: number) {
  const got = {
    fields: [] as string[],
    units: [] as (string | undefined)[],
    rows: [] as string[],
    status: '',
    complete: false,
  };
  const reader = new TableDataReader({
    header: (fields) => {
      got.fields = fields.map((f) => f.name);
      got.units = fields.map((f) => f.unit);
    },
    rows: (rows) => got.rows.push(...rows),
    end: (infos, complete) => {
      got.status = infos.find((i) => i.name === 'QUERY_STATUS')?.value ?? '';
      got.complete = complete;
    },
  });
  for (let i = 0; i < doc.length; i += step) reader.push(doc.slice(i, i + step));
  reader.end();
  return got;
}

describe('TABLEDATA read as it streams (VOTable 1.4 §5.1)', () => {
  it('gives the same rows and cells whatever the chunk size, with escapes and nulls', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => [i + 1, i % 7 === 0 ? null : `s<${i}>&"x"`, i / 3]);
    const doc = await tabledata(rows);
    for (const step of [1, 7, 64, 4096, doc.length]) {
      const got = read(doc, step);
      expect(got.fields).toEqual(['id', 'name', 'flux']);
      expect(got.units).toEqual([undefined, undefined, 'Jy']);
      expect(got.rows).toHaveLength(300);
      expect(got.complete).toBe(true);
      expect(parseCells(got.rows[1]!)).toEqual(['2', 's<1>&"x"', String(1 / 3)]);
      expect(parseCells(got.rows[7]!)[1]).toBeNull();
    }
  });

  it('sees OVERFLOW after the table (DALI-45) and a document cut inside the table', async () => {
    const doc = await tabledata([[1, 'a', 1]], 'OVERFLOW');
    expect(read(doc, 5).status).toBe('OVERFLOW');
    const cut = read(doc.slice(0, doc.indexOf('</TABLEDATA>')), 5);
    expect(cut.rows).toHaveLength(1);
    expect(cut.complete).toBe(false);
  });
});

describe('a CSV file as an upload VOTable (TAP uploads are VOTables)', () => {
  it('reads RFC 4180 quoting and types columns from their values', () => {
    expect(parseCsv('a,b\r\n"x, ""y""\nz",2\n')).toEqual([
      ['a', 'b'],
      ['x, "y"\nz', '2'],
    ]);
    const vot = csvToVOTable('id,ra,name\n1,10.5,"A & B"\n2,,C\n', 't');
    expect(vot).toContain('<FIELD name="id" datatype="long"/>');
    expect(vot).toContain('<FIELD name="ra" datatype="double"/>');
    expect(vot).toContain('<FIELD name="name" datatype="char" arraysize="*"/>');
    expect(vot).toContain('<TR><TD>2</TD><TD/><TD>C</TD></TR>');
    expect(vot).toContain('<TD>A &amp; B</TD>');
    expect(() => csvToVOTable('', 't')).toThrow(/no header/);
    expect(uploadNameFor('2024 my-targets.csv')).toBe('my_targets');
  });
});
