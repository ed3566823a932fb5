import { readFileSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { encode } from '../../votable/index.js';
import { FIELDS, ROWS, sampleDoc } from './fixtures.js';
import { collect, normRows, readAll, run, tempDir, writeTemp } from './helpers.js';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FITS_DUMP = `
import sys, json, math, warnings
import numpy as np
from astropy.io import fits
from astropy.table import Table
warnings.simplefilter('ignore')
with fits.open(sys.argv[1]) as h:
    h.verify('exception')
t = Table.read(sys.argv[1])
def conv(v):
    if v is np.ma.masked: return None
    if isinstance(v, np.ma.MaskedArray):
        mm = np.ma.getmaskarray(v)
        return [None if mm.flat[i] else conv(v.data.flat[i]) for i in range(v.size)]
    if isinstance(v, np.ndarray): return [conv(x) for x in v.flat]
    if isinstance(v, np.generic): v = v.item()
    if isinstance(v, bytes): return v.decode('ascii', 'replace')
    if isinstance(v, complex): return [conv(v.real), conv(v.imag)]
    if isinstance(v, float):
        if math.isnan(v): return 'NaN'
        if math.isinf(v): return '+Inf' if v > 0 else '-Inf'
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53: return str(v)
    return v
print(json.dumps({"names": t.colnames, "rows": [[conv(t[c][i]) for c in t.colnames] for i in range(len(t))]}))
`;

/*
 * FITS cannot carry everything VOTable can; these columns change on the way and are checked
 * apart: u (unicodeChar becomes ASCII text), bits (variable bit arrays become fixed X columns
 * padded with 0), cv10 (10* char is a fixed 10-wide string), bit1 (a scalar X has no null).
 */
const LOSSY = ['u', 'bits', 'bit1', 'cv10', 's10x'];

describe('FITS binary table', () => {
  it('is valid for astropy and gives the same values', async () => {
    const fits = await collect(encode('fits', sampleDoc(), { chunkSize: 2048, tmpDir: dir }));
    expect(fits.length % 2880).toBe(0);
    const file = writeTemp(dir, 'sample.fits', fits);
    const r = await run('/usr/bin/python3', ['-c', FITS_DUMP, file]);
    expect(r.stderr).toBe('');
    const astropy = JSON.parse(r.stdout) as { names: string[]; rows: unknown[][] };
    expect(astropy.names).toEqual(FIELDS.map((f) => f.name));
    const ours = await readAll(await collect(encode('votable/binary2', sampleDoc())));
    const keep = FIELDS.map((_, i) => i).filter((i) => !LOSSY.includes(FIELDS[i].name));
    const pick = (rows: unknown[][]) => rows.map((row) => keep.map((i) => row[i]));
    const fields = keep.map((i) => ours.fields[i]);
    // FITS has no null for a whole array: fixed integer arrays come back as TNULL elements,
    // which astropy does not mask, so compare those cells against the magic value.
    // astropy also reads a null logical (byte 0, which STILTS reads as null) as False, and masks
    // a complex value when either part is NaN.
    const a = normRows(pick(astropy.rows), fields).map((row) =>
      row.map((v, j) =>
        fields[j].name === 'ia3' && Array.isArray(v) && v.every((x) => x === -2147483648) ? null : v,
      ),
    );
    const o = normRows(pick(ours.rows), fields).map((row) =>
      row.map((v, j) => {
        if (fields[j].name === 'b' && v === null) return false;
        if (fields[j].datatype.endsWith('Complex') && Array.isArray(v) && v.includes(null)) return null;
        return v;
      }),
    );
    expect(a).toEqual(o);
    // The lossy columns, as documented.
    const col = (name: string) => astropy.rows.map((row) => row[FIELDS.findIndex((f) => f.name === name)]);
    expect(col('u')[0]).toBe('Z?rich ? ??');
    expect(col('bits')[0]).toEqual([true, false, true]);
    expect(col('s10x')[0]).toEqual([1, 2, 3, 4]);
  });

  it('is read by STILTS with the same values', async () => {
    const fits = await collect(encode('fits', sampleDoc(), { tmpDir: dir }));
    const file = writeTemp(dir, 'stil.fits', fits);
    const out = `${dir}/stil-fits.xml`;
    const r = await run('stilts', [
      'tcopy',
      `in=${file}`,
      'ifmt=fits',
      `out=${out}`,
      'ofmt=votable-tabledata',
    ]);
    expect(r.stderr).toBe('');
    const stil = await readAll(readFileSync(out));
    const ours = await readAll(await collect(encode('votable/binary2', sampleDoc())));
    const keep = FIELDS.map((_, i) => i).filter((i) => !LOSSY.includes(FIELDS[i].name));
    const fields = keep.map((i) => ours.fields[i]);
    const pick = (rows: unknown[][]) => rows.map((row) => keep.map((i) => row[i]));
    const s = normRows(pick(stil.rows), fields).map((row) =>
      row.map((v, j) =>
        fields[j].name === 'ia3' && Array.isArray(v) && v.every((x) => x === -2147483648) ? null : v,
      ),
    );
    expect(s).toEqual(normRows(pick(ours.rows), fields));
  });

  it('spools to a temporary file it deletes, and rethrows a failing row source before any byte', async () => {
    async function* failing() {
      yield [1];
      throw new Error('boom');
    }
    const it = encode('fits', { fields: [{ name: 'x', datatype: 'int' }], rows: failing() }, { tmpDir: dir });
    await expect(collect(it)).rejects.toThrow('boom');
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir).filter((f) => f.endsWith('.spool'))).toEqual([]);
  });

  it('refuses results over maxSpoolBytes', async () => {
    const rows = Array.from({ length: 300_000 }, (_, i) => [i, 'x'.repeat(10)]);
    const it = encode(
      'fits',
      {
        fields: [
          { name: 'x', datatype: 'int' },
          { name: 's', datatype: 'char', arraysize: '*' },
        ],
        rows,
      },
      { tmpDir: dir, maxSpoolBytes: 1_000_000 },
    );
    await expect(collect(it)).rejects.toThrow(/limit maxSpoolBytes/);
  });

  it('keeps ROWS row count and 64-bit TNULL digits exact', async () => {
    const fits = await collect(encode('fits', sampleDoc(), { tmpDir: dir }));
    const header = fits.subarray(2880, 2880 * 3).toString('latin1');
    expect(header).toContain(`NAXIS2  = ${String(ROWS.length).padStart(20)}`);
    expect(header).toContain(`TNULL7  = ${'-9223372036854775808'.padStart(20)}`);
  });
});
