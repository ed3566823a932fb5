import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { NS } from './vosi.js';

const VOSI_TABLES = 'http://www.ivoa.net/xml/VOSITables/v1.0';

/** What VOSI tables needs of a column (VOSI-25, VOSI-26). */
export interface TableSetColumn {
  readonly name: string;
  readonly datatype: string;
  readonly arraysize?: string;
  readonly xtype?: string;
  readonly unit?: string;
  readonly ucd?: string;
  readonly utype?: string;
  readonly description?: string;
  readonly indexed?: boolean;
  readonly principal?: boolean;
  readonly std?: boolean;
}

export interface TableSetTable {
  readonly schema: string;
  readonly name: string;
  readonly type: 'table' | 'view';
  readonly description?: string;
  readonly utype?: string;
  /** Row count when known: VODataService 1.2's <nrows>, which TOPCAT shows beside the name. */
  readonly nrows?: number;
  readonly columns: readonly TableSetColumn[];
  readonly foreignKeys?: ReadonlyArray<{
    readonly target: string;
    readonly columns: ReadonlyArray<readonly [string, string]>;
    readonly description?: string;
  }>;
}

export interface TableSetSchema {
  readonly name: string;
  readonly description?: string;
  readonly utype?: string;
  readonly tables: readonly TableSetTable[];
}

/** VOSI tableset (VOSI-21..VOSI-28): detail 'min' leaves out columns and keys. */
export function tablesetDocument(schemas: readonly TableSetSchema[], detail: 'min' | 'max'): string {
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele(VOSI_TABLES, 'vosi:tableset', {
    'xmlns:vs': NS.vs,
    'xmlns:xsi': NS.xsi,
  });
  writeSchemas(root, schemas, detail);
  return root.end({ prettyPrint: true });
}

/** The schema elements of a tableset, into a vosi:tableset or a registry record's tableset (REG-16). */
export function writeSchemas(
  parent: XMLBuilder,
  schemas: readonly TableSetSchema[],
  detail: 'min' | 'max',
): void {
  for (const s of schemas) {
    // Children are unqualified (VOSI-21): VODataService uses elementFormDefault unqualified.
    const se = parent.ele('', 'schema');
    se.ele('', 'name').txt(s.name);
    if (s.description) se.ele('', 'description').txt(s.description);
    if (s.utype) se.ele('', 'utype').txt(s.utype);
    for (const t of s.tables) writeTable(se.ele('', 'table', { type: tableType(t) }), t, detail);
  }
}

/** VOSI /tables/{name} (VOSI-29): one table in full detail. */
export function tableDocument(table: TableSetTable): string {
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele(VOSI_TABLES, 'vosi:table', {
    'xmlns:vs': NS.vs,
    'xmlns:xsi': NS.xsi,
    type: tableType(table),
  });
  writeTable(root, table, 'max');
  return root.end({ prettyPrint: true });
}

// VOSI-30: table -> output, view -> view.
const tableType = (t: TableSetTable) => (t.type === 'view' ? 'view' : 'output');

function writeTable(te: XMLBuilder, t: TableSetTable, detail: 'min' | 'max'): void {
  te.ele('', 'name').txt(`${t.schema}.${t.name}`);
  if (t.description) te.ele('', 'description').txt(t.description);
  if (t.utype) te.ele('', 'utype').txt(t.utype);
  // VOSI-24: VODataService 1.2 added nrows in the same namespace (v1.1), between utype and column.
  if (t.nrows !== undefined && Number.isSafeInteger(t.nrows) && t.nrows >= 0)
    te.ele('', 'nrows').txt(String(t.nrows));
  if (detail === 'min') return;
  for (const c of t.columns) {
    const ce = te.ele('', 'column', c.std ? { std: 'true' } : {});
    ce.ele('', 'name').txt(c.name);
    if (c.description) ce.ele('', 'description').txt(c.description);
    if (c.unit) ce.ele('', 'unit').txt(c.unit);
    if (c.ucd) ce.ele('', 'ucd').txt(c.ucd);
    if (c.utype) ce.ele('', 'utype').txt(c.utype);
    const attrs: Record<string, string> = { 'xsi:type': 'vs:VOTableType' };
    if (c.arraysize) attrs.arraysize = c.arraysize;
    if (c.xtype) attrs.extendedType = c.xtype;
    ce.ele('', 'dataType', attrs).txt(c.datatype);
    if (c.indexed) ce.ele('', 'flag').txt('indexed');
    if (c.principal) ce.ele('', 'flag').txt('principal');
  }
  for (const fk of t.foreignKeys ?? []) {
    const fe = te.ele('', 'foreignKey');
    fe.ele('', 'targetTable').txt(fk.target);
    for (const [from, to] of fk.columns) {
      const fc = fe.ele('', 'fkColumn');
      fc.ele('', 'fromColumn').txt(from);
      fc.ele('', 'targetColumn').txt(to);
    }
    if (fk.description) fe.ele('', 'description').txt(fk.description);
  }
}
