import {
  type Curation,
  licenceRights,
  type ResourceRecord,
  serviceRecord,
  vosiCapabilities,
  wavebandTerms,
} from '../../registry/index.js';
import type { CatalogueView } from '../catalogue/index.js';
import { type ConeSearchLimits, coneCapability, coneCatalogueOf } from '../scs/index.js';
import { DEFAULT_CONE_LIMITS, securedCapability } from '../services.js';
import type { PublishedTable } from '../tap/tables/model.js';
import { OBSCORE_RADIO_UTYPE } from '../tap/tables/obscore-radio.js';

const TAP_AUX = 'ivo://ivoa.net/std/TAP#aux';

// The resource key of a catalogue: its schema and table, as REG-1 allows them (quotes of
// delimited names dropped, any other character outside the key's alphabet as '_').
const keyPart = (name: string) => name.replaceAll('"', '').replace(/[^\w\-.!~*'()+=]/g, '_');

/** The IVOID of a published catalogue's record: ivo://<authority>/<schema>/<table>. */
export function catalogueIdentifier(authority: string, t: PublishedTable): string {
  return `ivo://${authority}/${keyPart(t.schema)}/${keyPart(t.name)}`;
}

export interface CatalogueRecordContext {
  readonly baseUrl: string;
  readonly authority: string;
  readonly curation: Curation;
  readonly subjects: readonly string[];
  /** Tokens accepted: the cone search listed with its secured interfaces too (SSO-1, services.ts). */
  readonly tokens?: boolean;
  /** What each cone search capability advertises (SCS-30); the defaults when absent. */
  readonly coneLimits?: ConeSearchLimits;
  /** The node's dates, for tables with no publication date (declared in code). */
  readonly dates: { readonly created: Date; readonly updated: Date };
}

/**
 * The tables with a record of their own: every catalogue with a position, and the ObsCore
 * radio extension, whose standard urges "a separate registry record with the main TAP
 * service as an auxiliary capability" (ObsCore Extension for Radio Data, Registry Aspects).
 */
export function recordedTables(publicView: CatalogueView): PublishedTable[] {
  const radio = publicView.schemas
    .flatMap((s) => s.tables)
    .filter((t) => t.utype === OBSCORE_RADIO_UTYPE && !t.spatialIndex);
  return [...publicView.positional(), ...radio];
}

/**
 * One vs:CatalogService per catalogue with a position that an anonymous caller may see
 * (the registry is public: a table under whole-table rights has no record until its
 * release). Its tableset is the table alone; its capabilities the catalogue's cone search
 * with its VOSI siblings (SCS-31, SCS-32) and the TAP service as an auxiliary capability
 * (REG-28), with IsServedBy pointing at the TAP record. Dated by the table's publication.
 */
export function catalogueRecords(publicView: CatalogueView, ctx: CatalogueRecordContext): ResourceRecord[] {
  const tapId = `ivo://${ctx.authority}/tap`;
  return recordedTables(publicView).map((t) => {
    const reg = t.registry ?? {};
    const when = t.publishedAt ?? ctx.dates.updated;
    const capabilities = [];
    if (coneCatalogueOf(t)) {
      const cone = coneCapability(ctx.baseUrl, t, ctx.coneLimits ?? DEFAULT_CONE_LIMITS);
      capabilities.push(ctx.tokens ? securedCapability(cone) : cone);
      capabilities.push(
        ...vosiCapabilities(`${ctx.baseUrl}/scs/${encodeURIComponent(`${t.schema}.${t.name}`)}`),
      );
    }
    capabilities.push({
      standardID: TAP_AUX,
      description: `ADQL queries on ${t.schema}.${t.name} through the node's TAP service`,
      interfaces: [
        {
          type: 'vs:ParamHTTP' as const,
          role: 'std' as const,
          version: '1.1',
          accessUrls: [{ url: `${ctx.baseUrl}/tap`, use: 'base' as const }],
        },
      ],
    });
    const schema = publicView.schemas.find((s) => s.name === t.schema);
    return serviceRecord(
      {
        identifier: catalogueIdentifier(ctx.authority, t),
        title: reg.title ?? t.title ?? `${t.schema}.${t.name}`,
        description: t.description,
        subjects: reg.subjects?.length ? reg.subjects : ctx.subjects,
        referenceURL: reg.referenceUrl ?? `${ctx.baseUrl}/`,
        types: ['Catalog'],
        relationships: [{ type: 'IsServedBy', resources: [{ name: 'TAP service', id: tapId }] }],
      },
      {
        ...ctx.curation,
        ...(reg.creators?.length ? { creators: reg.creators } : {}),
        ...(reg.contact
          ? reg.contact.includes('@')
            ? { contactEmail: reg.contact }
            : { contactName: reg.contact }
          : {}),
      },
      { created: t.publishedAt ?? ctx.dates.created, updated: when },
      capabilities,
      [{ name: t.schema, description: schema?.description, tables: [t] }],
      {
        ...(reg.licence ? { rights: [licenceRights(reg.licence)] } : {}),
        coverage: {
          // /moc serves the catalogues with a position only.
          ...(t.spatialIndex
            ? { footprint: `${ctx.baseUrl}/moc/${encodeURIComponent(`${t.schema}.${t.name}`)}` }
            : {}),
          wavebands: wavebandTerms(reg.waveband ?? []),
        },
      },
    );
  });
}
