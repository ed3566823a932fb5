import {
  DaliError,
  type DaliParams,
  parseMaxrec,
  parseResponseFormat,
  type ResponseFormat,
} from '../dali/index.js';

/** How much of the catalogue one cone may ask for. */
export interface ScsLimits {
  /** Largest SR accepted, degrees (the capability's maxSR). */
  readonly maxSR: number;
  readonly maxrecDefault: number;
  readonly maxrecHard: number;
  /** The whole query's time limit, seconds. */
  readonly timeoutSeconds: number;
}

/** VERB: 1 the identifier and position, 2 the usual measurements, 3 every column (SCS-04). */
export type Verbosity = 1 | 2 | 3;

/** A cone search request, parsed once at the edge. */
export interface ConeRequest {
  /** ICRS degrees, normalised into [0, 360). */
  readonly ra: number;
  readonly dec: number;
  /** Radius, degrees; 0 asks for the columns alone (SCS-07). */
  readonly sr: number;
  readonly verb: Verbosity;
  readonly maxrec: number;
  /** Undefined: TABLEDATA as text/xml, what SCS 1.03 clients expect (SCS-10). */
  readonly format?: ResponseFormat;
}

// Decimal degrees with an optional sign and exponent (SCS-41); no NaN, no Infinity.
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function degrees(params: DaliParams, name: 'RA' | 'DEC' | 'SR'): number {
  const raw = params.get(name);
  if (raw === undefined || raw.trim() === '')
    throw new DaliError(`${name} is required: the cone is RA, DEC and SR in decimal degrees (ICRS)`);
  const text = raw.trim();
  const n = Number(text);
  if (!DECIMAL.test(text) || !Number.isFinite(n))
    throw new DaliError(`${name}='${raw}' is not a number of decimal degrees`);
  return n;
}

/** RA, DEC, SR (SCS-03), VERB (SCS-04), MAXREC and RESPONSEFORMAT (SCS-06); others are ignored (SCS-05). */
export function parseConeRequest(params: DaliParams, limits: ScsLimits): ConeRequest {
  const ra = degrees(params, 'RA');
  const dec = degrees(params, 'DEC');
  const sr = degrees(params, 'SR');
  if (dec < -90 || dec > 90) throw new DaliError(`DEC=${dec} is outside [-90, 90]`);
  if (sr < 0) throw new DaliError(`SR=${sr} is negative; it is the cone's radius in degrees`);
  if (sr > limits.maxSR)
    throw new DaliError(
      `SR=${sr} is above this service's maxSR of ${limits.maxSR} degrees; use TAP (/tap) for larger regions`,
    );
  const verbText = params.get('VERB')?.trim();
  // An unknown VERB is not an error: the standard lets a service ignore it.
  const verb: Verbosity = verbText === '1' ? 1 : verbText === '3' ? 3 : 2;
  const maxrec = parseMaxrec(params.get('MAXREC'), limits);
  const rf = params.get('RESPONSEFORMAT');
  const format = rf === undefined || rf.trim() === '' ? undefined : parseResponseFormat(rf);
  return { ra: ((ra % 360) + 360) % 360, dec, sr, verb, maxrec, format };
}
