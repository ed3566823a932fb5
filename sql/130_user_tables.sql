-- User tables (issue 16): tables a caller creates over the youcat protocol (PUT /tap/tables,
-- POST /tap/load, POST /tap/table-update) are published tables owned by a user. Their rows
-- in vonode.published_tables say who owns them and who else may read or write them; the
-- database enforces it, so a table nobody shared with a caller is absent for that caller
-- from TAP_SCHEMA (the policies of sql/110_published.sql call auth.may_see_table) and its
-- rows cannot be read by any query (auth.protect_user_table below).
--
-- Writers: src/usertables (creation, loads, drops) and its permissions API
-- (writeUserTablePermissions), which only updates the grant columns and sends NOTIFY.

ALTER TABLE vonode.published_tables
  -- The token subject (or the configured claim) of the user who created the table; NULL for
  -- tables published by the site (vonode publish, built-in schemas).
  ADD COLUMN IF NOT EXISTS owner_subject text,
  -- Grants (youcat's anon-read, read-only group, read-write group): group names compared
  -- without a leading '/', as auth.may_read does.
  ADD COLUMN IF NOT EXISTS public_read boolean NOT NULL DEFAULT false,
  ADD COLUMN IF NOT EXISTS read_groups text[] NOT NULL DEFAULT '{}'::text[],
  ADD COLUMN IF NOT EXISTS write_groups text[] NOT NULL DEFAULT '{}'::text[];

-- Quotas count a user's tables and bytes.
CREATE INDEX IF NOT EXISTS published_tables_owner_subject_idx
  ON vonode.published_tables (owner_subject) WHERE owner_subject IS NOT NULL;

-- May the current caller read (and so know of) a user table? Its owner, anyone when it is
-- public, a member of a read or write group. Group names compare without a leading '/'.
CREATE OR REPLACE FUNCTION auth.may_read_user_table(
  owner_subject text,
  public_read boolean,
  read_groups text[],
  write_groups text[]
) RETURNS boolean
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT owner_subject IS NULL
        OR public_read
        OR COALESCE(owner_subject = auth.current_user_id(), false)
        OR EXISTS (SELECT 1 FROM unnest(read_groups || write_groups) g
                    WHERE ltrim(g, '/') = ANY (auth.current_groups()))
  $$;
REVOKE ALL ON FUNCTION auth.may_read_user_table(text, boolean, text[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.may_read_user_table(text, boolean, text[], text[]) TO vonode_reader;

-- auth.may_see_table of sql/110_published.sql, extended: whole-table rights as before, and a
-- user table is seen only by those auth.may_read_user_table lets read it. Every TAP_SCHEMA
-- policy calls this function, so replacing it is enough for TAP_SCHEMA.
CREATE OR REPLACE FUNCTION auth.may_see_table(tname text) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT NOT EXISTS (
      SELECT 1 FROM vonode.published_tables p
       WHERE p.table_name = tname
         AND ((p.owner_group IS NOT NULL
               AND (p.release_date IS NULL OR p.release_date > now())
               AND NOT (ltrim(p.owner_group, '/') = ANY (auth.current_groups())))
           OR NOT auth.may_read_user_table(p.owner_subject, p.public_read, p.read_groups, p.write_groups)))
  $$;
REVOKE ALL ON FUNCTION auth.may_see_table(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.may_see_table(text) TO vonode_reader;

-- Puts a user table under its grants: the reader may select from it only when
-- auth.may_see_table says the caller may see the table (read once per query, an InitPlan),
-- so a query naming it directly in SQL reads nothing it may not. Forced, with the owner's
-- maintenance policy, as auth.protect_published_table does: the service's own login loads
-- rows only in maintenance mode (withMaintenance).
CREATE OR REPLACE FUNCTION auth.protect_user_table(tbl regclass, tname text) RETURNS void
  LANGUAGE plpgsql
  AS $$
DECLARE
  nsp text;
  owner_role text;
BEGIN
  SELECT n.nspname, pg_get_userbyid(c.relowner) INTO nsp, owner_role
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = tbl;
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO vonode_reader', nsp);
  EXECUTE format('GRANT SELECT ON %s TO vonode_reader', tbl);
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format('DROP POLICY IF EXISTS vonode_may_read ON %s', tbl);
  EXECUTE format('DROP POLICY IF EXISTS vonode_maintenance ON %s', tbl);
  EXECUTE format('CREATE POLICY vonode_may_read ON %s AS PERMISSIVE FOR SELECT TO vonode_reader USING ((SELECT auth.may_see_table(%L)))', tbl, tname);
  EXECUTE format('CREATE POLICY vonode_maintenance ON %s AS PERMISSIVE FOR ALL TO %I USING (auth.maintenance()) WITH CHECK (auth.maintenance())', tbl, owner_role);
END
$$;
