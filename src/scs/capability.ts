import { type Capability, STANDARD_ID } from '../../registry/index.js';
import { type PublishedTable, qualifiedName } from '../tap/tables/model.js';

/** The path of a catalogue's cone search below the node's base URL (SCS-40). */
export const conePath = (t: PublishedTable) => `scs/${qualifiedName(t)}/query`;

/** What a cone search capability advertises (SCS-30): the node's configured limits. */
export interface ConeSearchLimits {
  /** Largest SR accepted, degrees (VONODE_SCS_MAX_SR). */
  readonly maxSR: number;
  /** Most rows one answer holds (the hard MAXREC, VONODE_MAXREC_HARD). */
  readonly maxRecords: number;
}

/**
 * A cone search capability of type cs:ConeSearch (SimpleDALRegExt 1.0, SCS-31): its base URL
 * ends in '?' so clients append RA, DEC and SR (SCS-01), then maxSR, maxRecords and
 * verbosity (VERB is honoured: 1, 2 and 3 give growing column sets) in the schema's order.
 */
export function coneSearchCapability(
  url: string,
  limits: ConeSearchLimits,
  description?: string,
): Capability {
  return {
    standardID: STANDARD_ID.scs,
    type: 'cs:ConeSearch',
    ...(description ? { description } : {}),
    interfaces: [{ type: 'vs:ParamHTTP', role: 'std', accessUrls: [{ url, use: 'base' }] }],
    extension: (c) => {
      c.ele('', 'maxSR').txt(String(limits.maxSR));
      c.ele('', 'maxRecords').txt(String(limits.maxRecords));
      c.ele('', 'verbosity').txt('true');
    },
  };
}

/** The SCS capability of one catalogue (SCS-31, SCS-40). */
export function coneCapability(baseUrl: string, t: PublishedTable, limits: ConeSearchLimits): Capability {
  return coneSearchCapability(
    `${baseUrl}/${encodeURI(conePath(t))}?`,
    limits,
    `Cone search of ${qualifiedName(t)}${t.title ? `: ${t.title}` : ''}`,
  );
}
