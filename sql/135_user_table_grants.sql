-- Who may write a user table and who may change its grants (issue 16, item 2), decided by
-- the database like who may read it (sql/130_user_tables.sql), so no route can forget it.
-- The caller is the identity of the transaction (vonode.user, vonode.groups: withIdentity,
-- or src/usertables/youcat-permissions.ts for the service's own login).

-- What the current caller may do with a user table: 'none' (it may not know the table exists,
-- or there is no such user table), 'read', 'write' (a write group: append rows, index) or
-- 'owner' (also drop, change grants). SECURITY DEFINER: callers under the reader's role have
-- no right on vonode.*.
CREATE OR REPLACE FUNCTION auth.user_table_access(tname text) RETURNS text
  LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT COALESCE((
      SELECT CASE
               WHEN p.owner_subject = auth.current_user_id() THEN 'owner'
               WHEN EXISTS (SELECT 1 FROM unnest(p.write_groups) g
                             WHERE ltrim(g, '/') = ANY (auth.current_groups())) THEN 'write'
               WHEN auth.may_read_user_table(p.owner_subject, p.public_read, p.read_groups, p.write_groups)
                 THEN 'read'
               ELSE 'none'
             END
        FROM vonode.published_tables p
       WHERE lower(p.table_name) = lower(tname) AND p.owner_subject IS NOT NULL), 'none')
  $$;
REVOKE ALL ON FUNCTION auth.user_table_access(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION auth.user_table_access(text) TO vonode_reader;

-- Only the owner changes grants. When a transaction carries a caller (vonode.user set), a
-- change of public_read, read_groups or write_groups by anyone else is refused; without one
-- (an operator with psql, `vonode` commands) the change is the operator's. The owner itself
-- never changes.
CREATE OR REPLACE FUNCTION vonode.user_table_grants_by_owner() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  IF NEW.owner_subject IS DISTINCT FROM OLD.owner_subject AND OLD.owner_subject IS NOT NULL THEN
    RAISE EXCEPTION 'the owner of % cannot be changed', OLD.table_name USING ERRCODE = '42501';
  END IF;
  IF OLD.owner_subject IS NOT NULL
     AND auth.current_user_id() IS NOT NULL
     AND auth.current_user_id() IS DISTINCT FROM OLD.owner_subject
     AND (NEW.public_read IS DISTINCT FROM OLD.public_read
          OR NEW.read_groups IS DISTINCT FROM OLD.read_groups
          OR NEW.write_groups IS DISTINCT FROM OLD.write_groups) THEN
    RAISE EXCEPTION 'only the owner of % may change its permissions', OLD.table_name USING ERRCODE = '42501';
  END IF;
  RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS user_table_grants_by_owner ON vonode.published_tables;
CREATE TRIGGER user_table_grants_by_owner BEFORE UPDATE ON vonode.published_tables
  FOR EACH ROW EXECUTE FUNCTION vonode.user_table_grants_by_owner();
