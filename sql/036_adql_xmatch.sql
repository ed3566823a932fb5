-- Geometry helpers of 030_adql.sql redefined so that coordinates near 1e-300 degrees give
-- numbers instead of "value out of range: underflow": PostgreSQL raises that error when a
-- float8 product or power() of non-zero factors rounds to zero, where IEEE arithmetic would
-- return 0. Results change by at most ~1e-300 (far below double precision of any angle
-- that is not itself tiny). The crossmatch translation itself (adql/compiler.ts) needs no
-- new function: it calls adql.xmatch_ranges once per row of the circle side.

-- x * x, never raising underflow: below 1e-150 the square is taken as 0. One use of x, so
-- the planner inlines it without evaluating the argument twice.
CREATE OR REPLACE FUNCTION adql.sq(x float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT power(greatest(abs(x), 1e-150::float8), 2) - 1e-300::float8
$$;

-- a * b, or 0 where the exact product is below the float8 range (PostgreSQL would raise).
CREATE OR REPLACE FUNCTION adql.mul(a float8, b float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN a IS NULL OR b IS NULL THEN NULL::float8
    WHEN abs(a) >= 1 OR abs(b) >= 1 OR abs(a) >= 1e-300::float8 / nullif(abs(b), 0) THEN a * b
    ELSE 0::float8
  END
$$;

CREATE OR REPLACE FUNCTION adql.chord2(lon1 float8, lat1 float8, lon2 float8, lat2 float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT adql.sq(cosd(lat1) * cosd(lon1) - cosd(lat2) * cosd(lon2))
       + adql.sq(cosd(lat1) * sind(lon1) - cosd(lat2) * sind(lon2))
       + adql.sq(sind(lat1) - sind(lat2))
$$;

CREATE OR REPLACE FUNCTION adql.chord2v(lon float8, lat float8, x float8, y float8, z float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT adql.sq(cosd(lat) * cosd(lon) - x) + adql.sq(cosd(lat) * sind(lon) - y) + adql.sq(sind(lat) - z)
$$;

CREATE OR REPLACE FUNCTION adql.chord2_of(r float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN r >= 180 THEN 5 WHEN r < 0 THEN -1 ELSE adql.sq(2 * sind(r / 2)) END
$$;

CREATE OR REPLACE FUNCTION adql.dotv(lon float8, lat float8, x float8, y float8, z float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT adql.mul(adql.mul(cosd(lat), cosd(lon)), x) + adql.mul(adql.mul(cosd(lat), sind(lon)), y)
       + adql.mul(sind(lat), z)
$$;

CREATE OR REPLACE FUNCTION adql.distance(lon1 float8, lat1 float8, lon2 float8, lat2 float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT degrees(atan2(
    sqrt(adql.sq(adql.mul(cosd(lat2), sind(lon2 - lon1)))
       + adql.sq(adql.mul(cosd(lat1), sind(lat2)) - adql.mul(adql.mul(sind(lat1), cosd(lat2)), cosd(lon2 - lon1)))),
    adql.mul(sind(lat1), sind(lat2)) + adql.mul(adql.mul(cosd(lat1), cosd(lat2)), cosd(lon2 - lon1))))
$$;

CREATE OR REPLACE FUNCTION adql.vec(lon float8, lat float8)
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY[adql.mul(cosd(lat), cosd(lon)), adql.mul(cosd(lat), sind(lon)), sind(lat)]
$$;

CREATE OR REPLACE FUNCTION adql.cross3(a float8[], b float8[])
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY[adql.mul(a[2], b[3]) - adql.mul(a[3], b[2]), adql.mul(a[3], b[1]) - adql.mul(a[1], b[3]),
               adql.mul(a[1], b[2]) - adql.mul(a[2], b[1])]
$$;

CREATE OR REPLACE FUNCTION adql.dot3(a float8[], b float8[])
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT adql.mul(a[1], b[1]) + adql.mul(a[2], b[2]) + adql.mul(a[3], b[3])
$$;

CREATE OR REPLACE FUNCTION adql.unit3(a float8[])
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY[a[1] / n, a[2] / n, a[3] / n]
  FROM (SELECT sqrt(adql.sq(a[1]) + adql.sq(a[2]) + adql.sq(a[3])) AS n) s
$$;

CREATE OR REPLACE FUNCTION adql.lonlat(v float8[])
RETURNS float8[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY[CASE WHEN l < 0 THEN l + 360 ELSE l END,
               degrees(asin(greatest(-1::float8, least(1::float8, v[3] / sqrt(adql.sq(v[1]) + adql.sq(v[2]) + adql.sq(v[3]))))))]
  FROM (SELECT degrees(atan2(v[2], v[1])) AS l) s
$$;

-- x, or 0 below 1e-150: two such factors then never multiply below the float8 range.
CREATE OR REPLACE FUNCTION adql.flush0(x float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN abs(x) < 1e-150 THEN 0::float8 ELSE x END
$$;

-- As in 030_adql.sql, with the local basis and the sample offsets flushed to 0 below 1e-150
-- (a change far below double precision of a unit vector) so that no product underflows.
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
  clat float8 := adql.flush0(cosd(lat));
  slat float8 := adql.flush0(sind(lat));
  clon float8 := adql.flush0(cosd(lon));
  slon float8 := adql.flush0(sind(lon));
  erx float8 := adql.flush0(clat * clon);
  ery float8 := adql.flush0(clat * slon);
  erz float8 := slat;
  nx float8 := adql.flush0(-slat * clon);
  ny float8 := adql.flush0(-slat * slon);
  nz float8 := clat;
  ex float8 := -slon;
  ey float8 := clon;
BEGIN
  IF lon IS NULL OR lat IS NULL OR r IS NULL OR lat < -90 OR lat > 90 THEN
    RETURN NULL;
  END IF;
  IF r > 7 THEN
    RETURN full_sky;
  END IF;
  k := CASE WHEN r <= 0 THEN 29 ELSE least(29, greatest(0, floor(log(2::numeric, (58.6 / (8 * r))::numeric))::integer)) END;
  LOOP
    SELECT array_agg(DISTINCT sky.healpix_nest(k, degrees(atan2(vy, vx)), degrees(asin(greatest(-1::float8, least(1::float8, vz))))))
    INTO cells
    FROM (
      SELECT cd * erx + sd * (ct * nx + st * ex) AS vx,
             cd * ery + sd * (ct * ny + st * ey) AS vy,
             cd * erz + sd * ct * nz AS vz
      FROM (
        SELECT cosd(d) AS cd, adql.flush0(sind(d)) AS sd, cosd(theta) AS ct, sind(theta) AS st
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
