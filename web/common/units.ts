/** Speed of light, m/s: ObsCore and SIA2 give the band as vacuum wavelength in metres. */
const C = 299_792_458;

/** A frequency in MHz as a wavelength in metres, and back. */
export const mhzToMetres = (mhz: number) => C / (mhz * 1e6);
export const metresToMhz = (m: number) => C / m / 1e6;

/** A UTC date (YYYY-MM-DD) as MJD (DALI times in SIA2 TIME and ObsCore t_min/t_max). */
export const dateToMjd = (date: string) => Date.parse(`${date}T00:00:00Z`) / 86_400_000 + 40_587;
export const mjdToIso = (mjd: number) =>
  new Date((mjd - 40_587) * 86_400_000).toISOString().slice(0, 19).replace('T', ' ');

/** A number typed in a form: undefined when empty, NaN when not a number. */
export function typedNumber(input: HTMLInputElement): number | undefined {
  const raw = input.value.trim();
  return raw === '' ? undefined : Number(raw);
}

/** MHz with a sensible number of digits. */
export const formatMhz = (mhz: number) => (mhz >= 100 ? mhz.toFixed(1) : mhz.toPrecision(4));
