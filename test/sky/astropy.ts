import { spawnSync } from 'node:child_process';

/**
 * Reference values from astropy_healpix in the system Python (COMMON.md: only
 * /usr/bin/python3 has it). Indices travel as decimal strings: they exceed 2^53.
 */
const SCRIPT = `
import json, sys
import numpy as np
import astropy.units as u
from astropy_healpix import HEALPix
req = json.load(sys.stdin)
out = []
for q in req:
    h = HEALPix(nside=2 ** q['order'], order='nested')
    if q['op'] == 'index':
        lon = np.array(q['lon'], dtype=float) * u.deg
        lat = np.array(q['lat'], dtype=float) * u.deg
        out.append([str(int(i)) for i in h.lonlat_to_healpix(lon, lat)])
    elif q['op'] == 'centre':
        ip = np.array([int(s) for s in q['ipix']], dtype=np.int64)
        lon, lat = h.healpix_to_lonlat(ip)
        out.append([[float(a), float(b)] for a, b in zip(lon.to_value(u.deg), lat.to_value(u.deg))])
    elif q['op'] == 'cone':
        p = h.cone_search_lonlat(q['lon'] * u.deg, q['lat'] * u.deg, q['radius'] * u.deg)
        out.append([str(int(i)) for i in np.sort(p)])
json.dump(out, sys.stdout)
`;

export type AstropyQuery =
  | { op: 'index'; order: number; lon: number[]; lat: number[] }
  | { op: 'centre'; order: number; ipix: string[] }
  | { op: 'cone'; order: number; lon: number; lat: number; radius: number };

/** Runs all queries in one Python process; answers come back in the same order. */
export function astropy(queries: AstropyQuery[]): unknown[] {
  const r = spawnSync('/usr/bin/python3', ['-c', SCRIPT], {
    input: JSON.stringify(queries),
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`astropy_healpix reference failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as unknown[];
}
