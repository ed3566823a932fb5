-- TAP_SCHEMA 1.1 (TAP-55..TAP-62). Its rows are written at start-up from the one
-- declaration of each published table (src/tap/tables), never edited by hand.
CREATE SCHEMA IF NOT EXISTS tap_schema;

CREATE TABLE tap_schema.schemas (
  schema_name  text PRIMARY KEY,
  utype        text,
  description  text,
  schema_index integer
);

CREATE TABLE tap_schema.tables (
  schema_name text NOT NULL REFERENCES tap_schema.schemas (schema_name),
  table_name  text PRIMARY KEY,
  table_type  text NOT NULL CHECK (table_type IN ('table', 'view')),
  utype       text,
  description text,
  table_index integer
);

CREATE TABLE tap_schema.columns (
  table_name   text NOT NULL REFERENCES tap_schema.tables (table_name),
  column_name  text NOT NULL,
  datatype     text NOT NULL,
  arraysize    text,
  xtype        text,
  "size"       integer,
  description  text,
  utype        text,
  unit         text,
  ucd          text,
  indexed      integer NOT NULL CHECK (indexed IN (0, 1)),
  principal    integer NOT NULL CHECK (principal IN (0, 1)),
  std          integer NOT NULL CHECK (std IN (0, 1)),
  column_index integer,
  PRIMARY KEY (table_name, column_name)
);

CREATE TABLE tap_schema.keys (
  key_id       text PRIMARY KEY,
  from_table   text NOT NULL REFERENCES tap_schema.tables (table_name),
  target_table text NOT NULL REFERENCES tap_schema.tables (table_name),
  description  text,
  utype        text
);

CREATE TABLE tap_schema.key_columns (
  key_id        text NOT NULL REFERENCES tap_schema.keys (key_id),
  from_column   text NOT NULL,
  target_column text NOT NULL
);
