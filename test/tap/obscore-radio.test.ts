import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPlan } from '../../src/ingest/demo.js';
import { OBSCORE_RADIO_TABLE, OBSCORE_RADIO_UTYPE } from '../../src/tap/tables/index.js';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { startTestNode, TEST_BASE_URL } from '../support/node.js';
import { xsdResourceErrors } from '../support/xsd.js';

// ObsCore Extension for Radio Data 1.0 on a running node: ivoa.obscore_radio in TAP_SCHEMA and
// VOSI with the standard's metadata, the ObsCore join through TAP with the extension's units,
// the same data rights as ivoa.obscore (anonymous vs the owner group), and SIA's SPATRES
// matching the radio resolution range. The demo products carry BMAJ/BMIN and a FREQ axis.

type TestNode = Awaited<ReturnType<typeof startTestNode>>;
let node: TestNode;
let issuer: TestIssuer;
let teamA: string;

beforeAll(async () => {
  issuer = await new TestIssuer().start();
  issuer.keys.push(await signingKey('RS256', 'k1'));
  node = await startTestNode({ VONODE_OIDC_ISSUER: issuer.url, VONODE_OIDC_AUDIENCE: 'vonode-test' });
  teamA = await issuer.token({ sub: 'alice', groups: ['/team-a'] }, { aud: 'vonode-test' });
}, 180000);

afterAll(async () => {
  await node?.stop();
  await issuer?.stop();
});

