import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANONYMOUS } from '../../src/auth/index.js';
import { type ReadField, readVOTable } from '../../votable/index.js';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { startTestNode } from '../support/node.js';
import {
  CATALOGUE_COLUMNS,
  type CatalogueFixture,
  createCatalogueFixture,
  OWNER_GROUP,
} from '../support/published-catalogues.js';
import { xsdErrors, xsdResourceErrors } from '../support/xsd.js';

const AUDIENCE = 'vonode-scs-catalogues';
const issuer = new TestIssuer();
let node: Awaited<ReturnType<typeof startTestNode>>;
let fx: CatalogueFixture;
let owner: string;
let stranger: string;

beforeAll(async () => {
  fx = await createCatalogueFixture();
  await issuer.start();
  issuer.keys = [await signingKey()];
  node = await startTestNode(
    { VONODE_SCS_MAX_SR: '5', VONODE_OIDC_ISSUER: issuer.url, VONODE_OIDC_AUDIENCE: AUDIENCE },
    { catalogues: fx.source },
  );
  owner = await issuer.token({ sub: 'olga', groups: [OWNER_GROUP] }, { aud: AUDIENCE });
  stranger = await issuer.token({ sub: 'sam', groups: ['other-team'] }, { aud: AUDIENCE });
});
afterAll(async () => {
  await node?.stop();
  await issuer.stop();
  await fx?.close();
});

interface Cone {
  status: number;
  contentType: string;
  text: string;
  fields: ReadField[];
  rows: unknown[][];
}

