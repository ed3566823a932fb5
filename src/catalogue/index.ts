export { catalogueTableOf, staticCatalogueSource, tableVisibleTo, viewOf } from './static.js';
export type { CatalogueSource, CatalogueView, ViewIdentity } from './types.js';
