/**
 * TableDescription -> PublishedTable: the one conversion from what a site wrote to what
 * TAP_SCHEMA, the ADQL catalogue, VOSI /tables, SCS, MOC and the registry publish
 * (TAP-64: they all derive from this one value, so they cannot disagree).
 *
 * Two columns of a description are treated specially:
 * - the HEALPix index column is not written in the description: with a `position`, the
 *   loader computes it (order 29, NESTED, from ra/dec) and it is published as the last
 *   column, `indexed`, with UCD pos.healpix, so ADQL spatial predicates and cone search
 *   use it and clients can see what it is;
 * - the rights columns (rights.ownerGroupColumn, rights.releaseColumn) are loaded from
 *   the data and enforced by row-level security, but are not published: who owns a row
 *   and when it becomes public is access-control data, not part of the catalogue (the
 *   demo catalogue has always kept owner_group and release_date out of TAP_SCHEMA).
 * Otherwise the conversion adds nothing: a declared table written as a description and
 * converted back is the same table (the built-in tables are stored that way).
 */
import type { PublishedColumn, PublishedTable } from '../tap/tables/model.js';
import type { ColumnDescription, TableDescription } from './description.js';
import { defined } from './yaml-reader.js';

/** Name of the generated HEALPix column when `position.healpixColumn` is not given. */
export const DEFAULT_HEALPIX_COLUMN = 'healpix';

/** The generated HEALPix index column as it is published. */
export function healpixColumn(name: string): PublishedColumn {
  return {
    name,
    datatype: 'long',
    ucd: 'pos.healpix',
    description: 'HEALPix NESTED index at order 29 (ICRS), for spatial indexing',
    indexed: true,
  };
}

/** The ADQL names of the columns a description loads but does not publish (rights). */
export function unpublishedColumns(desc: TableDescription): ReadonlySet<string> {
  const out = new Set<string>();
  if (desc.rights?.ownerGroupColumn) out.add(desc.rights.ownerGroupColumn);
  if (desc.rights?.releaseColumn) out.add(desc.rights.releaseColumn);
  return out;
}

/** The name of the HEALPix column a description gets, if it has a position. */
export function healpixColumnName(desc: TableDescription): string | undefined {
  return desc.position ? (desc.position.healpixColumn ?? DEFAULT_HEALPIX_COLUMN) : undefined;
}

/**
 * The published form of a table description, stored at `where` (the physical table the
 * loader chose), with its row count when known.
 */
export function publishedTableOf(
  desc: TableDescription,
  where: { readonly sqlSchema: string; readonly sqlTable: string },
  nrows?: number,
): PublishedTable {
  const hidden = unpublishedColumns(desc);
  const columns: PublishedColumn[] = desc.columns.filter((c) => !hidden.has(c.name)).map(publishedColumnOf);
  const hp = healpixColumnName(desc);
  // A description written from a declared table (the built-in ones) already lists it.
  if (hp && !columns.some((c) => c.name === hp)) columns.push(healpixColumn(hp));
  const qualified = `${desc.schema}.${desc.name}`;
  return defined({
    schema: desc.schema,
    name: desc.name,
    sql: { schema: where.sqlSchema, table: where.sqlTable },
    type: desc.type ?? 'table',
    description: desc.description,
    utype: desc.utype,
    title: desc.title,
    columns,
    foreignKeys: desc.foreignKeys?.map((fk, i) =>
      defined({
        // TAP_SCHEMA.keys.key_id must be unique across the service (TAP-60)
        id: `${qualified}.fk${i + 1}`,
        target: fk.target,
        columns: fk.columns,
        description: fk.description,
      }),
    ),
    spatialIndex:
      hp && desc.position ? { column: hp, lon: desc.position.ra, lat: desc.position.dec } : undefined,
    primaryKey: desc.primaryKey && desc.primaryKey.length > 0 ? desc.primaryKey : undefined,
    nrows,
    rights: desc.rights,
    registry: desc.registry,
  }) as PublishedTable;
}

/**
 * A string column described without arraysize is published as `*`: that is what it stores
 * (text of any length), strings are char arrays (VOT-18), arraysize="1" should not be written
 * (VOT-19), and clients refuse to guess (STILTS tapskymatch: "Refuse to decode assumed char
 * arraysize"). TAP_SCHEMA, VOSI and every result then say the same.
 */
function stringArraysize(c: ColumnDescription): string | undefined {
  return c.datatype === 'char' || c.datatype === 'unicodeChar' ? '*' : undefined;
}

function publishedColumnOf(c: ColumnDescription): PublishedColumn {
  return defined({
    name: c.name,
    sqlName: c.sqlName,
    datatype: c.datatype,
    arraysize: c.arraysize ?? stringArraysize(c),
    xtype: c.xtype,
    unit: c.unit,
    ucd: c.ucd,
    utype: c.utype,
    description: c.description ?? '',
    principal: c.principal,
    indexed: c.indexed,
    std: c.std,
    datalink: c.datalink,
  });
}
