import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import {
  authorityRecord,
  type Curation,
  oaiResponse,
  type Repository,
  type ResourceRecord,
  registryRecord,
  serviceRecord,
  vosiCapabilities,
} from '../../registry/index.js';
import { ANONYMOUS } from '../auth/index.js';
import type { CatalogueSource } from '../catalogue/index.js';
import type { ConeSearchLimits } from '../scs/index.js';
import type { ServiceEntry } from '../services.js';
import type { PublishedSchema } from '../tap/tables/model.js';
import { catalogueIdentifier, catalogueRecords, recordedTables } from './catalogues.js';
import { syncRegistryRecords } from './ledger.js';

/** Who the node's records say publishes it (VONODE_AUTHORITY, VONODE_PUBLISHER, VONODE_CONTACT_EMAIL). */
export interface Publisher {
  /** The naming authority, without ivo:// (REG-1). */
  readonly authority: string;
  readonly name: string;
  readonly email: string;
}

export interface OaiDeps {
  readonly pool: pg.Pool;
  readonly baseUrl: string;
  readonly services: readonly ServiceEntry[];
  readonly publisher: Publisher;
  /** The published tables: the TAP record's tableset and one record per catalogue with a position. */
  readonly catalogues: CatalogueSource;
  /** Tokens accepted (the catalogue records' cone searches list their secured interfaces). */
  readonly tokens?: boolean;
  /** What each catalogue's cone search capability advertises (SCS-30). */
  readonly coneLimits?: ConeSearchLimits;
}

const SUBJECTS = ['radio-astronomy'];

/**
 * The node's records: the registry itself, its authority, and one per service (TAP with its
 * tableset), dated by the node's schema migrations: created when the database was first set
 * up, updated when an upgrade last changed it (REG-36, REG-40).
 */
export function nodeRecords(
  deps: Omit<OaiDeps, 'pool' | 'catalogues'>,
  dates: { created: Date; updated: Date },
  schemas: readonly PublishedSchema[],
): {
  registry: ResourceRecord;
  records: ResourceRecord[];
} {
  const { baseUrl, publisher } = deps;
  const ivo = (path?: string) => `ivo://${publisher.authority}${path ? `/${path}` : ''}`;
  const curation: Curation = {
    publisher: publisher.name,
    contactName: `${publisher.name} operations`,
    contactEmail: publisher.email,
  };
  const registry = registryRecord(
    {
      identifier: ivo('registry'),
      title: `${publisher.name} publishing registry`,
      description: `The VOResource records of the services of ${publisher.name}, an SKA Regional Centre IVOA node (vonode).`,
      subjects: SUBJECTS,
      referenceURL: `${baseUrl}/`,
      types: ['Registry'],
    },
    curation,
    dates,
    {
      oaiUrl: `${baseUrl}/registry/oai`,
      maxRecords: 1000,
      managedAuthority: publisher.authority,
      vosi: vosiCapabilities(`${baseUrl}/registry`),
    },
  );
  const authority = authorityRecord(
    {
      identifier: ivo(),
      title: `${publisher.name} naming authority`,
      description: `The authority of the IVOA identifiers of ${publisher.name}.`,
      subjects: SUBJECTS,
      referenceURL: `${baseUrl}/`,
    },
    curation,
    dates,
  );
  const services = deps.services
    .filter((s) => s.path !== 'registry')
    .map((s) => {
      const url = `${baseUrl}/${s.path}`;
      return serviceRecord(
        {
          identifier: ivo(s.path),
          title: `${publisher.name} ${s.title}`,
          description: `${s.title} of ${publisher.name}: ${s.summary}.`,
          subjects: SUBJECTS,
          referenceURL: `${baseUrl}/`,
          types: s.path === 'tap' ? ['Catalog'] : undefined,
        },
        curation,
        dates,
        [...s.capabilities(url), ...vosiCapabilities(url)],
        s.path === 'tap' ? schemas : undefined,
      );
    });
  return { registry, records: [registry, authority, ...services] };
}

function argumentsOf(request: FastifyRequest): Map<string, string[]> {
  const args = new Map<string, string[]>();
  const add = (source: unknown) => {
    if (!source || typeof source !== 'object') return;
    for (const [k, v] of Object.entries(source as Record<string, unknown>))
      for (const x of Array.isArray(v) ? v : [v]) {
        if (x === undefined || x === null || typeof x === 'object') continue;
        const list = args.get(k) ?? [];
        list.push(String(x));
        args.set(k, list);
      }
  };
  add(request.query);
  if (request.method === 'POST') add(request.body);
  return args;
}

/** The OAI-PMH 2.0 endpoint of the publishing registry at /registry/oai (REG-29), GET and POST. */
export function registerOai(app: FastifyInstance, deps: OaiDeps): void {
  let nodeDates: { created: Date; updated: Date } | undefined;
  // The records follow the catalogue: built from the public view on each request (cheap,
  // no query), so a publish or unpublish shows at once, and so does a release date passing.
  const repository = async (): Promise<Repository> => {
    if (!nodeDates) {
      const r = await deps.pool.query<{ created: Date; updated: Date }>(
        'SELECT min(applied_at) AS created, max(applied_at) AS updated FROM vonode.schema_migrations',
      );
      nodeDates = r.rows[0];
    }
    const view = deps.catalogues.view(ANONYMOUS);
    const { registry, records } = nodeRecords(deps, nodeDates, view.schemas);
    const { publisher, baseUrl } = deps;
    const catalogues = catalogueRecords(view, {
      baseUrl,
      authority: publisher.authority,
      curation: {
        publisher: publisher.name,
        contactName: `${publisher.name} operations`,
        contactEmail: publisher.email,
      },
      subjects: SUBJECTS,
      dates: nodeDates,
      ...(deps.coneLimits ? { coneLimits: deps.coneLimits } : {}),
      ...(deps.tokens ? { tokens: true } : {}),
    });
    const served = recordedTables(view).map((t) => ({
      identifier: catalogueIdentifier(publisher.authority, t),
      tableName: `${t.schema}.${t.name}`,
    }));
    const deleted = await syncRegistryRecords(deps.pool, publisher.authority, served);
    return {
      name: `${deps.publisher.name} publishing registry`,
      baseUrl: `${deps.baseUrl}/registry/oai`,
      adminEmail: deps.publisher.email,
      registry,
      records: [...records, ...catalogues],
      deleted,
    };
  };
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const body = oaiResponse(argumentsOf(request), await repository());
    return reply.status(200).type('text/xml; charset=utf-8').send(body);
  };
  app.get('/registry/oai', handler);
  app.post('/registry/oai', handler);
}
