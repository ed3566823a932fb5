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
