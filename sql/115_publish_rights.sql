-- Data rights of the tables published with `vonode publish` (src/publish/load.ts), and the
-- schema where their new versions are built before they are swapped in.
--
-- A published catalogue's rights differ from auth.protect_table's in one point: an owner
-- group with no release date means NEVER public (issue 14), where auth.protect_table reads
-- a NULL release date as public for the tables that already rely on it (demo.sources,
-- ivoa.obscore). That function keeps its meaning; published tables use this one.

-- Loads in progress: tables here are never referenced by the catalogue, so anything left
-- after a killed load is removed by the next publish or start (cleanupPublishing()).
CREATE SCHEMA IF NOT EXISTS vonode_staging;

-- Puts a published table under its rights. The owner group and the release date each come
-- either from a column (per row) or from a constant (the whole table); NULL for both of a
-- pair means "not given". A row is readable by vonode_reader when it has no owner, or its
-- release date is set and past, or the caller is in its owner group. With no owner at all
-- the table is simply granted to the reader. Applying it again replaces the policies.
CREATE OR REPLACE FUNCTION auth.protect_published_table(
  tbl regclass,
  owner_col text,
  release_col text,
  owner_group text,
  release_date timestamptz
) RETURNS void
  LANGUAGE plpgsql
  AS $$
DECLARE
  nsp text;
  owner_role text;
  owner_expr text;
  release_expr text;
  read_rule text;
BEGIN
  SELECT n.nspname, pg_get_userbyid(c.relowner) INTO nsp, owner_role
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = tbl;
  IF owner_col IS NOT NULL THEN
    PERFORM 1 FROM pg_attribute
      WHERE attrelid = tbl AND attname = owner_col AND NOT attisdropped
        AND atttypid IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype);
    IF NOT FOUND THEN
      RAISE EXCEPTION 'auth.protect_published_table: % has no text column "%" for the owner group', tbl, owner_col;
    END IF;
    owner_expr := format('%I::text', owner_col);
  ELSIF owner_group IS NOT NULL THEN
    owner_expr := format('%L::text', owner_group);
  END IF;
  IF release_col IS NOT NULL THEN
    PERFORM 1 FROM pg_attribute
      WHERE attrelid = tbl AND attname = release_col AND NOT attisdropped
        AND atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype);
    IF NOT FOUND THEN
      RAISE EXCEPTION 'auth.protect_published_table: % has no timestamp column "%" for the release date', tbl, release_col;
    END IF;
    release_expr := format('%I::timestamptz', release_col);
  ELSIF release_date IS NOT NULL THEN
    release_expr := format('%L::timestamptz', release_date);
  ELSE
    release_expr := 'NULL::timestamptz';
  END IF;

  EXECUTE format('GRANT USAGE ON SCHEMA %I TO vonode_reader', nsp);
  EXECUTE format('GRANT SELECT ON %s TO vonode_reader', tbl);
  EXECUTE format('DROP POLICY IF EXISTS vonode_may_read ON %s', tbl);
  EXECUTE format('DROP POLICY IF EXISTS vonode_maintenance ON %s', tbl);
  IF owner_expr IS NULL THEN
    EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', tbl);
    RETURN;
  END IF;
  -- The caller's groups are read once per query (an InitPlan), as in auth.protect_table.
  read_rule := format(
    '(%1$s IS NULL OR (%2$s IS NOT NULL AND %2$s <= now()) OR ltrim(%1$s, ''/'') = ANY ((SELECT auth.current_groups())::text[]))',
    owner_expr, release_expr);
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format('CREATE POLICY vonode_may_read ON %s AS PERMISSIVE FOR SELECT TO vonode_reader USING (%s)', tbl, read_rule);
  EXECUTE format('CREATE POLICY vonode_maintenance ON %s AS PERMISSIVE FOR ALL TO %I USING (auth.maintenance()) WITH CHECK (auth.maintenance())', tbl, owner_role);
END
$$;
