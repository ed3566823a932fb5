import type { Field } from '../../votable/index.js';
import { DEMO_SCHEMA } from '../tap/tables/index.js';
import type { ConeRequest, Verbosity } from './request.js';

/** The catalogue a cone search serves: its ADQL name and the columns of each verbosity. */
export interface ConeCatalogue {
  /** Qualified ADQL name, e.g. demo.sources. */
  readonly table: string;
  readonly id: string;
  readonly ra: string;
  readonly dec: string;
  /** Columns after the three main ones at VERB=2; VERB=3 takes `all`. */
  readonly typical: readonly string[];
  readonly all: readonly string[];
}

const DEMO_SOURCES = DEMO_SCHEMA.tables[0];

/**
 * The node's source catalogue, as TAP publishes it: VERB=3 gives every published column
 * but the HEALPix index (an implementation detail of the cone's prefilter).
 */
export const DEMO_CONE_CATALOGUE: ConeCatalogue = {
  table: `${DEMO_SOURCES.schema}.${DEMO_SOURCES.name}`,
  id: 'source_id',
  ra: 'ra',
  dec: 'dec',
  typical: [
    'ra_err',
    'dec_err',
    'flux_peak',
    'flux_int',
    'flux_int_err',
    'maj_axis',
    'min_axis',
    'pos_angle',
    's_code',
  ],
  all: DEMO_SOURCES.columns
    .map((c) => c.name)
    .filter((n) => !['source_id', 'ra', 'dec', DEMO_SOURCES.spatialIndex?.column].includes(n)),
};

/** The column with each row's distance from the cone's centre (SCS-17). */
export const DISTANCE_COLUMN = 'dist';

// ADQL numbers: JavaScript's shortest round-trip form is a valid ADQL literal (exponent included).
const num = (n: number) => String(n);

/**
 * The cone as ADQL, run by the same compiler and query path as TAP (rights, COPY streaming,
 * time limit): the identifier as text (SCS-13), the exact great-circle test with the HEALPix
 * prefilter the compiler adds (SCS-19), nearest first (SCS-17).
 */
export function coneAdql(cat: ConeCatalogue, cone: ConeRequest): string {
  const extra: Record<Verbosity, readonly string[]> = { 1: [], 2: cat.typical, 3: cat.all };
  const centre = `POINT('ICRS', ${num(cone.ra)}, ${num(cone.dec)})`;
  const columns = [
    `CAST(${cat.id} AS VARCHAR) AS ${cat.id}`,
    cat.ra,
    cat.dec,
    ...extra[cone.verb],
    `DISTANCE(POINT('ICRS', ${cat.ra}, ${cat.dec}), ${centre}) AS ${DISTANCE_COLUMN}`,
  ];
  return (
    `SELECT ${columns.join(', ')} FROM ${cat.table} ` +
    `WHERE 1 = CONTAINS(POINT('ICRS', ${cat.ra}, ${cat.dec}), CIRCLE('ICRS', ${num(cone.ra)}, ${num(cone.dec)}, ${num(cone.sr)})) ` +
    `ORDER BY ${DISTANCE_COLUMN}`
  );
}

/**
 * The FIELDs as SCS 1.03 clients look for them: UCD1 on the three main columns (SCS-13,
 * SCS-14; exactly once each), UCD1+ elsewhere, and the distance column described.
 */
export function coneFields(cat: ConeCatalogue, fields: readonly Field[]): Field[] {
  const ucd1: Record<string, string> = {
    [cat.id]: 'ID_MAIN',
    [cat.ra]: 'POS_EQ_RA_MAIN',
    [cat.dec]: 'POS_EQ_DEC_MAIN',
  };
  return fields.map((f) => {
    if (ucd1[f.name]) return { ...f, ucd: ucd1[f.name] };
    if (f.name === DISTANCE_COLUMN)
      return {
        ...f,
        ucd: 'pos.angDistance',
        unit: 'deg',
        description: "great-circle distance from the cone's centre",
      };
    return f;
  });
}
