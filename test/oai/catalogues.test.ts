import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { utcSeconds } from '../../registry/index.js';
import { startTestNode } from '../support/node.js';
import { type CatalogueFixture, createCatalogueFixture } from '../support/published-catalogues.js';
import { xsdResourceErrors } from '../support/xsd.js';

let node: Awaited<ReturnType<typeof startTestNode>>;
let fx: CatalogueFixture;

beforeAll(async () => {
  fx = await createCatalogueFixture();
  node = await startTestNode(
    { VONODE_AUTHORITY: 'src.example.org', VONODE_CONTACT_EMAIL: 'vo@src.example.org' },
    { catalogues: fx.source },
  );
});
afterAll(async () => {
  await node?.stop();
  await fx?.close();
});

async function oai(params: Record<string, string>): Promise<string> {
  const res = await fetch(`${node.url}/registry/oai?${new URLSearchParams(params)}`);
  expect(res.status).toBe(200);
  return res.text();
}

const parser = new XMLParser({
  ignoreAttributes: false,
  removeNSPrefix: true,
  isArray: (n) =>
    [
      'record',
      'header',
      'capability',
      'interface',
      'creator',
      'subject',
      'waveband',
      'table',
      'schema',
      'column',
    ].includes(n),
});

const resources = (text: string) =>
  [...text.matchAll(/<ri:Resource[\s\S]*?<\/ri:Resource>/g)].map((m) => m[0]);
const errorCode = (text: string) => /<error code="(\w+)"/.exec(text)?.[1];
type Header = { identifier: string; datestamp: string; '@_status'?: string };
const headers = async (): Promise<Header[]> =>
  parser.parse(await oai({ verb: 'ListIdentifiers', metadataPrefix: 'ivo_vor' }))['OAI-PMH'].ListIdentifiers
    .header as Header[];
/** The identifiers of the records served (deleted headers left out). */
const identifiers = async () => (await headers()).filter((h) => !h['@_status']).map((h) => h.identifier);

