import { describe, expect, it } from 'vitest';
import {
  contentType,
  encode,
  errorDocument,
  type Field,
  limitRows,
  type OutputFormat,
  type ResultDocument,
} from '../../votable/index.js';
import { FIELDS, ROWS, sampleDoc } from './fixtures.js';
import { collect, readAll } from './helpers.js';

type Ser = 'TABLEDATA' | 'BINARY' | 'BINARY2';

const isFloat = (f: Field) => ['float', 'double', 'floatComplex', 'doubleComplex'].includes(f.datatype);
const isInt = (f: Field) => ['unsignedByte', 'short', 'int', 'long'].includes(f.datatype);
const isChar = (f: Field) => f.datatype === 'char' || f.datatype === 'unicodeChar';

function fixedCount(f: Field): number {
  const complex = f.datatype.endsWith('Complex') ? 2 : 1;
  if (!f.arraysize) return complex;
  if (f.arraysize.includes('*')) return 0;
  return f.arraysize.split('x').reduce((p, d) => p * Number(d), 1) * complex;
}

/** What the reader must give back for a fixture value, per serialisation (VOT-23, VOT-26, VOT-32, VOT-42). */
function expected(f: Field, v: unknown, ser: Ser): unknown {
  const n = fixedCount(f);
  const scalar = !f.arraysize && !f.datatype.endsWith('Complex');
  if (v === null || v === undefined) {
    if (ser === 'BINARY2') return null;
    // Fixed-size numeric arrays (and complex scalars) are NaN- or magic-filled in both.
    if (n > 0 && !scalar && isFloat(f)) return new Array(n).fill(Number.NaN);
    if (n > 0 && !scalar && isInt(f)) return new Array(n).fill(null);
    if (ser === 'TABLEDATA') return null;
    // BINARY has no null flags.
    if (isChar(f)) return '';
    if (f.arraysize?.includes('*')) return [];
    if (f.datatype === 'bit') return false;
    if (isFloat(f)) return Number.NaN;
    return null;
  }
  let out: unknown = v;
  if (v instanceof Date) out = v.toISOString().slice(0, -1);
  else if (f.datatype === 'long') out = BigInt(v as string | number | bigint);
  else if (Array.isArray(v)) {
    const flat = v.flat(3) as unknown[];
    out = flat.map((x) =>
      f.datatype === 'float' || f.datatype === 'floatComplex' ? Math.fround(x as number) : x,
    );
  } else if (f.datatype === 'float') out = Math.fround(v as number);
  if (ser === 'TABLEDATA' && (out === '' || (Array.isArray(out) && out.length === 0))) return null;
  return out;
}

const SERS: [OutputFormat, Ser][] = [
  ['votable/td', 'TABLEDATA'],
  ['votable/binary2', 'BINARY2'],
  ['votable/binary', 'BINARY'],
];

