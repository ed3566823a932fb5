import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { RECORD_NS, type ResourceRecord, utcSeconds } from './records.js';
import { NS } from './vosi.js';

const OAI_NS = 'http://www.openarchives.org/OAI/2.0/';
const OAI_DC_NS = 'http://www.openarchives.org/OAI/2.0/oai_dc/';
const DC_NS = 'http://purl.org/dc/elements/1.1/';

/** The metadata formats every record is offered in (REG-31). */
const FORMATS = [
  { prefix: 'ivo_vor', schema: 'http://www.ivoa.net/xml/RegistryInterface/v1.0', namespace: RECORD_NS.ri },
  { prefix: 'oai_dc', schema: 'http://www.openarchives.org/OAI/2.0/oai_dc.xsd', namespace: OAI_DC_NS },
] as const;

/** The one set: every record here originates at this registry (REG-35). */
const MANAGED_SET = 'ivo_managed';

/** What the publishing registry serves. */
export interface Repository {
  readonly name: string;
  /** The OAI-PMH base URL (REG-34). */
  readonly baseUrl: string;
  readonly adminEmail: string;
  /** The registry's own vg:Registry record, also in Identify's description. */
  readonly registry: ResourceRecord;
  /** Every record, the registry's included. */
  readonly records: readonly ResourceRecord[];
  /**
   * Records once served and since withdrawn (a catalogue unpublished): kept for good, so a
   * harvester learns of the deletion (REG-32, REG-34 deletedRecord persistent).
   */
  readonly deleted?: readonly DeletedRecord[];
}

export interface DeletedRecord {
  readonly identifier: string;
  readonly deletedAt: Date;
}

type ErrorCode =
  | 'badVerb'
  | 'badArgument'
  | 'badResumptionToken'
  | 'cannotDisseminateFormat'
  | 'idDoesNotExist'
  | 'noRecordsMatch'
  | 'noMetadataFormats'
  | 'noSetHierarchy';

class OaiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

// Arguments each verb takes (REG-30): required, optional, exclusive.
const VERBS: Record<string, { required: string[]; optional: string[]; exclusive?: string }> = {
  Identify: { required: [], optional: [] },
  ListMetadataFormats: { required: [], optional: ['identifier'] },
  ListSets: { required: [], optional: [], exclusive: 'resumptionToken' },
  ListIdentifiers: {
    required: ['metadataPrefix'],
    optional: ['from', 'until', 'set'],
    exclusive: 'resumptionToken',
  },
  ListRecords: {
    required: ['metadataPrefix'],
    optional: ['from', 'until', 'set'],
    exclusive: 'resumptionToken',
  },
  GetRecord: { required: ['identifier', 'metadataPrefix'], optional: [] },
};

/** OAI-PMH argument names are case-sensitive, values single (OAI-PMH 3.1.1). */
export type OaiArguments = ReadonlyMap<string, readonly string[]>;

/**
 * One OAI-PMH 2.0 response (REG-29..REG-35): the envelope with the verb's answer or its
 * error, always HTTP 200. Every record fits in one response, so no resumption token is
 * ever issued, and any one given is bad.
 */
export function oaiResponse(args: OaiArguments, repo: Repository, now = new Date()): string {
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele(OAI_NS, 'OAI-PMH', {
    'xmlns:xsi': NS.xsi,
    'xsi:schemaLocation': `${OAI_NS} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd`,
  });
  root.ele(OAI_NS, 'responseDate').txt(utcSeconds(now));
  const verb = single(args, 'verb');
  let checked: Map<string, string> | undefined;
  try {
    checked = checkArguments(args, verb);
  } catch (err) {
    // badVerb and badArgument echo the base URL alone (OAI-PMH 3.2).
    root.ele(OAI_NS, 'request').txt(repo.baseUrl);
    writeError(root, err);
    return root.end({ prettyPrint: true });
  }
  const echo: Record<string, string> = { verb: verb as string };
  for (const [k, v] of checked) echo[k] = v;
  root.ele(OAI_NS, 'request', echo).txt(repo.baseUrl);
  try {
    answer(root, verb as string, checked, repo);
  } catch (err) {
    writeError(root, err);
  }
  return root.end({ prettyPrint: true });
}

function single(args: OaiArguments, name: string): string | undefined {
  const v = args.get(name);
  return v?.[0];
}

