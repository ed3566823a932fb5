import type { OutputFormat, ResultDocument } from '../../votable/index.js';
import { annotateEpochPosition } from '../mivot/index.js';
import { linksDescriptor } from '../sia/index.js';
import type { QueryResult } from './execute.js';

/**
 * What a TAP result says about its columns beyond the FIELDs, the same for /tap/sync and
 * /tap/async: a DataLink service descriptor per column of DataLink identifiers (DataLink 1.1
 * §4), and in VOTable output a MIVOT annotation of the main position with its COOSYS (MIVOT
 * 1.0; the FIELDs get the IDs and refs it points at). Other formats have no place for either.
 */
export function resultAnnotations(
  result: QueryResult,
  format: OutputFormat,
  baseUrl: string,
): Pick<ResultDocument, 'extraResources' | 'metaResources' | 'coosys'> {
  const extraResources = result.datalinkFields.map((id) => linksDescriptor(baseUrl, id));
  if (!format.startsWith('votable/')) return { extraResources };
  const mivot = annotateEpochPosition(result.fields);
  if (!mivot) return { extraResources };
  return { extraResources, metaResources: [mivot.resource], coosys: [mivot.coosys] };
}
