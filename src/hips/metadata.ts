import type { PublishedColumn } from '../tap/tables/model.js';

const xml = (s: string) =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/**
 * Metadata.xml of a catalogue HiPS (HIPS-01, HIPS-09): a VOTable with no rows whose FIELDs
 * describe the TSV columns in order. Aladin reads the columns by position from it and finds
 * the position by the UCDs pos.eq.ra / pos.eq.dec.
 */
export function catalogueMetadata(
  name: string,
  description: string,
  columns: readonly PublishedColumn[],
): string {
  const fields = columns
    .map((c) => {
      const attrs = [
        `name="${xml(c.name.replace(/^"(.*)"$/, '$1'))}"`,
        `datatype="${xml(c.datatype)}"`,
        c.arraysize ? `arraysize="${xml(c.arraysize)}"` : c.datatype === 'char' ? 'arraysize="*"' : '',
        c.ucd ? `ucd="${xml(c.ucd)}"` : '',
        c.unit ? `unit="${xml(c.unit)}"` : '',
      ].filter(Boolean);
      return `      <FIELD ${attrs.join(' ')}><DESCRIPTION>${xml(c.description)}</DESCRIPTION></FIELD>`;
    })
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
  <RESOURCE type="results">
    <TABLE name="${xml(name)}">
      <DESCRIPTION>${xml(description)}</DESCRIPTION>
${fields}
      <DATA><TABLEDATA></TABLEDATA></DATA>
    </TABLE>
  </RESOURCE>
</VOTABLE>
`;
}
