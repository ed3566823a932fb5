/**
 * The generated PyBDSF-like source table the publishing benchmarks share (bench/readers.ts,
 * bench/publish.ts): 13 columns, deterministic pseudo-random rows, written in any of
 * vonode's output formats, so both benchmarks measure the same bytes.
 */
import { open } from 'node:fs/promises';
import { encode, type Field, type OutputFormat } from '../votable/index.js';

export const SOURCE_FIELDS: Field[] = [
  { name: 'source_id', datatype: 'long', ucd: 'meta.id;meta.main' },
  { name: 'isl_id', datatype: 'int' },
  { name: 'ra', datatype: 'double', unit: 'deg' },
  { name: 'dec', datatype: 'double', unit: 'deg' },
  { name: 'e_ra', datatype: 'double', unit: 'deg' },
  { name: 'e_dec', datatype: 'double', unit: 'deg' },
  { name: 'total_flux', datatype: 'double', unit: 'Jy' },
  { name: 'e_total_flux', datatype: 'double', unit: 'Jy' },
  { name: 'peak_flux', datatype: 'float', unit: 'Jy/beam' },
  { name: 'maj', datatype: 'float', unit: 'arcsec' },
  { name: 'min', datatype: 'float', unit: 'arcsec' },
  { name: 'pa', datatype: 'float', unit: 'deg' },
  { name: 's_code', datatype: 'char', arraysize: '1' },
];

/** n rows of SOURCE_FIELDS; the same n gives the same rows in every run. */
export function* sourceRows(n: number): Generator<unknown[]> {
  let x = 12345;
  const rnd = () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x / 0x7fffffff;
  };
  for (let i = 0; i < n; i++)
    yield [
      BigInt(i + 1),
      i >> 2,
      rnd() * 360,
      rnd() * 180 - 90,
      rnd() * 1e-4,
      rnd() * 1e-4,
      rnd() * 0.5,
      i % 50 === 0 ? null : rnd() * 0.01,
      Math.fround(rnd() * 0.3),
      Math.fround(rnd() * 20),
      Math.fround(rnd() * 10),
      Math.fround(rnd() * 180),
      'SMC'[i % 3],
    ];
}

/** Writes n rows as a file in one of vonode's output formats (FITS, VOTable, CSV, TSV). */
export async function writeSourceTable(path: string, format: OutputFormat, n: number): Promise<void> {
  const h = await open(path, 'w');
  try {
    for await (const c of encode(
      format,
      { fields: SOURCE_FIELDS, rows: sourceRows(n) },
      { chunkSize: 1 << 20 },
    ))
      await h.write(c);
  } finally {
    await h.close();
  }
}