function checkArguments(args: OaiArguments, verb: string | undefined): Map<string, string> {
  if (verb === undefined)
    throw new OaiError('badVerb', 'no verb: give one of ' + Object.keys(VERBS).join(', '));
  if ((args.get('verb')?.length ?? 0) > 1) throw new OaiError('badVerb', 'verb was given more than once');
  const spec = VERBS[verb];
  if (!spec)
    throw new OaiError(
      'badVerb',
      `'${verb}' is not an OAI-PMH verb: use one of ${Object.keys(VERBS).join(', ')}`,
    );
  const out = new Map<string, string>();
  for (const [name, values] of args) {
    if (name === 'verb') continue;
    if (!spec.required.includes(name) && !spec.optional.includes(name) && name !== spec.exclusive)
      throw new OaiError('badArgument', `${verb} does not take the argument '${name}'`);
    if (values.length > 1) throw new OaiError('badArgument', `'${name}' was given more than once`);
    out.set(name, values[0]);
  }
  if (spec.exclusive && out.has(spec.exclusive)) {
    if (out.size > 1)
      throw new OaiError('badArgument', `${spec.exclusive} must be the only argument besides verb`);
    return out;
  }
  for (const r of spec.required)
    if (!out.has(r)) throw new OaiError('badArgument', `${verb} needs the argument '${r}'`);
  return out;
}

function writeError(root: XMLBuilder, err: unknown): void {
  if (!(err instanceof OaiError)) throw err;
  root.ele(OAI_NS, 'error', { code: err.code }).txt(err.message);
}

const SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** from/until at the repository's granularity or a day (REG-33); until a day means its end. */
function parseDatestamp(name: string, raw: string, endOfDay: boolean): Date {
  let d: Date | undefined;
  if (SECONDS.test(raw)) d = new Date(raw);
  else if (DAY.test(raw)) d = new Date(`${raw}T${endOfDay ? '23:59:59' : '00:00:00'}Z`);
  if (!d || Number.isNaN(d.getTime()))
    throw new OaiError('badArgument', `${name}='${raw}' is not YYYY-MM-DDThh:mm:ssZ or YYYY-MM-DD`);
  return d;
}

function answer(root: XMLBuilder, verb: string, args: Map<string, string>, repo: Repository): void {
  if (args.has('resumptionToken'))
    throw new OaiError(
      'badResumptionToken',
      'this repository issues no resumption tokens: every list is whole',
    );
  switch (verb) {
    case 'Identify': {
      const el = root.ele(OAI_NS, 'Identify');
      el.ele(OAI_NS, 'repositoryName').txt(repo.name);
      el.ele(OAI_NS, 'baseURL').txt(repo.baseUrl);
      el.ele(OAI_NS, 'protocolVersion').txt('2.0');
      el.ele(OAI_NS, 'adminEmail').txt(repo.adminEmail);
      const earliest = Math.min(
        ...repo.records.map((r) => r.updated.getTime()),
        ...(repo.deleted ?? []).map((d) => d.deletedAt.getTime()),
      );
      el.ele(OAI_NS, 'earliestDatestamp').txt(utcSeconds(new Date(earliest)));
      // A withdrawn catalogue's record stays as a deleted header for good.
      el.ele(OAI_NS, 'deletedRecord').txt('persistent');
      el.ele(OAI_NS, 'granularity').txt('YYYY-MM-DDThh:mm:ssZ');
      repo.registry.write(el.ele(OAI_NS, 'description'));
      return;
    }
    case 'ListMetadataFormats': {
      const id = args.get('identifier');
      if (id !== undefined && !repo.records.some((r) => r.identifier === id) && !deletedOf(repo, id))
        throw new OaiError('idDoesNotExist', `no record has the identifier '${id}'`);
      const el = root.ele(OAI_NS, 'ListMetadataFormats');
      for (const f of FORMATS) {
        const m = el.ele(OAI_NS, 'metadataFormat');
        m.ele(OAI_NS, 'metadataPrefix').txt(f.prefix);
        m.ele(OAI_NS, 'schema').txt(f.schema);
        m.ele(OAI_NS, 'metadataNamespace').txt(f.namespace);
      }
      return;
    }
    case 'ListSets': {
      const s = root.ele(OAI_NS, 'ListSets').ele(OAI_NS, 'set');
      s.ele(OAI_NS, 'setSpec').txt(MANAGED_SET);
      s.ele(OAI_NS, 'setName').txt('the resources this registry manages');
      return;
    }
    case 'GetRecord': {
      const prefix = checkPrefix(args.get('metadataPrefix') as string);
      const id = args.get('identifier') as string;
      const rec = repo.records.find((r) => r.identifier === id);
      const gone = rec ? undefined : deletedOf(repo, id);
      if (gone) {
        writeDeleted(root.ele(OAI_NS, 'GetRecord'), gone);
        return;
      }
      if (!rec) throw new OaiError('idDoesNotExist', `no record has the identifier '${id}'`);
      writeRecord(root.ele(OAI_NS, 'GetRecord'), rec, prefix);
      return;
    }
    default: {
      const prefix = checkPrefix(args.get('metadataPrefix') as string);
      const from = args.has('from') ? parseDatestamp('from', args.get('from') as string, false) : undefined;
      const until = args.has('until')
        ? parseDatestamp('until', args.get('until') as string, true)
        : undefined;
      const fromRaw = args.get('from');
      const untilRaw = args.get('until');
      if (fromRaw && untilRaw && fromRaw.length !== untilRaw.length)
        throw new OaiError('badArgument', 'from and until must have the same granularity');
      if (from && until && from > until) throw new OaiError('badArgument', 'from is later than until');
      const set = args.get('set');
      // Compared at the granularity datestamps are written with: whole seconds.
      const seconds = (d: Date) => Math.floor(d.getTime() / 1000) * 1000;
      const within = (d: Date) =>
        (set === undefined || set === MANAGED_SET) &&
        (!from || seconds(d) >= from.getTime()) &&
        (!until || seconds(d) <= until.getTime());
      const matching = repo.records.filter((r) => within(r.updated));
      const gone = (repo.deleted ?? []).filter((d) => within(d.deletedAt));
      if (matching.length + gone.length === 0)
        throw new OaiError('noRecordsMatch', 'no record matches these arguments');
      const el = root.ele(OAI_NS, verb);
      for (const r of matching) {
        if (verb === 'ListIdentifiers') writeHeader(el, r);
        else writeRecord(el, r, prefix);
      }
      for (const d of gone) {
        if (verb === 'ListIdentifiers') writeDeletedHeader(el, d);
        else writeDeleted(el, d);
      }
    }
  }
}

