import type { PublishedSchema, PublishedTable } from './model.js';

const s = (name: string, description: string, arraysize = '*') =>
  ({ name, datatype: 'char', arraysize, description, principal: true, std: true }) as const;
const i = (name: string, description: string) =>
  ({ name, datatype: 'int', description, principal: true, std: true }) as const;

const table = (
  name: string,
  description: string,
  columns: PublishedTable['columns'],
  foreignKeys: PublishedTable['foreignKeys'] = [],
): PublishedTable => ({
  schema: 'TAP_SCHEMA',
  name,
  sql: { schema: 'tap_schema', table: name },
  type: 'table',
  description,
  columns,
  foreignKeys,
});

/** TAP_SCHEMA describes itself (TAP-55), with the five foreign keys taplint expects (TAP-62). */
export const TAP_SCHEMA: PublishedSchema = {
  name: 'TAP_SCHEMA',
  description: 'Metadata of the tables and columns published by this TAP service',
  tables: [
    table('schemas', 'the schemas published by this service', [
      s('schema_name', 'schema name, for use in queries'),
      s('utype', 'utype of the schema'),
      s('description', 'description of the schema'),
      i('schema_index', 'recommended order of schemas for display'),
    ]),
    table(
      'tables',
      'the tables published by this service',
      [
        s('schema_name', 'the schema the table belongs to'),
        s('table_name', 'fully qualified table name, for use in queries'),
        s('table_type', 'table or view'),
        s('utype', 'utype of the table'),
        s('description', 'description of the table'),
        i('table_index', 'recommended order of tables for display'),
        // An extra column (TAP 1.1 allows them, TAP-55); TOPCAT shows it.
        {
          name: 'nrows',
          datatype: 'long',
          description: 'number of rows of the table, when counted',
          principal: true,
        },
      ],
      [
        {
          id: 'tables_schema',
          target: 'TAP_SCHEMA.schemas',
          columns: [['schema_name', 'schema_name']],
          description: 'the schema of each table',
        },
      ],
    ),
    table(
      'columns',
      'the columns of the published tables',
      [
        s('table_name', 'fully qualified name of the table'),
        s('column_name', 'column name, for use in queries'),
        s('datatype', 'VOTable datatype of the column'),
        s('arraysize', 'VOTable arraysize of the column'),
        s('xtype', 'DALI extended type of the column'),
        {
          ...i('"size"', 'length of a variable or fixed size column (deprecated: use arraysize)'),
          sqlName: 'size',
        },
        s('description', 'description of the column'),
        s('utype', 'utype of the column'),
        s('unit', 'VOUnit of the column'),
        s('ucd', 'UCD of the column'),
        i('indexed', '1 if the column has an index, else 0'),
        i('principal', '1 if the column is of main interest, else 0'),
        i('std', '1 if the column is defined by a standard, else 0'),
        i('column_index', 'recommended order of columns for display'),
      ],
      [
        {
          id: 'columns_table',
          target: 'TAP_SCHEMA.tables',
          columns: [['table_name', 'table_name']],
          description: 'the table of each column',
        },
      ],
    ),
    table(
      'keys',
      'foreign keys between the published tables',
      [
        s('key_id', 'unique key identifier'),
        s('from_table', 'fully qualified table name of the referencing table'),
        s('target_table', 'fully qualified table name of the referenced table'),
        s('description', 'description of the key'),
        s('utype', 'utype of the key'),
      ],
      [
        {
          id: 'keys_from',
          target: 'TAP_SCHEMA.tables',
          columns: [['from_table', 'table_name']],
          description: 'the referencing table',
        },
        {
          id: 'keys_target',
          target: 'TAP_SCHEMA.tables',
          columns: [['target_table', 'table_name']],
          description: 'the referenced table',
        },
      ],
    ),
    table(
      'key_columns',
      'the columns of each foreign key',
      [
        s('key_id', 'key identifier from TAP_SCHEMA.keys'),
        s('from_column', 'column in the referencing table'),
        s('target_column', 'column in the referenced table'),
      ],
      [
        {
          id: 'key_columns_key',
          target: 'TAP_SCHEMA.keys',
          columns: [['key_id', 'key_id']],
          description: 'the key of each column pair',
        },
      ],
    ),
  ],
};
