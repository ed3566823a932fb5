-- A cheap first filter for polygon-against-polygon CONTAINS and INTERSECTS (ADQL-37,
-- ADQL-38). The exact tests of 030_adql.sql cost O(n*m) PL/pgSQL steps per pair of
-- polygons, so a join of 100 footprints with 100 polygons spent minutes proving that
-- far-apart shapes do not meet. The compiler (adql/) now writes
--   adql.caps_meet(adql.polygon_cap(a), adql.polygon_cap(b)) AND <exact test>
-- where a polygon's cap is a circle on the sky holding it: two shapes whose caps are
-- apart cannot intersect, nor one contain the other. The exact test still decides every
-- pair that passes, so the rows are those of the exact test alone. (One degenerate case
-- differs: the winding test counts a point exactly opposite a polygon's vertex as inside
-- it (its edges there give atan2(0, 0)); the caps, rightly, let such far shapes apart.)

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
    x[i] := adql.mul(cosd(poly[2 * i]), cosd(poly[2 * i - 1]));
    y[i] := adql.mul(cosd(poly[2 * i]), sind(poly[2 * i - 1]));
    z[i] := sind(poly[2 * i]);
    sx := sx + x[i];
    sy := sy + y[i];
    sz := sz + z[i];
  END LOOP;
  len := sqrt(adql.sq(sx) + adql.sq(sy) + adql.sq(sz));
  IF len < 1e-9 THEN
    RETURN sky;
  END IF;
  sx := sx / len;
  sy := sy / len;
  sz := sz / len;
  FOR i IN 1..n LOOP
    lowest := least(lowest, adql.mul(x[i], sx) + adql.mul(y[i], sy) + adql.mul(z[i], sz));
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
      OR adql.mul(a[1], b[1]) + adql.mul(a[2], b[2]) + adql.mul(a[3], b[3]) >= cosd(a[4] + b[4] + 1e-6)
$$;

-- The exact tests are the expensive part of a condition; PostgreSQL orders the parts of
-- an AND by their declared cost, so declaring it makes the caps (and any cheap condition
-- beside them) run first, and the exact test only for the rows those let through.
ALTER FUNCTION adql.geom_contains(float8[], text, float8[], text) COST 10000;
ALTER FUNCTION adql.geom_intersects(float8[], text, float8[], text) COST 10000;

-- The exact polygon tests of 030_adql.sql (with the underflow-safe products of
-- 036_adql_xmatch.sql), rewritten with the same formulas in the same order but on plain
-- float8 values: the vertex vectors, edge normals and the winding side
-- of a polygon are computed once per call, not once per vertex of the other polygon
-- (any_vertex_in called polygon_contains, hence polygon_left_area, for every vertex), and
-- no per-step array is built. Same answers (test/adql/gaps-polygons.test.ts compares them
-- with the 030 definitions), several times faster on the pairs the caps let through.

CREATE OR REPLACE FUNCTION adql.polygon_left_area(poly float8[])
RETURNS float8 LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  n int := array_length(poly, 1) / 2;
  x float8[];
  y float8[];
  z float8[];
  p int;
  q int;
  ix float8; iy float8; iz float8; il float8;
  ox float8; oy float8; oz float8; ol float8;
  turning float8 := 0;
  a float8;
