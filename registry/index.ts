export {
  type TableSetColumn,
  type TableSetSchema,
  type TableSetTable,
  tableDocument,
  tablesetDocument,
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
} from './vosi.js';
