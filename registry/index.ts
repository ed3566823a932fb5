export { type DeletedRecord, type OaiArguments, oaiResponse, type Repository } from './oai.js';
export {
  authorityRecord,
  type Curation,
  licenceRights,
  RECORD_NS,
  type ResourceRecord,
  type ResourceText,
  registryRecord,
  type ServiceExtras,
  serviceRecord,
  utcSeconds,
  wavebandTerms,
} from './records.js';
export {
  type TableSetColumn,
  type TableSetSchema,
  type TableSetTable,
  tableDocument,
  tablesetDocument,
  writeSchemas,
} from './tables.js';
export {
  type AccessUrl,
  type Availability,
  availabilityDocument,
  type Capability,
  capabilitiesDocument,
  type Interface,
  NS,
  STANDARD_ID,
  vosiCapabilities,
  writeCapability,
} from './vosi.js';
