import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';

export const NS = {
  vosiCapabilities: 'http://www.ivoa.net/xml/VOSICapabilities/v1.0',
  vosiAvailability: 'http://www.ivoa.net/xml/VOSIAvailability/v1.0',
  vr: 'http://www.ivoa.net/xml/VOResource/v1.0',
  vs: 'http://www.ivoa.net/xml/VODataService/v1.1',
  tr: 'http://www.ivoa.net/xml/TAPRegExt/v1.0',
  /** SimpleDALRegExt 1.0: cs:ConeSearch (SCS-31). */
  cs: 'http://www.ivoa.net/xml/ConeSearch/v1.0',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
} as const;

export const STANDARD_ID = {
  capabilities: 'ivo://ivoa.net/std/VOSI#capabilities',
  availability: 'ivo://ivoa.net/std/VOSI#availability',
  tables: 'ivo://ivoa.net/std/VOSI#tables-1.1',
  examples: 'ivo://ivoa.net/std/DALI#examples',
  tap: 'ivo://ivoa.net/std/TAP',
  sia: 'ivo://ivoa.net/std/SIA#query-2.0',
  datalink: 'ivo://ivoa.net/std/DataLink#links-1.1',
  sodaSync: 'ivo://ivoa.net/std/SODA#sync-1.0',
  sodaAsync: 'ivo://ivoa.net/std/SODA#async-1.0',
  scs: 'ivo://ivoa.net/std/ConeSearch',
  hipsList: 'ivo://ivoa.net/std/hips#hipslist-1.0',
  registryHarvest: 'ivo://ivoa.net/std/Registry',
} as const;

/** An accessURL and how a client uses it (VOSI-11). */
export interface AccessUrl {
  readonly url: string;
  readonly use: 'full' | 'base' | 'dir';
}

export interface Interface {
  /** xsi:type, e.g. vs:ParamHTTP, vr:WebBrowser (vg:OAIHTTP in registry records). */
  readonly type: 'vs:ParamHTTP' | 'vr:WebBrowser' | 'vr:WebService' | 'vg:OAIHTTP';
  readonly role?: 'std';
  readonly version?: string;
  readonly accessUrls: readonly AccessUrl[];
  /** At most one since VOResource 1.1 (VOSI-10); absent on VOSI endpoints (VOSI-2). */
  readonly securityMethod?: string;
  readonly queryTypes?: ReadonlyArray<'GET' | 'POST'>;
  readonly resultType?: string;
}

export interface Capability {
  readonly standardID: string;
  /** Registered extension type, e.g. tr:TableAccess (VOSI-8). */
  readonly type?: string;
  readonly description?: string;
  readonly interfaces: readonly Interface[];
  /** Writes the extension's own children after the interfaces (e.g. TAPRegExt). */
  readonly extension?: (capability: XMLBuilder) => void;
}

/** A VOSI capabilities document (VOSI-6..VOSI-12). */
export function capabilitiesDocument(capabilities: readonly Capability[]): string {
  const doc = create({ version: '1.0', encoding: 'UTF-8' }).ele(NS.vosiCapabilities, 'vosi:capabilities', {
    'xmlns:vr': NS.vr,
    'xmlns:vs': NS.vs,
    'xmlns:tr': NS.tr,
    'xmlns:cs': NS.cs,
    'xmlns:xsi': NS.xsi,
  });
  // Children of vosi:capabilities are unqualified (VOSI-7): no namespace.
  for (const cap of capabilities) writeCapability(doc, cap);
  return doc.end({ prettyPrint: true });
}

/** One unqualified capability element (VOSI-8, REG-10), as capabilities and registry records write it. */
export function writeCapability(parent: XMLBuilder, cap: Capability): void {
  const attrs: Record<string, string> = { standardID: cap.standardID };
  if (cap.type) attrs['xsi:type'] = cap.type;
  const c = parent.ele('', 'capability', attrs);
  if (cap.description) c.ele('', 'description').txt(cap.description);
  for (const itf of cap.interfaces) writeInterface(c, itf);
  cap.extension?.(c);
}

function writeInterface(parent: XMLBuilder, itf: Interface): void {
  const attrs: Record<string, string> = { 'xsi:type': itf.type };
  if (itf.role) attrs.role = itf.role;
  if (itf.version) attrs.version = itf.version;
  const i = parent.ele('', 'interface', attrs);
  for (const a of itf.accessUrls) i.ele('', 'accessURL', { use: a.use }).txt(a.url);
  if (itf.securityMethod) i.ele('', 'securityMethod', { standardID: itf.securityMethod });
  for (const q of itf.queryTypes ?? []) i.ele('', 'queryType').txt(q);
  if (itf.resultType) i.ele('', 'resultType').txt(itf.resultType);
}

export interface Availability {
  readonly available: boolean;
  readonly upSince?: Date;
  readonly notes?: readonly string[];
}

/** A VOSI availability document; children in the schema's order (VOSI-15). */
export function availabilityDocument(a: Availability): string {
  const doc = create({ version: '1.0', encoding: 'UTF-8' }).ele(NS.vosiAvailability, 'vosi:availability');
  doc.ele(NS.vosiAvailability, 'vosi:available').txt(String(a.available));
  if (a.upSince)
    doc.ele(NS.vosiAvailability, 'vosi:upSince').txt(a.upSince.toISOString().replace(/\.\d{3}Z$/, 'Z'));
  for (const n of a.notes ?? []) doc.ele(NS.vosiAvailability, 'vosi:note').txt(n);
  return doc.end({ prettyPrint: true });
}

/** The capabilities every service lists for its own VOSI endpoints (VOSI-12). */
export function vosiCapabilities(baseUrl: string): Capability[] {
  return [
    {
      standardID: STANDARD_ID.capabilities,
      interfaces: [{ type: 'vs:ParamHTTP', accessUrls: [{ url: `${baseUrl}/capabilities`, use: 'full' }] }],
    },
    {
      standardID: STANDARD_ID.availability,
      interfaces: [{ type: 'vs:ParamHTTP', accessUrls: [{ url: `${baseUrl}/availability`, use: 'full' }] }],
    },
  ];
}
