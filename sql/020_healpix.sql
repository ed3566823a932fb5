-- HEALPix NESTED index in plain PL/pgSQL (no extensions: DESIGN "PostgreSQL only").
-- sky.healpix_nest(order, lon, lat) returns exactly what sky/healpix.ts nestedIndex()
-- returns: the same IEEE double steps in the same order (HPX-05 ang2pix, HPX-03 bit
-- interleave), so a row indexed here is found by the ranges the TypeScript side builds.
-- Longitude wraps; latitude must be in [-90, 90]; order in 0..29 (HPX-01).

CREATE SCHEMA IF NOT EXISTS sky;

CREATE OR REPLACE FUNCTION sky.healpix_nest(hpx_order integer, lon double precision, lat double precision)
RETURNS bigint
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT
AS $$
DECLARE
  nside double precision;
  n bigint;
  w double precision;
  tt double precision;
  z double precision;
  t1 double precision;
  t2 double precision;
  tp double precision;
  tmp double precision;
  jp bigint;
  jm bigint;
  ifp bigint;
  ifm bigint;
  ntt bigint;
  face bigint;
  ix bigint;
  iy bigint;
BEGIN
  IF hpx_order < 0 OR hpx_order > 29 THEN
    RAISE EXCEPTION 'HEALPix order % is not in 0..29', hpx_order
      USING ERRCODE = '22023', HINT = 'give an order between 0 and 29';
  END IF;
  IF lon = 'NaN'::float8 OR lon = 'Infinity'::float8 OR lon = '-Infinity'::float8 THEN
    RAISE EXCEPTION 'longitude % is not a finite number', lon
      USING ERRCODE = '22023', HINT = 'give the longitude in degrees';
  END IF;
  IF lat = 'NaN'::float8 OR lat < -90 OR lat > 90 THEN
    RAISE EXCEPTION 'latitude % is outside -90..90', lat
      USING ERRCODE = '22023', HINT = 'give the latitude in degrees between -90 and 90';
  END IF;
  n := 1::bigint << hpx_order;
  nside := n::float8;
  w := lon;
  IF NOT (w >= 0 AND w < 360) THEN
    w := w - 360::float8 * floor(w / 360::float8);
    IF w >= 360 OR w < 0 THEN
      w := 0;
    END IF;
  END IF;
  tt := w / 90::float8;
  z := sin(radians(lat));
  IF abs(z) <= 2::float8 / 3::float8 THEN
    t1 := nside * (0.5::float8 + tt);
    t2 := nside * 0.75::float8 * z;
    jp := floor(t1 - t2)::bigint;
    jm := floor(t1 + t2)::bigint;
    ifp := floor(jp::float8 / nside)::bigint;
    ifm := floor(jm::float8 / nside)::bigint;
    IF ifp = ifm THEN
      face := CASE WHEN ifp = 4 THEN 4 ELSE ifp + 4 END;
    ELSIF ifp < ifm THEN
      face := ifp;
    ELSE
      face := ifm + 8;
    END IF;
    ix := jm - n * ifm;
    iy := n - (jp - n * ifp) - 1;
  ELSE
    ntt := least(floor(tt)::bigint, 3);
    tp := tt - ntt::float8;
    -- sqrt(3(1-|z|)) written as sqrt(6)·sin(colat/2): no cancellation near the poles.
    tmp := nside * (sqrt(6::float8) * sin(radians(90::float8 - abs(lat)) / 2::float8));
    jp := least(floor(tp * tmp)::bigint, n - 1);
    jm := least(floor((1::float8 - tp) * tmp)::bigint, n - 1);
    IF z >= 0 THEN
      face := ntt;
      ix := n - jm - 1;
      iy := n - jp - 1;
    ELSE
      face := ntt + 8;
      ix := jp;
      iy := jm;
    END IF;
  END IF;
  -- HPX-03 interleave, inlined (a function call per coordinate costs more than the maths):
  -- spread the bits of ix and iy (< 2^29) to even positions with the shift-and-mask
  -- ladder; 64-bit masks in decimal for PostgreSQL < 16.
  ix := (ix | (ix << 16)) & 281470681808895;        -- 0x0000FFFF0000FFFF
  ix := (ix | (ix << 8)) & 71777214294589695;       -- 0x00FF00FF00FF00FF
  ix := (ix | (ix << 4)) & 1085102592571150095;     -- 0x0F0F0F0F0F0F0F0F
  ix := (ix | (ix << 2)) & 3689348814741910323;     -- 0x3333333333333333
  ix := (ix | (ix << 1)) & 6148914691236517205;     -- 0x5555555555555555
  iy := (iy | (iy << 16)) & 281470681808895;
  iy := (iy | (iy << 8)) & 71777214294589695;
  iy := (iy | (iy << 4)) & 1085102592571150095;
  iy := (iy | (iy << 2)) & 3689348814741910323;
  iy := (iy | (iy << 1)) & 6148914691236517205;
  RETURN (face << (2 * hpx_order)) | ix | (iy << 1);
END;
$$;