describe('VOTable encoders round trip through the streaming reader', () => {
  for (const [format, ser] of SERS) {
    it(`${ser}: every datatype, array shape, xtype and null`, async () => {
      const bytes = await collect(encode(format, sampleDoc(), { chunkSize: 1024 }));
      const { fields, rows, serialization } = await readAll(bytes);
      expect(serialization).toBe(ser);
      // A bounded variable string (cv10, char 10*) is declared * for astropy < 7.1 (arraysize.ts).
      expect(fields.map((f) => [f.name, f.datatype, f.arraysize, f.xtype])).toEqual(
        FIELDS.map((f) => [f.name, f.datatype, f.name === 'cv10' ? '*' : f.arraysize, f.xtype]),
      );
      expect(rows.length).toBe(ROWS.length);
      for (let r = 0; r < ROWS.length; r++) {
        for (let c = 0; c < FIELDS.length; c++) {
          expect({ row: r, col: FIELDS[c].name, v: rows[r][c] }).toEqual({
            row: r,
            col: FIELDS[c].name,
            v: expected(FIELDS[c], ROWS[r][c], ser),
          });
        }
      }
    });
  }

  it('BINARY2 bytes match the VOT-43 example exactly', async () => {
    const doc: ResultDocument = {
      fields: [
        { name: 'a', datatype: 'short' },
        { name: 'b', datatype: 'char', arraysize: '*' },
        { name: 'c', datatype: 'double' },
      ],
      rows: [[null, 'ab', 1.5]],
    };
    const xml = (await collect(encode('votable/binary2', doc))).toString();
    const b64 = /<STREAM encoding="base64">\s*([^<]*)<\/STREAM>/.exec(xml)?.[1].trim() ?? '';
    expect(Buffer.from(b64, 'base64').toString('hex')).toBe(
      '80' + '0000' + '00000002' + '6162' + '3ff8000000000000',
    );
  });

  it('declares magic nulls for BINARY integer columns (VOT-28)', async () => {
    const xml = (await collect(encode('votable/binary', sampleDoc()))).toString();
    expect(xml).toContain('<FIELD name="s" datatype="short">\n      <VALUES null="-32768"/>');
    expect(xml).toContain('<VALUES null="-9223372036854775808"/>');
  });

  it('replaces non-ASCII in binary char columns and keeps it in unicodeChar (VOT-37)', async () => {
    const doc: ResultDocument = {
      fields: [
        { name: 'c', datatype: 'char', arraysize: '*' },
        { name: 'u', datatype: 'unicodeChar', arraysize: '*' },
      ],
      rows: [['Zürich', 'Zürich 𝄞']],
    };
    const b2 = await readAll(await collect(encode('votable/binary2', doc)));
    expect(b2.rows).toEqual([['Z?rich', 'Zürich 𝄞']]);
    const td = await readAll(await collect(encode('votable/td', doc)));
    expect(td.rows).toEqual([['Zürich', 'Zürich 𝄞']]);
  });

  it('escapes markup and strips characters XML 1.0 cannot carry (VOT-25)', async () => {
    const doc: ResultDocument = {
      fields: [{ name: 'c', datatype: 'char', arraysize: '*' }],
      rows: [['a<b>&"c"\u0001\r\nd']],
    };
    const xml = (await collect(encode('votable/td', doc))).toString();
    expect(xml).toContain('<TD>a&lt;b&gt;&amp;"c"\ufffd&#13;\nd</TD>');
    expect((await readAll(xml)).rows).toEqual([['a<b>&"c"\ufffd\r\nd']]);
  });
});

