-- Products (ivoa.obscore) and the rows protected by auth.protect_table follow the rule of the
-- published catalogues (sql/115_publish_rights.sql): a row with an owner group and NO release
-- date is NEVER public. Before, a NULL release date read as public, so `vonode ingest
-- --owner-group G` without --release published a "proprietary" product to every anonymous
-- caller (TAP, SIA, DataLink, SODA, previews, MOC, HiPS). ObsCore itself says a NULL
-- obs_release_date means the data are not yet public (ObsCore 1.1 §4.9, OBS-82).

CREATE OR REPLACE FUNCTION auth.may_read(owner_group text, release_date timestamptz) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    SELECT owner_group IS NULL
        OR (release_date IS NOT NULL AND release_date <= now())
        OR ltrim(owner_group, '/') = ANY (auth.current_groups())
  $$;

CREATE OR REPLACE FUNCTION auth.protect_table(
  tbl regclass,
  owner_col text,
  release_col text,
  collection_col text DEFAULT NULL
) RETURNS void
  LANGUAGE plpgsql
  AS $$
DECLARE
  nsp text;
  owner_role text;
  read_rule text;
BEGIN
  SELECT n.nspname, pg_get_userbyid(c.relowner) INTO nsp, owner_role
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = tbl;
  PERFORM 1 FROM pg_attribute
    WHERE attrelid = tbl AND attname = owner_col AND NOT attisdropped AND atttypid IN ('text'::regtype, 'varchar'::regtype);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'auth.protect_table: % has no text column "%" for the owner group', tbl, owner_col;
  END IF;
  PERFORM 1 FROM pg_attribute
    WHERE attrelid = tbl AND attname = release_col AND NOT attisdropped AND atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'auth.protect_table: % has no timestamp column "%" for the release date', tbl, release_col;
  END IF;
  -- auth.may_read written out, so the caller's groups are read once per query (an InitPlan).
  read_rule := format(
    '(%1$I IS NULL OR (%2$I IS NOT NULL AND %2$I::timestamptz <= now()) OR ltrim(%1$I, ''/'') = ANY ((SELECT auth.current_groups())::text[]))',
    owner_col, release_col);
  IF collection_col IS NOT NULL THEN
    PERFORM 1 FROM pg_attribute WHERE attrelid = tbl AND attname = collection_col AND NOT attisdropped;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'auth.protect_table: % has no column "%" for the collection', tbl, collection_col;
    END IF;
    read_rule := format(
      '(%s OR %I::text = ANY ((SELECT coalesce(array_agg(c.collection), ''{}'') FROM auth.collections c WHERE c.metadata_public)::text[]))',
      read_rule, collection_col);
  END IF;
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format('DROP POLICY IF EXISTS vonode_may_read ON %s', tbl);
  EXECUTE format('CREATE POLICY vonode_may_read ON %s AS PERMISSIVE FOR SELECT TO vonode_reader USING (%s)', tbl, read_rule);
  EXECUTE format('DROP POLICY IF EXISTS vonode_maintenance ON %s', tbl);
  EXECUTE format('CREATE POLICY vonode_maintenance ON %s AS PERMISSIVE FOR ALL TO %I USING (auth.maintenance()) WITH CHECK (auth.maintenance())', tbl, owner_role);
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO vonode_reader', nsp);
  EXECUTE format('GRANT SELECT ON %s TO vonode_reader', tbl);
END
$$;

-- The policy in place is rewritten with the new rule (demo.sources is a published catalogue
-- now, under auth.protect_published_table, which already had it).
SELECT auth.protect_table('ivoa.obscore'::regclass, 'owner_group', 'obs_release_date', 'obs_collection');

-- Products: the content's hash is kept for every file (a copy under another name is reported
-- at ingest) and looked up by it.
CREATE INDEX IF NOT EXISTS obscore_sha256 ON ivoa.obscore (file_sha256);
