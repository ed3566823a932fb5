import type { FastifyInstance } from 'fastify';
import { registerFiles } from './files.js';
import { type DataLinkDeps, registerLinks } from './links.js';

export { fileUrl } from './files.js';
export {
  type DataLinkDeps,
  type DataLinkLimits,
  DEFAULT_DATALINK_LIMITS,
  LINK_FIELDS,
  previewUrl,
  sodaDescriptor,
} from './links.js';
export { lookupProduct, lookupProducts, type Product, type ProductLookup, sendRefusal } from './product.js';
export {
  heldElsewhere,
  type LocateReplicas,
  parseScopedName,
  type RemoteLocation,
  type RemoteSoda,
  RUCIO_FILE_PREFIX,
} from './remote.js';

/** DataLink `{links}` at /datalink/links and the file downloads it points at (/datalink/files). */
export function registerDataLink(app: FastifyInstance, deps: DataLinkDeps): void {
  registerLinks(app, deps);
  registerFiles(app, deps);
}
