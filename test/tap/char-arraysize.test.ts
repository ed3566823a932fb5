import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseDescription, publishedTableOf } from '../../src/publish/index.js';
import { startTestNode } from '../support/node.js';

// Issue 19: STILTS tapskymatch refused demo.sources ("Refuse to decode assumed char
// arraysize"): every char column now has an explicit arraysize, the same in TAP_SCHEMA and in
// every result (VOT-18, VOT-19, TAP-59).

let node: Awaited<ReturnType<typeof startTestNode>>;

beforeAll(async () => {
  node = await startTestNode();
}, 120000);

afterAll(async () => {
  await node?.stop();
});

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  isArray: (n) => ['RESOURCE', 'TR', 'TD', 'FIELD'].includes(n),
});

async function query(adql: string) {
  const res = await fetch(`${node.url}/tap/sync`, {
    method: 'POST',
    body: new URLSearchParams({ LANG: 'ADQL', QUERY: adql, RESPONSEFORMAT: 'votable/td', MAXREC: '100000' }),
  });
  const body = await res.text();
  expect(res.status, body).toBe(200);
  interface Table {
    FIELD: Array<Record<string, string>>;
    DATA?: { TABLEDATA?: { TR?: Array<{ TD: unknown[] }> } };
  }
  const resources = xml.parse(body).VOTABLE.RESOURCE as Array<{ type: string; TABLE: Table }>;
  const table = resources.find((r) => r.type === 'results')!.TABLE;
  const fields = table.FIELD;
  const rows = (table.DATA?.TABLEDATA?.TR ?? []).map((r) =>
    r.TD.map((c) => (c === '' || c === undefined ? null : String(c))),
  );
  return { fields, rows };
}

describe('char columns have an explicit arraysize (VOT-18, VOT-19)', () => {
  test('no char or unicodeChar column in TAP_SCHEMA lacks one, nor says 1 (TAP-59)', async () => {
    const { rows } = await query(
      "SELECT table_name, column_name, arraysize FROM TAP_SCHEMA.columns WHERE datatype IN ('char', 'unicodeChar')",
    );
    expect(rows.length).toBeGreaterThan(20);
    expect(rows.filter((r) => r[2] === null || r[2] === '1')).toEqual([]);
  });

  test("every table of the node's own schemas: the FIELDs of SELECT * say what TAP_SCHEMA says", async () => {
    // The node's own schemas: other test files publish and drop tables of their own in the
    // shared test database while this runs, so a listed table may be gone by its query.
    const { rows: tables } = await query(
      "SELECT table_name FROM TAP_SCHEMA.tables WHERE schema_name IN ('TAP_SCHEMA', 'tap_schema', 'ivoa', 'demo', 'vonode')",
    );
    const { rows: cols } = await query(
      // In column_index order, the order of SELECT * (TAP-58): rows have no order of their own.
      'SELECT table_name, column_name, datatype, arraysize FROM TAP_SCHEMA.columns ORDER BY table_name, column_index',
    );
    expect(tables.length).toBeGreaterThan(5);
    for (const [table] of tables) {
      const { fields } = await query(`SELECT TOP 1 * FROM ${table}`);
      const declared = cols.filter((c) => c[0] === table);
      expect(
        fields.map((f) => [f.name, f.datatype, f.arraysize ?? null]),
        table!,
      ).toEqual(declared.map((c) => [c[1]!.replace(/^"|"$/g, ''), c[2], c[3]]));
      for (const f of fields)
        if (f.datatype === 'char' || f.datatype === 'unicodeChar')
          expect(f.arraysize, `${table}.${f.name}`).toBeTruthy();
    }
  });

  test("demo.sources' s_code, the column tapskymatch refused, is char *", async () => {
    const { fields } = await query('SELECT TOP 1 s_code FROM demo.sources');
    expect(fields[0]).toMatchObject({ name: 's_code', datatype: 'char', arraysize: '*' });
  });

  test('a published string column described without arraysize is published as *', () => {
    const desc = parseDescription(
      `schema: {name: radio, description: radio}
tables:
  - name: t
    description: t
    columns:
      - {name: code, datatype: char, description: a code}
      - {name: label, datatype: unicodeChar, description: a label}
      - {name: n, datatype: int, description: a number}
      - {name: fixed, datatype: char, arraysize: '8', description: fixed}
`,
      't.yaml',
    );
    const t = publishedTableOf(desc.tables[0], { sqlSchema: 'radio', sqlTable: 't' }, 0);
    expect(t.columns.map((c) => c.arraysize)).toEqual(['*', '*', undefined, '8']);
  });
});
