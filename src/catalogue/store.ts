/**
 * The stored catalogue: vonode.published_tables / published_schemas (sql/110_published.sql)
 * and the TAP_SCHEMA rows derived from them. Every write runs in the caller's transaction,
 * so a publish (or a re-publish swap) and its TAP_SCHEMA rows commit together, and a
 * client never sees one without the other (TAP-55..TAP-62).
 */
import type pg from 'pg';
import type { SchemaDescription, TableDescription } from '../publish/index.js';
import { fitIdentifier, plainName, quoteIdent, quoteLiteral } from '../publish/staging.js';
import {
  columnSize,
  type ForeignKey,
  type PublishedTable,
  qualifiedName,
  type TableAccess,
} from '../tap/tables/model.js';

/** The NOTIFY channel every node process listens on; the payload is the table_name changed. */
export const CATALOGUE_CHANNEL = 'vonode_catalogue';

/** What putPublishedTable stores for one table. */
export interface PublishedTableRow {
  readonly table: PublishedTable;
  readonly sqlSchema: string;
  readonly sqlTable: string;
  readonly description: TableDescription;
  /** null when not counted (the built-in tables). */
  readonly nrows: number | null;
  readonly bytes: number | null;
  readonly version: number;
  readonly builtin?: boolean;
  /** The schema's own description; kept when absent (a new schema gets an empty one). */
  readonly schema?: SchemaDescription;
}

/** One row of vonode.published_tables as read back. */
export interface PublishedRow {
  /** 'schema.table' as in TAP_SCHEMA. */
  readonly tableName: string;
  readonly schemaName: string;
  readonly sqlSchema: string;
  readonly sqlTable: string;
  readonly description: TableDescription;
  /** The PublishedTable the writer stored, or null for a row written by hand. */
  readonly published: PublishedTable | null;
  readonly nrows: number | null;
  readonly bytes: number | null;
  readonly version: number;
  readonly builtin: boolean;
  readonly publishedAt: Date;
  /** A user table's owner and grants (sql/130_user_tables.sql); absent for the site's tables. */
  readonly access?: TableAccess;
}

export interface PublishedSchemaRow {
  readonly schemaName: string;
  readonly description: SchemaDescription;
  readonly builtin: boolean;
}

/** TAP_SCHEMA lists the built-in schemas first (ivoa) and last (TAP_SCHEMA); others between. */
export const LAST_SCHEMA_INDEX = 10_000;
/** A table's table_index is its schema's schema_index times this, plus its place in the schema. */
const TABLES_PER_SCHEMA = 100_000;

/**
 * Whole-table rights as the database enforces them (auth.may_see_table): an owner group
 * with no per-row columns. Per-row rights leave the table visible and filter its rows.
 */
export function wholeTableRights(
  rights: TableDescription['rights'],
): { ownerGroup: string; releaseDate: string | null } | undefined {
  if (!rights?.ownerGroup || rights.ownerGroupColumn || rights.releaseColumn) return undefined;
  return { ownerGroup: rights.ownerGroup, releaseDate: rights.releaseDate ?? null };
}

/**
 * Upserts the table's row and rewrites its TAP_SCHEMA rows, in the caller's transaction.
 * The tables row is updated in place (not deleted) so foreign keys of other tables that
 * target it stay valid across a re-publish.
 */
export async function putPublishedTable(client: pg.ClientBase, row: PublishedTableRow): Promise<void> {
  const t = row.table;
  const name = qualifiedName(t);
  const whole = wholeTableRights(row.description.rights ?? t.rights);
  await putSchemaRow(client, t.schema, row.schema, row.builtin ?? false);
  await client.query(
    `INSERT INTO vonode.published_tables (table_name, schema_name, sql_schema, sql_table, description, published,
       nrows, bytes, version, builtin, published_at, owner_group, release_date)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), $11, $12)
     ON CONFLICT (table_name) DO UPDATE SET schema_name = EXCLUDED.schema_name, sql_schema = EXCLUDED.sql_schema,
       sql_table = EXCLUDED.sql_table, description = EXCLUDED.description, published = EXCLUDED.published,
       nrows = EXCLUDED.nrows, bytes = EXCLUDED.bytes, version = EXCLUDED.version, builtin = EXCLUDED.builtin,
       published_at = now(), owner_group = EXCLUDED.owner_group, release_date = EXCLUDED.release_date`,
    [
      name,
      t.schema,
      row.sqlSchema,
      row.sqlTable,
      JSON.stringify(row.description),
      JSON.stringify(t),
      row.nrows,
      row.bytes,
      row.version,
      row.builtin ?? false,
      whole?.ownerGroup ?? null,
      whole?.releaseDate ?? null,
    ],
  );
  await writeTapSchemaRows(client, t, row.nrows);
  if (!row.builtin) await pointStableName(client, t.name, row.sqlSchema, row.sqlTable);
}

