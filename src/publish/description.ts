/**
 * The table description a site writes to publish a catalogue (docs/publishing.md): one
 * YAML file, parsed once at the edge into these types; everything published (TAP_SCHEMA,
 * the ADQL catalogue, VOSI /tables, SCS, MOC, the registry record) derives from them.
 */
import type { Datatype } from '../../votable/index.js';
import type { PartitioningDescription } from '../shards/index.js';

export type { Datatype };

/** How strictly metadata is checked (youcat's levels): strict refuses, lax reports. */
export type ValidationLevel = 'strict' | 'lax';

export interface ColumnDescription {
  /** The ADQL name; a delimited name keeps its double quotes ("magV"). */
  readonly name: string;
  /** The physical PostgreSQL column when it differs from the ADQL name. */
  readonly sqlName?: string;
  /** The column of the data file it is read from, when it differs from `name`. */
  readonly source?: string;
  readonly datatype: Datatype;
  readonly arraysize?: string;
  readonly xtype?: string;
  readonly unit?: string;
  readonly ucd?: string;
  readonly utype?: string;
  readonly description?: string;
  readonly principal?: boolean;
  readonly indexed?: boolean;
  /** Default true; false adds NOT NULL and a row without a value is refused. */
  readonly nullable?: boolean;
  /** Defined by a standard (ObsCore, TAP_SCHEMA). */
  readonly std?: boolean;
  /**
   * The values are dataset identifiers (ivoa.obscore's obs_publisher_did) that the node's
   * DataLink service resolves: TAP results selecting the column carry a DataLink service
   * descriptor for it (DataLink 1.1 §4), so clients find each row's files and cutouts.
   */
  readonly datalink?: boolean;
}

/** The position columns: they get the order-29 HEALPix column, its B-tree and cone search. */
export interface PositionDescription {
  readonly ra: string;
  readonly dec: string;
  /** Only ICRS positions are indexed (other frames are refused at publish). */
  readonly frame?: 'ICRS';
  /** Name of the generated HEALPix column (default `healpix`). */
  readonly healpixColumn?: string;
}

export interface TimeDescription {
  readonly column: string;
  /** e.g. 'mjd', 'jd', 'iso' */
  readonly format?: string;
  readonly scale?: string;
}

export interface SpectralDescription {
  readonly column: string;
  readonly unit?: string;
}

export interface ForeignKeyDescription {
  /** Qualified ADQL name of the target table. */
  readonly target: string;
  readonly columns: ReadonlyArray<readonly [from: string, target: string]>;
  readonly description?: string;
}

/**
 * Data rights. A table with an owner group is proprietary; it becomes public only by a
 * date: `releaseDate` for the whole table or `releaseColumn` per row. No date means
 * never public (only the owner group sees it).
 */
export interface RightsDescription {
  /** One owner group for the whole table... */
  readonly ownerGroup?: string;
  /** ...or a text column naming each row's owner group. */
  readonly ownerGroupColumn?: string;
  /** ISO 8601 date when the whole table becomes public. */
  readonly releaseDate?: string;
  /** A timestamp column with each row's release date (NULL: never public). */
  readonly releaseColumn?: string;
}

/** What the VOResource record of the catalogue says (VODataService/VOResource terms). */
export interface RegistryDescription {
  readonly title?: string;
  readonly creators?: readonly string[];
  readonly subjects?: readonly string[];
  /** VOResource waveband terms: Radio, Millimeter, Infrared, Optical, ... */
  readonly waveband?: readonly string[];
  /** Licence URI or SPDX identifier (e.g. CC-BY-4.0). */
  readonly licence?: string;
  readonly referenceUrl?: string;
  readonly contact?: string;
}

export interface TableDescription {
  readonly schema: string;
  readonly name: string;
  readonly title?: string;
  readonly description: string;
  readonly type?: 'table' | 'view';
  readonly utype?: string;
  readonly columns: readonly ColumnDescription[];
  readonly primaryKey?: readonly string[];
  readonly position?: PositionDescription;
  readonly time?: TimeDescription;
  readonly spectral?: SpectralDescription;
  readonly foreignKeys?: readonly ForeignKeyDescription[];
  readonly rights?: RightsDescription;
  readonly registry?: RegistryDescription;
  /** Overrides the node's partitioning of big tables (src/shards, docs/scaling.md). */
  readonly partitioning?: PartitioningDescription;
}

export interface SchemaDescription {
  readonly name: string;
  readonly description?: string;
  readonly utype?: string;
}

/** One description file: a schema's tables (a Felis file gives many). */
export interface CatalogueDescription {
  readonly schemas: readonly SchemaDescription[];
  readonly tables: readonly TableDescription[];
  readonly validation?: ValidationLevel;
}
