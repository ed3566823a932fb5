/**
 * A local table for TAP_UPLOAD. TAP 1.1 uploads are VOTables (TAP §2.5.6); a CSV file is
 * turned into one here, each column typed from its values: long when every value is an
 * integer, double when every value is a number, else char. Empty cells are nulls.
 */

const xml = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** RFC 4180 records: quoted fields may hold commas, quotes ("") and line breaks. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      field = '';
      if (record.length > 1 || record[0] !== '') records.push(record);
      record = [];
    } else field += c;
  }
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}

const INTEGER = /^[+-]?\d{1,18}$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(Infinity|NaN)$/;

export function csvToVOTable(text: string, tableName: string): string {
  const [header, ...rows] = parseCsv(text.replace(/^\uFEFF/, ''));
  if (!header || header.length === 0 || header.every((h) => h.trim() === ''))
    throw new Error('the CSV file has no header line naming its columns');
  const names = header.map((h, i) => h.trim() || `col${i + 1}`);
  const types = names.map((_, c) => {
    let t: 'long' | 'double' | 'char' = 'long';
    for (const r of rows) {
      const v = (r[c] ?? '').trim();
      if (v === '') continue;
      if (t === 'long' && !INTEGER.test(v)) t = NUMBER.test(v) ? 'double' : 'char';
      else if (t === 'double' && !NUMBER.test(v)) t = 'char';
      if (t === 'char') break;
    }
    return t;
  });
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>\n<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">\n<RESOURCE>\n',
    `<TABLE name="${xml(tableName)}">\n`,
  ];
  names.forEach((n, i) => {
    out.push(
      `<FIELD name="${xml(n)}" datatype="${types[i]}"${types[i] === 'char' ? ' arraysize="*"' : ''}/>\n`,
    );
  });
  out.push('<DATA><TABLEDATA>\n');
  for (const r of rows) {
    out.push('<TR>');
    for (let c = 0; c < names.length; c++) {
      const v = (r[c] ?? '').trim();
      out.push(v === '' ? '<TD/>' : `<TD>${xml(v)}</TD>`);
    }
    out.push('</TR>\n');
  }
  out.push('</TABLEDATA></DATA>\n</TABLE>\n</RESOURCE>\n</VOTABLE>\n');
  return out.join('');
}

const isCsv = (file: File) => /\.csv$/i.test(file.name) || file.type === 'text/csv';

/** An ADQL name for the upload from the file's name: letters, digits and _ only. */
export function uploadNameFor(fileName: string): string {
  const base = fileName
    .replace(/\.[^.]*$/, '')
    .replace(/[^A-Za-z0-9_]/g, '_')
    .replace(/^[^A-Za-z]+/, '');
  return base.slice(0, 60) || 'upload';
}

/** The file as the VOTable the node reads. */
export async function uploadBody(file: File, name: string): Promise<Blob> {
  if (!isCsv(file)) return file;
  return new Blob([csvToVOTable(await file.text(), name)], { type: 'application/x-votable+xml' });
}