describe('QUERY_STATUS (DALI-42..46)', () => {
  const fields: Field[] = [{ name: 'x', datatype: 'int' }];
  async function* failing() {
    yield [1];
    yield [2];
    throw new Error('canceling statement due to statement timeout');
  }

  for (const [format] of SERS) {
    it(`${format}: leading OK, then a trailing ERROR after a closed TABLE when rows fail`, async () => {
      const xml = (await collect(encode(format, { fields, rows: failing() }))).toString();
      expect(xml.match(/<\?xml/g)?.length).toBe(1);
      expect(xml.match(/<\/VOTABLE>/g)?.length).toBe(1);
      const lead = xml.indexOf('<INFO name="QUERY_STATUS" value="OK"/>');
      const table = xml.indexOf('</TABLE>');
      const err = xml.indexOf(
        '<INFO name="QUERY_STATUS" value="ERROR">canceling statement due to statement timeout</INFO>',
      );
      expect(lead).toBeGreaterThan(0);
      expect(lead).toBeLessThan(xml.indexOf('<TABLE'));
      expect(err).toBeGreaterThan(table);
      expect(err).toBeLessThan(xml.indexOf('</RESOURCE>'));
      expect((await readAll(xml)).rows).toEqual([[1], [2]]);
    });

    it(`${format}: trailing OVERFLOW when learnt while streaming, none when announced up front`, async () => {
      const late = (
        await collect(encode(format, { fields, rows: [[1], [2]], trailingStatus: () => 'OVERFLOW' }))
      ).toString();
      expect(late.indexOf('<INFO name="QUERY_STATUS" value="OVERFLOW"/>')).toBeGreaterThan(
        late.indexOf('</TABLE>'),
      );
      const early = (
        await collect(
          encode(format, {
            fields,
            rows: [[1]],
            leadingStatus: 'OVERFLOW',
            trailingStatus: () => 'OVERFLOW',
          }),
        )
      ).toString();
      expect(early.match(/QUERY_STATUS/g)?.length).toBe(1);
      expect(early.indexOf('value="OVERFLOW"')).toBeLessThan(early.indexOf('<TABLE'));
    });
  }

  it('limitRows puts a known status up front and a late overflow after the TABLE', async () => {
    const fields: Field[] = [{ name: 'x', datatype: 'int' }];
    let closed = 0;
    async function* source(n: number) {
      try {
        for (let i = 0; i < n; i++) yield [i];
      } finally {
        closed++;
      }
    }
    // Small result, overflow known after reading MAXREC+1 rows (DALI-44): exactly MAXREC rows.
    const small = await limitRows(source(50), { maxRecords: 5 });
    expect(small.leadingStatus).toBe('OVERFLOW');
    const a = (await collect(encode('votable/binary2', { fields, ...small }))).toString();
    expect(a.match(/QUERY_STATUS/g)?.length).toBe(1);
    expect((await readAll(a)).rows).toEqual([[0], [1], [2], [3], [4]]);
    // Fits exactly: OK and nothing after the table.
    const exact = await limitRows(source(5), { maxRecords: 5 });
    expect(exact.leadingStatus).toBe('OK');
    expect(
      (await collect(encode('votable/td', { fields, ...exact }))).toString().match(/QUERY_STATUS/g)?.length,
    ).toBe(1);
    // Larger than the read-ahead: OK up front, OVERFLOW trailing (DALI-45), MAXREC rows.
    const big = await limitRows(source(1000), { maxRecords: 100, readAheadRows: 10 });
    expect(big.leadingStatus).toBe('OK');
    const c = (await collect(encode('votable/binary2', { fields, ...big }))).toString();
    expect(c.indexOf('<INFO name="QUERY_STATUS" value="OVERFLOW"/>')).toBeGreaterThan(c.indexOf('</TABLE>'));
    expect((await readAll(c)).rows.length).toBe(100);
    expect(closed).toBe(3);
  });

  it('a value that cannot be written ends the table with an ERROR naming the column, without half rows', async () => {
    const xml = (
      await collect(encode('votable/binary2', { fields, rows: [[1], ['not a number'], [3]] }))
    ).toString();
    expect(xml).toMatch(/value="ERROR">column "x": cannot write "not a number" as int</);
    expect((await readAll(xml)).rows).toEqual([[1]]);
  });

  it('errorDocument is a DALI error VOTable with no TABLE (DALI-43)', async () => {
    const xml = errorDocument('syntax error at "SELEC"', [{ name: 'QUERY', value: 'SELEC 1' }]);
    expect(xml).toContain('<INFO name="QUERY_STATUS" value="ERROR">syntax error at "SELEC"</INFO>');
    expect(xml).not.toContain('<TABLE');
    await expect(readAll(xml)).rejects.toThrow(/no TABLE/);
  });
});

describe('streaming and backpressure', () => {
  it('produces bounded chunks lazily: nothing is pulled from the rows before the consumer asks', async () => {
    let produced = 0;
    function* rows() {
      for (let i = 0; i < 1_000_000; i++) {
        produced++;
        yield [i, i * 0.5, `row ${i}`];
      }
    }
    const doc: ResultDocument = {
      fields: [
        { name: 'i', datatype: 'int' },
        { name: 'd', datatype: 'double' },
        { name: 's', datatype: 'char', arraysize: '*' },
      ],
      rows: rows(),
    };
    const it = encode('votable/binary2', doc, { chunkSize: 16384 })[Symbol.asyncIterator]();
    const sizes: number[] = [];
    for (let k = 0; k < 20; k++) {
      const r = await it.next();
      if (r.done) break;
      sizes.push(r.value.length);
    }
    await it.return?.();
    expect(produced).toBeLessThan(20 * 16384);
    for (const s of sizes.slice(1)) expect(s).toBeLessThanOrEqual(16384 * 2);
  });

  it('stopping the consumer closes the row source (so a DB cursor can be released, VOT-52)', async () => {
    let closed = false;
    async function* rows() {
      try {
        for (let i = 0; ; i++) yield [i];
      } finally {
        closed = true;
      }
    }
    let chunks = 0;
    for await (const _ of encode(
      'votable/td',
      { fields: [{ name: 'i', datatype: 'int' }], rows: rows() },
      { chunkSize: 1024 },
    )) {
      // The first chunk is the header; the second needs rows.
      if (++chunks === 2) break;
    }
    expect(closed).toBe(true);
  });

  it('batches (one await per cursor read) give the same document as rows', async () => {
    async function* batches() {
      yield ROWS.slice(0, 1);
      yield [];
      yield ROWS.slice(1);
    }
    for (const [format] of SERS) {
      const a = await collect(encode(format, sampleDoc()));
      const b = await collect(encode(format, { ...sampleDoc(), rows: undefined, batches: batches() }));
      expect(b.toString()).toBe(a.toString());
    }
  });

  it('base64 never pads before the end, whatever the chunk size (VOT-44)', async () => {
    for (const chunkSize of [1024, 1500, 4099]) {
      const rows = Array.from({ length: 3000 }, (_, i) => [i, `s${i}`]);
      const xml = (
        await collect(
          encode(
            'votable/binary',
            {
              fields: [
                { name: 'i', datatype: 'int' },
                { name: 's', datatype: 'char', arraysize: '*' },
              ],
              rows,
            },
            { chunkSize },
          ),
        )
      ).toString();
      const b64 = /<STREAM encoding="base64">([^<]*)<\/STREAM>/.exec(xml)?.[1].replace(/\s+/g, '') ?? '';
      expect(b64.slice(0, -2)).not.toContain('=');
      expect((await readAll(xml)).rows).toEqual(rows);
    }
  });
});

