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
  [RECORD_NS.vg, 'http://www.ivoa.net/xml/VORegistry/v1.0'],
  [RECORD_NS.ri, 'http://www.ivoa.net/xml/RegistryInterface/v1.0'],
]
  .map(([ns, loc]) => `${ns} ${loc}`)
  .join(' ');

/** Who publishes the node's resources: the same curation on every record (REG-7). */
export interface Curation {
  readonly publisher: string;
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
  const contact = cur.ele('', 'contact');
  contact.ele('', 'name').txt(curation.contactName);
  contact.ele('', 'email').txt(curation.contactEmail);
  const content = r.ele('', 'content');
  for (const s of text.subjects) content.ele('', 'subject').txt(s);
  content.ele('', 'description').txt(text.description);
  content.ele('', 'referenceURL').txt(text.referenceURL);
  for (const t of text.types ?? []) content.ele('', 'type').txt(t);
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
      for (const c of capabilities) writeCapability(r, c);
      if (schemas) writeSchemas(r.ele('', 'tableset'), schemas, 'max');
    },
  };
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
