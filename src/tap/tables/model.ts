/**
 * One declaration of each published table: TAP_SCHEMA rows, the ADQL catalogue and
 * VOSI /tables are all derived from it, so the three can never disagree (TAP-64).
 */
import type { Datatype } from '../../../votable/index.js';
import type { RegistryDescription, RightsDescription } from '../../publish/index.js';

export type { Datatype };

export interface PublishedColumn {
  /** The ADQL name; written with double quotes when it must be delimited (TAP-58). */
  readonly name: string;
  /** The physical PostgreSQL column, when it differs from the ADQL name. */
  readonly sqlName?: string;
  readonly datatype: Datatype;
  readonly arraysize?: string;
  readonly xtype?: string;
  readonly unit?: string;
  readonly ucd?: string;
  readonly utype?: string;
  readonly description: string;
  readonly principal?: boolean;
  readonly indexed?: boolean;
  /** Defined by a standard (ObsCore, TAP_SCHEMA). */
  readonly std?: boolean;
  /** Values are identifiers /datalink/links resolves: results selecting it carry a DataLink descriptor (DataLink 1.1 §4). */
  readonly datalink?: boolean;
  /** The XML ID of the FIELD (OBS-86: DataLink descriptors point at it). */
  readonly fieldId?: string;
  /**
   * Stored as a DALI polygon array but published as STC-S text (OBS-62): geometry reads
   * the array, output goes through adql.polygon_stcs (see adql/catalogue.ts).
   */
  readonly region?: 'polygon-array';
}

export interface ForeignKey {
  readonly id: string;
  readonly target: string;
  readonly columns: ReadonlyArray<readonly [from: string, target: string]>;
  readonly description?: string;
}

/**
 * Who may see a user table (issue 16; vonode.published_tables.owner_subject and the grant
 * columns, sql/130_user_tables.sql): its owner, everyone when public, members of a read or
 * write group. Absent for tables the site publishes.
 */
export interface TableAccess {
  readonly owner: string;
  readonly public: boolean;
  readonly readGroups: readonly string[];
  readonly writeGroups: readonly string[];
}

export interface PublishedTable {
  /** ADQL schema name as published. */
  readonly schema: string;
  /** ADQL table name, without the schema. */
  readonly name: string;
  readonly sql: { readonly schema: string; readonly table: string };
  readonly type: 'table' | 'view';
  readonly description: string;
  readonly utype?: string;
  readonly columns: readonly PublishedColumn[];
  readonly foreignKeys?: readonly ForeignKey[];
  /** HEALPix NESTED order-29 column for spatial predicates, with the position it indexes. */
  readonly spatialIndex?: { readonly column: string; readonly lon: string; readonly lat: string };
  /** ADQL names of the primary key's columns. */
  readonly primaryKey?: readonly string[];
  /** Short title (registry records, web pages); description is the long text. */
  readonly title?: string;
  /** Row count when known (TAP_SCHEMA nrows, VOSI <nrows>). */
  readonly nrows?: number;
  /** Data rights of a published catalogue (src/publish/description.ts). */
  readonly rights?: RightsDescription;
  /** What the VOResource record says. */
  readonly registry?: RegistryDescription;
  /** A user table's owner and grants (read from the row, never from the stored JSON). */
  readonly access?: TableAccess;
  /** When this version was published (vonode.published_tables.published_at): OAI datestamps. */
  readonly publishedAt?: Date;
}

export interface PublishedSchema {
  readonly name: string;
  readonly description: string;
  readonly utype?: string;
  readonly tables: readonly PublishedTable[];
}

/** The qualified name used in queries and in TAP_SCHEMA.tables.table_name. */
export function qualifiedName(t: PublishedTable): string {
  return `${t.schema}.${t.name}`;
}

/** TAP_SCHEMA "size" (TAP-59): the arraysize number ignoring '*', null for 2-D or none. */
export function columnSize(arraysize: string | undefined): number | null {
  if (!arraysize || arraysize.includes('x')) return null;
  const n = Number.parseInt(arraysize.replace('*', ''), 10);
  return Number.isFinite(n) ? n : null;
}