describe('CSV, TSV and JSON', () => {
  const doc = (): ResultDocument => ({
    fields: [
      { name: 'id', datatype: 'long' },
      { name: 'name', datatype: 'char', arraysize: '*' },
      { name: 'pos', datatype: 'double', arraysize: '2', xtype: 'point' },
      { name: 'f', datatype: 'float' },
      { name: 'ok', datatype: 'boolean' },
    ],
    rows: [
      ['12345678901234567890'.slice(0, 19), 'a, "quoted"\nline', [10, -5.5], 1.5, true],
      [2, 'tab\there', null, Number.NaN, null],
    ],
  });

  it('CSV follows RFC 4180 quoting with a header line', async () => {
    const text = (await collect(encode('csv', doc()))).toString();
    expect(text).toBe(
      'id,name,pos,f,ok\r\n' +
        '1234567890123456789,"a, ""quoted""\nline",10 -5.5,1.5,T\r\n' +
        '2,tab\there,,NaN,\r\n',
    );
  });

  it('TSV escapes tabs and line breaks inside fields', async () => {
    const text = (await collect(encode('tsv', doc()))).toString();
    expect(text.split('\r\n')[1]).toBe('1234567890123456789\ta, "quoted"\\nline\t10 -5.5\t1.5\tT');
    expect(text.split('\r\n')[2]).toBe('2\ttab\\there\t\tNaN\t');
  });

  it('JSON streams metadata, then data, then the status', async () => {
    const text = (
      await collect(encode('json', { ...doc(), infos: [{ name: 'QUERY', value: 'SELECT 1' }] }))
    ).toString();
    // Long values keep their digits: parse the text ourselves to check them.
    expect(text).toContain('[1234567890123456789,');
    const j = JSON.parse(text);
    expect(j.metadata[2]).toEqual({ name: 'pos', datatype: 'double', arraysize: '2', xtype: 'point' });
    expect(j.data[1]).toEqual([2, 'tab\there', null, null, null]);
    expect(j.data[0].slice(1)).toEqual(['a, "quoted"\nline', [10, -5.5], 1.5, true]);
    expect(j.status).toBe('OK');
    expect(j.infos).toEqual([{ name: 'QUERY', value: 'SELECT 1' }]);
  });

  it('JSON reports a failing row source as status ERROR after the rows written', async () => {
    async function* rows() {
      yield [1];
      throw new Error('boom');
    }
    const j = JSON.parse(
      (await collect(encode('json', { fields: [{ name: 'x', datatype: 'int' }], rows: rows() }))).toString(),
    );
    expect(j).toMatchObject({ data: [[1]], status: 'ERROR', message: 'boom' });
  });

  it('CSV rethrows a failing row source after the complete rows (DALI-47: no in-band marker)', async () => {
    async function* rows() {
      yield [1];
      throw new Error('boom');
    }
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const c of encode('csv', { fields: [{ name: 'x', datatype: 'int' }], rows: rows() }))
          got.push(c.toString());
      })(),
    ).rejects.toThrow('boom');
  });

  it('content types name the serialisation (VOT-53)', () => {
    expect(contentType('votable/binary2')).toBe(
      'application/x-votable+xml;serialization=BINARY2;charset=UTF-8',
    );
    expect(contentType('votable/td')).toContain('serialization=TABLEDATA');
    expect(contentType('csv')).toMatch(/^text\/csv/);
    expect(contentType('fits')).toBe('application/fits');
  });
});