async function get(path: string, token?: string): Promise<Cone> {
  const res = await fetch(
    `${node.url}${path}`,
    token ? { headers: { authorization: `Bearer ${token}` } } : {},
  );
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

const coneUrl = (table: string, p: Record<string, string>) =>
  `/scs/${encodeURIComponent(table)}/query?${new URLSearchParams(p)}`;

/** The rows within `sr` of (ra, dec) by the exact spherical test (SCS-19). */
const inCone = (
  rows: Array<{ id: string; ra: number; dec: number }>,
  ra: number,
  dec: number,
  sr: number,
) => {
  const r = Math.PI / 180;
  return rows
    .filter(
      (x) =>
        Math.sin(x.dec * r) * Math.sin(dec * r) +
          Math.cos(x.dec * r) * Math.cos(dec * r) * Math.cos((x.ra - ra) * r) >=
        Math.cos(sr * r),
    )
    .map((x) => x.id)
    .sort();
};

const statuses = (text: string) => [...text.matchAll(/name="QUERY_STATUS" value="(\w+)"/g)].map((m) => m[1]);

describe('/scs/<schema>.<table>/query: a cone search per published catalogue (SCS-40)', () => {
  it("answers a second catalogue's cone with its rows, nearest first, the three main columns once each (SCS-13, SCS-17, SCS-19)", async () => {
    const name = `${fx.schema}.pybdsf`;
    const c = await get(coneUrl(name, { RA: '150.2', DEC: '2.1', SR: '0.5', MAXREC: '100000' }));
    expect(c.status).toBe(200);
    expect(c.contentType).toMatch(/^text\/xml;content=x-votable/);
    expect(statuses(c.text)).toEqual(['OK']);
    const ids = c.rows.map((r) => r[0] as string);
    expect(ids.length).toBeGreaterThan(10);
    expect([...ids].sort()).toEqual(inCone(await fx.rows('pybdsf', ANONYMOUS), 150.2, 2.1, 0.5));
    for (const ucd of ['ID_MAIN', 'POS_EQ_RA_MAIN', 'POS_EQ_DEC_MAIN'])
      expect(c.fields.filter((f) => f.ucd === ucd)).toHaveLength(1);
    expect(c.fields.find((f) => f.ucd === 'ID_MAIN')).toMatchObject({ name: 'source_id', datatype: 'char' });
    expect(c.fields.find((f) => f.ucd === 'POS_EQ_RA_MAIN')).toMatchObject({ name: 'ra', unit: 'deg' });
    const d = c.rows.map((r) => r[c.fields.findIndex((f) => f.name === 'dist')] as number);
    expect(d).toEqual([...d].sort((a, b) => a - b));
  });

  it('a column marked datalink gets a DataLink service descriptor pointing at its FIELD, as in TAP results (DataLink 1.1 §4, DL-56)', async () => {
    const columns = CATALOGUE_COLUMNS.map((c) => (c.name === 'alt_name' ? { ...c, datalink: true } : c));
    await fx.publish('linked', 40, 210, -5, { columns });
    try {
      const c = await get(coneUrl(`${fx.schema}.linked`, { RA: '210', DEC: '-5', SR: '2', VERB: '3' }));
      expect(c.status, c.text).toBe(200);
      expect(c.rows.length).toBeGreaterThan(0);
      const id =
        /<FIELD[^>]*\bID="([^"]+)"[^>]*name="alt_name"|<FIELD[^>]*name="alt_name"[^>]*\bID="([^"]+)"/.exec(
          c.text,
        );
      expect(id, 'the alt_name FIELD has an ID').not.toBeNull();
      const fieldId = id![1] ?? id![2];
      const descriptor = /<RESOURCE[^>]*type="meta" utype="adhoc:service"[^>]*>([\s\S]*?)<\/RESOURCE>/.exec(
        c.text,
      );
      expect(descriptor, 'a DataLink service descriptor').not.toBeNull();
      expect(descriptor![1]).toMatch(/name="accessURL"[^>]*value="http:\/\/[^"]+\/datalink\/links"/);
      expect(descriptor![1]).toContain('ivo://ivoa.net/std/DataLink#links-1.1');
      expect(descriptor![1]).toMatch(new RegExp(`<PARAM[^>]*name="ID"[^>]*ref="${fieldId}"`));
      // VERB=1 does not select the column: no descriptor.
      const v1 = await get(coneUrl(`${fx.schema}.linked`, { RA: '210', DEC: '-5', SR: '2', VERB: '1' }));
      expect(v1.status).toBe(200);
      expect(v1.text).not.toContain('adhoc:service');
    } finally {
      await fx.unpublish('linked');
    }
  });

  it('takes the VERB columns from the description: principal at 2, all but the HEALPix index at 3; no other column claims meta.main for a main role (SCS-04, SCS-13)', async () => {
    const name = `${fx.schema}.pybdsf`;
    const q = { RA: '150', DEC: '2', SR: '0.2' };
    expect((await get(coneUrl(name, { ...q, VERB: '1' }))).fields.map((f) => f.name)).toEqual([
      'source_id',
      'ra',
      'dec',
      'dist',
    ]);
    expect((await get(coneUrl(name, q))).fields.map((f) => f.name)).toEqual([
      'source_id',
      'ra',
      'dec',
      'flux_int',
      'dist',
    ]);
    const v3 = await get(coneUrl(name, { ...q, VERB: '3' }));
    expect(v3.fields.map((f) => f.name)).toEqual([
      'source_id',
      'ra',
      'dec',
      'flux_int',
      's_code',
      'alt_name',
      'dist',
    ]);
    expect(v3.fields.find((f) => f.name === 'alt_name')?.ucd).toBe('meta.id');
    expect(v3.fields.filter((f) => /meta\.main/i.test(f.ucd ?? ''))).toEqual([]);
    expect(v3.fields.find((f) => f.name === 'flux_int')).toMatchObject({
      ucd: 'phot.flux.density',
      unit: 'mJy',
    });
  });

  it('SR=0 gives the columns; bad input, an unknown catalogue or one without a position get the SCS error document (SCS-07, SCS-20..SCS-23)', async () => {
    const name = `${fx.schema}.pybdsf`;
    const empty = await get(coneUrl(name, { RA: '150', DEC: '2', SR: '0' }));
    expect(empty.status).toBe(200);
    expect(empty.rows).toEqual([]);
    expect(empty.fields.length).toBe(5);
    const cases: Array<[string, number, RegExp]> = [
      [coneUrl(name, { RA: '150', DEC: '91', SR: '1' }), 400, /DEC=91 is outside/],
      [coneUrl(name, { RA: '150', DEC: '2' }), 400, /SR is required/],
      [
        coneUrl(`${fx.schema}.nothing`, { RA: '150', DEC: '2', SR: '1' }),
        404,
        /no published catalogue with a position is named/,
      ],
      [
        coneUrl('tap_schema.tables', { RA: '150', DEC: '2', SR: '1' }),
        404,
        /no published catalogue with a position/,
      ],
    ];
    for (const [url, status, message] of cases) {
      const c = await get(url);
      expect([url, c.status]).toEqual([url, status]);
      expect(c.contentType).toMatch(/^text\/xml;content=x-votable/);
      expect(c.text).toMatch(/<VOTABLE[^>]*>\s*<INFO ID="Error" name="Error" value="[^"]+"/);
      expect(c.text).toMatch(message);
    }
  });

  it('a catalogue with an owner group and no release date: not found for anonymous callers and other groups, answered for the owners', async () => {
    const name = `${fx.schema}.private_cat`;
    const url = coneUrl(name, { RA: '200', DEC: '-45', SR: '2', MAXREC: '100000' });
    for (const token of [undefined, stranger]) {
      const c = await get(url, token);
      expect(c.status).toBe(404);
      expect(c.text).toMatch(/no published catalogue with a position is named/);
      expect(c.rows).toEqual([]);
    }
    const mine = await get(url, owner);
    expect(mine.status).toBe(200);
    const all = await fx.rows('private_cat', { sub: 'olga', groups: [OWNER_GROUP] });
    expect(all.length).toBe(150);
    expect(mine.rows.map((r) => r[0] as string).sort()).toEqual(inCone(all, 200, -45, 2));
    expect(mine.rows.length).toBeGreaterThan(100);
  });

  it('/scs/capabilities lists the cone search of each catalogue the caller may see; each has its own VOSI capabilities (SCS-31, SCS-32)', async () => {
    const caps = async (path: string, token?: string) =>
      (
        await fetch(`${node.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {})
      ).text();
    const pub = `${fx.schema}.pybdsf/query?`;
    const priv = `${fx.schema}.private_cat/query?`;
    const anon = await caps('/scs/capabilities');
    expect(xsdErrors(anon)).toBe('');
    expect(anon).toContain('http://vo.example.test/node/scs/query?');
    expect(anon).toContain(`http://vo.example.test/node/scs/${pub}`);
    expect(anon).not.toContain(priv);
    expect(await caps('/scs/capabilities', stranger)).not.toContain(priv);
    expect(await caps('/scs/capabilities', owner)).toContain(`http://vo.example.test/node/scs/${priv}`);
    const one = await caps(`/scs/${fx.schema}.pybdsf/capabilities`);
    expect(xsdErrors(one)).toBe('');
    expect(one).toContain(`http://vo.example.test/node/scs/${fx.schema}.pybdsf/availability`);
    const res = await fetch(`${node.url}/scs/${fx.schema}.private_cat/capabilities`);
    expect(res.status).toBe(404);
    // Tokens are accepted here: each cone search also has its secured interfaces (SSO-1).
    expect(one).toContain('ivo://ivoa.net/sso#OAuth');
    const list = await caps('/registry/oai?verb=ListIdentifiers&metadataPrefix=ivo_vor');
    const id = [...list.matchAll(/<identifier>([^<]+)<\/identifier>/g)]
      .map((m) => m[1])
      .find((x) => x.endsWith(`/${fx.schema}/pybdsf`));
    expect(id).toBeDefined();
    const rec = await caps(
      `/registry/oai?verb=GetRecord&metadataPrefix=ivo_vor&identifier=${encodeURIComponent(id ?? '')}`,
    );
    const resource = /<ri:Resource[\s\S]*<\/ri:Resource>/.exec(rec)?.[0] ?? '';
    expect(xsdResourceErrors(resource)).toBe('');
    expect(resource).toContain('ivo://ivoa.net/sso#OAuth');
    const avail = await fetch(`${node.url}/scs/${fx.schema}.pybdsf/availability`);
    expect(await avail.text()).toContain('<vosi:available>true</vosi:available>');
  });

  it('a catalogue published while the node runs has its cone search at once, and none once unpublished', async () => {
    const url = coneUrl(`${fx.schema}.late`, { RA: '10', DEC: '10', SR: '3', MAXREC: '1000' });
    expect((await get(url)).status).toBe(404);
    await fx.publish('late', 50, 10, 10);
    const c = await get(url);
    expect(c.status).toBe(200);
    expect(c.rows).toHaveLength(50);
    await fx.unpublish('late');
    expect((await get(url)).status).toBe(404);
  });

  it("rows of an owner group without a release date are in the owners' cones only (per-row rights, through the same RLS path as TAP)", async () => {
    const name = `${fx.schema}.pybdsf`;
    const q = { RA: '150', DEC: '2', SR: '3', MAXREC: '100000', VERB: '1' };
    const anon = await fx.rows('pybdsf', ANONYMOUS);
    const mine = await fx.rows('pybdsf', { sub: 'olga', groups: [OWNER_GROUP] });
    expect(mine).toHaveLength(400);
    // One row in five is the owners' with no release date (the other owned fifth is released).
    expect(anon).toHaveLength(320);
    const ids = async (token?: string) =>
      (await get(coneUrl(name, q), token)).rows.map((r) => r[0] as string).sort();
    expect(await ids()).toEqual(inCone(anon, 150, 2, 3));
    expect(await ids(stranger)).toEqual(inCone(anon, 150, 2, 3));
    expect(await ids(owner)).toEqual(inCone(mine, 150, 2, 3));
    expect((await ids(owner)).length).toBeGreaterThan((await ids()).length);
  });
});
