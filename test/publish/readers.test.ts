import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { openDataSource } from '../../src/publish/readers/index.js';
import { DataFileError } from '../../src/publish/source.js';
import {
  EXPECTED_FITS,
  handFits,
  readAll,
  SAME_FIELDS,
  sameRows,
  tempDir,
  writeEncoded,
  writeSameParquet,
} from './readers-files.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string | Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};

async function failure(p: Promise<unknown>): Promise<DataFileError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DataFileError);
    return e as DataFileError;
  }
  throw new Error('expected a DataFileError');
}

describe('FITS binary tables', () => {
  it('reads every TFORM kind with units, UCDs, descriptions, nulls, scaling and the heap', async () => {
    const p = file('hand.fits', handFits());
    const ds = await openDataSource(p);
    expect(ds.format).toBe('fits');
    expect(ds.meta).toEqual({ name: 'SOURCES', frame: 'ICRS' });
    expect(ds.columns.map((c) => [c.name, c.datatype, c.arraysize])).toEqual([
      ['id', 'long', undefined],
      ['RA_deg', 'double', undefined],
      ['DEJ2000', 'double', undefined],
      ['flux', 'float', undefined],
      ['n', 'int', undefined],
      ['u16', 'int', undefined],
      ['b', 'unsignedByte', undefined],
      ['ok', 'boolean', undefined],
      ['name', 'char', '8*'],
      ['vec', 'float', '3'],
      ['flags', 'bit', '4'],
      ['scaled', 'double', undefined],
      ['u32', 'long', undefined],
      ['spec', 'float', '*'],
    ]);
    expect(ds.columns[1]).toMatchObject({
      unit: 'deg',
      ucd: 'pos.eq.ra;meta.main',
      description: 'Right ascension',
    });
    expect(ds.columns[0]).toMatchObject({ ucd: 'meta.id;meta.main', description: 'Source identifier' });
    expect(ds.columns[3]).toMatchObject({ unit: 'Jy', description: 'Peak flux density' });
    const { rows } = await readAll(ds);
    expect(rows).toEqual(EXPECTED_FITS);
    expect(ds.bytesRead()).toBe(ds.totalBytes);
  });

  it('reads gzip-compressed FITS except variable-length arrays, which need random access', async () => {
    const p = file('hand.fits.gz', gzipSync(handFits()));
    const err = await failure(openDataSource(p));
    expect(err.message).toMatch(/TFORM14 = '1PE\(2\)'.*variable-length.*gunzip/);
    const rows = sameRows(50);
    const gz = join(dir, 'plain.fits.gz');
    await writeEncoded(gz, 'fits', SAME_FIELDS, rows, true);
    expect((await readAll(await openDataSource(gz))).rows).toEqual(rows);
  });

  it('says a truncated file is truncated, with the row, before any row is read', async () => {
    const full = handFits();
    // The table's data (3 rows of 73 bytes and a 12-byte heap) is the last 2880-byte block.
    const dataStart = full.length - 2880;
    const p = file('cut.fits', full.subarray(0, dataStart + 73 + 10));
    const err = await failure(openDataSource(p));
    expect(err.message).toMatch(/truncated.*row 2 of 3/);
    expect(err.row).toBe(2);
    // gzip: known only when the stream ends, after the rows before it.
    const plain = join(dir, 'plain.fits');
    await writeEncoded(plain, 'fits', SAME_FIELDS, sameRows(100));
    const bytes = readFileSync(plain);
    const cutAt = bytes.indexOf(`END${' '.repeat(77)}`, bytes.indexOf('XTENSION')) + 80;
    const dataStartGz = Math.ceil(cutAt / 2880) * 2880;
    const rowBytes = Number(/NAXIS1\s*=\s*(\d+)/.exec(bytes.toString('latin1', 0, dataStartGz))?.[1]);
    const gz = file('cut.fits.gz', gzipSync(bytes.subarray(0, dataStartGz + rowBytes * 40 + 3)));
    const ds = await openDataSource(gz, { batchRows: 16 });
    const got: (readonly unknown[])[] = [];
    const e2 = await failure(
      (async () => {
        for await (const b of ds.batches()) got.push(...b.rows);
      })(),
    );
    await ds.close();
    expect(e2.message).toMatch(/truncated.*row 41 of 100/);
    expect(e2.row).toBe(41);
    expect(got).toHaveLength(32);
  });

  it('reads complex columns as [re, im] pairs, like the VOTable reader', async () => {
    const fields = [
      { name: 'z', datatype: 'doubleComplex' as const },
      { name: 'zz', datatype: 'floatComplex' as const, arraysize: '2' },
    ];
    const rows = [
      [
        [1, 2],
        [1, 2, 3, 4],
      ],
      [
        [3, -4],
        [5, 6, 7, 8],
      ],
    ];
    for (const fmt of ['fits', 'votable/binary2'] as const) {
      const p = join(dir, `complex.${fmt.replace('/', '_')}`);
      await writeEncoded(p, fmt, fields, rows);
      const ds = await openDataSource(p);
      expect(ds.columns, fmt).toEqual(fields);
      expect((await readAll(ds)).rows, fmt).toEqual(rows);
    }
  });

  it('refuses a FITS file without a binary table and a file that is not FITS', async () => {
    const img = handFits().subarray(0, 2880 * 3);
    expect((await failure(openDataSource(file('image.fits', img)))).message).toMatch(/no binary table/);
    const junk = file('junk.fits', Buffer.from('SIMPLE  = nonsense'));
    expect((await failure(openDataSource(junk))).message).toMatch(/not a FITS file/);
  });
});

