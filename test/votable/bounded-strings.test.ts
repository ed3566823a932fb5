import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { encode, type Field, type OutputFormat } from '../../votable/index.js';
import { collect, readAll, run, tempDir, writeTemp } from './helpers.js';

/*
 * Bounded variable strings (char/unicodeChar "n*", how Felis schemas declare strings with a
 * length) as Debian's clients read them: astropy 5.2 (under pyvo 1.2) reads char "n*" as a
 * fixed n-byte string and refuses unicodeChar "n*", so the FIELD is declared "*" and the
 * cell bytes stay the VOT-36 count and characters (votable/arraysize.ts, declaredArraysize).
 * Each string column is followed by a number, so a cell read with the wrong length would also
 * shift the cells after it.
 */

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FIELDS: Field[] = [
  { name: 'id', datatype: 'int' },
  { name: 'name', datatype: 'char', arraysize: '512*' },
  { name: 'x', datatype: 'double' },
  { name: 'label', datatype: 'unicodeChar', arraysize: '128*' },
  { name: 'code', datatype: 'char', arraysize: '4*' },
  { name: 'n', datatype: 'short' },
];

const AT_BOUND = 'z'.repeat(511) + 'Z';
const UNICODE_AT_BOUND = 'é☃'.repeat(64);

// [id, name (char 512*), x, label (unicodeChar 128*), code (char 4*), n]
const ROWS: unknown[][] = [
  [1, 'NGC 1275', 1.5, 'Zürich ☃', 'ab', 7],
  [2, '', 2.5, '', '', 8],
  [3, null, 3.5, null, null, 9],
  [4, AT_BOUND, 4.5, UNICODE_AT_BOUND, 'abcd', 10],
  [5, ' leading and trailing ', 5.5, ' ü ', 'x', 11],
  [6, 'a&b<c>"q"', 6.5, 'ж', 'q', 12],
];

const ASTROPY_READ = `
import sys, json, warnings
import numpy as np
from astropy.io.votable import parse
warnings.simplefilter('ignore')
t = parse(sys.argv[1]).get_first_table()
a = t.array
rows = []
for i in range(len(a)):
    row = []
    for name in a.dtype.names:
        v = a[name][i]
        if np.ma.getmaskarray(a[name])[i]:
            row.append(None)
            continue
        if isinstance(v, np.generic): v = v.item()
        if isinstance(v, bytes): v = v.decode('utf-8')
        row.append(v)
    rows.append(row)
print(json.dumps({"arraysize": [f.arraysize for f in t.fields], "rows": rows}))
`;

const FITS_READ = `
import sys, json, warnings
import numpy as np
from astropy.io import fits
warnings.simplefilter('ignore')
with fits.open(sys.argv[1]) as h:
    h.verify('exception')
    d = h[1].data
    rows = [[(v.item() if isinstance(v, np.generic) else v) for v in r] for r in d.tolist()]
    print(json.dumps({"tforms": [c.format for c in h[1].columns], "rows": rows}))
`;

async function document(format: OutputFormat, rows = ROWS): Promise<Buffer> {
  return collect(encode(format, { fields: FIELDS, rows }));
}

async function astropy(
  xml: Buffer,
  name: string,
): Promise<{ stderr: string; arraysize: string[]; rows: unknown[][] }> {
  const file = writeTemp(dir, name, xml);
  const r = await run('/usr/bin/python3', ['-c', ASTROPY_READ, file]);
  if (r.stdout === '') return { stderr: r.stderr, arraysize: [], rows: [] };
  return { stderr: r.stderr, ...(JSON.parse(r.stdout) as { arraysize: string[]; rows: unknown[][] }) };
}

const isString = (i: number) => FIELDS[i].datatype === 'char' || FIELDS[i].datatype === 'unicodeChar';

/**
 * The strings a reader can get back. BINARY has no null string (VOT-32: empty) and TABLEDATA
 * cannot tell null from empty (VOT-26): vonode's reader gives the empty TD as null. astropy
 * 5.2 gives every null string as '': it ignores BINARY2 null flags on strings (its issue 8995,
 * whatever the arraysize) and does not mask an empty TD; it also strips the blanks around
 * TABLEDATA strings.
 */
