import { describe, expect, it } from 'vitest';
import { encode, type ResultDocument, readVOTable, VOTableReadError } from '../../votable/index.js';
import { collect, readAll } from './helpers.js';

const HEAD =
  '<?xml version="1.0"?>\n<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>' +
  '<FIELD name="a" datatype="int"/><FIELD name="p" datatype="double" arraysize="3"/><DATA><TABLEDATA>';
const TAIL = '</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>';

async function readError(
  input: string | Buffer | AsyncIterable<Buffer | string>,
  limits = {},
): Promise<VOTableReadError> {
  try {
    await readAll(input, limits);
  } catch (e) {
    expect(e).toBeInstanceOf(VOTableReadError);
    return e as VOTableReadError;
  }
  throw new Error('expected a VOTableReadError');
}

const doc = (rows: unknown[][]): ResultDocument => ({
  fields: [
    { name: 'a', datatype: 'int' },
    { name: 's', datatype: 'char', arraysize: '*' },
  ],
  rows,
});

describe('readVOTable accepts', () => {
  it('a TABLEDATA upload with entities, CDATA, comments, CRLF and whitespace-significant chars (VOT-24)', async () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\r\n<VOTABLE version="1.3" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">' +
      '<RESOURCE type="results"><INFO name="QUERY_STATUS" value="OK"/><TABLE name="up">' +
      '<FIELD name="id" datatype="long"><VALUES null="-1"/></FIELD><FIELD name="s" datatype="char" arraysize="*"/>' +
      '<FIELD name="h" datatype="short"/><DATA><TABLEDATA>\r\n' +
      '<TR><TD>1</TD><TD> a&amp;b <!-- c --><![CDATA[<x>]]></TD><TD>0x7fff</TD></TR>' +
      '<TR><TD>-1</TD><TD/><TD> 12 </TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>';
    const r = await readAll(xml, {}, 7);
    expect(r.fields.map((f) => f.name)).toEqual(['id', 's', 'h']);
    expect(r.rows).toEqual([
      [1n, ' a&b <x>', 32767],
      [null, null, 12],
    ]);
  });

  it('documents without a namespace and VOTable 1.2', async () => {
    const a = await readAll(
      '<VOTABLE><RESOURCE><TABLE><FIELD name="x" datatype="float"/><DATA><TABLEDATA><TR><TD>1.5</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>',
    );
    expect(a.rows).toEqual([[1.5]]);
    const b = await readAll(
      '<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.2"><RESOURCE><TABLE><FIELD name="x" datatype="boolean"/><DATA><TABLEDATA><TR><TD>t</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>',
    );
    expect(b.rows).toEqual([[true]]);
  });

  it('yields fields first, then rows in batches of batchRows', async () => {
    const rows = Array.from({ length: 2500 }, (_, i) => [i, `r${i}`]);
    const bytes = await collect(encode('votable/binary2', doc(rows)));
    const kinds: string[] = [];
    for await (const ev of readVOTable([bytes], { batchRows: 1000 }))
      kinds.push(ev.kind === 'rows' ? `rows:${ev.rows.length}` : ev.kind);
    expect(kinds).toEqual(['fields', 'rows:1000', 'rows:1000', 'rows:500']);
  });
});