describe('VOTable', () => {
  const rows = sameRows(30);
  it.each(['votable/td', 'votable/binary', 'votable/binary2'] as const)(
    'reads %s with FIELD metadata and nulls',
    async (fmt) => {
      const p = join(dir, `same.${fmt.replace('/', '_')}.vot`);
      await writeEncoded(p, fmt, SAME_FIELDS, rows);
      const ds = await openDataSource(p, { batchRows: 7 });
      expect(ds.format).toBe('votable');
      expect(ds.columns[1]).toEqual({
        name: 'ra',
        datatype: 'double',
        unit: 'deg',
        ucd: 'pos.eq.ra;meta.main',
      });
      const got = await readAll(ds);
      expect(got.firstRows).toEqual([1, 8, 15, 22, 29]);
      expect(got.rows).toEqual(rows);
    },
  );

  it('takes DESCRIPTION, utype, COOSYS and VALUES null from a hand-written TABLEDATA', async () => {
    const p = file(
      'sofia.xml',
      `<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
 <RESOURCE>
  <COOSYS ID="sys" system="ICRS" equinox="J2000"/>
  <TABLE name="SoFiA catalogue">
   <DESCRIPTION>Sources found by SoFiA-2 &amp; friends</DESCRIPTION>
   <FIELD name="id" datatype="int" ucd="meta.id"><VALUES null="-1"/></FIELD>
   <FIELD name="ra" datatype="double" unit="deg" ucd="pos.eq.ra" utype="stc:x" ref="sys">
     <DESCRIPTION>Right
       ascension</DESCRIPTION></FIELD>
   <FIELD name="w" datatype="short" arraysize="2"/>
   <DATA><TABLEDATA>
    <TR><TD>1</TD><TD>10.5</TD><TD>1 2</TD></TR>
    <TR><TD>-1</TD><TD>NaN</TD><TD></TD></TR>
   </TABLEDATA></DATA>
  </TABLE>
 </RESOURCE>
</VOTABLE>`,
    );
    const ds = await openDataSource(p);
    expect(ds.meta).toEqual({
      name: 'SoFiA catalogue',
      description: 'Sources found by SoFiA-2 & friends',
      frame: 'ICRS',
    });
    expect(ds.columns[1]).toEqual({
      name: 'ra',
      datatype: 'double',
      unit: 'deg',
      ucd: 'pos.eq.ra',
      utype: 'stc:x',
      description: 'Right ascension',
    });
    expect((await readAll(ds)).rows).toEqual([
      [1, 10.5, [1, 2]],
      [null, null, null],
    ]);
  });

  it('reads gzip and says a truncated document is truncated', async () => {
    const p = join(dir, 'same.vot.gz');
    await writeEncoded(p, 'votable/binary2', SAME_FIELDS, rows, true);
    expect((await readAll(await openDataSource(p))).rows).toEqual(rows);
    const full = join(dir, 'full.vot');
    await writeEncoded(full, 'votable/td', SAME_FIELDS, rows);
    truncateSync(full, Math.floor(readFileSync(full).length * 0.6));
    const err = await failure(openDataSource(full).then(readAll));
    expect(err.message).toMatch(/truncated/);
    expect(err.row).toBeGreaterThan(1);
  });
});