function checkPrefix(prefix: string): (typeof FORMATS)[number]['prefix'] {
  const f = FORMATS.find((x) => x.prefix === prefix);
  if (!f)
    throw new OaiError(
      'cannotDisseminateFormat',
      `metadataPrefix '${prefix}' is not offered: use ${FORMATS.map((x) => x.prefix).join(' or ')}`,
    );
  return f.prefix;
}

// REG-32: the header identifier is the resource's IVOID.
function writeHeader(parent: XMLBuilder, r: ResourceRecord): void {
  const h = parent.ele(OAI_NS, 'header');
  h.ele(OAI_NS, 'identifier').txt(r.identifier);
  h.ele(OAI_NS, 'datestamp').txt(utcSeconds(r.updated));
  h.ele(OAI_NS, 'setSpec').txt(MANAGED_SET);
}

const deletedOf = (repo: Repository, id: string) =>
  // IVOIDs compare case-insensitively (REG-1).
  repo.deleted?.find((d) => d.identifier.toLowerCase() === id.toLowerCase());

/** A deleted record is its header alone, with status="deleted" (OAI-PMH 2.5.1). */
function writeDeletedHeader(parent: XMLBuilder, d: DeletedRecord): void {
  const h = parent.ele(OAI_NS, 'header', { status: 'deleted' });
  h.ele(OAI_NS, 'identifier').txt(d.identifier);
  h.ele(OAI_NS, 'datestamp').txt(utcSeconds(d.deletedAt));
  h.ele(OAI_NS, 'setSpec').txt(MANAGED_SET);
}

function writeDeleted(parent: XMLBuilder, d: DeletedRecord): void {
  writeDeletedHeader(parent.ele(OAI_NS, 'record'), d);
}

function writeRecord(parent: XMLBuilder, r: ResourceRecord, prefix: 'ivo_vor' | 'oai_dc'): void {
  const rec = parent.ele(OAI_NS, 'record');
  writeHeader(rec, r);
  const md = rec.ele(OAI_NS, 'metadata');
  if (prefix === 'ivo_vor') {
    r.write(md);
    return;
  }
  const dc = md.ele(OAI_DC_NS, 'oai_dc:dc', {
    'xmlns:dc': DC_NS,
    'xsi:schemaLocation': `${OAI_DC_NS} http://www.openarchives.org/OAI/2.0/oai_dc.xsd`,
  });
  dc.ele(DC_NS, 'dc:title').txt(r.title);
  dc.ele(DC_NS, 'dc:identifier').txt(r.identifier);
  dc.ele(DC_NS, 'dc:description').txt(r.description);
  dc.ele(DC_NS, 'dc:type').txt(r.type);
}