describe('readVOTable refuses malformed input with a VOTableReadError', () => {
  it('truncated TABLEDATA', async () => {
    const e = await readError(`${HEAD}<TR><TD>1</TD><TD>1 2 3</TD></TR><TR><TD>2</TD><TD>1 2`);
    expect(e.message).toMatch(/truncated/);
  });

  it('truncated BINARY2 stream', async () => {
    const full = (
      await collect(
        encode(
          'votable/binary2',
          doc([
            [1, 'abc'],
            [2, 'defgh'],
          ]),
        ),
      )
    ).toString();
    const b64 = /<STREAM encoding="base64">\s*([^<\s]*)/.exec(full)![1];
    // Drop the last 8 base64 characters (6 bytes) but keep the XML well formed.
    const cut = full.replace(b64, b64.slice(0, -8));
    const e = await readError(cut);
    expect(e.message).toMatch(/ends inside row 2/);
    const eof = await readError(full.slice(0, full.indexOf(b64) + 10));
    expect(eof.message).toMatch(/truncated|ends/);
  });

  it('a cell that does not match its arraysize, naming row and column', async () => {
    const e = await readError(
      `${HEAD}<TR><TD>1</TD><TD>1 2 3</TD></TR><TR><TD>2</TD><TD>1 2</TD></TR>${TAIL}`,
    );
    expect(e.message).toBe('row 2, column "p": arraysize "3" needs 3 values, found 2');
    expect(e.row).toBe(2);
    expect(e.column).toBe('p');
  });

  it('a bad arraysize declaration', async () => {
    const e = await readError(HEAD.replace('arraysize="3"', 'arraysize="3x*x2"') + TAIL);
    expect(e.message).toMatch(/arraysize "3x\*x2" is not a VOTable arraysize/);
  });

  it('a value that is not of its datatype', async () => {
    const e = await readError(`${HEAD}<TR><TD>one</TD><TD>1 2 3</TD></TR>${TAIL}`);
    expect(e.message).toBe('row 1, column "a": "one" is not an int');
  });

  it('bad base64', async () => {
    const full = (await collect(encode('votable/binary2', doc([[1, 'abc']])))).toString();
    const e = await readError(full.replace(/(<STREAM encoding="base64">\s*)/, '$1AB*D'));
    expect(e.message).toMatch(/bad base64 in STREAM: character "\*"/);
    const pad = await readError(full.replace(/(<STREAM encoding="base64">\s*)/, '$1AB==AAA'));
    expect(pad.message).toMatch(/base64/);
  });

  it('DOCTYPE, so no entity expansion (billion laughs)', async () => {
    const lol =
      '<?xml version="1.0"?><!DOCTYPE VOTABLE [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>' +
      '<VOTABLE><RESOURCE><TABLE><FIELD name="x" datatype="char" arraysize="*"/><DATA><TABLEDATA><TR><TD>&lol2;</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>';
    const e = await readError(lol);
    expect(e.message).toMatch(/DOCTYPE is not allowed/);
  });

  it('an endless line without markup stops at maxCellLength without buffering it', async () => {
    let pulled = 0;
    async function* huge(where: 'td' | 'attr' | 'outside'): AsyncGenerator<Buffer> {
      const start =
        where === 'td'
          ? `${HEAD}<TR><TD>`
          : where === 'attr'
            ? '<VOTABLE><RESOURCE name="'
            : '<VOTABLE><RESOURCE>';
      yield Buffer.from(start);
      const mb = Buffer.alloc(1024 * 1024, 0x41);
      for (let i = 0; i < 1024; i++) {
        pulled += mb.length;
        yield mb; // 1 GiB in all if nobody stops
      }
    }
    for (const where of ['td', 'attr', 'outside'] as const) {
      pulled = 0;
      const e = await readError(huge(where), { maxCellLength: 1024 * 1024 });
      expect(e.message).toMatch(/longer than 1048576 characters/);
      expect(pulled).toBeLessThan(4 * 1024 * 1024);
    }
  });

  it('a wrong namespace', async () => {
    const e = await readError('<VOTABLE xmlns="http://example.org/not-votable"><RESOURCE/></VOTABLE>');
    expect(e.message).toBe(
      '<VOTABLE> is in namespace "http://example.org/not-votable", not http://www.ivoa.net/xml/VOTable/v1.3',
    );
    const root = await readError('<html><body/></html>');
    expect(root.message).toMatch(/root element is <html>/);
  });

  it('more cells than FIELDs, and fewer', async () => {
    const more = await readError(`${HEAD}<TR><TD>1</TD><TD>1 2 3</TD><TD>x</TD></TR>${TAIL}`);
    expect(more.message).toBe('row 1 has more TD cells than the 2 FIELDs');
    const fewer = await readError(`${HEAD}<TR><TD>1</TD></TR>${TAIL}`);
    expect(fewer.message).toBe('row 1 has 1 TD cells for 2 FIELDs');
  });

  it('a binary variable-length count beyond the cell limit fails at once', async () => {
    const stream = Buffer.alloc(9);
    stream.writeUInt8(0, 0);
    stream.writeInt32BE(0x7ffffff0, 1); // int a (ignored), then a count of 2^31 characters
    const xml =
      '<VOTABLE xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE><FIELD name="s" datatype="char" arraysize="*"/>' +
      `<DATA><BINARY2><STREAM encoding="base64">${Buffer.concat([Buffer.from([0]), Buffer.from([0x7f, 0xff, 0xff, 0xf0]), Buffer.alloc(30)]).toString('base64')}</STREAM></BINARY2></DATA></TABLE></RESOURCE></VOTABLE>`;
    const e = await readError(xml);
    expect(e.message).toBe('row 1, column "s": a 2147483632-byte cell exceeds the limit of 1048576 bytes');
  });

  it('limits on rows, columns and bytes, named in the message', async () => {
    const rows = Array.from({ length: 50 }, (_, i) => [i, 'x']);
    const bytes = await collect(encode('votable/td', doc(rows)));
    expect((await readError(bytes, { maxRows: 10 })).message).toMatch(/more than 10 rows \(limit maxRows\)/);
    expect((await readError(bytes, { maxColumns: 1 })).message).toMatch(
      /more than 1 FIELDs \(limit maxColumns\)/,
    );
    expect((await readError(bytes, { maxBytes: 1000 })).message).toMatch(
      /larger than 1000 bytes \(limit maxBytes\)/,
    );
  });

  it('FITS serialisation, STREAM href and non-base64 encodings', async () => {
    const base =
      '<VOTABLE><RESOURCE><TABLE><FIELD name="x" datatype="int"/><DATA>%</DATA></TABLE></RESOURCE></VOTABLE>';
    expect((await readError(base.replace('%', '<FITS><STREAM href="x"/></FITS>'))).message).toMatch(
      /FITS-serialised/,
    );
    expect(
      (await readError(base.replace('%', '<BINARY><STREAM href="http://x/y"/></BINARY>'))).message,
    ).toMatch(/href/);
    expect(
      (await readError(base.replace('%', '<BINARY><STREAM encoding="gzip">x</STREAM></BINARY>'))).message,
    ).toMatch(/gzip/);
  });

  it('invalid UTF-8, unknown datatypes, and plain garbage', async () => {
    expect((await readError(Buffer.from([0x3c, 0x56, 0xff, 0xfe]))).message).toMatch(/UTF-8/);
    const dt = await readError(
      '<VOTABLE><RESOURCE><TABLE><FIELD name="x" datatype="string"/></TABLE></RESOURCE></VOTABLE>',
    );
    expect(dt.message).toMatch(/FIELD "x" has datatype "string"/);
    expect((await readError('not xml at all')).message).toMatch(/malformed XML|not a VOTable/);
    expect((await readError('')).message).toMatch(/empty/);
  });
});