describe('CSV and TSV', () => {
  it('parses RFC 4180 quoting, CRLF, empty cells as null, and infers types from the sample', async () => {
    const p = file(
      'q.csv',
      'id,ra,name,ok,when\r\n' +
        '1,10.5,"Smith, J.",true,2020-01-01\r\n' +
        '2,,"say ""hi""",F,\r\n' +
        '3,1e-3,"two\nlines",,x\r\n' +
        '9007199254740993,-Inf,,t,y',
    );
    const ds = await openDataSource(p);
    expect(ds.format).toBe('csv');
    expect(ds.columns.map((c) => c.datatype)).toEqual(['long', 'double', 'char', 'boolean', 'char']);
    expect((await readAll(ds)).rows).toEqual([
      [1n, 10.5, 'Smith, J.', true, '2020-01-01'],
      [2n, null, 'say "hi"', false, null],
      [3n, 0.001, 'two\nlines', null, 'x'],
      [9007199254740993n, Number.NEGATIVE_INFINITY, null, true, 'y'],
    ]);
  });

  it('reads declared numbers straight from the text to the same values Number() gives', async () => {
    const cells = [
      '0',
      '-0',
      '+1',
      '.5',
      '5.',
      '-.5e-3',
      '1e22',
      '1e23',
      '1E5',
      '1e+5',
      '00012.5000',
      '0.1',
      '0.30000000000000004',
      '123456789012345',
      '1234567890123456',
      '9007199254740993',
      '1.7976931348623157e308',
      '5e-324',
      '2.2250738585072014e-308',
      '0.000000000000000000001',
      '1.5e-22',
      '4.35',
      ' 7',
      '8 ',
    ];
    let x = 7;
    const rnd = () => {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      return x / 0x7fffffff;
    };
    for (let i = 0; i < 3000; i++) {
      const v = (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20);
      const digits = 1 + Math.floor(rnd() * 17);
      cells.push(i % 3 === 0 ? v.toExponential(digits - 1) : i % 3 === 1 ? v.toPrecision(digits) : String(v));
    }
    const ints = ['0', '-2147483648', '2147483647', '+12', '007', '-5'];
    let text = 'd,f,i\n';
    cells.forEach((c, k) => {
      text += `${c},${c},${ints[k % ints.length]}\n`;
    });
    const ds = await openDataSource(file('numbers.csv', text), {
      sampleRows: 1,
      batchRows: 100,
      types: { d: 'double', f: 'float', i: 'int' },
    });
    const got = (await readAll(ds)).rows;
    expect(got).toEqual(
      cells.map((c, k) => [Number(c), Math.fround(Number(c)), Number(ints[k % ints.length])]),
    );
    const big = file('range.csv', `n\n1\n2\n40000\n`);
    const err = await failure(
      openDataSource(big, { sampleRows: 1, types: { n: 'short' } }).then((d) => readAll(d)),
    );
    expect(err.message).toMatch(/row 3, column "n": 40000 is out of range for short/);
  });

  it('names the row and column of a cell that does not fit the inferred type', async () => {
    let text = 'id,mag\n';
    for (let i = 1; i <= 30; i++) text += `${i},${i === 25 ? 'bright' : i / 2}\n`;
    const ds = await openDataSource(file('bad.csv', text), { sampleRows: 10, batchRows: 8 });
    expect(ds.columns[1].datatype).toBe('double');
    const err = await failure(readAll(ds));
    expect(err.message).toMatch(/^row 25, column "mag": "bright" is not a double/);
    expect([err.row, err.column]).toEqual([25, 'mag']);
  });

  it('uses the given datatypes instead of inferring, and reports wrong field counts and truncation', async () => {
    const p = file('t.csv', 'a,b\n1,2\n3,4.5\n');
    const ds = await openDataSource(p, { types: { b: 'double' }, sampleRows: 1 });
    expect(ds.columns.map((c) => c.datatype)).toEqual(['long', 'double']);
    expect((await readAll(ds)).rows).toEqual([
      [1n, 2],
      [3n, 4.5],
    ]);
    const short = await failure(openDataSource(file('s.csv', 'a,b,c\n1,2,3\n4,5\n6,7,8\n')).then(readAll));
    expect(short.message).toMatch(/^row 2: 2 fields for 3 columns/);
    const cut = await failure(openDataSource(file('cut.csv', 'a,b,c\n1,2,3\n4,5')).then(readAll));
    expect(cut.message).toMatch(/row 2: .*truncated/);
    const quote = await failure(openDataSource(file('quote.csv', 'a,b\n1,"open\n2,3\n')).then(readAll));
    expect(quote.message).toMatch(/row 1: .*quoted field.*truncated/);
  });

  it('hands numbers out as checked text on request, and still refuses cells that do not fit', async () => {
    const p = file('text.csv', 'id,x,n\n1, 2.5 ,3\n-12345678901234567,-inf,\n9223372036854775807,NaN,4\n');
    const ds = await openDataSource(p, { numbersAsText: true, types: { n: 'int' } });
    expect(ds.columns.map((c) => c.datatype)).toEqual(['long', 'double', 'int']);
    expect((await readAll(ds)).rows).toEqual([
      ['1', '2.5', '3'],
      ['-12345678901234567', '-Infinity', null],
      ['9223372036854775807', null, '4'],
    ]);
    const big = file('big.csv', 'id\n1\n2\n9223372036854775808\n');
    const err = await failure(openDataSource(big, { numbersAsText: true, sampleRows: 2 }).then(readAll));
    expect(err.message).toMatch(/^row 3, column "id": 9223372036854775808 is out of range for long/);
    const hex = file('hex.csv', 'x\n1.5\n0x10\n');
    const e2 = await failure(openDataSource(hex, { numbersAsText: true, sampleRows: 1 }).then(readAll));
    expect(e2.message).toMatch(/^row 2, column "x": "0x10" is not a double/);
  });

  it('reads TSV (with vonode escapes), batches and gzip', async () => {
    let text = 'n\tlabel\n';
    for (let i = 1; i <= 25; i++) text += `${i}\t${i === 3 ? 'tab\\there' : `x${i}`}\n`;
    const ds = await openDataSource(file('t.tsv.gz', gzipSync(text)), { batchRows: 10 });
    expect(ds.format).toBe('tsv');
    const got = await readAll(ds);
    expect(got.firstRows).toEqual([1, 11, 21]);
    expect(got.rows[2]).toEqual([3n, 'tab\there']);
    expect(got.rows).toHaveLength(25);
  });

  it('refuses an empty file and one that is not UTF-8', async () => {
    expect((await failure(openDataSource(file('e.csv', '')))).message).toMatch(/empty/);
    const bad = await failure(openDataSource(file('l1.csv', Buffer.from('a,b\n\xe9,1\n', 'latin1'))));
    expect(bad.message).toMatch(/UTF-8/);
  });
});

