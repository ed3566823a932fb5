import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { type TableSetSchema, writeSchemas } from './tables.js';
import { type Capability, NS, writeCapability } from './vosi.js';

export const RECORD_NS = {
  ri: 'http://www.ivoa.net/xml/RegistryInterface/v1.0',
  vg: 'http://www.ivoa.net/xml/VORegistry/v1.0',
} as const;

// REG-26: registry records carry schema locations, unlike VOSI output.
const SCHEMA_LOCATIONS = [
  [NS.vr, 'http://www.ivoa.net/xml/VOResource/v1.0'],
  [NS.vs, 'http://www.ivoa.net/xml/VODataService/v1.1'],
  [NS.tr, 'http://www.ivoa.net/xml/TAPRegExt/v1.0'],
  [NS.cs, 'http://www.ivoa.net/xml/SimpleDALRegExt/v1.0'],
  [RECORD_NS.vg, 'http://www.ivoa.net/xml/VORegistry/v1.0'],
  [RECORD_NS.ri, 'http://www.ivoa.net/xml/RegistryInterface/v1.0'],
]
  .map(([ns, loc]) => `${ns} ${loc}`)
  .join(' ');

/** Who publishes the node's resources: the same curation on every record (REG-7). */
export interface Curation {
  readonly publisher: string;
  /** The people or bodies who made the resource's content (a catalogue's authors). */
  readonly creators?: readonly string[];
  readonly contactName: string;
  readonly contactEmail: string;
}

/** What every record of the node says of itself (REG-5, REG-6, REG-8). */
export interface ResourceText {
  readonly identifier: string;
  readonly title: string;
  readonly shortName?: string;
  readonly description: string;
  /** UAT concepts (REG-8). */
  readonly subjects: readonly string[];
  readonly referenceURL: string;
  /** content_type vocabulary terms: Catalog, Registry, Organisation... */
  readonly types?: readonly string[];
  /** Related resources (REG-8), e.g. IsServedBy the TAP service (REG-28). */
  readonly relationships?: ReadonlyArray<{
    readonly type: string;
    readonly resources: ReadonlyArray<{ readonly name: string; readonly id: string }>;
  }>;
}

/** One VOResource record: its IVOID, its datestamp, and how to write it as ri:Resource. */
export interface ResourceRecord {
  readonly identifier: string;
  readonly title: string;
  readonly description: string;
  readonly updated: Date;
  /** The xsi:type, e.g. vg:Registry, vs:CatalogService. */
  readonly type: string;
  write(parent: XMLBuilder): void;
}

/** UTCTimestamp at seconds (REG-4, REG-33). */
export const utcSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

interface Dates {
  readonly created: Date;
  readonly updated: Date;
}

function resource(
  parent: XMLBuilder,
  type: string,
  text: ResourceText,
  curation: Curation,
  dates: Dates,
): XMLBuilder {
  const r = parent.ele(RECORD_NS.ri, 'ri:Resource', {
    'xmlns:vr': NS.vr,
    'xmlns:vs': NS.vs,
    'xmlns:tr': NS.tr,
    'xmlns:cs': NS.cs,
    'xmlns:vg': RECORD_NS.vg,
    'xmlns:xsi': NS.xsi,
    'xsi:type': type,
    'xsi:schemaLocation': SCHEMA_LOCATIONS,
    created: utcSeconds(dates.created),
    updated: utcSeconds(dates.updated),
    status: 'active',
  });
  // Children unqualified and in the schema's order (REG-3, REG-6..REG-8).
  r.ele('', 'title').txt(text.title);
  if (text.shortName) r.ele('', 'shortName').txt(text.shortName);
  r.ele('', 'identifier').txt(text.identifier);
  const cur = r.ele('', 'curation');
  cur.ele('', 'publisher').txt(curation.publisher);
  for (const c of curation.creators ?? []) cur.ele('', 'creator').ele('', 'name').txt(c);
  const contact = cur.ele('', 'contact');
  contact.ele('', 'name').txt(curation.contactName);
  contact.ele('', 'email').txt(curation.contactEmail);
  const content = r.ele('', 'content');
  for (const s of text.subjects) content.ele('', 'subject').txt(s);
  content.ele('', 'description').txt(text.description);
  content.ele('', 'referenceURL').txt(text.referenceURL);
  for (const t of text.types ?? []) content.ele('', 'type').txt(t);
  for (const rel of text.relationships ?? []) {
    const re = content.ele('', 'relationship');
    re.ele('', 'relationshipType').txt(rel.type);
    for (const x of rel.resources) re.ele('', 'relatedResource', { 'ivo-id': x.id }).txt(x.name);
  }
  return r;
}

/**
 * A service record: vs:CatalogService with its tableset when it has tables (TAP, REG-27),
 * otherwise vs:DataService; capabilities as VOSI lists them.
 */
