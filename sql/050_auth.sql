-- Data rights in the database: row-level security keyed on the identity that
-- src/auth/db.ts sets for each transaction (SET LOCAL ROLE vonode_reader plus the
-- vonode.user / vonode.groups settings). Every statement is idempotent, so the file can
-- be applied again on every start.

CREATE SCHEMA IF NOT EXISTS auth;

-- Roles belong to the whole cluster, not to one database: create only when absent, and
-- make the service's own login a member so that it may SET ROLE to it. The reader must
-- not be a superuser, the owner of a protected table, or BYPASSRLS: those skip the
-- policies.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vonode_reader') THEN
    BEGIN
      CREATE ROLE vonode_reader NOLOGIN NOSUPERUSER NOINHERIT NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE EXCEPTION 'vonode needs a role vonode_reader and % may not create it', current_user
        USING HINT = format('ask a database administrator to run: CREATE ROLE vonode_reader NOLOGIN; GRANT vonode_reader TO %I;', current_user);
    END;
  END IF;
  -- From PostgreSQL 16 a role's creator is a member WITH ADMIN but without SET, so the
  -- SET privilege is what to check (and grant) there; 15 only knows membership. Without
  -- INHERIT the service login is not itself covered by the reader's policies, so a code
  -- path that forgot withIdentity() reads nothing from a protected table it owns.
  IF current_setting('server_version_num')::int >= 160000 THEN
    IF NOT pg_has_role(current_user, 'vonode_reader', 'SET') THEN
      BEGIN
        EXECUTE format('GRANT vonode_reader TO %I WITH INHERIT FALSE, SET TRUE', current_user);
      EXCEPTION WHEN insufficient_privilege THEN
        RAISE EXCEPTION '% may not SET ROLE vonode_reader and may not grant it', current_user
          USING HINT = format('ask a database administrator to run: GRANT vonode_reader TO %I WITH INHERIT FALSE, SET TRUE;', current_user);
      END;
    END IF;
  ELSIF NOT pg_has_role(current_user, 'vonode_reader', 'MEMBER') THEN
    BEGIN
      EXECUTE format('GRANT vonode_reader TO %I', current_user);
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE EXCEPTION '% is not a member of vonode_reader and may not grant it', current_user
        USING HINT = format('ask a database administrator to run: GRANT vonode_reader TO %I;', current_user);
    END;
  END IF;
END
$$;

GRANT USAGE ON SCHEMA auth TO vonode_reader;

-- The groups of the current caller, as set by withIdentity(): a text[] literal written
-- by PostgreSQL itself (the client passes an array parameter), so quoting is never done
-- by hand. Unset or empty means anonymous.
CREATE OR REPLACE FUNCTION auth.current_groups() RETURNS text[]
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT COALESCE(NULLIF(current_setting('vonode.groups', true), '')::text[], '{}'::text[]) $$;

CREATE OR REPLACE FUNCTION auth.current_user_id() RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT NULLIF(current_setting('vonode.user', true), '') $$;

-- One row's data rights. Kept a single SQL expression (no SECURITY DEFINER, no plpgsql)
-- so the planner can inline it into the row-level security qualifier. Group names are
-- compared without a leading '/' (the identity's groups are normalised the same way in
-- src/auth/identity.ts), so '/ska/team-a' and 'ska/team-a' name the same group.
CREATE OR REPLACE FUNCTION auth.may_read(owner_group text, release_date timestamptz) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$
    SELECT owner_group IS NULL
        OR release_date IS NULL
        OR release_date <= now()
        OR ltrim(owner_group, '/') = ANY (auth.current_groups())
  $$;

-- Per-collection settings. metadata_public: the rows describing a proprietary product
-- (ObsCore, catalogue metadata) are visible to everyone while the data themselves stay
-- proprietary; data access paths (DataLink, SODA, downloads) still call auth.may_read.
CREATE TABLE IF NOT EXISTS auth.collections (
  collection text PRIMARY KEY,
  owner_group text,
  metadata_public boolean NOT NULL DEFAULT false,
  description text
);
GRANT SELECT ON auth.collections TO vonode_reader;

CREATE OR REPLACE FUNCTION auth.metadata_public(coll text) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT COALESCE((SELECT c.metadata_public FROM auth.collections c WHERE c.collection = coll), false) $$;

-- Ingestion and maintenance run as the service's own login (the table owner) and must
-- say so explicitly with SET LOCAL vonode.maintenance = 'on' (withMaintenance() in
-- src/auth/db.ts). A code path that forgot to set an identity therefore reads nothing
-- from a protected table instead of everything.
CREATE OR REPLACE FUNCTION auth.maintenance() RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT COALESCE(current_setting('vonode.maintenance', true), '') = 'on' $$;

-- Puts a table under data rights: row-level security enabled and forced (so the owner is
-- subject to it too), a SELECT policy for vonode_reader applying auth.may_read's rule to
-- the named columns (optionally also letting through rows whose collection has public
-- metadata),
-- an owner policy that only opens in maintenance mode, and SELECT for the reader.
-- Applying it again replaces the policies.
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
  -- The same test as auth.may_read, written out so that the caller's groups are read
  -- once per query (an InitPlan) rather than once per row: the function cannot do that,
  -- since a SQL function with a sub-select is no longer inlined.
  read_rule := format(
    '(%1$I IS NULL OR %2$I IS NULL OR %2$I::timestamptz <= now() OR ltrim(%1$I, ''/'') = ANY ((SELECT auth.current_groups())::text[]))',
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

-- For tables with no proprietary rows (TAP_SCHEMA, public catalogues): the reader may
-- read them whole.
CREATE OR REPLACE FUNCTION auth.grant_read(tbl regclass) RETURNS void
  LANGUAGE plpgsql
  AS $$
DECLARE
  nsp text;
BEGIN
  SELECT n.nspname INTO nsp FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = tbl;
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO vonode_reader', nsp);
  EXECUTE format('GRANT SELECT ON %s TO vonode_reader', tbl);
END
$$;