function expected(format: OutputFormat, client: 'vonode' | 'astropy'): unknown[][] {
  return ROWS.map((r) =>
    r.map((v, i) => {
      if (!isString(i)) return v;
      if (client === 'astropy')
        return format === 'votable/td' && typeof v === 'string' ? v.trim() : (v ?? '');
      if (format === 'votable/td') return v === '' ? null : v;
      if (format === 'votable/binary') return v ?? '';
      return v;
    }),
  );
}

describe('bounded variable strings (char 512*, unicodeChar 128*, char 4*)', () => {
  for (const format of ['votable/binary2', 'votable/binary', 'votable/td'] as const)
    it(`${format}: declared *, read by astropy 5.2 with every row and value, votlint clean`, async () => {
      const xml = await document(format);
      const text = xml.toString('utf8');
      expect(text).toContain('<FIELD name="name" datatype="char" arraysize="*"/>');
      expect(text).toContain('<FIELD name="label" datatype="unicodeChar" arraysize="*"/>');
      expect(text).toContain('<FIELD name="code" datatype="char" arraysize="*"/>');

      const a = await astropy(xml, `astropy-${format.slice(8)}.xml`);
      expect(a.stderr).toBe('');
      expect(a.arraysize).toEqual([null, '*', null, '*', '*', null]);
      expect(a.rows).toEqual(expected(format, 'astropy'));

      const lint = await run('stilts', [
        'votlint',
        `votable=${writeTemp(dir, `lint-${format.slice(8)}.xml`, xml)}`,
      ]);
      expect(
        (lint.stdout + lint.stderr).split('\n').filter((l) => /^(ERROR|WARNING)|Exception/.test(l)),
      ).toEqual([]);

      // vonode's own reader and STIL agree with astropy.
      const ours = await readAll(xml);
      expect(ours.rows).toEqual(expected(format, 'vonode'));
      const stil = await run('stilts', [
        'tpipe',
        `in=${writeTemp(dir, `stil-${format.slice(8)}.xml`, xml)}`,
        'ifmt=votable',
        'ofmt=csv-noheader',
        'cmd=keepcols "id name label code"',
      ]);
      expect(stil.stderr).toBe('');
      expect(stil.stdout.split('\n').filter(Boolean).length).toBe(ROWS.length);
      expect(stil.stdout).toContain(`4,${AT_BOUND},${UNICODE_AT_BOUND},abcd`);
    });

  // The binary writers refuse a cell longer than the declared bound, so the bound of
  // TAP_SCHEMA still holds in BINARY/BINARY2 (TABLEDATA text is written as it is).
  for (const format of ['votable/binary2', 'votable/binary'] as const)
    it(`${format}: a value longer than the declared bound ends the table with an ERROR`, async () => {
      const rows = [ROWS[0], [7, 'y'.repeat(513), 7.5, 'ok', 'ok', 13]];
      const text = (await document(format, rows)).toString('utf8');
      expect(text).toMatch(/<INFO name="QUERY_STATUS" value="ERROR">[^<]*name[^<]*512/);
      const a = await astropy(Buffer.from(text), `too-long-${format.slice(8)}.xml`);
      expect(a.stderr).toBe('');
      expect(a.rows).toEqual([[1, 'NGC 1275', 1.5, 'Zürich ☃', 'ab', 7]]);
    });

  it('FITS: fixed-width A columns as wide as the longest value, read by astropy', async () => {
    const fits = await collect(encode('fits', { fields: FIELDS, rows: ROWS }, { tmpDir: dir }));
    const r = await run('/usr/bin/python3', ['-c', FITS_READ, writeTemp(dir, 'bounded.fits', fits)]);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { tforms: string[]; rows: unknown[][] };
    expect(out.tforms).toEqual(['1J', '512A', '1D', '128A', '4A', '1I']);
    // FITS strings are ASCII with no null: null and empty are both '', unicodeChar keeps ASCII
    // and writes '?' for the rest (votable/README.md).
    const ascii = (s: string) => s.replace(/[^\x00-\x7f]/g, '?');
    expect(out.rows).toEqual(
      ROWS.map((row) =>
        row.map((v, i) => {
          if (!FIELDS[i].datatype.endsWith('har')) return v;
          return v === null ? '' : ascii(v as string);
        }),
      ),
    );
  });
});
