/**
 * Spectral axis types of WCS Paper III that are linear in their own CTYPE (FITS-45, FITS-55), with
 * conversion of their world values (in SI units) to frequency and vacuum wavelength.
 */

export const SPEED_OF_LIGHT = 299_792_458;
const PLANCK = 6.62607015e-34;

export type SpectralType =
  | 'FREQ'
  | 'WAVE'
  | 'VRAD'
  | 'VOPT'
  | 'ZOPT'
  | 'VELO'
  | 'BETA'
  | 'ENER'
  | 'WAVN'
  | 'AWAV';

export const SPECTRAL_TYPES: ReadonlySet<string> = new Set([
  'FREQ',
  'WAVE',
  'VRAD',
  'VOPT',
  'ZOPT',
  'VELO',
  'BETA',
  'ENER',
  'WAVN',
  'AWAV',
]);

/** SI unit of each type, as astropy.wcs/WCSLIB report them after unit normalisation. */
export const SPECTRAL_SI_UNIT: Record<SpectralType, string> = {
  FREQ: 'Hz',
  WAVE: 'm',
  AWAV: 'm',
  VRAD: 'm/s',
  VOPT: 'm/s',
  VELO: 'm/s',
  ZOPT: '',
  BETA: '',
  ENER: 'J',
  WAVN: '/m',
};

const PREFIX: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  m: 1e-3,
  u: 1e-6,
  n: 1e-9,
  c: 1e-2,
};

/** Factor turning a value in `unit` into the SI unit of `type`; undefined when the unit is not understood. */
export function spectralUnitScale(type: SpectralType, unit: string | undefined): number | undefined {
  const u = (unit ?? '').trim();
  if (u === '') return 1;
  switch (type) {
    case 'FREQ': {
      const m = /^([kMGT]?)Hz$/.exec(u);
      return m ? PREFIX[m[1]] : undefined;
    }
    case 'WAVE':
    case 'AWAV': {
      if (u === 'Angstrom' || u === 'angstrom') return 1e-10;
      const m = /^([kcmun]?)m$/.exec(u);
      return m ? PREFIX[m[1]] : undefined;
    }
    case 'VRAD':
    case 'VOPT':
    case 'VELO': {
      const m = /^([k]?)m[ .]?(s-1|\/s|s\^-1)$/.exec(u);
      return m ? PREFIX[m[1]] : undefined;
    }
    case 'ENER':
      if (u === 'J') return 1;
      if (u === 'eV') return 1.602176634e-19;
      if (u === 'keV') return 1.602176634e-16;
      return undefined;
    case 'WAVN':
      return u === 'm-1' || u === '/m' ? 1 : u === 'cm-1' || u === '/cm' ? 100 : undefined;
    default:
      return 1;
  }
}

export interface SpectralReference {
  restFrequencyHz?: number;
  restWavelengthM?: number;
}

function restFrequency(ref: SpectralReference): number | undefined {
  if (ref.restFrequencyHz && ref.restFrequencyHz > 0) return ref.restFrequencyHz;
  if (ref.restWavelengthM && ref.restWavelengthM > 0) return SPEED_OF_LIGHT / ref.restWavelengthM;
  return undefined;
}

/**
 * Frequency in Hz of a spectral world value (SI units) of the given type; undefined when the
 * conversion needs a rest frequency/wavelength the header does not give, or for air wavelengths.
 */
export function toFrequencyHz(type: SpectralType, value: number, ref: SpectralReference): number | undefined {
  const c = SPEED_OF_LIGHT;
  const nu0 = restFrequency(ref);
  switch (type) {
    case 'FREQ':
      return value;
    case 'WAVE':
      return c / value;
    case 'WAVN':
      return c * value;
    case 'ENER':
      return value / PLANCK;
    case 'VRAD':
      return nu0 === undefined ? undefined : nu0 * (1 - value / c);
    case 'VOPT':
      return nu0 === undefined ? undefined : nu0 / (1 + value / c);
    case 'ZOPT':
      return nu0 === undefined ? undefined : nu0 / (1 + value);
    case 'VELO':
      return nu0 === undefined ? undefined : nu0 * Math.sqrt((c - value) / (c + value));
    case 'BETA':
      return nu0 === undefined ? undefined : nu0 * Math.sqrt((1 - value) / (1 + value));
    default:
      return undefined;
  }
}

/** Vacuum wavelength in metres (FITS-55, OBS-77). */
export function toWavelengthM(type: SpectralType, value: number, ref: SpectralReference): number | undefined {
  if (type === 'WAVE') return value;
  const f = toFrequencyHz(type, value, ref);
  return f === undefined ? undefined : SPEED_OF_LIGHT / f;
}
