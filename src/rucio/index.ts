/**
 * Rucio-managed products through SRCNet's Data Management API (docs/rucio.md): DIDs with
 * ObsCore metadata polled into ivoa.obscore, and their replicas located for DataLink.
 */
export { type ColocatedService, type DataLocation, DmApiClient, DmApiError } from './client.js';
export { orderLocations, replicaLocator } from './locate.js';
export { NotObsCore, recordFromMetadata, rucioFileKey, rucioPublisherDid } from './record.js';
export { RUCIO_VARIABLES, type RucioSettings, rucioSettings } from './settings.js';
export { type SyncReport, startRucioPoll, syncRucio } from './sync.js';
