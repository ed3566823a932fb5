// The one STC-S form this service writes (adql.polygon_stcs): `Polygon <frame> lon lat ...`.
// Read back by tests and by anyone turning a published s_region into numbers again.
/** Text that is not an STC-S polygon. */
export class StcsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StcsError';
  }
}

export interface StcsPolygon {
  /** The frame word as written (ICRS when absent). */
  frame: string;
  /** Vertices in degrees, in the order written. */
  vertices: Array<[number, number]>;
}

// STC-S 1.33 §6: optional frame, reference position and flavour words before the numbers.
const FRAMES = new Set(['ICRS', 'FK4', 'FK5', 'J2000', 'B1950', 'ECLIPTIC', 'GALACTIC', 'UNKNOWNFRAME']);
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parses `Polygon [frame] [refpos] [flavor] lon1 lat1 lon2 lat2 lon3 lat3 ...` (case-insensitive keywords). */
export function parseStcsPolygon(text: string): StcsPolygon {
  const fail = (msg: string): never => {
    throw new StcsError(`STC-S: ${msg} in '${text.slice(0, 80)}'`);
  };
  const words = text.trim().split(/\s+/);
  if (words[0]?.toUpperCase() !== 'POLYGON') fail('expected Polygon');
  let i = 1;
  let frame = 'ICRS';
  while (i < words.length && /^[A-Za-z]/.test(words[i])) {
    if (i === 1 && FRAMES.has(words[i].toUpperCase())) frame = words[i].toUpperCase();
    i++;
  }
  const nums = words.slice(i).map((w) => (NUMBER.test(w) ? Number(w) : fail(`'${w}' is not a number`)));
  if (nums.length < 6 || nums.length % 2 !== 0)
    fail(`a polygon needs 3 or more coordinate pairs, got ${nums.length} numbers`);
  const vertices: Array<[number, number]> = [];
  for (let k = 0; k < nums.length; k += 2) vertices.push([nums[k], nums[k + 1]]);
  return { frame, vertices };
}