BEGIN
  IF n IS NULL OR n < 3 THEN
    RETURN NULL;
  END IF;
  x := array_fill(0::float8, ARRAY[n]);
  y := x;
  z := x;
  FOR i IN 1..n LOOP
    x[i] := adql.mul(cosd(poly[2 * i]), cosd(poly[2 * i - 1]));
    y[i] := adql.mul(cosd(poly[2 * i]), sind(poly[2 * i - 1]));
    z[i] := sind(poly[2 * i]);
  END LOOP;
  FOR i IN 1..n LOOP
    p := CASE WHEN i = 1 THEN n ELSE i - 1 END;
    q := CASE WHEN i = n THEN 1 ELSE i + 1 END;
    -- nin = unit(prev x this), nout = unit(this x next)
    ix := adql.mul(y[p], z[i]) - adql.mul(z[p], y[i]);
    iy := adql.mul(z[p], x[i]) - adql.mul(x[p], z[i]);
    iz := adql.mul(x[p], y[i]) - adql.mul(y[p], x[i]);
    il := sqrt(adql.sq(ix) + adql.sq(iy) + adql.sq(iz));
    ix := ix / il; iy := iy / il; iz := iz / il;
    ox := adql.mul(y[i], z[q]) - adql.mul(z[i], y[q]);
    oy := adql.mul(z[i], x[q]) - adql.mul(x[i], z[q]);
    oz := adql.mul(x[i], y[q]) - adql.mul(y[i], x[q]);
    ol := sqrt(adql.sq(ox) + adql.sq(oy) + adql.sq(oz));
    ox := ox / ol; oy := oy / ol; oz := oz / ol;
    turning := turning + atan2(
      adql.mul(x[i], adql.mul(iy, oz) - adql.mul(iz, oy)) + adql.mul(y[i], adql.mul(iz, ox) - adql.mul(ix, oz))
        + adql.mul(z[i], adql.mul(ix, oy) - adql.mul(iy, ox)),
      adql.mul(ix, ox) + adql.mul(iy, oy) + adql.mul(iz, oz));
  END LOOP;
  a := 2 * pi() - turning;
  a := a - 4 * pi() * floor(a / (4 * pi()));
  RETURN a;
END;
$$;

-- Is each vertex of `pts` inside `poly` (winding number, as polygon_contains)? mode 'any'
-- answers whether one is, 'all' whether all are; a vertex whose answer is NULL (a NULL
-- coordinate, `poly` not a polygon) counts for neither, as in the 030 loops that called
-- polygon_contains vertex by vertex.
CREATE OR REPLACE FUNCTION adql.vertices_in(pts float8[], poly float8[], mode text)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  n int := array_length(poly, 1) / 2;
  m int := array_length(pts, 1) / 2;
  x float8[];
  y float8[];
  z float8[];
  flipped boolean;
  px float8; py float8; pz float8;
  ap float8; bp float8;
  w float8;
  q int;
  inside boolean;
  on_vertex boolean;
BEGIN
  IF poly IS NULL OR n IS NULL OR n < 3 OR m IS NULL THEN
    RETURN mode = 'all';
  END IF;
  x := array_fill(0::float8, ARRAY[n]);
  y := x;
  z := x;
  FOR i IN 1..n LOOP
    x[i] := adql.mul(cosd(poly[2 * i]), cosd(poly[2 * i - 1]));
    y[i] := adql.mul(cosd(poly[2 * i]), sind(poly[2 * i - 1]));
    z[i] := sind(poly[2 * i]);
  END LOOP;
  FOR k IN 1..m LOOP
    IF pts[2 * k - 1] IS NULL OR pts[2 * k] IS NULL THEN
      inside := NULL;
    ELSE
      px := adql.mul(cosd(pts[2 * k]), cosd(pts[2 * k - 1]));
      py := adql.mul(cosd(pts[2 * k]), sind(pts[2 * k - 1]));
      pz := sind(pts[2 * k]);
      w := 0;
      on_vertex := false;
      FOR i IN 1..n LOOP
        q := CASE WHEN i = n THEN 1 ELSE i + 1 END;
        ap := adql.mul(x[i], px) + adql.mul(y[i], py) + adql.mul(z[i], pz);
        IF ap > 1 - 1e-15 THEN
          on_vertex := true; -- on a vertex: the boundary is inside (ADQL-37)
          EXIT;
        END IF;
        bp := adql.mul(x[q], px) + adql.mul(y[q], py) + adql.mul(z[q], pz);
        w := w + atan2(
          adql.mul(adql.mul(y[i], z[q]) - adql.mul(z[i], y[q]), px) + adql.mul(adql.mul(z[i], x[q]) - adql.mul(x[i], z[q]), py)
            + adql.mul(adql.mul(x[i], y[q]) - adql.mul(y[i], x[q]), pz),
          (adql.mul(x[i], x[q]) + adql.mul(y[i], y[q]) + adql.mul(z[i], z[q])) - adql.mul(ap, bp));
      END LOOP;
      IF on_vertex THEN
        inside := true;
      ELSE
        IF flipped IS NULL THEN
          flipped := adql.polygon_left_area(poly) > 2 * pi();
        END IF;
        inside := (w > pi() AND NOT flipped) OR (w < -pi() AND flipped);
      END IF;
    END IF;
    IF mode = 'any' AND inside THEN
      RETURN true;
    ELSIF mode = 'all' AND NOT inside THEN
      RETURN false;
    END IF;
  END LOOP;
  RETURN mode = 'all';
