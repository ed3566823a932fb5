import { type Capability, STANDARD_ID } from '../../registry/index.js';
import { type PublishedTable, qualifiedName } from '../tap/tables/model.js';

/** The path of a catalogue's cone search below the node's base URL (SCS-40). */
export const conePath = (t: PublishedTable) => `scs/${qualifiedName(t)}/query`;

/**
 * The SCS capability of one catalogue (SCS-31): its base URL ends in '?' so clients append
 * RA, DEC and SR (SCS-01). It carries no xsi:type="cs:ConeSearch": without the
 * SimpleDALRegExt schema at hand (registry.md, "Not found") its extension elements could not
 * be checked, and a plain capability with the standardID is what the node's /scs has always
 * declared.
 */
export function coneCapability(baseUrl: string, t: PublishedTable): Capability {
  return {
    standardID: STANDARD_ID.scs,
    description: `Cone search of ${qualifiedName(t)}${t.title ? `: ${t.title}` : ''}`,
    interfaces: [
      {
        type: 'vs:ParamHTTP',
        role: 'std',
        accessUrls: [{ url: `${baseUrl}/${encodeURI(conePath(t))}?`, use: 'base' }],
      },
    ],
  };
}
