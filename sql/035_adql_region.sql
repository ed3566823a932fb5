-- Region columns stored as DALI polygons but published as STC-S text (OBS-60..OBS-63):
-- the compiler (adql/, CatalogueColumn.region = 'polygon-array') wraps such a column in
-- adql.polygon_stcs only where it leaves the query as a result column; every geometric
-- use (CONTAINS, INTERSECTS, AREA, CENTROID) keeps reading the float8[] directly.

-- 'Polygon ICRS lon1 lat1 lon2 lat2 ...' (STC-S as TAP services write s_region).
-- extra_float_digits > 0 makes float8 output the shortest text that reads back to the
-- same double (PostgreSQL 12+), whatever the session sets: a client parsing the STC-S
-- gets the stored polygon bit for bit. Something that is not a polygon (fewer than three
-- vertices, an odd count, a NULL element) gives NULL rather than a wrong shape.
CREATE OR REPLACE FUNCTION adql.polygon_stcs(p float8[])
RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET extra_float_digits = 3
AS $$
  SELECT CASE
    WHEN cardinality(p) >= 6 AND cardinality(p) % 2 = 0 AND array_position(p, NULL) IS NULL
    THEN 'Polygon ICRS ' || array_to_string(p, ' ')
  END
$$;