END;
$$;

CREATE OR REPLACE FUNCTION adql.polygon_contains(poly float8[], lon float8, lat float8)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN poly IS NULL OR lon IS NULL OR lat IS NULL OR coalesce(array_length(poly, 1) / 2, 0) < 3 THEN NULL
    ELSE adql.vertices_in(ARRAY[lon, lat], poly, 'any')
  END
$$;

CREATE OR REPLACE FUNCTION adql.any_vertex_in(a float8[], b float8[])
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT adql.vertices_in(a, b, 'any')
$$;

-- Do any edge of a and any edge of b cross (arcs_cross on every pair, with each
-- polygon's vertex vectors and edge normals computed once)?
CREATE OR REPLACE FUNCTION adql.polygons_edges_cross(a float8[], b float8[])
RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  na int := array_length(a, 1) / 2;
  nb int := array_length(b, 1) / 2;
  ax float8[]; ay float8[]; az float8[];
  cx float8[]; cy float8[]; cz float8[];
  anx float8[]; any_ float8[]; anz float8[];
  bnx float8[]; bny float8[]; bnz float8[];
  i2 int;
  j2 int;
  s1 int; s2 int; s3 int; s4 int;
  xx float8; xy float8; xz float8;
BEGIN
  ax := array_fill(0::float8, ARRAY[na]); ay := ax; az := ax; anx := ax; any_ := ax; anz := ax;
  cx := array_fill(0::float8, ARRAY[nb]); cy := cx; cz := cx; bnx := cx; bny := cx; bnz := cx;
  FOR i IN 1..na LOOP
    ax[i] := adql.mul(cosd(a[2 * i]), cosd(a[2 * i - 1]));
    ay[i] := adql.mul(cosd(a[2 * i]), sind(a[2 * i - 1]));
    az[i] := sind(a[2 * i]);
  END LOOP;
  FOR j IN 1..nb LOOP
    cx[j] := adql.mul(cosd(b[2 * j]), cosd(b[2 * j - 1]));
    cy[j] := adql.mul(cosd(b[2 * j]), sind(b[2 * j - 1]));
    cz[j] := sind(b[2 * j]);
  END LOOP;
  FOR i IN 1..na LOOP
    i2 := CASE WHEN i = na THEN 1 ELSE i + 1 END;
    anx[i] := adql.mul(ay[i], az[i2]) - adql.mul(az[i], ay[i2]);
    any_[i] := adql.mul(az[i], ax[i2]) - adql.mul(ax[i], az[i2]);
    anz[i] := adql.mul(ax[i], ay[i2]) - adql.mul(ay[i], ax[i2]);
  END LOOP;
  FOR j IN 1..nb LOOP
    j2 := CASE WHEN j = nb THEN 1 ELSE j + 1 END;
    bnx[j] := adql.mul(cy[j], cz[j2]) - adql.mul(cz[j], cy[j2]);
    bny[j] := adql.mul(cz[j], cx[j2]) - adql.mul(cx[j], cz[j2]);
    bnz[j] := adql.mul(cx[j], cy[j2]) - adql.mul(cy[j], cx[j2]);
  END LOOP;
  FOR i IN 1..na LOOP
    i2 := CASE WHEN i = na THEN 1 ELSE i + 1 END;
    FOR j IN 1..nb LOOP
      j2 := CASE WHEN j = nb THEN 1 ELSE j + 1 END;
      -- Proper crossings only, as adql.arcs_cross: the ends of each arc on strictly
      -- opposite sides of the other's great circle, then the crossing on both arcs.
      s1 := adql.side(adql.mul(anx[i], cx[j]) + adql.mul(any_[i], cy[j]) + adql.mul(anz[i], cz[j]));
      s2 := adql.side(adql.mul(anx[i], cx[j2]) + adql.mul(any_[i], cy[j2]) + adql.mul(anz[i], cz[j2]));
      CONTINUE WHEN s1 * s2 >= 0;
      s3 := adql.side(adql.mul(bnx[j], ax[i]) + adql.mul(bny[j], ay[i]) + adql.mul(bnz[j], az[i]));
      s4 := adql.side(adql.mul(bnx[j], ax[i2]) + adql.mul(bny[j], ay[i2]) + adql.mul(bnz[j], az[i2]));
      CONTINUE WHEN s3 * s4 >= 0;
      xx := adql.mul(any_[i], bnz[j]) - adql.mul(anz[i], bny[j]);
      xy := adql.mul(anz[i], bnx[j]) - adql.mul(anx[i], bnz[j]);
      xz := adql.mul(anx[i], bny[j]) - adql.mul(any_[i], bnx[j]);
      IF adql.mul(xx, ax[i] + ax[i2]) + adql.mul(xy, ay[i] + ay[i2]) + adql.mul(xz, az[i] + az[i2]) < 0 THEN
        xx := -xx; xy := -xy; xz := -xz;
      END IF;
      IF adql.mul(xx, cx[j] + cx[j2]) + adql.mul(xy, cy[j] + cy[j2]) + adql.mul(xz, cz[j] + cz[j2]) > 0 THEN
        RETURN true;
      END IF;
    END LOOP;
  END LOOP;
  RETURN false;
END;
$$;

-- ADQL-37 CONTAINS as in 030_adql.sql, the polygon-in-polygon branch testing all vertices
-- of a in one call.
CREATE OR REPLACE FUNCTION adql.geom_contains(a float8[], ak text, b float8[], bk text)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE COST 10000 AS $$
BEGIN
  IF a IS NULL OR b IS NULL THEN
    RETURN NULL;
  END IF;
  IF ak = 'point' THEN
    RETURN CASE bk
      WHEN 'point' THEN adql.chord2(a[1], a[2], b[1], b[2]) <= 1e-24
      WHEN 'circle' THEN adql.chord2(a[1], a[2], b[1], b[2]) <= adql.chord2_of(b[3])
      ELSE adql.polygon_contains(b, a[1], a[2]) END;
  ELSIF ak = 'circle' THEN
    RETURN CASE bk
      WHEN 'point' THEN a[3] = 0 AND adql.chord2(a[1], a[2], b[1], b[2]) <= 1e-24
      WHEN 'circle' THEN adql.distance(a[1], a[2], b[1], b[2]) + a[3] <= b[3]
      ELSE adql.polygon_contains(b, a[1], a[2]) AND adql.boundary_distance(b, a[1], a[2]) >= a[3] END;
  ELSE
    IF bk = 'point' THEN
      RETURN false;
    ELSIF bk = 'circle' THEN
      FOR i IN 0..array_length(a, 1) / 2 - 1 LOOP
        IF adql.distance(a[2 * i + 1], a[2 * i + 2], b[1], b[2]) > b[3] THEN
          RETURN false;
        END IF;
      END LOOP;
      RETURN true;
    ELSE
      IF NOT adql.vertices_in(a, b, 'all') THEN
        RETURN false;
      END IF;
      RETURN NOT adql.polygons_edges_cross(a, b);
    END IF;
  END IF;
END;
$$;
