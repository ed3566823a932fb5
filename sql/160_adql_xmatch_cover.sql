-- Crossmatch ranges without per-row PL/pgSQL (ADQL-39). adql.xmatch_ranges (030, 036)
-- costs 25 sky.healpix_nest calls and a PL/pgSQL statement per row of the circle side:
-- 0.1-0.5 ms a row, three quarters of a 10,000-row upload crossmatch. adql.xmatch_cover
-- gives ranges of the same form (up to 4 half-open order-29 NESTED ranges [lo, hi) as
-- [lo1, hi1, ..., lo4, hi4], unused slots repeating one) from one evaluation of the HEALPix
-- projection, as plain SQL expressions: LANGUAGE sql, set-returning, not STRICT, so the
-- planner inlines it into the query (no function call per row); the subqueries with
-- OFFSET 0 keep intermediate values from being copied into every expression that uses them.
--
-- Why one evaluation is enough (HEALPix, Górski et al. 2005, the projection of
-- sky.healpix_nest with nside = 1): within one base face, the continuous face coordinates
-- (ax, ay) in [0, 1) move by at most 1.5 per radian of arc: in the equatorial zone
-- |d/ds| <= sqrt((2 / (pi cos lat))^2 + (0.75 cos lat)^2) <= 1.14 with cos lat >= sqrt(5)/3;
-- in the polar caps <= sqrt((sqrt6 / (pi cos(colat/2)))^2 + (sqrt6/2)^2) <= 1.5 with
-- colat <= 48.2 degrees. Every point of the circle is reached from its centre by an arc of
-- length <= r that stays in the centre's zone when |z| is more than r (radians) from 2/3,
-- so the circle's image lies in the square of half-width d = 2r (+1e-12 for rounding) around
-- the centre's coordinates; when that square is inside the face, no point of the circle is
-- on another face. At the order k whose cells are at least 2 * 2d across, the square meets
-- at most 2 x 2 cells: those are the ranges (each cell of order k is one range at order 29).
-- Everything else (a square reaching a face edge or a zone boundary, the poles, radii over
-- 1 degree, NULL, NaN or out-of-range input) goes to adql.xmatch_ranges, which keeps its
-- answers there (NULL, full sky, errors): a fraction of about 16 r (radians) of the rows.
CREATE OR REPLACE FUNCTION adql.xmatch_cover(lon float8, lat float8, r float8)
RETURNS SETOF bigint[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN ok
    THEN ARRAY[c00 << s, (c00 + 1) << s, c10 << s, (c10 + 1) << s,
               c01 << s, (c01 + 1) << s, c11 << s, (c11 + 1) << s]
    ELSE adql.xmatch_ranges(lon, lat, r) END
  FROM (
    SELECT ok, s, b | sx0 | (sy0 << 1) AS c00, b | sx1 | (sy0 << 1) AS c10,
           b | sx0 | (sy1 << 1) AS c01, b | sx1 | (sy1 << 1) AS c11
    FROM (
      -- The next cell along an axis: +1 on the spread bits (odd bits set so the carry runs).
      SELECT ok, s, b, xe AS sx0, ye AS sy0,
             CASE WHEN x1 > x0 THEN ((xe | 3074457345618258602) + 1) & 6148914691236517205 ELSE xe END AS sx1,
             CASE WHEN y1 > y0 THEN ((ye | 3074457345618258602) + 1) & 6148914691236517205 ELSE ye END AS sy1
      FROM (
        -- HPX-03 bit interleave of the first cell's ix, iy, as in sky.healpix_nest.
        SELECT *, (xd | (xd << 1)) & 6148914691236517205 AS xe, (yd | (yd << 1)) & 6148914691236517205 AS ye
        FROM (
          SELECT *, (xc | (xc << 2)) & 3689348814741910323 AS xd, (yc | (yc << 2)) & 3689348814741910323 AS yd
          FROM (
            SELECT *, (xb | (xb << 4)) & 1085102592571150095 AS xc, (yb | (yb << 4)) & 1085102592571150095 AS yc
            FROM (
              SELECT *, (xa | (xa << 8)) & 71777214294589695 AS xb, (ya | (ya << 8)) & 71777214294589695 AS yb
              FROM (
                SELECT *, (x0 | (x0 << 16)) & 281470681808895 AS xa, (y0 | (y0 << 16)) & 281470681808895 AS ya
                FROM (
                  -- Cell bounds of the square at order k; reflected axes count from the far edge.
                  SELECT ok, face << (2 * k) AS b, 2 * (29 - k) AS s,
                         CASE WHEN rx THEN n - 1 - floor((ax + d) * n::float8)::bigint ELSE floor((ax - d) * n::float8)::bigint END AS x0,
                         CASE WHEN rx THEN n - 1 - floor((ax - d) * n::float8)::bigint ELSE floor((ax + d) * n::float8)::bigint END AS x1,
                         CASE WHEN ry THEN n - 1 - floor((ay + d) * n::float8)::bigint ELSE floor((ay - d) * n::float8)::bigint END AS y0,
                         CASE WHEN ry THEN n - 1 - floor((ay - d) * n::float8)::bigint ELSE floor((ay + d) * n::float8)::bigint END AS y1
                  FROM (
                    SELECT ok, face, ax, ay, rx, ry, d, k, 1::bigint << k AS n
                    FROM (
                      -- The finest order whose cells are >= 4d across (one step coarser if
                      -- rounding of ln made it too fine).
                      SELECT ok, face, ax, ay, rx, ry, d,
                             CASE WHEN 4 * d * (1::bigint << k1)::float8 > 1 THEN k1 - 1 ELSE k1 END AS k
                      FROM (
                        SELECT ok, face, ax, ay, rx, ry, d,
                               CASE WHEN ok THEN least(29, floor(-ln(4 * d) / ln(2::float8))::integer) END AS k1
                        FROM (
                          SELECT coalesce(d > 0 AND abs(abs(z) - 2::float8 / 3::float8) > rr + 1e-12
                                   AND ax - d >= 0 AND ax + d < 1 AND ay - d >= 0 AND ay + d < 1, false) AS ok,
                                 face, ax, ay, rx, ry, d
                          FROM (
                            -- Face and continuous face coordinates, as sky.healpix_nest
                            -- computes them with nside = 1 (HPX-05).
                            SELECT d, rr, z,
                                   CASE WHEN eq THEN
                                     CASE WHEN floor(p) = floor(m) THEN CASE WHEN floor(p) = 4 THEN 4 ELSE floor(p)::bigint + 4 END
                                          WHEN floor(p) < floor(m) THEN floor(p)::bigint
                                          ELSE floor(m)::bigint + 8 END
                                   WHEN z >= 0 THEN ntt::bigint ELSE ntt::bigint + 8 END AS face,
                                   CASE WHEN eq THEN m - floor(m) WHEN z >= 0 THEN (1 - (tt - ntt)) * tmp ELSE (tt - ntt) * tmp END AS ax,
                                   CASE WHEN eq THEN p - floor(p) WHEN z >= 0 THEN (tt - ntt) * tmp ELSE (1 - (tt - ntt)) * tmp END AS ay,
                                   eq OR z >= 0 AS ry, NOT eq AND z >= 0 AS rx
                            FROM (
                              SELECT d, rr, z, tt, eq,
                                     CASE WHEN eq THEN (0.5::float8 + tt) - 0.75::float8 * z END AS p,
                                     CASE WHEN eq THEN (0.5::float8 + tt) + 0.75::float8 * z END AS m,
                                     CASE WHEN NOT eq THEN least(floor(tt), 3::float8) END AS ntt,
                                     CASE WHEN NOT eq THEN sqrt(6::float8) * sin(radians(90::float8 - abs(zlat)) / 2::float8) END AS tmp
                              FROM (
                                SELECT d, rr, z, tt, abs(z) <= 2::float8 / 3::float8 AS eq, zlat
                                FROM (
                                  SELECT CASE WHEN r >= 0 AND r <= 1 THEN 2 * radians(r) + 1e-12 END AS d,
                                         radians(r) AS rr,
                                         CASE WHEN lat >= -90 AND lat <= 90 THEN sin(radians(lat)) END AS z,
                                         lat AS zlat,
                                         CASE WHEN lon > '-Infinity'::float8 AND lon < 'Infinity'::float8 THEN
                                           CASE WHEN lon >= 0 AND lon < 360 THEN lon ELSE lon - 360::float8 * floor(lon / 360::float8) END
                                         END / 90::float8 AS tt
                                  OFFSET 0
                                ) AS a0
                              ) AS a1
                              OFFSET 0
                            ) AS a2
                            OFFSET 0
                          ) AS a3
                          OFFSET 0
                        ) AS a4
                      ) AS a5
                      OFFSET 0
                    ) AS a6
                  ) AS a7
                  OFFSET 0
                ) AS a8
                OFFSET 0
              ) AS a9
              OFFSET 0
            ) AS a10
            OFFSET 0
          ) AS a11
          OFFSET 0
        ) AS a12
        OFFSET 0
      ) AS a13
      OFFSET 0
    ) AS a14
    OFFSET 0
  ) AS cover
$$;
