/**
 * An incremental reader of a TABLEDATA VOTable (VOTable 1.4 §5.1) as its bytes arrive: the
 * FIELDs when the header is in, then the rows block by block, then the INFOs after the table
 * (QUERY_STATUS OVERFLOW or ERROR, DALI-47). Rows stay raw (the text inside <TR>) until a
 * page shows them, so a large result costs one string per row, not a DOM or cell objects.
 */

export interface Field {
  readonly name: string;
  readonly datatype: string;
  readonly arraysize?: string;
  readonly unit?: string;
  readonly ucd?: string;
  readonly xtype?: string;
  readonly description?: string;
}

export interface Info {
  readonly name: string;
  readonly value: string;
  readonly text: string;
}

export interface TableEvents {
  header(fields: Field[], infos: Info[]): void;
  rows(rows: string[]): void;
  /**
   * The INFOs after the table; QUERY_STATUS among them says OK, OVERFLOW or ERROR.
   * `complete` is false when the document stopped inside the table or before </VOTABLE>.
   */
  end(infos: Info[], complete: boolean): void;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function decodeXml(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (m, e: string) => {
    if (e[0] === '#')
      return String.fromCodePoint(e[1] === 'x' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return ENTITIES[e] ?? m;
  });
}

function attributes(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(/([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g))
    out[m[1]!] = decodeXml(m[2] ?? m[3] ?? '');
  return out;
}

function parseFields(head: string): Field[] {
  const fields: Field[] = [];
  for (const m of head.matchAll(/<FIELD\b([^>]*?)(?:\/>|>([\s\S]*?)<\/FIELD>)/g)) {
    const a = attributes(m[1]!);
    const d = m[2] ? /<DESCRIPTION>([\s\S]*?)<\/DESCRIPTION>/.exec(m[2]) : null;
    fields.push({
      name: a.name ?? a.ID ?? `col${fields.length + 1}`,
      datatype: a.datatype ?? 'char',
      arraysize: a.arraysize,
      unit: a.unit,
      ucd: a.ucd,
      xtype: a.xtype,
      description: d ? decodeXml(d[1]!.trim()) : undefined,
    });
  }
  return fields;
}

export function parseInfos(s: string): Info[] {
  const infos: Info[] = [];
  for (const m of s.matchAll(/<INFO\b([^>]*?)(?:\/>|>([\s\S]*?)<\/INFO>)/g)) {
    const a = attributes(m[1]!);
    infos.push({ name: a.name ?? '', value: a.value ?? '', text: decodeXml((m[2] ?? '').trim()) });
  }
  return infos;
}

/** The cells of one raw row; an empty cell is null (VOTable 1.4 §5.1: no value). */
export function parseCells(row: string): Array<string | null> {
  const cells: Array<string | null> = [];
  for (const m of row.matchAll(/<TD\b[^>]*?(?:\/>|>([\s\S]*?)<\/TD>)/g))
    cells.push(m[1] === undefined || m[1] === '' ? null : decodeXml(m[1]));
  return cells;
}

export class TableDataReader {
  private buf = '';
  private state: 'head' | 'rows' | 'tail' = 'head';
  private headText = '';

  constructor(private readonly on: TableEvents) {}

  push(chunk: string): void {
    this.buf += chunk;
    if (this.state === 'head') {
      const open = /<TABLEDATA\s*(\/?)>/.exec(this.buf);
      if (!open) return;
      this.headText = this.buf.slice(0, open.index);
      this.on.header(parseFields(this.headText), parseInfos(this.headText));
      this.buf = this.buf.slice(open.index + open[0].length);
      this.state = open[1] === '/' ? 'tail' : 'rows';
    }
    if (this.state === 'rows') {
      const close = this.buf.indexOf('</TABLEDATA>');
      const upto =
        close >= 0 ? close : this.buf.lastIndexOf('</TR>') + (this.buf.lastIndexOf('</TR>') >= 0 ? 5 : 0);
      if (upto > 0) {
        const block = this.buf.slice(0, upto);
        const rows: string[] = [];
        for (const part of block.split('</TR>')) {
          const at = part.indexOf('<TR');
          if (at < 0) continue;
          rows.push(part.slice(part.indexOf('>', at) + 1));
        }
        if (rows.length > 0) this.on.rows(rows);
      }
      if (close >= 0) {
        this.buf = this.buf.slice(close + '</TABLEDATA>'.length);
        this.state = 'tail';
      } else if (upto > 0) {
        this.buf = this.buf.slice(upto);
      }
    }
  }

  /** The document is complete: the INFOs after the table, or of a document without one. */
  end(): void {
    const complete = this.state !== 'rows' && this.buf.includes('</VOTABLE>');
    if (this.state === 'head') this.on.header([], parseInfos(this.buf));
    this.on.end(parseInfos(this.buf), complete);
    this.buf = '';
  }
}
