import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANONYMOUS, withReadOnlyIdentity } from '../../src/auth/index.js';
import { type ReadField, readVOTable } from '../../votable/index.js';
import { testDatabaseUrl } from '../support/db.js';
import { startTestNode } from '../support/node.js';
import { xsdErrors } from '../support/xsd.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;
let node: TestNode;
let pool: pg.Pool;

beforeAll(async () => {
  node = await startTestNode({ VONODE_SCS_MAX_SR: '5' });
  pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 });
});
afterAll(async () => {
  await node?.stop();
  await pool?.end();
});

interface Cone {
  status: number;
  contentType: string;
  text: string;
  fields: ReadField[];
  rows: unknown[][];
}

async function cone(params: Record<string, string>): Promise<Cone> {
  const res = await fetch(`${node.url}/scs/query?${new URLSearchParams(params)}`);
  const text = await res.text();
  const fields: ReadField[] = [];
  const rows: unknown[][] = [];
  if (text.includes('<TABLE'))
    for await (const ev of readVOTable([Buffer.from(text)])) {
      if (ev.kind === 'fields') fields.push(...ev.fields);
      else rows.push(...ev.rows);
    }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, fields, rows };
}

/** The rows an anonymous caller may see within the cone, by the exact spherical test (SCS-19). */
async function expectedIds(ra: number, dec: number, sr: number): Promise<string[]> {
  return withReadOnlyIdentity(pool, ANONYMOUS, async (client) => {
    const r = await client.query<{ id: string }>(
      `SELECT source_id::text AS id FROM demo.sources
       WHERE sind(dec) * sind($2) + cosd(dec) * cosd($2) * cosd(ra - $1) >= cosd($3) ORDER BY 1`,
      [ra, dec, sr],
    );
    return r.rows.map((x) => x.id);
  });
}

const statuses = (text: string) => [...text.matchAll(/name="QUERY_STATUS" value="(\w+)"/g)].map((m) => m[1]);

let centre: { ra: number; dec: number };