async function tap(query: string, format = 'csv', token?: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${node.url}/tap/sync`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: new URLSearchParams({ LANG: 'ADQL', QUERY: query, RESPONSEFORMAT: format }),
  });
  return { status: res.status, body: await res.text() };
}

async function rows(query: string, token?: string): Promise<Record<string, string>[]> {
  const r = await tap(query, 'csv', token);
  expect(r.status, r.body).toBe(200);
  const [head, ...lines] = r.body.trim().split(/\r?\n/);
  const names = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [names[i], v])));
}

const plan = demoPlan(1);
const specOf = (did: string) => plan.find((p) => did.endsWith(`?${p.fileName.replace(/\.fits$/, '')}`));
const DEMO = "obs_publisher_did LIKE 'ivo://vonode.demo/%'";

describe('ivoa.obscore_radio in TAP_SCHEMA and VOSI', () => {
  it('has the standard table utype, the key to ivoa.obscore and every column as declared', async () => {
    const t = await rows(
      "SELECT table_name, utype FROM tap_schema.tables WHERE table_name = 'ivoa.obscore_radio'",
    );
    expect(t).toEqual([{ table_name: 'ivoa.obscore_radio', utype: OBSCORE_RADIO_UTYPE }]);
    const k = await rows(
      `SELECT k.target_table, c.from_column, c.target_column FROM tap_schema.keys k
        JOIN tap_schema.key_columns c ON c.key_id = k.key_id WHERE k.from_table = 'ivoa.obscore_radio'`,
    );
    expect(k).toEqual([
      { target_table: 'ivoa.obscore', from_column: 'obs_publisher_did', target_column: 'obs_publisher_did' },
    ]);
    const r = await tap(
      "SELECT column_name, unit, ucd, utype, datatype FROM tap_schema.columns WHERE table_name = 'ivoa.obscore_radio' ORDER BY column_index",
    );
    const got = r.body
      .trim()
      .split(/\r?\n/)
      .slice(1)
      .map((l) => l.split(','));
    expect(got).toEqual(
      OBSCORE_RADIO_TABLE.columns.map((c) => [c.name, c.unit ?? '', c.ucd ?? '', c.utype ?? '', c.datatype]),
    );
    // The units the standard gives (its column tables): arcsec, deg, kHz, m.
    const unit = Object.fromEntries(got.map(([n, u]) => [n, u]));
    expect(unit).toMatchObject({
      s_resolution_min: 'arcsec',
      s_fov_max: 'deg',
      f_resolution: 'kHz',
      s_largest_angular_scale: 'arcsec',
      uv_distance_max: 'm',
      instr_tel_diameter: 'm',
    });
  });

  it('is listed by VOSI /tables with its utype', async () => {
    const res = await fetch(`${node.url}/tap/tables`);
    const xml = await res.text();
    expect(xml).toMatch(/<name>ivoa\.obscore_radio<\/name>/);
    expect(xml).toContain(`<utype>${OBSCORE_RADIO_UTYPE}</utype>`);
  });
});

describe('the registry record of ivoa.obscore_radio', () => {
  it('is a record of its own with the TAP service as auxiliary capability and the table utype RegTAP finds', async () => {
    const oai = async (params: Record<string, string>) =>
      (await fetch(`${node.url}/registry/oai?${new URLSearchParams(params)}`)).text();
    const ids = [
      ...(await oai({ verb: 'ListIdentifiers', metadataPrefix: 'ivo_vor' })).matchAll(
        /<identifier>([^<]+)<\/identifier>/g,
      ),
    ].map((m) => m[1]);
    const id = ids.find((i) => i.endsWith('/ivoa/obscore_radio'));
    expect(id, ids.join(' ')).toBeDefined();
    const text = await oai({ verb: 'GetRecord', identifier: id as string, metadataPrefix: 'ivo_vor' });
    const [xml] = [...text.matchAll(/<ri:Resource[\s\S]*?<\/ri:Resource>/g)].map((m) => m[0]);
    expect(xsdResourceErrors(xml)).toBe('');
    const parser = new XMLParser({
      ignoreAttributes: false,
      removeNSPrefix: true,
      isArray: (n) =>
        ['record', 'capability', 'interface', 'table', 'schema', 'column', 'waveband'].includes(n),
    });
    const r = parser.parse(text)['OAI-PMH'].GetRecord.record[0].metadata.Resource;
    const caps = r.capability as Array<{
      '@_standardID': string;
      interface: Array<{ accessURL: { '#text': string } }>;
    }>;
    expect(caps.map((c) => c['@_standardID'])).toEqual(['ivo://ivoa.net/std/TAP#aux']);
    expect(caps[0].interface[0].accessURL['#text']).toBe(`${TEST_BASE_URL}/tap`);
    const [table] = r.tableset.schema[0].table;
    expect(table.name).toBe('ivoa.obscore_radio');
    expect(table.utype).toBe(OBSCORE_RADIO_UTYPE);
    expect(r.coverage.waveband).toEqual(['Radio', 'Millimeter']);
    expect(r.coverage.footprint).toBeUndefined();
  });
});

describe('ObsCore joined with its radio extension through TAP', () => {
  it('JOIN ... USING (obs_publisher_did) gives the values of the FITS headers, with their units', async () => {
    const got = await rows(
      `SELECT obs_publisher_did, s_fov, s_resolution_min, s_resolution_max, s_fov_min, s_fov_max, f_resolution
         FROM ivoa.obscore JOIN ivoa.obscore_radio USING (obs_publisher_did) WHERE ${DEMO} ORDER BY obs_publisher_did`,
    );
    expect(got.length).toBe(8); // the 10 demo products less the 2 proprietary ones
    for (const row of got) {
      const spec = specOf(row.obs_publisher_did);
      expect(spec, row.obs_publisher_did).toBeDefined();
      if (!spec) continue;
      expect(Number(row.s_resolution_min)).toBeCloseTo(spec.beamMinArcsec, 6);
      expect(Number(row.s_resolution_max)).toBeCloseTo(spec.beamMajArcsec, 6);
      expect(Number(row.s_fov_min)).toBeCloseTo(Number(row.s_fov), 9);
      expect(Number(row.s_fov_max)).toBeCloseTo(Number(row.s_fov), 9);
      expect(Number(row.f_resolution)).toBeCloseTo(spec.chanWidthHz / 1000, 3);
    }
    const v = await tap(
      `SELECT o.obs_publisher_did, s_resolution_min, f_resolution, s_fov_max, uv_distance_min
         FROM ivoa.obscore AS o JOIN ivoa.obscore_radio AS r ON r.obs_publisher_did = o.obs_publisher_did`,
      'votable',
    );
    expect(v.status).toBe(200);
    expect(v.body).toMatch(/<FIELD[^>]*name="s_resolution_min"[^>]*unit="arcsec"/);
    expect(v.body).toMatch(/<FIELD[^>]*name="f_resolution"[^>]*unit="kHz"/);
    expect(v.body).toMatch(/<FIELD[^>]*name="s_fov_max"[^>]*unit="deg"/);
    expect(v.body).toMatch(/<FIELD[^>]*name="uv_distance_min"[^>]*unit="m"/);
  });

  it('NATURAL JOIN, as the standard writes its queries, joins on obs_publisher_did alone', async () => {
    const natural = await rows(
      `SELECT obs_publisher_did, s_resolution_max FROM ivoa.obscore NATURAL JOIN ivoa.obscore_radio
        WHERE ${DEMO} AND s_resolution_max < 10.5 ORDER BY obs_publisher_did`,
    );
    const expected = plan
      .filter((p) => p.beamMajArcsec < 10.5)
      .map((p) => p.fileName.replace(/\.fits$/, ''))
      .filter((n) => n !== 'image-07-mid') // proprietary (team-a)
      .sort();
    expect(natural.map((r) => r.obs_publisher_did.replace(/.*\?/, ''))).toEqual(expected);
  });
});

describe('data rights: a radio row is visible exactly when its ObsCore row is', () => {
  const dids = async (table: string, token?: string) =>
    (
      await rows(`SELECT obs_publisher_did FROM ${table} WHERE ${DEMO} ORDER BY obs_publisher_did`, token)
    ).map((r) => r.obs_publisher_did);

  it('anonymous callers see no radio row of a proprietary product; its owner group does', async () => {
    const anon = await dids('ivoa.obscore_radio');
    expect(anon).toEqual(await dids('ivoa.obscore'));
    expect(anon.some((d) => d.endsWith('?image-07-mid'))).toBe(false);
    const owner = await dids('ivoa.obscore_radio', teamA);
    expect(owner).toEqual(await dids('ivoa.obscore', teamA));
    expect(owner.some((d) => d.endsWith('?image-07-mid'))).toBe(true);
    expect(owner.some((d) => d.endsWith('?cube-02-low'))).toBe(false); // team-b's
  });
});

describe('SIA 2.0 with the radio ranges', () => {
  async function sia(query: string, token?: string): Promise<string[]> {
    const res = await fetch(`${node.url}/sia/query?${query}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    const body = await res.text();
    expect(res.status, body).toBe(200);
    return [...body.matchAll(/<TD>(ivo:\/\/vonode\.demo\/ska\?[^<]+)<\/TD>/g)].map((m) =>
      m[1].replace(/.*\?/, ''),
    );
  }

  it('SPATRES also matches a product whose beam range BMIN..BMAJ meets the interval (SIA-25)', async () => {
    // No demo product has its typical s_resolution (BMAJ) in [9, 9.5]; image-08-mid's beam is 10 × 9.
    const hit = plan.filter((p) => p.beamMinArcsec <= 9.5 && p.beamMajArcsec >= 9).map((p) => p.fileName);
    expect(plan.some((p) => p.beamMajArcsec >= 9 && p.beamMajArcsec <= 9.5)).toBe(false);
    expect(await sia('SPATRES=9%209.5')).toEqual(hit.map((f) => f.replace(/\.fits$/, '')));
    // The typical value still matches as SIA 2.0 says.
    expect(await sia('SPATRES=10%2010')).toContain('image-08-mid');
  });

  it('never reveals a proprietary product through its radio row', async () => {
    // image-07-mid (team-a) has the only beam reaching below 5 arcsec.
    expect(await sia('SPATRES=4%204.5')).toEqual([]);
    expect(await sia('SPATRES=4%204.5', teamA)).toEqual(['image-07-mid']);
  });
});
