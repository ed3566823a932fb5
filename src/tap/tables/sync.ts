import type pg from 'pg';
import { columnSize, type PublishedSchema, qualifiedName } from './model.js';

/**
 * Rewrites TAP_SCHEMA from the declarations in one transaction, so a client never
 * sees it half-written and a changed declaration is published by a restart.
 */
export async function syncTapSchema(pool: pg.Pool, schemas: readonly PublishedSchema[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // One writer at a time when several nodes start together.
    await client.query('LOCK TABLE tap_schema.schemas IN EXCLUSIVE MODE');
    await client.query('DELETE FROM tap_schema.key_columns');
    await client.query('DELETE FROM tap_schema.keys');
    await client.query('DELETE FROM tap_schema.columns');
    await client.query('DELETE FROM tap_schema.tables');
    await client.query('DELETE FROM tap_schema.schemas');
    let schemaIndex = 0;
    let tableIndex = 0;
    for (const s of schemas) {
      await client.query(
        'INSERT INTO tap_schema.schemas (schema_name, utype, description, schema_index) VALUES ($1, $2, $3, $4)',
        [s.name, s.utype ?? null, s.description, schemaIndex++],
      );
      for (const t of s.tables) {
        const tname = qualifiedName(t);
        await client.query(
          'INSERT INTO tap_schema.tables (schema_name, table_name, table_type, utype, description, table_index) VALUES ($1, $2, $3, $4, $5, $6)',
          [s.name, tname, t.type, t.utype ?? null, t.description, tableIndex++],
        );
        let columnIndex = 0;
        for (const c of t.columns) {
          await client.query(
            `INSERT INTO tap_schema.columns (table_name, column_name, datatype, arraysize, xtype, "size", description,
               utype, unit, ucd, indexed, principal, std, column_index)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
            [
              tname,
              c.name,
              c.datatype,
              c.arraysize ?? null,
              c.xtype ?? null,
              columnSize(c.arraysize),
              c.description,
              c.utype ?? null,
              c.unit ?? null,
              c.ucd ?? null,
              c.indexed || t.spatialIndex?.column === c.name ? 1 : 0,
              c.principal ? 1 : 0,
              c.std ? 1 : 0,
              columnIndex++,
            ],
          );
        }
      }
    }
    for (const s of schemas) {
      for (const t of s.tables) {
        for (const fk of t.foreignKeys ?? []) {
          await client.query(
            'INSERT INTO tap_schema.keys (key_id, from_table, target_table, description) VALUES ($1, $2, $3, $4)',
            [fk.id, qualifiedName(t), fk.target, fk.description ?? null],
          );
          for (const [from, to] of fk.columns) {
            await client.query(
              'INSERT INTO tap_schema.key_columns (key_id, from_column, target_column) VALUES ($1, $2, $3)',
              [fk.id, from, to],
            );
          }
        }
      }
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