const STABLE_NAME_MARK = 'vonode: the published version of ';

/**
 * The loader stores each version in its own table (<table>_v<N>); a view under the
 * table's own name follows the version served, so SQL written by hand (operators, the
 * demo's image generator, psql sessions) never has to know the version. security_invoker:
 * whoever reads through the view gets its own rights, row-level security included.
 * A real table already holding that name is left alone.
 */
async function pointStableName(
  client: pg.ClientBase,
  table: string,
  sqlSchema: string,
  sqlTable: string,
): Promise<void> {
  const stable = fitIdentifier(plainName(table));
  if (stable === sqlTable) return;
  const target = `${quoteIdent(sqlSchema)}.${quoteIdent(sqlTable)}`;
  // A row may name a table not there (yet): nothing to follow.
  const present = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [target]);
  if (!present.rows[0]?.t) return;
  const existing = await client.query<{ relkind: string; note: string | null }>(
    `SELECT c.relkind, obj_description(c.oid, 'pg_class') AS note FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [sqlSchema, stable],
  );
  const found = existing.rows[0];
  if (found && (found.relkind !== 'v' || !found.note?.startsWith(STABLE_NAME_MARK))) return;
  const view = `${quoteIdent(sqlSchema)}.${quoteIdent(stable)}`;
  if (found) await client.query(`DROP VIEW ${view}`);
  await client.query(`CREATE VIEW ${view} WITH (security_invoker = true) AS SELECT * FROM ${target}`);
  await client.query(
    `COMMENT ON VIEW ${view} IS ${quoteLiteral(STABLE_NAME_MARK + `${sqlSchema}.${table}`)}`,
  );
  await client.query(`GRANT SELECT ON ${view} TO vonode_reader`);
}

async function dropStableName(client: pg.ClientBase, table: string, sqlSchema: string): Promise<void> {
  const stable = fitIdentifier(plainName(table));
  const existing = await client.query<{ note: string | null }>(
    `SELECT obj_description(c.oid, 'pg_class') AS note FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'v'`,
    [sqlSchema, stable],
  );
  if (existing.rows[0]?.note?.startsWith(STABLE_NAME_MARK))
    await client.query(`DROP VIEW ${quoteIdent(sqlSchema)}.${quoteIdent(stable)}`);
}

/** Upserts a schema's row (published_schemas and TAP_SCHEMA.schemas), in the caller's transaction. */
export async function putPublishedSchema(
  client: pg.ClientBase,
  schema: SchemaDescription,
  builtin = false,
): Promise<void> {
  await putSchemaRow(client, schema.name, schema, builtin);
}

async function putSchemaRow(
  client: pg.ClientBase,
  name: string,
  schema: SchemaDescription | undefined,
  builtin: boolean,
): Promise<void> {
  if (schema) {
    await client.query(
      `INSERT INTO vonode.published_schemas (schema_name, description, builtin) VALUES ($1, $2, $3)
       ON CONFLICT (schema_name) DO UPDATE SET description = EXCLUDED.description, builtin = EXCLUDED.builtin`,
      [name, JSON.stringify(schema), builtin],
    );
  } else {
    await client.query(
      `INSERT INTO vonode.published_schemas (schema_name, description, builtin) VALUES ($1, $2, $3)
       ON CONFLICT (schema_name) DO NOTHING`,
      [name, JSON.stringify({ name }), builtin],
    );
  }
  const stored = await client.query<{ description: SchemaDescription }>(
    'SELECT description FROM vonode.published_schemas WHERE schema_name = $1',
    [name],
  );
  const d = stored.rows[0]?.description ?? { name };
  const index = name.toLowerCase() === 'tap_schema' ? LAST_SCHEMA_INDEX : name === 'ivoa' ? 0 : null;
  await client.query(
    `INSERT INTO tap_schema.schemas (schema_name, utype, description, schema_index)
     VALUES ($1, $2, $3, COALESCE($4::int,
       (SELECT COALESCE(max(schema_index), 0) + 1 FROM tap_schema.schemas WHERE schema_index < ${LAST_SCHEMA_INDEX})))
     ON CONFLICT (schema_name) DO UPDATE SET utype = EXCLUDED.utype, description = EXCLUDED.description,
       schema_index = COALESCE($4::int, tap_schema.schemas.schema_index)`,
    [name, d.utype ?? null, d.description ?? null, index],
  );
}

/**
 * The TAP_SCHEMA rows of one table, from its PublishedTable. Columns and the keys the
 * table declares are rewritten; the tables row is upserted in place.
 */
export async function writeTapSchemaRows(
  client: pg.ClientBase,
  t: PublishedTable,
  nrows: number | null,
): Promise<void> {
  const name = qualifiedName(t);
  await client.query(
    `INSERT INTO tap_schema.tables (schema_name, table_name, table_type, utype, description, table_index, nrows)
     VALUES ($1, $2, $3, $4, $5, COALESCE(
       (SELECT max(table_index) + 1 FROM tap_schema.tables WHERE schema_name = $1),
       (SELECT schema_index * ${TABLES_PER_SCHEMA} FROM tap_schema.schemas WHERE schema_name = $1)), $6)
     ON CONFLICT (table_name) DO UPDATE SET schema_name = EXCLUDED.schema_name, table_type = EXCLUDED.table_type,
       utype = EXCLUDED.utype, description = EXCLUDED.description, nrows = EXCLUDED.nrows`,
    [t.schema, name, t.type, t.utype ?? null, t.description, nrows],
  );
  await deleteOwnKeys(client, name);
  await client.query('DELETE FROM tap_schema.columns WHERE table_name = $1', [name]);
  // One statement for all columns: a 400-column table is one round trip, not 400.
  const cols = t.columns.map((c, i) => [
    name,
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
    i,
  ]);
  if (cols.length > 0) {
    await client.query(
      `INSERT INTO tap_schema.columns (table_name, column_name, datatype, arraysize, xtype, "size", description,
         utype, unit, ucd, indexed, principal, std, column_index)
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(table_name text, column_name text, datatype text,
         arraysize text, xtype text, "size" int, description text, utype text, unit text, ucd text,
         indexed int, principal int, std int, column_index int)`,
      [JSON.stringify(cols.map(columnRecord))],
    );
  }
  for (const fk of t.foreignKeys ?? []) await writeKey(client, name, fk);
  // Keys of tables published earlier that point here could not be listed until now.
  const pointing = await client.query<{ table_name: string; published: PublishedTable }>(
    `SELECT table_name, published FROM vonode.published_tables
      WHERE published IS NOT NULL AND table_name <> $1
        AND published->'foreignKeys' @> jsonb_build_array(jsonb_build_object('target', $1::text))`,
    [name],
  );
  for (const p of pointing.rows)
    for (const fk of p.published.foreignKeys ?? [])
      if (fk.target === name) await writeKey(client, p.table_name, fk);
}

async function writeKey(client: pg.ClientBase, from: string, fk: ForeignKey): Promise<void> {
  // A key whose target is not (yet) published cannot be listed (TAP-62 needs both ends).
  const target = await client.query('SELECT 1 FROM tap_schema.tables WHERE table_name = $1', [fk.target]);
  if (target.rowCount === 0) return;
  await client.query('DELETE FROM tap_schema.key_columns WHERE key_id = $1', [fk.id]);
  await client.query('DELETE FROM tap_schema.keys WHERE key_id = $1', [fk.id]);
  await client.query(
    'INSERT INTO tap_schema.keys (key_id, from_table, target_table, description) VALUES ($1, $2, $3, $4)',
    [fk.id, from, fk.target, fk.description ?? null],
  );
  for (const [f, to] of fk.columns) {
    await client.query(
      'INSERT INTO tap_schema.key_columns (key_id, from_column, target_column) VALUES ($1, $2, $3)',
      [fk.id, f, to],
    );
  }
}

const COLUMN_FIELDS = [
  'table_name',
  'column_name',
  'datatype',
  'arraysize',
  'xtype',
  'size',
  'description',
  'utype',
  'unit',
  'ucd',
  'indexed',
  'principal',
  'std',
  'column_index',
] as const;

function columnRecord(values: unknown[]): Record<string, unknown> {
  return Object.fromEntries(COLUMN_FIELDS.map((f, i) => [f, values[i]]));
}

async function deleteOwnKeys(client: pg.ClientBase, name: string): Promise<void> {
  await client.query(
    'DELETE FROM tap_schema.key_columns WHERE key_id IN (SELECT key_id FROM tap_schema.keys WHERE from_table = $1)',
    [name],
  );
  await client.query('DELETE FROM tap_schema.keys WHERE from_table = $1', [name]);
}

/**
 * Removes a table's row and its TAP_SCHEMA rows (keys from and to it included), and its
 * schema's rows when no table is left in it and it is not built in. In the caller's
 * transaction; dropping the physical table is the loader's business.
 */
export async function removePublishedTable(client: pg.ClientBase, tableName: string): Promise<void> {
  const gone = await client.query<{ schema_name: string; sql_schema: string; name: string }>(
    `DELETE FROM vonode.published_tables WHERE table_name = $1
     RETURNING schema_name, sql_schema, description->>'name' AS name`,
    [tableName],
  );
  await removeTapSchemaRows(client, tableName);
  const row = gone.rows[0];
  if (row?.name) await dropStableName(client, row.name, row.sql_schema);
  const schema = row?.schema_name;
  if (schema !== undefined) await removeSchemaIfEmpty(client, schema);
}

/** TAP_SCHEMA rows of one table, keys from and to it included. */
export async function removeTapSchemaRows(client: pg.ClientBase, tableName: string): Promise<void> {
  await client.query(
    `DELETE FROM tap_schema.key_columns WHERE key_id IN
       (SELECT key_id FROM tap_schema.keys WHERE from_table = $1 OR target_table = $1)`,
    [tableName],
  );
  await client.query('DELETE FROM tap_schema.keys WHERE from_table = $1 OR target_table = $1', [tableName]);
  await client.query('DELETE FROM tap_schema.columns WHERE table_name = $1', [tableName]);
  await client.query('DELETE FROM tap_schema.tables WHERE table_name = $1', [tableName]);
}

async function removeSchemaIfEmpty(client: pg.ClientBase, schema: string): Promise<void> {
  const left = await client.query('SELECT 1 FROM vonode.published_tables WHERE schema_name = $1 LIMIT 1', [
    schema,
  ]);
  if (left.rowCount) return;
  await client.query('DELETE FROM vonode.published_schemas WHERE schema_name = $1 AND NOT builtin', [schema]);
  await client.query(
    'DELETE FROM tap_schema.schemas s WHERE schema_name = $1 AND NOT EXISTS (SELECT 1 FROM tap_schema.tables t WHERE t.schema_name = s.schema_name)',
    [schema],
  );
}

/**
 * Tells every node process (this one included) that `tableName` changed. NOTIFY is
 * transactional: listeners hear it only when the caller's transaction commits.
 */
export async function notifyCatalogueChanged(client: pg.ClientBase, tableName: string): Promise<void> {
  await client.query('SELECT pg_notify($1, $2)', [CATALOGUE_CHANNEL, tableName]);
}

interface RawTableRow {
  table_name: string;
  schema_name: string;
  sql_schema: string;
  sql_table: string;
  description: TableDescription;
  published: PublishedTable | null;
  nrows: string | null;
  bytes: string | null;
  version: number;
  builtin: boolean;
  published_at: Date;
  owner_subject: string | null;
  public_read: boolean;
  read_groups: string[];
  write_groups: string[];
}

/** Every published table, in the order TAP_SCHEMA lists them (new ones last). */
export async function readPublishedTables(client: pg.ClientBase | pg.Pool): Promise<PublishedRow[]> {
  const r = await client.query<RawTableRow>(
    `SELECT p.table_name, p.schema_name, p.sql_schema, p.sql_table, p.description, p.published, p.nrows::text,
            p.bytes::text, p.version, p.builtin, p.published_at, p.owner_subject, p.public_read,
            p.read_groups, p.write_groups
       FROM vonode.published_tables p LEFT JOIN tap_schema.tables t ON t.table_name = p.table_name
      ORDER BY t.table_index NULLS LAST, p.published_at, p.table_name`,
  );
  return r.rows.map((x) => ({
    tableName: x.table_name,
    schemaName: x.schema_name,
    sqlSchema: x.sql_schema,
    sqlTable: x.sql_table,
    description: x.description,
    published: x.published,
    nrows: x.nrows === null ? null : Number(x.nrows),
    bytes: x.bytes === null ? null : Number(x.bytes),
    version: x.version,
    builtin: x.builtin,
    publishedAt: x.published_at,
    ...(x.owner_subject !== null
      ? {
          access: {
            owner: x.owner_subject,
            public: x.public_read,
            readGroups: x.read_groups,
            writeGroups: x.write_groups,
          },
        }
      : {}),
  }));
}

/** Every schema row, in TAP_SCHEMA's display order. */
export async function readPublishedSchemas(client: pg.ClientBase | pg.Pool): Promise<PublishedSchemaRow[]> {
  const r = await client.query<{ schema_name: string; description: SchemaDescription; builtin: boolean }>(
    `SELECT p.schema_name, p.description, p.builtin
       FROM vonode.published_schemas p LEFT JOIN tap_schema.schemas s ON s.schema_name = p.schema_name
      ORDER BY s.schema_index NULLS LAST, p.schema_name`,
  );
  return r.rows.map((x) => ({ schemaName: x.schema_name, description: x.description, builtin: x.builtin }));
}
