import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestNode, TEST_BASE_URL } from '../support/node.js';

// Issue 19: TAP results carry a DataLink service descriptor whenever a column of DataLink
// identifiers is selected, so clients (pyvo's iter_datalinks, TOPCAT) find each row's links.

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
  isArray: (name) => ['RESOURCE', 'FIELD', 'PARAM', 'GROUP', 'INFO', 'TR', 'TD'].includes(name),
});

interface Attrs {
  [k: string]: unknown;
}
interface VotResource extends Attrs {
  type?: string;
  utype?: string;
  PARAM?: Attrs[];
  GROUP?: Array<{ name: string; PARAM?: Attrs[] }>;
  TABLE?: { FIELD: Attrs[]; DATA?: { TABLEDATA?: { TR?: Array<{ TD: unknown[] }> } } };
}

function parse(body: string) {
  const resources = xml.parse(body).VOTABLE.RESOURCE as VotResource[];
  const results = resources.find((r) => r.type === 'results')!;
  const descriptors = resources.filter((r) => r.type === 'meta' && r.utype === 'adhoc:service');
  const fields = results.TABLE!.FIELD;
  const rows = (results.TABLE!.DATA?.TABLEDATA?.TR ?? []).map((tr) => tr.TD.map((c) => String(c ?? '')));
  return { descriptors, fields, rows };
}

const param = (r: VotResource, name: string) => r.PARAM?.find((p) => p.name === name)?.value;
const idParam = (r: VotResource) =>
  r.GROUP?.find((g) => g.name === 'inputParams')?.PARAM?.find((p) => p.name === 'ID');

async function sync(query: string, format = 'votable/td'): Promise<string> {
  const res = await fetch(`${node.url}/tap/sync`, {
    method: 'POST',
    body: new URLSearchParams({ LANG: 'ADQL', QUERY: query, RESPONSEFORMAT: format }),
  });
  const body = await res.text();
  expect(res.status, body).toBe(200);
  return body;
}

async function asyncQuery(query: string, format = 'votable/td'): Promise<string> {
  const res = await fetch(`${node.url}/tap/async`, {
    method: 'POST',
    body: new URLSearchParams({ LANG: 'ADQL', QUERY: query, RESPONSEFORMAT: format, PHASE: 'RUN' }),
    redirect: 'manual',
  });
  expect(res.status).toBe(303);
  const path = `/tap/async/${res.headers.get('location')!.split('/').pop()}`;
  for (let i = 0; i < 30; i++) {
    const phase = await (await fetch(`${node.url}${path}/phase?WAIT=10`)).text();
    if (phase === 'COMPLETED') return (await fetch(`${node.url}${path}/results/result`)).text();
    expect(['QUEUED', 'EXECUTING', 'PENDING']).toContain(phase);
  }
  throw new Error(`job ${path} did not finish`);
}

/** The descriptor checks every VOTable result with identifiers must pass (DL-50..DL-52, DL-56, OBS-86). */
function expectLinksDescriptor(body: string, column: string) {
  const { descriptors, fields, rows } = parse(body);
  expect(descriptors).toHaveLength(1);
  const d = descriptors[0];
  expect(param(d, 'standardID')).toBe('ivo://ivoa.net/std/DataLink#links-1.1');
  expect(param(d, 'accessURL')).toBe(`${TEST_BASE_URL}/datalink/links`);
  const id = idParam(d);
  expect(id?.value).toBe('');
  const field = fields.find((f) => f.name === column)!;
  // OBS-86: the FIELD carries the XML ID the descriptor's ID parameter refs.
  expect(field.ID).toBeTruthy();
  expect(id?.ref).toBe(field.ID);
  // The IDs are unique in the document (XML ID).
  const ids = fields.map((f) => f.ID).filter(Boolean);
  expect(new Set(ids).size).toBe(ids.length);
  return { descriptor: d, fields, rows, column: fields.indexOf(field) };
}

describe('DataLink descriptors in TAP results (DL-56, OBS-86)', () => {
  test('sync: selecting obs_publisher_did adds the {links} descriptor, and following it gives each row its links', async () => {
    const body = await sync(
      'SELECT obs_publisher_did, obs_id, dataproduct_type FROM ivoa.obscore ORDER BY obs_publisher_did',
    );
    const { descriptor, rows, column } = expectLinksDescriptor(body, 'obs_publisher_did');
    expect(rows.length).toBeGreaterThan(0);
    // DL-52 (column reference): the client sends the cell's value as ID.
    const url = String(param(descriptor, 'accessURL')).replace(TEST_BASE_URL, node.url);
    const dids = rows.map((r) => r[column]);
    const u = new URLSearchParams();
    for (const did of dids) u.append('ID', did);
    const links = await fetch(`${url}?${u}`);
    const text = await links.text();
    expect(links.status).toBe(200);
    const answered = [...text.matchAll(/<TR>\s*<TD>([^<]+)<\/TD>/g)].map((m) => m[1].replace(/&amp;/g, '&'));
    // Every product has links (its #this at least), none is an error row.
    expect(new Set(answered)).toEqual(new Set(dids));
    expect(text).not.toContain('NotFoundFault');
  });

  test('async gives the same descriptor (TAP-8)', async () => {
    const body = await asyncQuery('SELECT TOP 3 obs_publisher_did, s_ra FROM ivoa.obscore');
    expectLinksDescriptor(body, 'obs_publisher_did');
  });

  test('BINARY2 (COPY path) and SELECT * carry it too', async () => {
    const body = await sync('SELECT * FROM ivoa.obscore', 'votable');
    expect(body).toMatch(/<FIELD [^>]*ID="obs_publisher_did"/);
    expect(body).toContain('utype="adhoc:service"');
    expect(body).toMatch(
      /<PARAM [^>]*name="ID"[^>]*ref="obs_publisher_did"|<PARAM [^>]*ref="obs_publisher_did"[^>]*name="ID"/,
    );
  });

  test('an alias keeps the identifier: the FIELD is named by the alias and the ref follows it', async () => {
    const body = await sync('SELECT TOP 2 obs_publisher_did AS did, obs_id FROM ivoa.obscore');
    const { fields } = expectLinksDescriptor(body, 'did');
    expect(fields.find((f) => f.name === 'did')?.ID).toBe('did');
  });

  test('the identifier selected twice gets two unique IDs, each with its descriptor', async () => {
    const body = await sync(
      'SELECT TOP 2 o.obs_publisher_did, p.obs_publisher_did FROM ivoa.obscore AS o JOIN ivoa.obscore AS p ON o.obs_id = p.obs_id',
    );
    const { descriptors, fields } = parse(body);
    const ids = fields.map((f) => f.ID).filter(Boolean) as string[];
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    expect(descriptors.map((d) => idParam(d)?.ref).sort()).toEqual([...ids].sort());
  });

  test('no descriptor without an identifier column, nor for a computed value', async () => {
    for (const q of [
      'SELECT TOP 2 obs_id, s_ra FROM ivoa.obscore',
      "SELECT TOP 2 obs_publisher_did || 'x' AS other FROM ivoa.obscore",
      'SELECT TOP 2 source_id FROM demo.sources',
    ]) {
      const { descriptors, fields } = parse(await sync(q));
      expect(descriptors, q).toHaveLength(0);
      expect(fields.every((f) => f.ID === undefined)).toBe(true);
    }
  });
});
