import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode } from '../support/node.js';
import { xsdResourceErrors } from '../support/xsd.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;
let node: TestNode;

beforeAll(async () => {
  node = await startTestNode({
    VONODE_AUTHORITY: 'src.example.org',
    VONODE_CONTACT_EMAIL: 'vo@src.example.org',
  });
});
afterAll(async () => {
  await node?.stop();
});

const OAI = 'http://vo.example.test/node/registry/oai';

async function oai(params: Record<string, string>): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(`${node.url}/registry/oai?${new URLSearchParams(params)}`);
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

const parser = new XMLParser({
  ignoreAttributes: false,
  removeNSPrefix: true,
  isArray: (n) => ['record', 'header', 'metadataFormat', 'capability'].includes(n),
});

function errorCode(text: string): string | undefined {
  return /<error code="(\w+)"/.exec(text)?.[1];
}

/** Each ri:Resource element of a response, as text. */
function resources(text: string): string[] {
  return [...text.matchAll(/<ri:Resource[\s\S]*?<\/ri:Resource>/g)].map((m) => m[0]);
}

describe('/registry/oai (OAI-PMH 2.0 publishing registry)', () => {
  it('Identify names the repository and embeds the vg:Registry record (REG-34, REG-37)', async () => {
    const r = await oai({ verb: 'Identify' });
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^text\/xml/);
    const doc = parser.parse(r.text)['OAI-PMH'];
    expect(doc.request['@_verb']).toBe('Identify');
    expect(doc.request['#text']).toBe(OAI);
    const id = doc.Identify;
    expect(id.baseURL).toBe(OAI);
    expect(id.protocolVersion).toBe(2);
    expect(id.adminEmail).toBe('vo@src.example.org');
    expect(id.granularity).toBe('YYYY-MM-DDThh:mm:ssZ');
    expect(id.earliestDatestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const reg = id.description.Resource;
    expect(reg['@_type']).toBe('vg:Registry');
    expect(reg.identifier).toBe('ivo://src.example.org/registry');
    const harvest = reg.capability.find((c: Record<string, string>) => c['@_type'] === 'vg:Harvest');
    expect(harvest.interface['@_type']).toBe('vg:OAIHTTP');
    expect(harvest.interface.accessURL['#text']).toBe(OAI);
    expect(reg.full).toBe(false);
    expect(reg.managedAuthority).toBe('src.example.org');
  });

  it('lists ivo_vor and oai_dc, and the ivo_managed set (REG-31, REG-35)', async () => {
    const f = parser.parse((await oai({ verb: 'ListMetadataFormats' })).text)['OAI-PMH'];
    expect(
      f.ListMetadataFormats.metadataFormat.map((m: { metadataPrefix: string }) => m.metadataPrefix),
    ).toEqual(['ivo_vor', 'oai_dc']);
    const s = parser.parse((await oai({ verb: 'ListSets' })).text)['OAI-PMH'];
    expect(s.ListSets.set.setSpec).toBe('ivo_managed');
  });

  it('ListRecords gives the registry, the authority and every service, headers named by IVOID (REG-32, REG-36, REG-40)', async () => {
    const r = await oai({ verb: 'ListRecords', metadataPrefix: 'ivo_vor', set: 'ivo_managed' });
    const listed = parser.parse(r.text)['OAI-PMH'].ListRecords.record as Array<{
      header: Array<{ identifier: string; setSpec: string; datestamp: string; '@_status'?: string }>;
      metadata: {
        Resource: {
          identifier: string;
          '@_type': string;
          tableset?: unknown;
          capability?: Array<Record<string, string>>;
        };
      };
    }>;
    // Catalogues other tests publish and withdraw on the same database leave deleted headers.
    const recs = listed.filter((x) => x.header[0]['@_status'] !== 'deleted');
    const ids = recs.map((x) => x.header[0].identifier);
    expect(ids).toEqual(
      expect.arrayContaining([
        'ivo://src.example.org/registry',
        'ivo://src.example.org',
        'ivo://src.example.org/tap',
        'ivo://src.example.org/sia',
        'ivo://src.example.org/scs',
        'ivo://src.example.org/moc',
      ]),
    );
    for (const x of recs) {
      expect(x.metadata.Resource.identifier).toBe(x.header[0].identifier);
      expect(x.header[0].setSpec).toBe('ivo_managed');
    }
    const tap = recs.find((x) => x.header[0].identifier.endsWith('/tap'))!.metadata.Resource;
    expect(tap['@_type']).toBe('vs:CatalogService');
    expect(tap.capability?.some((c) => c['@_type'] === 'tr:TableAccess')).toBe(true);
    expect(JSON.stringify(tap.tableset)).toContain('demo.sources');
    expect(
      recs.find((x) => x.header[0].identifier === 'ivo://src.example.org')!.metadata.Resource['@_type'],
    ).toBe('vg:Authority');
  });

  it('every service record is a valid vr:Resource for VOResource, VODataService and TAPRegExt', async () => {
    const r = await oai({ verb: 'ListRecords', metadataPrefix: 'ivo_vor' });
    const services = resources(r.text).filter((x) => /^<ri:Resource[^>]*xsi:type="vs:/.test(x));
    expect(services.length).toBeGreaterThanOrEqual(6);
    for (const s of services) expect(xsdResourceErrors(s)).toBe('');
  });

  it('GetRecord in both formats; ListIdentifiers with dates', async () => {
    const vor = await oai({
      verb: 'GetRecord',
      identifier: 'ivo://src.example.org/tap',
      metadataPrefix: 'ivo_vor',
    });
    expect(resources(vor.text)).toHaveLength(1);
    const dc = parser.parse(
      (await oai({ verb: 'GetRecord', identifier: 'ivo://src.example.org/tap', metadataPrefix: 'oai_dc' }))
        .text,
    )['OAI-PMH'];
    expect(dc.GetRecord.record[0].metadata.dc.identifier).toBe('ivo://src.example.org/tap');
    // Catalogues published by other tests on the same database have their own datestamps.
    type Header = { identifier: string; datestamp: string };
    const all = parser.parse(
      (await oai({ verb: 'ListIdentifiers', metadataPrefix: 'oai_dc', from: '2000-01-01' })).text,
    )['OAI-PMH'].ListIdentifiers.header as Header[];
    expect(all.length).toBeGreaterThanOrEqual(8);
    const stamp = all[0].datestamp;
    const same = parser.parse(
      (await oai({ verb: 'ListIdentifiers', metadataPrefix: 'oai_dc', from: stamp, until: stamp })).text,
    )['OAI-PMH'].ListIdentifiers.header as Header[];
    for (const h of same) expect(h.datestamp).toBe(stamp);
    // The node's own records (ivo://authority[/service]) share the stamp; catalogues others
    // publish and withdraw meanwhile (ivo://authority/schema/table) may come and go.
    const own = (hs: Header[]) =>
      hs
        .filter((h) => h.datestamp === stamp && /^ivo:\/\/[^/]+(\/[^/]+)?$/.test(h.identifier))
        .map((h) => h.identifier)
        .sort();
    expect(own(same)).toEqual(own(all));
    expect(own(same)).toContain(all[0].identifier);
  });

  it('answers protocol errors in the envelope with 200 and the OAI code (REG-30)', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{}, 'badVerb'],
      [{ verb: 'Harvest' }, 'badVerb'],
      [{ verb: 'Identify', extra: '1' }, 'badArgument'],
      [{ verb: 'ListRecords' }, 'badArgument'],
      [{ verb: 'ListRecords', metadataPrefix: 'marc' }, 'cannotDisseminateFormat'],
      [{ verb: 'ListRecords', metadataPrefix: 'ivo_vor', from: 'yesterday' }, 'badArgument'],
      [
        { verb: 'ListRecords', metadataPrefix: 'ivo_vor', from: '2030-01-01', until: '2020-01-01' },
        'badArgument',
      ],
      [{ verb: 'ListRecords', metadataPrefix: 'ivo_vor', from: '2999-01-01' }, 'noRecordsMatch'],
      [{ verb: 'ListRecords', metadataPrefix: 'ivo_vor', until: '1990-01-01' }, 'noRecordsMatch'],
      [{ verb: 'ListRecords', metadataPrefix: 'ivo_vor', set: 'ivo_publishers' }, 'noRecordsMatch'],
      [{ verb: 'ListRecords', resumptionToken: 'abc' }, 'badResumptionToken'],
      [{ verb: 'ListRecords', resumptionToken: 'abc', metadataPrefix: 'ivo_vor' }, 'badArgument'],
      [{ verb: 'GetRecord', identifier: 'ivo://elsewhere/tap', metadataPrefix: 'ivo_vor' }, 'idDoesNotExist'],
      [{ verb: 'GetRecord', identifier: 'ivo://src.example.org/tap' }, 'badArgument'],
      [{ verb: 'ListMetadataFormats', identifier: 'ivo://nowhere' }, 'idDoesNotExist'],
    ];
    for (const [params, code] of cases) {
      const r = await oai(params);
      expect(r.status).toBe(200);
      expect([params, errorCode(r.text)]).toEqual([params, code]);
    }
    // badVerb and badArgument echo the base URL without attributes (OAI-PMH 3.2).
    expect((await oai({ verb: 'Harvest' })).text).toMatch(/<request>[^<]+<\/request>/);
  });

  it('takes the verb by POST too (REG-29)', async () => {
    const res = await fetch(`${node.url}/registry/oai`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        verb: 'GetRecord',
        identifier: 'ivo://src.example.org',
        metadataPrefix: 'ivo_vor',
      }),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('xsi:type="vg:Authority"');
  });
});
