-- A cheap first filter for polygon-against-polygon CONTAINS and INTERSECTS (ADQL-37,
-- ADQL-38). The exact tests of 030_adql.sql cost O(n*m) PL/pgSQL steps per pair of
-- polygons, so a join of 100 footprints with 100 polygons spent minutes proving that
-- far-apart shapes do not meet. The compiler (adql/) now writes
--   adql.caps_meet(adql.polygon_cap(a), adql.polygon_cap(b)) AND <exact test>
-- where a polygon's cap is a circle on the sky holding it: two shapes whose caps are
-- apart cannot intersect, nor one contain the other. The exact test still decides every
-- pair that passes, so the rows are those of the exact test alone.

-- The bounding cap of a polygon as [x, y, z, r]: the unit vector of its centre (the
-- normalised sum of the vertex vectors) and a radius in degrees reaching every vertex.
-- With r under 90 degrees the cap is convex, so it holds every edge (the shorter
-- great-circle arc between two vertices) and the whole boundary; the side of the boundary
-- away from the cap holds more than a hemisphere, so the polygon (the smaller side, as in
-- 030_adql.sql) is the side inside the cap. Otherwise, or for anything that is not a
-- polygon of three or more vertices, the cap is the whole sky ([0, 0, 1, 180]), which
-- filters nothing. The radius is padded by 1e-6 degrees against rounding, so shapes that
-- touch still reach the exact test.
CREATE OR REPLACE FUNCTION adql.polygon_cap(poly float8[])
RETURNS float8[] LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  n int := cardinality(poly) / 2;
  sky constant float8[] := ARRAY[0, 0, 1, 180];
  x float8[];
  y float8[];
  z float8[];
  sx float8 := 0;
  sy float8 := 0;
  sz float8 := 0;
  len float8;
  lowest float8 := 1;
BEGIN
  IF n < 3 OR cardinality(poly) % 2 <> 0 OR array_position(poly, NULL) IS NOT NULL THEN
    RETURN sky;
  END IF;
  x := array_fill(0::float8, ARRAY[n]);
  y := x;
  z := x;
  FOR i IN 1..n LOOP
    x[i] := cosd(poly[2 * i]) * cosd(poly[2 * i - 1]);
    y[i] := cosd(poly[2 * i]) * sind(poly[2 * i - 1]);
    z[i] := sind(poly[2 * i]);
    sx := sx + x[i];
    sy := sy + y[i];
    sz := sz + z[i];
  END LOOP;
  len := sqrt(sx * sx + sy * sy + sz * sz);
  IF len < 1e-9 THEN
    RETURN sky;
  END IF;
  sx := sx / len;
  sy := sy / len;
  sz := sz / len;
  FOR i IN 1..n LOOP
    lowest := least(lowest, x[i] * sx + y[i] * sy + z[i] * sz);
  END LOOP;
  -- cos r of the farthest vertex; at or beyond 90 degrees the cap does not bound the polygon.
  IF lowest <= 1e-9 THEN
    RETURN sky;
  END IF;
  RETURN ARRAY[sx, sy, sz, degrees(acos(least(1::float8, lowest))) + 1e-6];
END;
$$;

-- Can the shapes held by caps a and b share a point? The angle between the centres is
-- at most the sum of the radii (with the same 1e-6 degree slack). NULL for a NULL cap,
-- like the exact test for a NULL polygon. One SQL expression: the planner inlines it.
CREATE OR REPLACE FUNCTION adql.caps_meet(a float8[], b float8[])
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT a[4] + b[4] >= 180
      OR a[1] * b[1] + a[2] * b[2] + a[3] * b[3] >= cosd(a[4] + b[4] + 1e-6)
$$;
