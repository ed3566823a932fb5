-- Helper functions for SQL compiled from ADQL (adql/). Plain SQL and PL/pgSQL only:
-- no extension (DESIGN "PostgreSQL only"). Geometry values are DALI arrays of degrees:
-- point [lon, lat], circle [lon, lat, r], polygon [lon1, lat1, lon2, lat2, ...].
-- A polygon is the SMALLER of the two regions its great-circle edges bound (as in
-- sky/geometry.ts), so clockwise and counter-clockwise input mean the same region.
-- The one-line SQL functions are inlined by the planner.

CREATE SCHEMA IF NOT EXISTS adql;

-- Squared chord between two directions: precise down to milliarcseconds, unlike 1 - cos.
CREATE OR REPLACE FUNCTION adql.chord2(lon1 float8, lat1 float8, lon2 float8, lat2 float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT power(cosd(lat1) * cosd(lon1) - cosd(lat2) * cosd(lon2), 2)
       + power(cosd(lat1) * sind(lon1) - cosd(lat2) * sind(lon2), 2)
       + power(sind(lat1) - sind(lat2), 2)
$$;

-- Squared chord between (lon, lat) and a constant unit vector (x, y, z).
CREATE OR REPLACE FUNCTION adql.chord2v(lon float8, lat float8, x float8, y float8, z float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT power(cosd(lat) * cosd(lon) - x, 2) + power(cosd(lat) * sind(lon) - y, 2) + power(sind(lat) - z, 2)
$$;

-- Squared chord of a radius in degrees; above 180 degrees everything is inside (5 > 4).
CREATE OR REPLACE FUNCTION adql.chord2_of(r float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN r >= 180 THEN 5 WHEN r < 0 THEN -1 ELSE power(2 * sind(r / 2), 2) END
$$;

-- Dot product of the direction (lon, lat) with a vector: the half-space test of a polygon edge.
CREATE OR REPLACE FUNCTION adql.dotv(lon float8, lat float8, x float8, y float8, z float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT cosd(lat) * cosd(lon) * x + cosd(lat) * sind(lon) * y + sind(lat) * z
$$;

-- ADQL-36 DISTANCE in degrees (Vincenty form: accurate near 0 and near 180 degrees).
CREATE OR REPLACE FUNCTION adql.distance(lon1 float8, lat1 float8, lon2 float8, lat2 float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT degrees(atan2(
    sqrt(power(cosd(lat2) * sind(lon2 - lon1), 2)
       + power(cosd(lat1) * sind(lat2) - sind(lat1) * cosd(lat2) * cosd(lon2 - lon1), 2)),
    sind(lat1) * sind(lat2) + cosd(lat1) * cosd(lat2) * cosd(lon2 - lon1)))
$$;

CREATE OR REPLACE FUNCTION adql.vec(lon float8, lat float8)
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY[cosd(lat) * cosd(lon), cosd(lat) * sind(lon), sind(lat)]
$$;

CREATE OR REPLACE FUNCTION adql.cross3(a float8[], b float8[])
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY[a[2] * b[3] - a[3] * b[2], a[3] * b[1] - a[1] * b[3], a[1] * b[2] - a[2] * b[1]]
$$;

CREATE OR REPLACE FUNCTION adql.dot3(a float8[], b float8[])
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT a[1] * b[1] + a[2] * b[2] + a[3] * b[3]
$$;

CREATE OR REPLACE FUNCTION adql.unit3(a float8[])
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY[a[1] / n, a[2] / n, a[3] / n] FROM (SELECT sqrt(a[1] * a[1] + a[2] * a[2] + a[3] * a[3]) AS n) s
$$;

CREATE OR REPLACE FUNCTION adql.lonlat(v float8[])
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY[CASE WHEN l < 0 THEN l + 360 ELSE l END,
               degrees(asin(greatest(-1::float8, least(1::float8, v[3] / sqrt(v[1] * v[1] + v[2] * v[2] + v[3] * v[3])))))]
  FROM (SELECT degrees(atan2(v[2], v[1])) AS l) s
$$;

-- The point at angular distance d (degrees) and position angle theta from (lon, lat),
-- built from the local north/east basis so that it is well defined at the poles.
CREATE OR REPLACE FUNCTION adql.offset_point(lon float8, lat float8, d float8, theta float8)
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT adql.lonlat(ARRAY[
    cosd(d) * cosd(lat) * cosd(lon) + sind(d) * (cosd(theta) * (-sind(lat) * cosd(lon)) + sind(theta) * (-sind(lon))),
    cosd(d) * cosd(lat) * sind(lon) + sind(d) * (cosd(theta) * (-sind(lat) * sind(lon)) + sind(theta) * cosd(lon)),
    cosd(d) * sind(lat) + sind(d) * cosd(theta) * cosd(lat)])
$$;

-- Crossmatch prefilter: up to 4 half-open order-29 NESTED ranges [lo, hi) covering the
-- circle (lon, lat, r), as an array [lo1, hi1, ..., lo4, hi4] (unused slots repeat a range).
-- The order k is chosen so that cells are at least ~8 radii across; then the circle meets
-- at most the cells around one cell vertex, found by sampling the centre, a ring just
-- outside the circle and a ring inside it. If more than 4 cells show up, k drops by one.
CREATE OR REPLACE FUNCTION adql.xmatch_ranges(lon float8, lat float8, r float8)
RETURNS bigint[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  k integer;
  cells bigint[];
  c bigint;
  out bigint[] := '{}';
  shift integer;
  full_sky constant bigint[] := ARRAY[0, 12::bigint << 58, 0, 0, 0, 0, 0, 0];
  -- local basis at the centre: radial, north, east (well defined at the poles)
  erx float8 := cosd(lat) * cosd(lon);
  ery float8 := cosd(lat) * sind(lon);
  erz float8 := sind(lat);
  nx float8 := -sind(lat) * cosd(lon);
  ny float8 := -sind(lat) * sind(lon);
  nz float8 := cosd(lat);
  ex float8 := -sind(lon);
  ey float8 := cosd(lon);
BEGIN
  IF lon IS NULL OR lat IS NULL OR r IS NULL OR lat < -90 OR lat > 90 THEN
    RETURN NULL;
  END IF;
  IF r > 7 THEN
    RETURN full_sky;
  END IF;
  k := CASE WHEN r <= 0 THEN 29 ELSE least(29, greatest(0, floor(log(2::numeric, (58.6 / (8 * r))::numeric))::integer)) END;
  LOOP
    -- One statement for all 25 samples: plain arithmetic, one healpix_nest call each.
    SELECT array_agg(DISTINCT sky.healpix_nest(k, degrees(atan2(vy, vx)), degrees(asin(greatest(-1::float8, least(1::float8, vz))))))
    INTO cells
    FROM (
      SELECT cd * erx + sd * (ct * nx + st * ex) AS vx,
             cd * ery + sd * (ct * ny + st * ey) AS vy,
             cd * erz + sd * ct * nz AS vz
      FROM (
        SELECT cosd(d) AS cd, sind(d) AS sd, cosd(theta) AS ct, sind(theta) AS st
        FROM (
          SELECT 0::float8 AS d, 0::float8 AS theta
          UNION ALL SELECT r * 1.05 + 1e-9, i * 22.5 FROM generate_series(0, 15) AS i
          UNION ALL SELECT r * 0.5, i * 45.0 + 22.5 FROM generate_series(0, 7) AS i
        ) AS samples
      ) AS trig
    ) AS v;
    EXIT WHEN array_length(cells, 1) <= 4;
    k := k - 1;
    IF k < 0 THEN
      RETURN full_sky;
    END IF;
  END LOOP;
  shift := 2 * (29 - k);
  FOR i IN 1..4 LOOP
    c := cells[least(i, array_length(cells, 1))];
    out := out || (c << shift) || ((c + 1) << shift);
  END LOOP;
  RETURN out;
END;
$$;

-- ADQL-29 BOX as its four corners (same construction as adql/geometry.ts boxVertices).
CREATE OR REPLACE FUNCTION adql.box_polygon(lon float8, lat float8, w float8, h float8)
RETURNS float8[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  er float8[] := adql.vec(lon, lat);
  east float8[] := ARRAY[-sind(lon), cosd(lon), 0];
  north float8[] := ARRAY[-sind(lat) * cosd(lon), -sind(lat) * sind(lon), cosd(lat)];
  qe float8[];
  qn float8[];
  c float8[];
  out float8[] := '{}';
  sx int;
  sy int;
BEGIN
  IF lon IS NULL OR lat IS NULL OR w IS NULL OR h IS NULL THEN
    RETURN NULL;
  END IF;
  FOR i IN 0..3 LOOP
    sx := CASE WHEN i IN (0, 3) THEN 1 ELSE -1 END;
    sy := CASE WHEN i IN (0, 1) THEN 1 ELSE -1 END;
    qe := ARRAY[cosd(w / 2) * er[1] + sx * sind(w / 2) * east[1], cosd(w / 2) * er[2] + sx * sind(w / 2) * east[2], cosd(w / 2) * er[3] + sx * sind(w / 2) * east[3]];
    qn := ARRAY[cosd(h / 2) * er[1] + sy * sind(h / 2) * north[1], cosd(h / 2) * er[2] + sy * sind(h / 2) * north[2], cosd(h / 2) * er[3] + sy * sind(h / 2) * north[3]];
    c := adql.cross3(adql.cross3(qe, north), adql.cross3(qn, east));
    IF adql.dot3(c, er) < 0 THEN
      c := ARRAY[-c[1], -c[2], -c[3]];
    END IF;
    out := out || adql.lonlat(c);
  END LOOP;
  RETURN out;
END;
$$;

-- Area (steradians) on the left of the edges, by Gauss-Bonnet; the caller picks the smaller side.
CREATE OR REPLACE FUNCTION adql.polygon_left_area(poly float8[])
RETURNS float8 LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  n int := array_length(poly, 1) / 2;
  v float8[][];
  nin float8[];
  nout float8[];
  turning float8 := 0;
  a float8;
BEGIN
  IF n IS NULL OR n < 3 THEN
    RETURN NULL;
  END IF;
  FOR i IN 0..n - 1 LOOP
    nin := adql.unit3(adql.cross3(adql.vec(poly[2 * ((i + n - 1) % n) + 1], poly[2 * ((i + n - 1) % n) + 2]), adql.vec(poly[2 * i + 1], poly[2 * i + 2])));
    nout := adql.unit3(adql.cross3(adql.vec(poly[2 * i + 1], poly[2 * i + 2]), adql.vec(poly[2 * ((i + 1) % n) + 1], poly[2 * ((i + 1) % n) + 2])));
    turning := turning + atan2(adql.dot3(adql.vec(poly[2 * i + 1], poly[2 * i + 2]), adql.cross3(nin, nout)), adql.dot3(nin, nout));
  END LOOP;
  a := 2 * pi() - turning;
  a := a - 4 * pi() * floor(a / (4 * pi()));
  RETURN a;
END;
$$;

-- ADQL-33 AREA of a polygon in square degrees.
CREATE OR REPLACE FUNCTION adql.polygon_area(poly float8[])
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT least(a, 4 * pi() - a) * power(180 / pi(), 2) FROM (SELECT adql.polygon_left_area(poly) AS a) s
$$;

-- Point in polygon by winding number around the point; the sign of a full turn tells
-- whether the point is in the left region, which is compared with the smaller side.
CREATE OR REPLACE FUNCTION adql.polygon_contains(poly float8[], lon float8, lat float8)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  n int := array_length(poly, 1) / 2;
  p float8[];
  a float8[];
  b float8[];
  w float8 := 0;
  flipped boolean;
BEGIN
  IF poly IS NULL OR lon IS NULL OR lat IS NULL OR n IS NULL OR n < 3 THEN
    RETURN NULL;
  END IF;
  p := adql.vec(lon, lat);
  FOR i IN 0..n - 1 LOOP
    a := adql.vec(poly[2 * i + 1], poly[2 * i + 2]);
    b := adql.vec(poly[2 * ((i + 1) % n) + 1], poly[2 * ((i + 1) % n) + 2]);
    IF adql.dot3(a, p) > 1 - 1e-15 THEN
      RETURN true; -- on a vertex: the boundary is inside (ADQL-37)
    END IF;
    w := w + atan2(adql.dot3(adql.cross3(a, b), p), adql.dot3(a, b) - adql.dot3(a, p) * adql.dot3(b, p));
  END LOOP;
  flipped := adql.polygon_left_area(poly) > 2 * pi();
  RETURN (w > pi() AND NOT flipped) OR (w < -pi() AND flipped);
END;
$$;

-- ADQL-32 CENTROID of a polygon: direction of the surface integral of x, which is
-- half the sum over edges of (arc length x unit edge normal).
CREATE OR REPLACE FUNCTION adql.polygon_centroid(poly float8[])
RETURNS float8[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  n int := array_length(poly, 1) / 2;
  a float8[];
  b float8[];
  nrm float8[];
  s float8[] := ARRAY[0, 0, 0];
  theta float8;
  sign float8 := 1;
BEGIN
  IF poly IS NULL OR n IS NULL OR n < 3 THEN
    RETURN NULL;
  END IF;
  FOR i IN 0..n - 1 LOOP
    a := adql.vec(poly[2 * i + 1], poly[2 * i + 2]);
    b := adql.vec(poly[2 * ((i + 1) % n) + 1], poly[2 * ((i + 1) % n) + 2]);
    nrm := adql.cross3(a, b);
    theta := atan2(sqrt(adql.dot3(nrm, nrm)), adql.dot3(a, b));
    nrm := adql.unit3(nrm);
    s := ARRAY[s[1] + theta * nrm[1], s[2] + theta * nrm[2], s[3] + theta * nrm[3]];
  END LOOP;
  IF adql.polygon_left_area(poly) > 2 * pi() THEN
    sign := -1;
  END IF;
  RETURN adql.lonlat(ARRAY[sign * s[1], sign * s[2], sign * s[3]]);
END;
$$;

-- Angular distance (degrees) from a point to the great-circle arc a-b.
CREATE OR REPLACE FUNCTION adql.arc_distance(p float8[], a float8[], b float8[])
RETURNS float8 LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  n float8[] := adql.cross3(a, b);
  len float8 := sqrt(adql.dot3(n, n));
BEGIN
  IF len > 1e-15 THEN
    n := ARRAY[n[1] / len, n[2] / len, n[3] / len];
    IF adql.dot3(adql.cross3(a, p), n) >= 0 AND adql.dot3(adql.cross3(p, b), n) >= 0 THEN
      RETURN degrees(asin(least(1::float8, abs(adql.dot3(p, n)))));
    END IF;
  END IF;
  RETURN least(
    degrees(atan2(sqrt(adql.dot3(adql.cross3(p, a), adql.cross3(p, a))), adql.dot3(p, a))),
    degrees(atan2(sqrt(adql.dot3(adql.cross3(p, b), adql.cross3(p, b))), adql.dot3(p, b))));
END;
$$;

-- Which side of a great circle (sign of a dot product), with rounding noise counted as "on it".
CREATE OR REPLACE FUNCTION adql.side(d float8)
RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN d > 1e-14 THEN 1 WHEN d < -1e-14 THEN -1 ELSE 0 END
$$;

-- Do the arcs a1-a2 and b1-b2 (each under 180 degrees) cross?
CREATE OR REPLACE FUNCTION adql.arcs_cross(a1 float8[], a2 float8[], b1 float8[], b2 float8[])
RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  n1 float8[] := adql.cross3(a1, a2);
  n2 float8[] := adql.cross3(b1, b2);
  x float8[];
BEGIN
  -- Proper crossings only: arcs that merely touch or overlap along a shared great circle
  -- do not cross (touching shapes are caught by the vertex-inside tests).
  IF NOT (adql.side(adql.dot3(n1, b1)) * adql.side(adql.dot3(n1, b2)) < 0
          AND adql.side(adql.dot3(n2, a1)) * adql.side(adql.dot3(n2, a2)) < 0) THEN
    RETURN false;
  END IF;
  x := adql.cross3(n1, n2);
  IF adql.dot3(x, ARRAY[a1[1] + a2[1], a1[2] + a2[2], a1[3] + a2[3]]) < 0 THEN
    x := ARRAY[-x[1], -x[2], -x[3]];
  END IF;
  RETURN adql.dot3(x, ARRAY[b1[1] + b2[1], b1[2] + b2[2], b1[3] + b2[3]]) > 0;
END;
$$;

-- Smallest distance (degrees) from a point to the boundary of a polygon.
CREATE OR REPLACE FUNCTION adql.boundary_distance(poly float8[], lon float8, lat float8)
RETURNS float8 LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  n int := array_length(poly, 1) / 2;
  p float8[] := adql.vec(lon, lat);
  d float8 := 360;
BEGIN
  FOR i IN 0..n - 1 LOOP
    d := least(d, adql.arc_distance(p, adql.vec(poly[2 * i + 1], poly[2 * i + 2]), adql.vec(poly[2 * ((i + 1) % n) + 1], poly[2 * ((i + 1) % n) + 2])));
  END LOOP;
  RETURN d;
END;
$$;

CREATE OR REPLACE FUNCTION adql.polygons_edges_cross(a float8[], b float8[])
RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  na int := array_length(a, 1) / 2;
  nb int := array_length(b, 1) / 2;
BEGIN
  FOR i IN 0..na - 1 LOOP
    FOR j IN 0..nb - 1 LOOP
      IF adql.arcs_cross(adql.vec(a[2 * i + 1], a[2 * i + 2]), adql.vec(a[2 * ((i + 1) % na) + 1], a[2 * ((i + 1) % na) + 2]),
                         adql.vec(b[2 * j + 1], b[2 * j + 2]), adql.vec(b[2 * ((j + 1) % nb) + 1], b[2 * ((j + 1) % nb) + 2])) THEN
        RETURN true;
      END IF;
    END LOOP;
  END LOOP;
  RETURN false;
END;
$$;

CREATE OR REPLACE FUNCTION adql.any_vertex_in(a float8[], b float8[])
RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  FOR i IN 0..array_length(a, 1) / 2 - 1 LOOP
    IF adql.polygon_contains(b, a[2 * i + 1], a[2 * i + 2]) THEN
      RETURN true;
    END IF;
  END LOOP;
  RETURN false;
END;
$$;

-- ADQL-37 CONTAINS(a, b) for any pair of point/circle/polygon: is a within b (boundary included)?
CREATE OR REPLACE FUNCTION adql.geom_contains(a float8[], ak text, b float8[], bk text)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
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
      FOR i IN 0..array_length(a, 1) / 2 - 1 LOOP
        IF NOT adql.polygon_contains(b, a[2 * i + 1], a[2 * i + 2]) THEN
          RETURN false;
        END IF;
      END LOOP;
      RETURN NOT adql.polygons_edges_cross(a, b);
    END IF;
  END IF;
END;
$$;

-- ADQL-38 INTERSECTS(a, b): do the shapes share any point?
CREATE OR REPLACE FUNCTION adql.geom_intersects(a float8[], ak text, b float8[], bk text)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  IF a IS NULL OR b IS NULL THEN
    RETURN NULL;
  END IF;
  IF ak = 'point' THEN
    RETURN adql.geom_contains(a, ak, b, bk);
  ELSIF bk = 'point' THEN
    RETURN adql.geom_contains(b, bk, a, ak);
  ELSIF ak = 'circle' AND bk = 'circle' THEN
    RETURN adql.chord2(a[1], a[2], b[1], b[2]) <= adql.chord2_of(a[3] + b[3]);
  ELSIF ak = 'circle' THEN
    RETURN adql.polygon_contains(b, a[1], a[2]) OR adql.boundary_distance(b, a[1], a[2]) <= a[3];
  ELSIF bk = 'circle' THEN
    RETURN adql.polygon_contains(a, b[1], b[2]) OR adql.boundary_distance(a, b[1], b[2]) <= b[3];
  END IF;
  RETURN adql.any_vertex_in(a, b) OR adql.any_vertex_in(b, a) OR adql.polygons_edges_cross(a, b);
END;
$$;

-- ADQL-48 CAST('12.3 45.6' AS POINT): DALI text form to the array form.
CREATE OR REPLACE FUNCTION adql.parse_dali(s text, kind text)
RETURNS float8[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  v float8[];
BEGIN
  IF s IS NULL THEN
    RETURN NULL;
  END IF;
  v := regexp_split_to_array(btrim(s), '\s+')::float8[];
  IF (kind = 'point' AND array_length(v, 1) <> 2) OR (kind = 'circle' AND array_length(v, 1) <> 3)
     OR (kind = 'polygon' AND (array_length(v, 1) < 6 OR array_length(v, 1) % 2 <> 0)) THEN
    RAISE EXCEPTION 'cannot read % as a DALI %', s, kind USING ERRCODE = '22P02';
  END IF;
  RETURN v;
END;
$$;
