/**
 * What the loader needs from the catalogue store (src/catalogue/store.ts) and from the
 * one description -> PublishedTable conversion (src/publish/published.ts): the swap
 * transaction writes the catalogue row through it, so TAP_SCHEMA and every node process
 * learn of the new version in the same commit.
 */
import type pg from 'pg';
import type { PublishedTable } from '../tap/tables/model.js';
import type { SchemaDescription, TableDescription } from './description.js';

export interface PublishedRowInput {
  readonly table: PublishedTable;
  readonly sqlSchema: string;
  readonly sqlTable: string;
  readonly description: TableDescription;
  readonly nrows: number;
  readonly bytes: number;
  readonly version: number;
  readonly builtin?: boolean;
  /** The schema's own description (kept when absent). */
  readonly schema?: SchemaDescription;
}

/** The catalogue store's writes, called inside the loader's swap transaction. */
export interface CatalogueStore {
  putPublishedTable(client: pg.ClientBase, row: PublishedRowInput): Promise<void>;
  removePublishedTable(client: pg.ClientBase, tableName: string): Promise<void>;
  notifyCatalogueChanged(client: pg.ClientBase, tableName: string): Promise<void>;
}

export type ToPublished = (
  desc: TableDescription,
  where: { sqlSchema: string; sqlTable: string },
  nrows?: number,
) => PublishedTable;
