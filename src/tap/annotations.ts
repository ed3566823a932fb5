import type { OutputFormat, ResultDocument } from '../../votable/index.js';
import { annotateEpochPosition } from '../mivot/index.js';
import { linksDescriptor } from '../sia/index.js';
import type { QueryResult } from './execute.js';

/**
 * What a TAP result says about its columns beyond the FIELDs, the same for /tap/sync and
 * /tap/async: a DataLink service descriptor per column of DataLink identifiers (DataLink 1.1
 * §4), and in VOTable output a MIVOT annotation of the main position with its COOSYS (MIVOT
 * 1.0; the FIELDs get the IDs and refs it points at) when the site switches it on. Other formats
 * have no place for either.
 */
export function resultAnnotations(
  result: QueryResult,
  format: OutputFormat,
  baseUrl: string,
  mivotOn = false,
): Pick<ResultDocument, 'extraResources' | 'metaResources' | 'coosys'> {
  const extraResources = result.datalinkFields.map((id) => linksDescriptor(baseUrl, id));
  // Opt-in (VONODE_MIVOT): Debian's STILTS 3.4.7 (tapskymatch) takes the meta RESOURCE that
  // MIVOT 1.0 puts before the TABLE for the result and finds no TABLE.
  if (!mivotOn || !format.startsWith('votable/')) return { extraResources };
  const mivot = annotateEpochPosition(result.fields);
  if (!mivot) return { extraResources };
  return { extraResources, metaResources: [mivot.resource], coosys: [mivot.coosys] };
}