describe('/registry/oai: a VOResource record per published catalogue with a position', () => {
  it('lists the public catalogue under the authority, dated by its publication, and not the proprietary one', async () => {
    const id = `ivo://src.example.org/${fx.schema}/pybdsf`;
    const PUBLISHED_AT = await fx.publishedAt('pybdsf');
    const headers = parser.parse(await oai({ verb: 'ListIdentifiers', metadataPrefix: 'oai_dc' }))['OAI-PMH']
      .ListIdentifiers.header as Array<{ identifier: string; datestamp: string }>;
    expect(headers.find((h) => h.identifier === id)?.datestamp).toBe(utcSeconds(PUBLISHED_AT));
    expect(headers.map((h) => h.identifier)).not.toContain(`ivo://src.example.org/${fx.schema}/private_cat`);
    const since = parser.parse(
      await oai({
        verb: 'ListIdentifiers',
        metadataPrefix: 'ivo_vor',
        from: utcSeconds(PUBLISHED_AT),
        until: utcSeconds(PUBLISHED_AT),
      }),
    )['OAI-PMH'].ListIdentifiers.header as Array<{ identifier: string; datestamp: string }>;
    expect(since.map((h) => h.identifier)).toContain(id);
    for (const h of since) expect(h.datestamp).toBe(utcSeconds(PUBLISHED_AT));
  });

  it("GetRecord: a valid vs:CatalogService with its tableset, cone search, TAP and the description's registry metadata", async () => {
    const text = await oai({
      verb: 'GetRecord',
      identifier: `ivo://src.example.org/${fx.schema}/pybdsf`,
      metadataPrefix: 'ivo_vor',
    });
    const [xml] = resources(text);
    expect(xsdResourceErrors(xml)).toBe('');
    const r = parser.parse(text)['OAI-PMH'].GetRecord.record[0].metadata.Resource;
    expect(r['@_type']).toBe('vs:CatalogService');
    expect(r['@_updated']).toBe(utcSeconds(await fx.publishedAt('pybdsf')));
    expect(r.title).toBe('PyBDSF sources of the test field');
    expect(r.curation.creator.map((c: { name: string }) => c.name)).toEqual(['A. Astronomer', 'B. Builder']);
    expect(r.content.subject).toEqual(['radio-continuum-surveys']);
    expect(r.content.type).toBe('Catalog');
    expect(r.content.relationship.relatedResource['@_ivo-id']).toBe('ivo://src.example.org/tap');
    expect(r.rights['@_rightsURI']).toBe('https://spdx.org/licenses/CC-BY-4.0.html');
    expect(r.coverage.waveband).toEqual(['Radio']);
    expect(r.coverage.footprint).toBe(`http://vo.example.test/node/moc/${fx.schema}.pybdsf`);
    const caps = r.capability as Array<{
      '@_standardID': string;
      interface: Array<{ accessURL: { '#text': string } }>;
    }>;
    const scs = caps.find((c) => c['@_standardID'] === 'ivo://ivoa.net/std/ConeSearch');
    expect(scs?.interface[0].accessURL['#text']).toBe(
      `http://vo.example.test/node/scs/${fx.schema}.pybdsf/query?`,
    );
    const tap = caps.find((c) => c['@_standardID'] === 'ivo://ivoa.net/std/TAP#aux');
    expect(tap?.interface[0].accessURL['#text']).toBe('http://vo.example.test/node/tap');
    expect(r.tableset.schema).toHaveLength(1);
    const [table] = r.tableset.schema[0].table;
    expect(r.tableset.schema[0].table).toHaveLength(1);
    expect(table.name).toBe(`${fx.schema}.pybdsf`);
    expect(table.column.map((c: { name: string }) => c.name)).toContain('flux_int');
    expect(table.column.find((c: { name: string }) => c.name === 'flux_int')).toMatchObject({
      unit: 'mJy',
      ucd: 'phot.flux.density',
    });
  });

  it("the proprietary catalogue has no record and is in no tableset, not even the TAP service's", async () => {
    expect(
      errorCode(
        await oai({
          verb: 'GetRecord',
          identifier: `ivo://src.example.org/${fx.schema}/private_cat`,
          metadataPrefix: 'ivo_vor',
        }),
      ),
    ).toBe('idDoesNotExist');
    const all = await oai({ verb: 'ListRecords', metadataPrefix: 'ivo_vor' });
    expect(all).not.toContain('private_cat');
    expect(all).not.toContain('private_v1');
    const tap = await oai({
      verb: 'GetRecord',
      identifier: 'ivo://src.example.org/tap',
      metadataPrefix: 'ivo_vor',
    });
    expect(tap).toContain(`${fx.schema}.pybdsf`);
    expect(tap).not.toContain('private_cat');
  });

  it('records appear with a publish; an unpublish leaves a deleted header for harvesters; a new publish brings the record back (REG-32, REG-34)', async () => {
    const id = `ivo://src.example.org/${fx.schema}/fresh`;
    expect(await identifiers()).not.toContain(id);
    expect(errorCode(await oai({ verb: 'GetRecord', identifier: id, metadataPrefix: 'ivo_vor' }))).toBe(
      'idDoesNotExist',
    );
    await fx.publish('fresh', 20, 80, -10);
    expect(await identifiers()).toContain(id);
    const rec = await oai({ verb: 'GetRecord', identifier: id, metadataPrefix: 'ivo_vor' });
    expect(xsdResourceErrors(resources(rec)[0])).toBe('');
    await fx.unpublish('fresh');
    expect(await identifiers()).not.toContain(id);
    const gone = (await headers()).find((h) => h.identifier === id);
    expect(gone?.['@_status']).toBe('deleted');
    const deleted = await oai({ verb: 'GetRecord', identifier: id, metadataPrefix: 'ivo_vor' });
    expect(errorCode(deleted)).toBeUndefined();
    expect(deleted).toMatch(/<header status="deleted">/);
    expect(resources(deleted)).toEqual([]);
    const listed = await oai({ verb: 'ListRecords', metadataPrefix: 'oai_dc', from: gone?.datestamp ?? '' });
    expect(listed).toContain(`<identifier>${id}</identifier>`);
    const identify = parser.parse(await oai({ verb: 'Identify' }))['OAI-PMH'].Identify;
    expect(identify.deletedRecord).toBe('persistent');
    await fx.publish('fresh', 20, 80, -10);
    expect(await identifiers()).toContain(id);
    expect((await headers()).filter((h) => h.identifier === id)).toHaveLength(1);
    await fx.unpublish('fresh');
  });

  it('a proprietary catalogue gets its record once its release date has passed', async () => {
    const id = `ivo://src.example.org/${fx.schema}/released`;
    await fx.publish('released', 10, 100, 30, {
      rights: { ownerGroup: 'survey-team', releaseDate: '2030-01-01' },
    });
    expect(await identifiers()).not.toContain(id);
    await fx.publish('released', 10, 100, 30, {
      rights: { ownerGroup: 'survey-team', releaseDate: '2020-01-01' },
    });
    expect(await identifiers()).toContain(id);
    await fx.unpublish('released');
  });
});