describe('/scs/query (Simple Cone Search 1.03)', () => {
  beforeAll(async () => {
    // A source in an observed field: the fields are denser than the background.
    const r = await withReadOnlyIdentity(pool, ANONYMOUS, (c) =>
      c.query<{ ra: number; dec: number }>(
        `SELECT ra, dec FROM demo.sources WHERE field_id IS NOT NULL ORDER BY source_id LIMIT 1`,
      ),
    );
    centre = r.rows[0];
  });

  it('returns the sources in the cone, nearest first, as TABLEDATA text/xml with the three UCD1 columns once each (SCS-10, SCS-13, SCS-17)', async () => {
    const sr = 4;
    const c = await cone({ RA: String(centre.ra), DEC: String(centre.dec), SR: String(sr) });
    expect(c.status).toBe(200);
    expect(c.contentType).toMatch(/^text\/xml;content=x-votable/);
    expect(c.text).toContain('<TABLEDATA>');
    expect(statuses(c.text)).toEqual(['OK']);
    for (const ucd of ['ID_MAIN', 'POS_EQ_RA_MAIN', 'POS_EQ_DEC_MAIN'])
      expect(c.fields.filter((f) => f.ucd === ucd)).toHaveLength(1);
    const id = c.fields.find((f) => f.ucd === 'ID_MAIN');
    expect(id?.datatype).toBe('char');
    const ids = c.rows.map((r) => r[0] as string);
    expect(ids.length).toBeGreaterThan(5);
    expect([...ids].sort()).toEqual(await expectedIds(centre.ra, centre.dec, sr));
    const dist = c.fields.findIndex((f) => f.ucd === 'pos.angDistance');
    const d = c.rows.map((r) => r[dist] as number);
    expect(d).toEqual([...d].sort((a, b) => a - b));
    expect(Math.max(...d)).toBeLessThanOrEqual(sr);
  });

  it('finds the same sources as the exact test across RA 0/360 and at the pole (SCS-19)', async () => {
    for (const [ra, dec, sr] of [
      [359.9, centre.dec, 2],
      [-0.1, centre.dec, 2],
      [centre.ra, 89.5, 1],
      [centre.ra, -89.9, 0.5],
    ]) {
      const c = await cone({ RA: String(ra), DEC: String(dec), SR: String(sr), MAXREC: '100000' });
      expect(c.status).toBe(200);
      expect(c.rows.map((r) => r[0] as string).sort()).toEqual(
        await expectedIds(((ra % 360) + 360) % 360, dec, sr),
      );
    }
  });

  it('VERB=1 gives the identifier, position and distance; VERB=3 every column; others are ignored (SCS-04, SCS-05)', async () => {
    const q = { RA: String(centre.ra), DEC: String(centre.dec), SR: '0.1' };
    const v1 = await cone({ ...q, VERB: '1', FOO: 'bar' });
    expect(v1.fields.map((f) => f.name)).toEqual(['source_id', 'ra', 'dec', 'dist']);
    const v2 = await cone(q);
    const v3 = await cone({ ...q, VERB: '3' });
    expect(v2.fields.length).toBeGreaterThan(4);
    expect(v3.fields.length).toBeGreaterThan(v2.fields.length);
    expect((await cone({ ...q, VERB: '7' })).fields).toEqual(v2.fields);
  });

  it('SR=0 gives the columns and no rows, not an error; an empty cone is an empty table (SCS-07)', async () => {
    const c = await cone({ RA: String(centre.ra), DEC: String(centre.dec), SR: '0' });
    expect(c.status).toBe(200);
    expect(c.rows).toEqual([]);
    expect(c.fields.length).toBeGreaterThan(4);
    expect(statuses(c.text)).toEqual(['OK']);
    const empty = await cone({ RA: '10', DEC: '-89.99', SR: '0.0001' });
    expect(empty.status).toBe(200);
    expect(statuses(empty.text)).toEqual(['OK']);
  });

  it('MAXREC truncates with OVERFLOW; RESPONSEFORMAT picks another serialisation (SCS-06, SCS-18)', async () => {
    const q = { RA: String(centre.ra), DEC: String(centre.dec), SR: '4' };
    const c = await cone({ ...q, MAXREC: '3' });
    expect(c.rows).toHaveLength(3);
    expect(statuses(c.text)).toContain('OVERFLOW');
    const b = await cone({ ...q, MAXREC: '3', RESPONSEFORMAT: 'votable' });
    expect(b.contentType).toMatch(/^application\/x-votable\+xml/);
    expect(b.text).toContain('<BINARY2>');
    expect(b.rows).toEqual(c.rows);
  });

  it('bad input gets 400 and an error VOTable with INFO name="Error" under VOTABLE (SCS-20..SCS-23)', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ RA: '10', DEC: '10' }, /SR is required/],
      [{ RA: '10', DEC: '91', SR: '1' }, /DEC=91 is outside \[-90, 90\]/],
      [{ RA: 'ten', DEC: '10', SR: '1' }, /RA='ten' is not a number/],
      [{ RA: 'NaN', DEC: '10', SR: '1' }, /RA='NaN' is not a number/],
      [{ RA: '10', DEC: '10', SR: '-1' }, /SR=-1 is negative/],
      [{ RA: '10', DEC: '10', SR: '6' }, /above this service's maxSR of 5 degrees/],
      [{ RA: '10', DEC: '10', SR: '1', MAXREC: 'lots' }, /MAXREC='lots'/],
    ];
    for (const [params, message] of cases) {
      const c = await cone(params);
      expect(c.status).toBe(400);
      expect(c.contentType).toMatch(/^text\/xml;content=x-votable/);
      expect(c.text).toMatch(/<VOTABLE[^>]*>\s*<INFO ID="Error" name="Error" value="[^"]+"/);
      expect(c.text).toMatch(message);
      expect(statuses(c.text)).toEqual(['ERROR']);
    }
  });

  it('takes the cone by POST too (SCS 1.1 draft)', async () => {
    const res = await fetch(`${node.url}/scs/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ RA: String(centre.ra), DEC: String(centre.dec), SR: '0.1', VERB: '1' }),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('ID_MAIN');
  });
});

describe('the cone search capability (SCS-30, SCS-31)', () => {
  it('is a cs:ConeSearch with the configured maxSR and maxRecords, valid against SimpleDALRegExt', async () => {
    const res = await fetch(`${node.url}/scs/capabilities`);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(xsdErrors(text)).toBe('');
    const cap =
      text.match(/<capability standardID="ivo:\/\/ivoa.net\/std\/ConeSearch"[\s\S]*?<\/capability>/)?.[0] ??
      '';
    expect(cap).toContain('xsi:type="cs:ConeSearch"');
    expect(text).toContain('xmlns:cs="http://www.ivoa.net/xml/ConeSearch/v1.0"');
    // VONODE_SCS_MAX_SR=5 for this node; maxRecords is the hard MAXREC.
    expect(cap).toMatch(/<maxSR>5<\/maxSR>\s*<maxRecords>\d+<\/maxRecords>\s*<verbosity>true<\/verbosity>/);
    // The schema is really applied: without the required verbosity the document is refused.
    expect(xsdErrors(text.replace(/<verbosity>true<\/verbosity>/g, ''))).toMatch(/verbosity/);
  });
});
