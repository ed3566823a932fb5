import type { Field } from '../../votable/index.js';
import { type PublishedTable, qualifiedName } from '../tap/tables/model.js';
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

const lower = (s: string | undefined) => (s ?? '').toLowerCase();
const ucdWords = (ucd: string | undefined) =>
  lower(ucd)
    .split(';')
    .map((w) => w.trim());

/**
 * The row identifier of SCS-13: the column whose UCD is meta.id;meta.main, else a primary
 * key of one column. A catalogue with neither has no cone search (the standard requires a
 * unique identifier per row).
 */
function identifierOf(t: PublishedTable): string | undefined {
  const main = t.columns.find((c) => {
    const w = ucdWords(c.ucd);
    return w[0] === 'meta.id' && w.includes('meta.main');
  });
  if (main) return main.name;
  if (t.primaryKey?.length === 1) return t.primaryKey[0];
  return undefined;
}

/**
 * The cone search of a published table with a position (SCS-40, SCS-43): the identifier,
 * the indexed position as the main RA and Dec, the principal columns at VERB=2 and every
 * column at VERB=3 but the HEALPix index (an implementation detail of the cone's prefilter).
 * Undefined when the table has no position or no row identifier.
 */
export function coneCatalogueOf(t: PublishedTable): ConeCatalogue | undefined {
  if (!t.spatialIndex) return undefined;
  const id = identifierOf(t);
  if (!id) return undefined;
  const { lon: ra, lat: dec, column: healpix } = t.spatialIndex;
  const main = new Set([id, ra, dec, healpix]);
  const rest = t.columns.filter((c) => !main.has(c.name));
  return {
    table: qualifiedName(t),
    id,
    ra,
    dec,
    typical: rest.filter((c) => c.principal).map((c) => c.name),
    all: rest.map((c) => c.name),
  };
}

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

// UCD1+ of the three roles: only the three main FIELDs may claim them (SCS-13).
const MAIN_UCDS = new Set(['meta.id;meta.main', 'pos.eq.ra;meta.main', 'pos.eq.dec;meta.main']);

// A result FIELD's name as the ADQL select list wrote it, without delimiting quotes.
const bare = (name: string) => name.replace(/^"(.*)"$/, '$1');

/**
 * The FIELDs as SCS 1.03 clients look for them: UCD1 on the three main columns (SCS-13,
 * SCS-14; exactly once each), UCD1+ elsewhere, and the distance column described. Another
 * column marked meta.main for one of those roles loses the meta.main, so a 1.1 client
 * looking for UCD1+ finds one column per role too.
 */
export function coneFields(cat: ConeCatalogue, fields: readonly Field[]): Field[] {
  const ucd1: Record<string, string> = {
    [bare(cat.id)]: 'ID_MAIN',
    [bare(cat.ra)]: 'POS_EQ_RA_MAIN',
    [bare(cat.dec)]: 'POS_EQ_DEC_MAIN',
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
    if (f.ucd && MAIN_UCDS.has(ucdWords(f.ucd).join(';')))
      return { ...f, ucd: f.ucd.replace(/;\s*meta\.main/i, '') };
    return f;
  });
}
