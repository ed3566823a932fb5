-- The crossmatch test of a sharded table's crossmatch run on its shards (src/shards/crossmatch.ts,
-- docs/scaling.md): "the point (lon2, lat2) is within r degrees of (lon1, lat1)", the same
-- comparison a crossmatch compiles to (adql.chord2 <= adql.chord2_of, ADQL-39). PL/pgSQL so
-- that the coordinator does not inline it: inlined, it becomes built-in expressions
-- including GREATEST, which postgres_fdw cannot send to a shard, so the join would come back
-- to the coordinator; called by name, it is sent, being a member of the extension vonode_adql.
CREATE OR REPLACE FUNCTION adql.xmatch_within(lon1 float8, lat1 float8, lon2 float8, lat2 float8, r float8)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  RETURN adql.chord2(lon1, lat1, lon2, lat2) <= adql.chord2_of(r);
END;
$$;

-- A coordinator whose extension vonode_adql predates this function adopts it, so that
-- postgres_fdw ships it (its shards get it with the extension's next version).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vonode_adql')
     AND NOT EXISTS (SELECT 1 FROM pg_depend WHERE classid = 'pg_proc'::regclass
                       AND objid = 'adql.xmatch_within(float8, float8, float8, float8, float8)'::regprocedure
                       AND deptype = 'e') THEN
    ALTER EXTENSION vonode_adql ADD FUNCTION adql.xmatch_within(float8, float8, float8, float8, float8);
  END IF;
END $$;
