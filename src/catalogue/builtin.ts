/**
 * The built-in schemas (ivoa with ObsCore, TAP_SCHEMA) are stored rows like any published
 * table, upserted at every start from their declarations (src/tap/tables), so TAP_SCHEMA
 * is never rewritten wholesale and what others published survives a restart.
 */
import type pg from 'pg';
import { publishedTableOf, type TableDescription } from '../publish/index.js';
import { type PublishedSchema, type PublishedTable, publishedSchemas } from '../tap/tables/index.js';
import {
  LAST_SCHEMA_INDEX,
  notifyCatalogueChanged,
  putPublishedSchema,
  putPublishedTable,
  readPublishedTables,
  removeTapSchemaRows,
  writeTapSchemaRows,
} from './store.js';

/** Serialises whole-catalogue writers (start-up of several nodes, repairs). */
const CATALOGUE_LOCK = 7_460_110_003;

export const BUILTIN_SCHEMAS: readonly PublishedSchema[] = publishedSchemas();

/** Upserts the built-in rows and brings TAP_SCHEMA in line with the stored rows. */
export async function ensureBuiltinCatalogue(pool: pg.Pool): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [CATALOGUE_LOCK]);
    for (const s of BUILTIN_SCHEMAS) {
      await putPublishedSchema(
        client,
        { name: s.name, description: s.description, ...(s.utype ? { utype: s.utype } : {}) },
        true,
      );
      for (const t of s.tables) {
        await putPublishedTable(client, {
          table: t,
          sqlSchema: t.sql.schema,
          sqlTable: t.sql.table,
          description: descriptionOf(t),
          nrows: null,
          bytes: null,
          version: 1,
          builtin: true,
        });
      }
    }
    await repair(client);
    await notifyCatalogueChanged(client, '*');
  });
}

/**
 * TAP_SCHEMA follows vonode.published_tables: a row written there by hand (or a publish
 * from a writer that wrote no TAP_SCHEMA rows) gets its rows, and TAP_SCHEMA rows of a
 * table no longer published go. Cheap when nothing differs: one read; the repair itself
 * runs under the catalogue lock.
 */
export async function reconcileTapSchema(pool: pg.Pool): Promise<boolean> {
  const differs = await pool.query(`${MISSING} UNION ALL ${ORPHANS} LIMIT 1`);
  if (!differs.rowCount) return false;
  await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [CATALOGUE_LOCK]);
    await repair(client);
  });
  return true;
}

const MISSING = `SELECT p.table_name FROM vonode.published_tables p
  WHERE NOT EXISTS (SELECT 1 FROM tap_schema.tables t WHERE t.table_name = p.table_name)`;
const ORPHANS = `SELECT t.table_name FROM tap_schema.tables t
  WHERE NOT EXISTS (SELECT 1 FROM vonode.published_tables p WHERE p.table_name = t.table_name)`;

async function repair(client: pg.ClientBase): Promise<void> {
  const missing = new Set(
    (await client.query<{ table_name: string }>(MISSING)).rows.map((r) => r.table_name),
  );
  if (missing.size > 0) {
    for (const row of await readPublishedTables(client)) {
      if (!missing.has(row.tableName)) continue;
      const t =
        row.published ??
        publishedTableOf(
          row.description,
          { sqlSchema: row.sqlSchema, sqlTable: row.sqlTable },
          row.nrows ?? undefined,
        );
      await client.query(
        `INSERT INTO tap_schema.schemas (schema_name, description, schema_index)
         VALUES ($1, NULL, (SELECT COALESCE(max(schema_index), 0) + 1 FROM tap_schema.schemas WHERE schema_index < ${LAST_SCHEMA_INDEX}))
         ON CONFLICT (schema_name) DO NOTHING`,
        [t.schema],
      );
      await client.query(
        `INSERT INTO vonode.published_schemas (schema_name, description) VALUES ($1, jsonb_build_object('name', $1::text))
         ON CONFLICT (schema_name) DO NOTHING`,
        [t.schema],
      );
      await writeTapSchemaRows(client, t, row.nrows);
    }
  }
  for (const r of (await client.query<{ table_name: string }>(ORPHANS)).rows)
    await removeTapSchemaRows(client, r.table_name);
  await client.query(`DELETE FROM tap_schema.schemas s
    WHERE NOT EXISTS (SELECT 1 FROM tap_schema.tables t WHERE t.schema_name = s.schema_name)
      AND NOT EXISTS (SELECT 1 FROM vonode.published_schemas p WHERE p.schema_name = s.schema_name AND p.builtin)`);
}

async function inTransaction(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<void>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await fn(client);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** A declared table as a description (what published_tables.description holds for it). */
export function descriptionOf(t: PublishedTable): TableDescription {
  return {
    schema: t.schema,
    name: t.name,
    ...(t.title ? { title: t.title } : {}),
    description: t.description,
    type: t.type,
    ...(t.utype ? { utype: t.utype } : {}),
    columns: t.columns.map((c) => {
      const { fieldId: _f, region: _r, ...rest } = c;
      return rest;
    }),
    ...(t.primaryKey ? { primaryKey: t.primaryKey } : {}),
    ...(t.spatialIndex
      ? {
          position: { ra: t.spatialIndex.lon, dec: t.spatialIndex.lat, healpixColumn: t.spatialIndex.column },
        }
      : {}),
    ...(t.foreignKeys?.length
      ? {
          foreignKeys: t.foreignKeys.map((fk) => ({
            target: fk.target,
            columns: fk.columns,
            ...(fk.description ? { description: fk.description } : {}),
          })),
        }
      : {}),
    ...(t.rights ? { rights: t.rights } : {}),
    ...(t.registry ? { registry: t.registry } : {}),
  };
}
