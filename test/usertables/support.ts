import { encode, type Field, type OutputFormat } from '../../votable/index.js';

/** A VOSI table document as pyvo's create_table sends it (VOSITable form). */
export function vosiTable(
  name: string,
  columns: ReadonlyArray<{
    name: string;
    datatype: string;
    arraysize?: string;
    ucd?: string;
    unit?: string;
    type?: string;
  }>,
): string {
  const cols = columns
    .map(
      (c) => `  <column>
    <name>${c.name}</name>
    <description>the ${c.name} column</description>${c.unit ? `\n    <unit>${c.unit}</unit>` : ''}${c.ucd ? `\n    <ucd>${c.ucd}</ucd>` : ''}
    <dataType xsi:type="${c.type ?? 'vs:VOTableType'}"${c.arraysize ? ` arraysize="${c.arraysize}"` : ''}>${c.datatype}</dataType>
  </column>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<vosi:table xmlns:vosi="http://www.ivoa.net/xml/VOSITables/v1.0" xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" type="output">
  <name>${name}</name>
  <description>stars of a test</description>
${cols}
</vosi:table>
`;
}

/** The columns of the test tables, as VOTable FIELDs. */
export const STAR_FIELDS: Field[] = [
  { name: 'id', datatype: 'long', ucd: 'meta.id;meta.main' },
  { name: 'ra', datatype: 'double', unit: 'deg', ucd: 'pos.eq.ra;meta.main' },
  { name: 'dec', datatype: 'double', unit: 'deg', ucd: 'pos.eq.dec;meta.main' },
  { name: 'mag', datatype: 'float', unit: 'mag', ucd: 'phot.mag' },
  { name: 'label', datatype: 'char', arraysize: '*' },
];

export const STAR_COLUMNS = STAR_FIELDS.map((f) => ({
  name: f.name,
  datatype: f.datatype,
  ...(f.arraysize ? { arraysize: f.arraysize } : {}),
  ...(f.ucd ? { ucd: f.ucd } : {}),
  ...(f.unit ? { unit: f.unit } : {}),
}));

/** Rows first..first+n-1: positions near (10, -20) for even ids, far away for odd ones. */
export function starRows(first: number, n: number): unknown[][] {
  const rows: unknown[][] = [];
  for (let i = first; i < first + n; i++)
    rows.push([
      BigInt(i),
      i % 2 === 0 ? 10 + (i % 100) * 1e-4 : 200,
      i % 2 === 0 ? -20 : 45,
      (i % 20) + 0.5,
      `star ${i}`,
    ]);
  return rows;
}

/** The rows in a format vonode writes itself (TSV and CSV with their header line, as pyvo sends). */
export async function body(
  format: OutputFormat,
  rows: unknown[][],
  fields: Field[] = STAR_FIELDS,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of encode(format, { fields, rows })) parts.push(c);
  return Buffer.concat(parts);
}
