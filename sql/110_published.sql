-- Published tables are data, not code (DESIGN.md): one row per table says where it lives
-- and what it is (the TableDescription of docs/publishing.md). TAP_SCHEMA, the ADQL
-- catalogue, VOSI /tables, SCS, MOC and registry records are derived from these rows,
-- and every node process hears of a change on the channel vonode_catalogue
-- (src/catalogue). Writers: src/catalogue/store.ts only.

CREATE TABLE vonode.published_schemas (
  schema_name  text PRIMARY KEY,
  -- SchemaDescription: {name, description?, utype?}
  description  jsonb NOT NULL DEFAULT '{}'::jsonb,
  builtin      boolean NOT NULL DEFAULT false
);

CREATE TABLE vonode.published_tables (
  -- 'schema.table' exactly as in TAP_SCHEMA.tables.table_name
  table_name   text PRIMARY KEY,
  schema_name  text NOT NULL,
  sql_schema   text NOT NULL,
  sql_table    text NOT NULL,
  -- TableDescription (src/publish/description.ts)
  description  jsonb NOT NULL,
  -- The PublishedTable as written to TAP_SCHEMA (src/tap/tables/model.ts), when the
  -- writer had one; NULL (a row written by hand) means: derive it from description.
  published    jsonb,
  nrows        bigint,
  bytes        bigint,
  version      integer NOT NULL DEFAULT 1,
  builtin      boolean NOT NULL DEFAULT false,
  published_at timestamptz NOT NULL DEFAULT now(),
  -- Whole-table rights, copied from description.rights when they are not per row: the
  -- table is visible only to owner_group until release_date; no date means never public.
  owner_group  text,
  release_date timestamptz
);

-- owner_group/release_date always follow description.rights, whoever writes the row
-- (the store, or a person with psql), so the database and the node agree on what is hidden.
CREATE FUNCTION vonode.published_whole_table_rights() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  IF NEW.description->'rights'->>'ownerGroup' IS NOT NULL
     AND NEW.description->'rights'->>'ownerGroupColumn' IS NULL
     AND NEW.description->'rights'->>'releaseColumn' IS NULL THEN
    NEW.owner_group := NEW.description->'rights'->>'ownerGroup';
    NEW.release_date := (NEW.description->'rights'->>'releaseDate')::timestamptz;
  ELSE
    NEW.owner_group := NULL;
    NEW.release_date := NULL;
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER published_whole_table_rights BEFORE INSERT OR UPDATE ON vonode.published_tables
  FOR EACH ROW EXECUTE FUNCTION vonode.published_whole_table_rights();

-- TAP 1.1 allows extra columns in TAP_SCHEMA (TAP-55); TOPCAT shows nrows.
ALTER TABLE tap_schema.tables ADD COLUMN IF NOT EXISTS nrows bigint;

-- May the current caller (auth.current_groups(), set by withIdentity) know that the
-- table exists? False only for a table with whole-table rights not yet released and not
-- owned by one of the caller's groups. A table that is not published (TAP_SCHEMA's own
-- rows written before a restart, say) is visible. SECURITY DEFINER: the reader has no
-- right on vonode.*; search_path is pinned so the function cannot be redirected.
CREATE OR REPLACE FUNCTION auth.may_see_table(tname text) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT NOT EXISTS (
      SELECT 1 FROM vonode.published_tables p
       WHERE p.table_name = tname
         AND p.owner_group IS NOT NULL
         AND (p.release_date IS NULL OR p.release_date > now())
         AND NOT (ltrim(p.owner_group, '/') = ANY (auth.current_groups())))
  $$;
REVOKE ALL ON FUNCTION auth.may_see_table(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.may_see_table(text) TO vonode_reader;

-- TAP_SCHEMA rows of a hidden table are hidden too, so ADQL on TAP_SCHEMA tells a
-- caller no more than /tables does. Not FORCEd: the service's own login (the owner)
-- writes and reads all of it; the policies bind vonode_reader, which every query runs as.
ALTER TABLE tap_schema.tables ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS vonode_may_see ON tap_schema.tables;
CREATE POLICY vonode_may_see ON tap_schema.tables FOR SELECT TO vonode_reader
  USING (auth.may_see_table(table_name));

ALTER TABLE tap_schema.columns ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS vonode_may_see ON tap_schema.columns;
CREATE POLICY vonode_may_see ON tap_schema.columns FOR SELECT TO vonode_reader
  USING (auth.may_see_table(table_name));

ALTER TABLE tap_schema.keys ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS vonode_may_see ON tap_schema.keys;
CREATE POLICY vonode_may_see ON tap_schema.keys FOR SELECT TO vonode_reader
  USING (auth.may_see_table(from_table) AND auth.may_see_table(target_table));

-- The sub-selects below run under the reader's policies too, so they see only what the
-- caller may see.
ALTER TABLE tap_schema.key_columns ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS vonode_may_see ON tap_schema.key_columns;
CREATE POLICY vonode_may_see ON tap_schema.key_columns FOR SELECT TO vonode_reader
  USING (EXISTS (SELECT 1 FROM tap_schema.keys k WHERE k.key_id = key_columns.key_id));

ALTER TABLE tap_schema.schemas ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS vonode_may_see ON tap_schema.schemas;
CREATE POLICY vonode_may_see ON tap_schema.schemas FOR SELECT TO vonode_reader
  USING (EXISTS (SELECT 1 FROM tap_schema.tables t WHERE t.schema_name = schemas.schema_name));

GRANT SELECT ON ALL TABLES IN SCHEMA tap_schema TO vonode_reader;

-- Until now TAP_SCHEMA was rewritten from code at every start; from now on it follows
-- vonode.published_tables. Its old rows go: the next start writes the built-in rows
-- again and publishes the demo catalogue through the loader.
DELETE FROM tap_schema.key_columns;
DELETE FROM tap_schema.keys;
DELETE FROM tap_schema.columns;
DELETE FROM tap_schema.tables;
DELETE FROM tap_schema.schemas;

-- The demo catalogue becomes a published table like any other (catalogues/demo.yaml):
-- the loader stores it as demo.sources_v<N> with a view demo.sources following the
-- version served. The table of the old layout is generated again at the next start.
DROP TABLE IF EXISTS demo.sources CASCADE;
DELETE FROM vonode.demo_state WHERE item = 'catalogue';
