# Independent reference answers for test/adql/differential.test.ts, computed with astropy
# and numpy (never with the SQL under test). Reads a JSON job on stdin, writes JSON.
import json
import sys

import numpy as np
import astropy.units as u
from astropy.coordinates import SkyCoord, SkyOffsetFrame

job = json.load(sys.stdin)
pts = job["points"]
ids = np.array(pts["id"])
cat = SkyCoord(np.array(pts["ra"]) * u.deg, np.array(pts["dec"]) * u.deg)
EPS = 1e-7  # degrees: points this close to an edge are ambiguous in double precision


def unit(lon, lat):
    lon = np.radians(lon)
    lat = np.radians(lat)
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)


out = []
for case in job["cases"]:
    kind = case["kind"]
    if kind == "cone":
        sep = cat.separation(SkyCoord(case["ra"] * u.deg, case["dec"] * u.deg)).deg
        r = case["r"]
        inside = sep <= r
        amb = np.abs(sep - r) < EPS
    elif kind == "polygon":
        v = unit(np.array(case["lon"]), np.array(case["lat"]))
        n = np.cross(v, np.roll(v, -1, axis=0))
        n /= np.linalg.norm(n, axis=1)[:, None]
        # orientation: the smaller region, i.e. the side containing the vertex centroid
        c = v.sum(axis=0)
        if (n @ c).min() < 0:
            n = -n
        p = unit(np.array(pts["ra"]), np.array(pts["dec"]))
        d = p @ n.T
        inside = (d >= 0).all(axis=1)
        amb = (np.abs(np.degrees(np.arcsin(np.clip(d, -1, 1)))) < EPS).any(axis=1)
    elif kind == "box":
        frame = SkyOffsetFrame(origin=SkyCoord(case["ra"] * u.deg, case["dec"] * u.deg))
        off = cat.transform_to(frame)
        lon = off.lon.wrap_at(180 * u.deg).deg
        lat = off.lat.deg
        hw, hh = case["w"] / 2, case["h"] / 2
        # edges: meridians lon' = +-w/2 and the great circles through (0, +-h/2)
        # perpendicular to the central meridian: tan(lat') = tan(h/2) cos(lon')
        lim = np.degrees(np.arctan(np.tan(np.radians(hh)) * np.cos(np.radians(lon))))
        inside = (np.abs(lon) <= hw) & (np.abs(lat) <= lim) & (np.abs(lon) < 90)
        amb = (np.abs(np.abs(lon) - hw) < EPS) | (np.abs(np.abs(lat) - lim) < EPS)
    elif kind == "xmatch":
        up = job["upload"]
        upc = SkyCoord(np.array(up["ra"]) * u.deg, np.array(up["dec"]) * u.deg)
        r = case["r"]
        pairs = []
        ambig = []
        for a in range(len(upc)):
            sep = cat.separation(upc[a]).deg
            for b in np.nonzero(sep <= r + 2 * EPS)[0]:
                key = [int(up["id"][a]), int(ids[b])]
                if abs(sep[b] - r) < EPS:
                    ambig.append(key)
                elif sep[b] <= r:
                    pairs.append(key)
        out.append({"pairs": sorted(pairs), "ambiguous": ambig})
        continue
    else:
        raise ValueError(kind)
    out.append({"ids": sorted(int(i) for i in ids[inside & ~amb]), "ambiguous": sorted(int(i) for i in ids[amb])})

json.dump(out, sys.stdout)
