// ADQL-41/42/43: TAPRegExt languageFeatures, type IVOIDs emitted all lower-case as ADQL 2.1 requires.
// (REC-ADQL-2.1 §4.1 "Service capabilities": "ADQL services MUST provide the feature IVOIDs in
// all-lower case"; STILTS 3.4.7 taplint still expects TAPRegExt's casing and warns W-CAP-CULF.)
// /tap/capabilities is generated from this list, so it cannot drift from what compile() accepts.
const TRE = 'ivo://ivoa.net/std/tapregext';

export interface LanguageFeatureGroup {
  readonly type: string;
  readonly forms: string[];
}

export const LANGUAGE_FEATURES: ReadonlyArray<LanguageFeatureGroup> = Object.freeze([
  {
    type: `${TRE}#features-adqlgeo`,
    forms: [
      'AREA',
      'BOX',
      'CENTROID',
      'CIRCLE',
      'CONTAINS',
      'COORD1',
      'COORD2',
      'COORDSYS',
      'DISTANCE',
      'INTERSECTS',
      'POINT',
      'POLYGON',
      'REGION',
    ],
  },
  { type: `${TRE}#features-adql-string`, forms: ['LOWER', 'UPPER', 'ILIKE'] },
  { type: `${TRE}#features-adql-common-table`, forms: ['WITH'] },
  { type: `${TRE}#features-adql-sets`, forms: ['UNION', 'EXCEPT', 'INTERSECT'] },
  { type: `${TRE}#features-adql-type`, forms: ['CAST'] },
  { type: `${TRE}#features-adql-conditional`, forms: ['COALESCE'] },
  { type: `${TRE}#features-adql-unit`, forms: ['IN_UNIT'] },
  { type: `${TRE}#features-adql-offset`, forms: ['OFFSET'] },
]);
