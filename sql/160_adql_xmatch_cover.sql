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
        -- HPX-03 bit interleave of the first cell's ix, iy (< 2^29): byte by byte from a
        -- table of the 256 bytes spread to even bits (one step instead of sky.healpix_nest's
        -- five-step shift-and-mask ladder, which would need a subquery per step here).
        SELECT ok, s, b, x0, x1, y0, y1, (t[(x0 & 255) + 1] | (t[((x0 >> 8) & 255) + 1] << 16) | (t[((x0 >> 16) & 255) + 1] << 32) | (t[((x0 >> 24) & 255) + 1] << 48)) AS xe,
               (t[(y0 & 255) + 1] | (t[((y0 >> 8) & 255) + 1] << 16) | (t[((y0 >> 16) & 255) + 1] << 32) | (t[((y0 >> 24) & 255) + 1] << 48)) AS ye
        FROM (SELECT '{0,1,4,5,16,17,20,21,64,65,68,69,80,81,84,85,256,257,260,261,272,273,276,277,320,321,324,325,336,337,340,341,1024,1025,1028,1029,1040,1041,1044,1045,1088,1089,1092,1093,1104,1105,1108,1109,1280,1281,1284,1285,1296,1297,1300,1301,1344,1345,1348,1349,1360,1361,1364,1365,4096,4097,4100,4101,4112,4113,4116,4117,4160,4161,4164,4165,4176,4177,4180,4181,4352,4353,4356,4357,4368,4369,4372,4373,4416,4417,4420,4421,4432,4433,4436,4437,5120,5121,5124,5125,5136,5137,5140,5141,5184,5185,5188,5189,5200,5201,5204,5205,5376,5377,5380,5381,5392,5393,5396,5397,5440,5441,5444,5445,5456,5457,5460,5461,16384,16385,16388,16389,16400,16401,16404,16405,16448,16449,16452,16453,16464,16465,16468,16469,16640,16641,16644,16645,16656,16657,16660,16661,16704,16705,16708,16709,16720,16721,16724,16725,17408,17409,17412,17413,17424,17425,17428,17429,17472,17473,17476,17477,17488,17489,17492,17493,17664,17665,17668,17669,17680,17681,17684,17685,17728,17729,17732,17733,17744,17745,17748,17749,20480,20481,20484,20485,20496,20497,20500,20501,20544,20545,20548,20549,20560,20561,20564,20565,20736,20737,20740,20741,20752,20753,20756,20757,20800,20801,20804,20805,20816,20817,20820,20821,21504,21505,21508,21509,21520,21521,21524,21525,21568,21569,21572,21573,21584,21585,21588,21589,21760,21761,21764,21765,21776,21777,21780,21781,21824,21825,21828,21829,21840,21841,21844,21845}'::bigint[] AS t) AS spread8, (
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
  ) AS cover
$$;