export function serviceRecord(
  text: ResourceText,
  curation: Curation,
  dates: Dates,
  capabilities: readonly Capability[],
  schemas?: readonly TableSetSchema[],
  more: ServiceExtras = {},
): ResourceRecord {
  const type = schemas ? 'vs:CatalogService' : 'vs:DataService';
  return {
    identifier: text.identifier,
    title: text.title,
    description: text.description,
    updated: dates.updated,
    type,
    write(parent) {
      const r = resource(parent, type, text, curation, dates);
      // vr:Service: rights* then capability* (REG-9); vs:DataService: coverage? (REG-14, REG-15).
      for (const x of more.rights ?? []) r.ele('', 'rights', x.uri ? { rightsURI: x.uri } : {}).txt(x.text);
      for (const c of capabilities) writeCapability(r, c);
      if (more.coverage && (more.coverage.footprint || more.coverage.wavebands?.length)) {
        const cov = r.ele('', 'coverage');
        if (more.coverage.footprint) cov.ele('', 'footprint').txt(more.coverage.footprint);
        for (const w of more.coverage.wavebands ?? []) cov.ele('', 'waveband').txt(w);
      }
      if (schemas) writeSchemas(r.ele('', 'tableset'), schemas, 'max');
    },
  };
}

/** What a catalogue's record says beyond a plain service's (VOResource 1.1, VODataService 1.1). */
export interface ServiceExtras {
  /** Licences and terms: the text, and a URI such as an SPDX licence page (REG-9). */
  readonly rights?: ReadonlyArray<{ readonly text: string; readonly uri?: string }>;
  /** A MOC URL of the sky covered, and VODataService waveband terms (REG-15). */
  readonly coverage?: { readonly footprint?: string; readonly wavebands?: readonly string[] };
}

// VODataService's waveband vocabulary (REG-15), matched without regard to case.
const WAVEBANDS = ['Radio', 'Millimeter', 'Infrared', 'Optical', 'UV', 'EUV', 'X-ray', 'Gamma-ray'];

/** A description's waveband words as the schema spells them; others are left out. */
export function wavebandTerms(words: readonly string[]): string[] {
  const out: string[] = [];
  for (const w of words) {
    const term = WAVEBANDS.find((x) => x.toLowerCase() === w.trim().toLowerCase());
    if (term && !out.includes(term)) out.push(term);
  }
  return out;
}

// An SPDX licence identifier (CC-BY-4.0, MIT, ...): its page is the rightsURI VOResource 1.2 recommends.
const SPDX = /^[A-Za-z0-9][A-Za-z0-9.+-]*$/;

/** A licence as a rights element: a URI as it is, an SPDX identifier with its spdx.org page. */
export function licenceRights(licence: string): { text: string; uri?: string } {
  const l = licence.trim();
  if (/^https?:\/\//.test(l)) return { text: l, uri: l };
  if (SPDX.test(l)) return { text: l, uri: `https://spdx.org/licenses/${l}.html` };
  return { text: l };
}

/** The publishing registry's own record (REG-36, REG-37). */
export function registryRecord(
  text: ResourceText,
  curation: Curation,
  dates: Dates,
  opts: {
    readonly oaiUrl: string;
    readonly maxRecords: number;
    readonly managedAuthority: string;
    readonly vosi: readonly Capability[];
  },
): ResourceRecord {
  return {
    identifier: text.identifier,
    title: text.title,
    description: text.description,
    updated: dates.updated,
    type: 'vg:Registry',
    write(parent) {
      const r = resource(parent, 'vg:Registry', text, curation, dates);
      writeCapability(r, {
        standardID: 'ivo://ivoa.net/std/Registry',
        type: 'vg:Harvest',
        interfaces: [
          {
            type: 'vg:OAIHTTP',
            role: 'std',
            version: '1.0',
            accessUrls: [{ url: opts.oaiUrl, use: 'base' }],
          },
        ],
        extension: (c) => {
          c.ele('', 'maxRecords').txt(String(opts.maxRecords));
        },
      });
      for (const c of opts.vosi) writeCapability(r, c);
      // A publishing registry holds only its own records.
      r.ele('', 'full').txt('false');
      r.ele('', 'managedAuthority').txt(opts.managedAuthority);
    },
  };
}

/** The naming authority's record (REG-38): ivo://authority, managed by the publisher. */
export function authorityRecord(text: ResourceText, curation: Curation, dates: Dates): ResourceRecord {
  return {
    identifier: text.identifier,
    title: text.title,
    description: text.description,
    updated: dates.updated,
    type: 'vg:Authority',
    write(parent) {
      const r = resource(parent, 'vg:Authority', text, curation, dates);
      r.ele('', 'managingOrg').txt(curation.publisher);
    },
  };
}