describe('Parquet', () => {
  it('reads row groups in batches with types mapped and nulls', async () => {
    const rows = sameRows(2500);
    const p = join(dir, 'same.parquet');
    await writeSameParquet(p, rows, 1000);
    const ds = await openDataSource(p, { batchRows: 600 });
    expect(ds.format).toBe('parquet');
    expect(ds.columns.map((c) => c.datatype)).toEqual([
      'long',
      'double',
      'double',
      'double',
      'char',
      'boolean',
    ]);
    const got = await readAll(ds);
    expect(got.firstRows).toEqual([1, 601, 1001, 1601, 2001]);
    expect(got.rows).toEqual(rows);
  });

  it('says a truncated Parquet file is not readable', async () => {
    const p = join(dir, 'cut.parquet');
    await writeSameParquet(p, sameRows(100));
    truncateSync(p, 500);
    expect((await failure(openDataSource(p))).message).toMatch(/truncated/);
  });
});

describe('one table, four formats', () => {
  it('gives the same columns and rows from FITS, VOTable, CSV and Parquet', async () => {
    const rows = sameRows(1234);
    const paths = {
      fits: join(dir, 'x.fits'),
      votable: join(dir, 'x.vot'),
      csv: join(dir, 'x.csv'),
      parquet: join(dir, 'x.parquet'),
    };
    await writeEncoded(paths.fits, 'fits', SAME_FIELDS, rows);
    await writeEncoded(paths.votable, 'votable/binary2', SAME_FIELDS, rows);
    await writeEncoded(paths.csv, 'csv', SAME_FIELDS, rows);
    await writeSameParquet(paths.parquet, rows, 500);
    for (const [format, p] of Object.entries(paths)) {
      const ds = await openDataSource(p, { batchRows: 100 });
      expect(ds.format, p).toBe(format);
      expect(
        ds.columns.map((c) => c.name),
        format,
      ).toEqual(SAME_FIELDS.map((f) => f.name));
      expect(
        ds.columns.map((c) => c.datatype),
        format,
      ).toEqual(['long', 'double', 'double', 'double', 'char', 'boolean']);
      expect((await readAll(ds)).rows, format).toEqual(rows);
    }
  });
});
