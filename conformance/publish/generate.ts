/**
 * Data files a radio data centre would publish, generated at test time for
 * conformance/publish.sh (never committed): what PyBDSF, SoFiA-2, a survey pipeline's CSV
 * export and a Parquet export look like, plus rows for tables of a Felis schema.
 *
 *   tsx conformance/publish/generate.ts fits    OUT.fits    ROWS   PyBDSF source list (BINTABLE)
 *   tsx conformance/publish/generate.ts votable OUT.vot     ROWS   SoFiA-2 catalogue (TABLEDATA)
 *   tsx conformance/publish/generate.ts csv     OUT.csv     ROWS   all-sky component list
 *   tsx conformance/publish/generate.ts parquet OUT.parquet ROWS   spectral-index catalogue
 *   tsx conformance/publish/generate.ts felis   SCHEMA.yaml OUTDIR [Table=ROWS ...]
 *       one VOTable per table of the Felis file (OUTDIR/<Table>.vot; 300 rows unless named),
 *       OUTDIR/files.txt listing them in the file's table order, OUTDIR/rows.json their row counts
 *
 * Every generator streams (flat memory, any row count) except Parquet, which the writer
 * builds in memory. Values come from a seeded generator, so reruns give the same files.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { parse as parseYaml } from 'yaml';

/** mulberry32: small, fast, seeded; quality is ample for test data. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEG = 180 / Math.PI;

/** A file written in large slices with plain write calls: fast and flat in memory. */
class Out {
  private readonly fd: number;
  private parts: (string | Uint8Array)[] = [];
  private size = 0;
  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }
  put(chunk: string | Uint8Array): void {
    this.parts.push(chunk);
    this.size += chunk.length;
    if (this.size > 1 << 20) this.flush();
  }
  flush(): void {
    for (const p of this.parts) {
      if (typeof p === 'string') writeSync(this.fd, p);
      else writeSync(this.fd, p);
    }
    this.parts = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

// ---------------------------------------------------------------------------------------
// (a) PyBDSF source list as FITS: PyBDSF writes one BINTABLE with TTYPE/TFORM/TUNIT (no
// TUCD, no TCOMM), integers as J, floats as D, S_Code as 1A; units deg, Jy, Jy/beam.

interface FitsColumn {
  readonly name: string;
  readonly form: 'J' | 'D' | '1A';
  readonly unit?: string;
}

const PYBDSF: readonly FitsColumn[] = [
  { name: 'Source_id', form: 'J' },
  { name: 'Isl_id', form: 'J' },
  { name: 'RA', form: 'D', unit: 'deg' },
  { name: 'E_RA', form: 'D', unit: 'deg' },
  { name: 'DEC', form: 'D', unit: 'deg' },
  { name: 'E_DEC', form: 'D', unit: 'deg' },
  { name: 'Total_flux', form: 'D', unit: 'Jy' },
  { name: 'E_Total_flux', form: 'D', unit: 'Jy' },
  { name: 'Peak_flux', form: 'D', unit: 'Jy/beam' },
  { name: 'E_Peak_flux', form: 'D', unit: 'Jy/beam' },
  { name: 'Maj', form: 'D', unit: 'deg' },
  { name: 'E_Maj', form: 'D', unit: 'deg' },
  { name: 'Min', form: 'D', unit: 'deg' },
  { name: 'E_Min', form: 'D', unit: 'deg' },
  { name: 'PA', form: 'D', unit: 'deg' },
  { name: 'E_PA', form: 'D', unit: 'deg' },
  { name: 'DC_Maj', form: 'D', unit: 'deg' },
  { name: 'DC_Min', form: 'D', unit: 'deg' },
  { name: 'DC_PA', form: 'D', unit: 'deg' },
  { name: 'Isl_rms', form: 'D', unit: 'Jy/beam' },
  { name: 'S_Code', form: '1A' },
];

function card(key: string, value: string | number | boolean, comment?: string): string {
  let v: string;
  if (typeof value === 'string') v = `'${value.replaceAll("'", "''").padEnd(8)}'`.padEnd(20);
  else if (typeof value === 'boolean') v = (value ? 'T' : 'F').padStart(20);
  else v = String(value).padStart(20);
  const text = `${key.padEnd(8)}= ${v}${comment ? ` / ${comment}` : ''}`;
  return text.slice(0, 80).padEnd(80);
}

function fitsHeader(cards: string[]): string {
  const text = [...cards, 'END'.padEnd(80)].join('');
  return text.padEnd(Math.ceil(text.length / 2880) * 2880);
}

function writeFits(path: string, rows: number): void {
  const width = PYBDSF.reduce((w, c) => w + (c.form === 'D' ? 8 : c.form === 'J' ? 4 : 1), 0);
  const out = new Out(path);
  out.put(
    fitsHeader([
      card('SIMPLE', true, 'conforms to FITS standard'),
      card('BITPIX', 8, 'array data type'),
      card('NAXIS', 0, 'number of array dimensions'),
      card('EXTEND', true),
    ]),
  );
  const cards = [
    card('XTENSION', 'BINTABLE', 'binary table extension'),
    card('BITPIX', 8, 'array data type'),
    card('NAXIS', 2, 'number of array dimensions'),
    card('NAXIS1', width, 'length of dimension 1'),
    card('NAXIS2', rows, 'length of dimension 2'),
    card('PCOUNT', 0, 'number of group parameters'),
    card('GCOUNT', 1, 'number of groups'),
    card('TFIELDS', PYBDSF.length, 'number of table fields'),
  ];
  PYBDSF.forEach((c, i) => {
    cards.push(card(`TTYPE${i + 1}`, c.name));
    cards.push(card(`TFORM${i + 1}`, c.form));
    if (c.unit) cards.push(card(`TUNIT${i + 1}`, c.unit));
  });
  out.put(fitsHeader(cards));

  // A 20 x 16 degree mosaic centred on RA 180, Dec +45 (a LoTSS-like northern field).
  const rnd = random(1);
  const batch = 10_000;
  const buf = new Uint8Array(batch * width);
  const view = new DataView(buf.buffer);
  let island = 0;
  for (let first = 0; first < rows; first += batch) {
    const n = Math.min(batch, rows - first);
    let o = 0;
    for (let r = 0; r < n; r++) {
      const id = first + r;
      if (rnd() < 0.85) island++;
      const sinDec = Math.sin(37 / DEG) + rnd() * (Math.sin(53 / DEG) - Math.sin(37 / DEG));
      const dec = Math.asin(sinDec) * DEG;
      const ra = 170 + rnd() * 20;
      const peak = 1e-4 * (1 / (1 - rnd() * 0.999)) ** 0.8;
      const total = peak * (1 + rnd() * 0.6);
      const maj = (6 + rnd() * 10) / 3600;
      const min = maj * (0.5 + rnd() * 0.5);
      const pa = rnd() * 180;
      const snr = peak / 1e-4;
      const e = 1 / Math.max(snr, 1);
      const code = rnd() < 0.8 ? 'S' : rnd() < 0.8 ? 'M' : 'C';
      const values = [
        id,
        island,
        ra,
        maj * e,
        dec,
        min * e,
        total,
        total * e + 1e-5,
        peak,
        1e-4,
        maj,
        maj * e,
        min,
        min * e,
        pa,
        90 * e,
        maj * 0.6,
        min * 0.6,
        rnd() < 0.02 ? Number.NaN : pa,
        1e-4 * (0.8 + rnd() * 0.4),
      ];
      view.setInt32(o, values[0]);
      view.setInt32(o + 4, values[1]);
      o += 8;
      for (let k = 2; k < values.length; k++, o += 8) view.setFloat64(o, values[k]);
      buf[o++] = code.charCodeAt(0);
    }
    out.put(buf.slice(0, o));
  }
  const pad = (2880 - ((width * rows) % 2880)) % 2880;
  if (pad) out.put(new Uint8Array(pad));
  out.close();
}

// ---------------------------------------------------------------------------------------
// (b) SoFiA-2 source catalogue as VOTable, with WCS and physical parameters on (the
// column names, datatypes, units and UCDs SoFiA-2 writes; TABLEDATA, as SoFiA-2 does).

interface VoField {
  readonly name: string;
  readonly datatype: string;
  readonly arraysize?: string;
  readonly unit?: string;
  readonly ucd?: string;
  readonly xtype?: string;
}

const SOFIA: readonly VoField[] = [
  { name: 'name', datatype: 'char', arraysize: '*', ucd: 'meta.id' },
  { name: 'id', datatype: 'long', ucd: 'meta.id' },
  { name: 'x', datatype: 'double', unit: 'pix', ucd: 'pos.cartesian.x' },
  { name: 'y', datatype: 'double', unit: 'pix', ucd: 'pos.cartesian.y' },
  { name: 'z', datatype: 'double', unit: 'pix', ucd: 'pos.cartesian.z' },
  { name: 'x_min', datatype: 'long', unit: 'pix', ucd: 'pos.cartesian.x;stat.min' },
  { name: 'x_max', datatype: 'long', unit: 'pix', ucd: 'pos.cartesian.x;stat.max' },
  { name: 'y_min', datatype: 'long', unit: 'pix', ucd: 'pos.cartesian.y;stat.min' },
  { name: 'y_max', datatype: 'long', unit: 'pix', ucd: 'pos.cartesian.y;stat.max' },
  { name: 'z_min', datatype: 'long', unit: 'pix', ucd: 'pos.cartesian.z;stat.min' },
  { name: 'z_max', datatype: 'long', unit: 'pix', ucd: 'pos.cartesian.z;stat.max' },
  { name: 'n_pix', datatype: 'long', ucd: 'meta.number;instr.pixel' },
  { name: 'f_min', datatype: 'double', unit: 'Jy/beam', ucd: 'phot.flux.density;stat.min' },
  { name: 'f_max', datatype: 'double', unit: 'Jy/beam', ucd: 'phot.flux.density;stat.max' },
  { name: 'f_sum', datatype: 'double', unit: 'Jy*Hz', ucd: 'phot.flux' },
  { name: 'rel', datatype: 'double', ucd: 'stat.probability' },
  { name: 'flag', datatype: 'long', ucd: 'meta.code.qual' },
  { name: 'rms', datatype: 'double', unit: 'Jy/beam', ucd: 'instr.det.noise' },
  { name: 'w20', datatype: 'double', unit: 'Hz', ucd: 'spect.line.width' },
  { name: 'w50', datatype: 'double', unit: 'Hz', ucd: 'spect.line.width' },
  { name: 'wm50', datatype: 'double', unit: 'Hz', ucd: 'spect.line.width' },
  { name: 'ell_maj', datatype: 'double', unit: 'pix', ucd: 'phys.angSize' },
  { name: 'ell_min', datatype: 'double', unit: 'pix', ucd: 'phys.angSize' },
  { name: 'ell_pa', datatype: 'double', unit: 'deg', ucd: 'pos.posAng' },
  { name: 'ell3s_maj', datatype: 'double', unit: 'pix', ucd: 'phys.angSize' },
  { name: 'ell3s_min', datatype: 'double', unit: 'pix', ucd: 'phys.angSize' },
  { name: 'ell3s_pa', datatype: 'double', unit: 'deg', ucd: 'pos.posAng' },
  { name: 'kin_pa', datatype: 'double', unit: 'deg', ucd: 'pos.posAng' },
  { name: 'err_x', datatype: 'double', unit: 'pix', ucd: 'stat.error;pos.cartesian.x' },
  { name: 'err_y', datatype: 'double', unit: 'pix', ucd: 'stat.error;pos.cartesian.y' },
  { name: 'err_z', datatype: 'double', unit: 'pix', ucd: 'stat.error;pos.cartesian.z' },
  { name: 'err_f_sum', datatype: 'double', unit: 'Jy*Hz', ucd: 'stat.error;phot.flux' },
  { name: 'snr', datatype: 'double', ucd: 'stat.snr' },
  { name: 'ra', datatype: 'double', unit: 'deg', ucd: 'pos.eq.ra' },
  { name: 'dec', datatype: 'double', unit: 'deg', ucd: 'pos.eq.dec' },
  { name: 'freq', datatype: 'double', unit: 'Hz', ucd: 'em.freq' },
];

const xml = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('"', '&quot;');

function fieldXml(f: VoField): string {
  const attrs = [`name="${xml(f.name)}"`, `datatype="${f.datatype}"`];
  if (f.arraysize) attrs.push(`arraysize="${f.arraysize}"`);
  if (f.xtype) attrs.push(`xtype="${f.xtype}"`);
  attrs.push(`unit="${xml(f.unit ?? '')}"`);
  if (f.ucd) attrs.push(`ucd="${xml(f.ucd)}"`);
  return `        <FIELD ${attrs.join(' ')}/>\n`;
}

function votableHead(
  description: string,
  tableName: string,
  fields: readonly VoField[],
  params = '',
): string {
  return (
    '<?xml version="1.0" ?>\n' +
    '<VOTABLE version="1.3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ' +
    'xmlns="http://www.ivoa.net/xml/VOTable/v1.3" ' +
    'xsi:schemaLocation="http://www.ivoa.net/xml/VOTable/v1.3 http://www.ivoa.net/xml/VOTable/v1.3">\n' +
    '  <RESOURCE>\n' +
    `    <DESCRIPTION>${xml(description)}</DESCRIPTION>\n` +
    params +
    `    <TABLE name="${xml(tableName)}">\n` +
    fields.map(fieldXml).join('') +
    '      <DATA>\n        <TABLEDATA>\n'
  );
}

const VOTABLE_TAIL = '        </TABLEDATA>\n      </DATA>\n    </TABLE>\n  </RESOURCE>\n</VOTABLE>\n';

function sexagesimal(ra: number, dec: number): string {
  const h = ra / 15;
  const hh = Math.floor(h);
  const mm = Math.floor((h - hh) * 60);
  const ss = ((h - hh) * 60 - mm) * 60;
  const sign = dec < 0 ? '-' : '+';
  const d = Math.abs(dec);
  const dd = Math.floor(d);
  const dm = Math.floor((d - dd) * 60);
  const ds = ((d - dd) * 60 - dm) * 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(hh)}${two(mm)}${ss.toFixed(2).padStart(5, '0')}${sign}${two(dd)}${two(dm)}${ds.toFixed(1).padStart(4, '0')}`;
}

function writeSofia(path: string, rows: number): void {
  const out = new Out(path);
  const params =
    '    <PARAM name="Creator" datatype="char" arraysize="*" value="SoFiA 2.6.0" ucd="meta.id;meta.software"/>\n' +
    '    <PARAM name="Time" datatype="char" arraysize="*" value="Wed, 02 Dec 2026, 10:00:00" ucd="time.creation"/>\n';
  out.put(votableHead('SoFiA source catalogue', 'SoFiA source catalogue', SOFIA, params));
  // A WALLABY-like HI field: 12 x 12 degrees around RA 160, Dec -25, 1.30-1.42 GHz.
  const rnd = random(2);
  const rest = 1.42040575e9;
  for (let i = 0; i < rows; i++) {
    const ra = 154 + rnd() * 12;
    const dec = -31 + rnd() * 12;
    const freq = 1.3e9 + rnd() * (rest - 1.3e9);
    const x = rnd() * 20000;
    const y = rnd() * 20000;
    const z = rnd() * 7000;
    const w50 = 5e4 + rnd() * 1e6;
    const fsum = 1e3 + rnd() * 1e6;
    const maj = 2 + rnd() * 12;
    const values: (string | number)[] = [
      `SoFiA J${sexagesimal(ra, dec)}`,
      i + 1,
      x,
      y,
      z,
      Math.floor(x - 5),
      Math.ceil(x + 5),
      Math.floor(y - 5),
      Math.ceil(y + 5),
      Math.floor(z - 20),
      Math.ceil(z + 20),
      Math.floor(100 + rnd() * 5000),
      -0.002 * rnd(),
      0.002 + rnd() * 0.05,
      fsum,
      0.9 + rnd() * 0.1,
      rnd() < 0.9 ? 0 : 4,
      0.0016 + rnd() * 0.0002,
      w50 * 1.3,
      w50,
      w50 * 1.05,
      maj,
      maj * (0.3 + rnd() * 0.7),
      rnd() * 360 - 180,
      maj * 1.8,
      maj * 1.2,
      rnd() * 360 - 180,
      rnd() * 360,
      0.1 + rnd(),
      0.1 + rnd(),
      0.2 + rnd(),
      fsum * 0.05,
      5 + rnd() * 50,
      ra,
      dec,
      freq,
    ];
    let tr = '          <TR>';
    for (const v of values) tr += `<TD>${typeof v === 'string' ? xml(v) : v}</TD>`;
    out.put(`${tr}</TR>\n`);
  }
  out.put(VOTABLE_TAIL);
  out.close();
}

// ---------------------------------------------------------------------------------------
// (c) An all-sky component list as a pipeline's CSV export: uniform on the sphere, an
// empty cell where a fit gave no error, a text field name.

function writeCsv(path: string, rows: number): void {
  const out = new Out(path);
  out.put('component_id,ra_deg,dec_deg,flux_mjy,flux_err_mjy,maj_arcsec,field\n');
  const rnd = random(3);
  let chunk = '';
  for (let i = 1; i <= rows; i++) {
    const ra = rnd() * 360;
    const dec = Math.asin(2 * rnd() - 1) * DEG;
    const flux = 0.2 * (1 / (1 - rnd() * 0.999)) ** 0.9;
    const err = rnd() < 0.001 ? '' : (0.02 + flux * 0.05).toFixed(3);
    const field = `F${String(Math.floor(ra / 6)).padStart(2, '0')}${dec < 0 ? 'S' : 'N'}`;
    chunk += `${i},${ra.toFixed(6)},${dec.toFixed(6)},${flux.toFixed(3)},${err},${(5 + rnd() * 20).toFixed(1)},${field}\n`;
    if (chunk.length > 1 << 20) {
      out.put(chunk);
      chunk = '';
    }
  }
  out.put(chunk);
  out.close();
}

// ---------------------------------------------------------------------------------------
// (d) A spectral-index catalogue as Parquet (what a pandas or Spark pipeline writes).

function writeParquet(path: string, rows: number): void {
  const rnd = random(4);
  const id = new BigInt64Array(rows);
  const ra = new Float64Array(rows);
  const dec = new Float64Array(rows);
  const s144 = new Float32Array(rows);
  const s1400 = new Float32Array(rows);
  const alpha: (number | null)[] = new Array(rows);
  const resolved: boolean[] = new Array(rows);
  const morphology: string[] = new Array(rows);
  const kinds = ['compact', 'extended', 'double', 'diffuse'];
  for (let i = 0; i < rows; i++) {
    id[i] = 5_000_000_000n + BigInt(i);
    ra[i] = 30 + rnd() * 30;
    dec[i] = Math.asin(Math.sin(-10 / DEG) + rnd() * 2 * Math.sin(10 / DEG)) * DEG;
    const a = -0.7 + (rnd() - 0.5) * 0.8;
    s144[i] = 1 + rnd() * 500;
    s1400[i] = s144[i] * (1400 / 144) ** a;
    alpha[i] = rnd() < 0.01 ? null : a;
    resolved[i] = rnd() < 0.3;
    morphology[i] = kinds[Math.floor(rnd() * kinds.length)];
  }
  parquetWriteFile({
    filename: path,
    columnData: [
      { name: 'source_id', data: id, type: 'INT64', nullable: false },
      { name: 'ra', data: ra, type: 'DOUBLE', nullable: false },
      { name: 'dec', data: dec, type: 'DOUBLE', nullable: false },
      { name: 'flux_144mhz', data: s144, type: 'FLOAT' },
      { name: 'flux_1400mhz', data: s1400, type: 'FLOAT' },
      { name: 'spectral_index', data: alpha, type: 'DOUBLE' },
      { name: 'resolved', data: resolved, type: 'BOOLEAN' },
      { name: 'morphology', data: morphology, type: 'STRING' },
    ],
  });
}

// ---------------------------------------------------------------------------------------
// Rows for the tables of a Felis schema (Rubin's sdm_schemas format): one VOTable per
// table, a FIELD per Felis column with its datatype and length, values by datatype;
// primary keys count 1..N and foreign keys point at rows 1..FK_SPAN of their target.

interface FelisColumn {
  readonly name: string;
  readonly datatype?: string;
  readonly length?: number;
  readonly 'votable:arraysize'?: string | number;
  readonly 'ivoa:ucd'?: string;
}
interface FelisTable {
  readonly name: string;
  readonly primaryKey?: string | string[];
  readonly columns: FelisColumn[];
  readonly constraints?: { '@type'?: string; columns?: string[] }[];
}

const FK_SPAN = 300;
const FELIS_DEFAULT_ROWS = 300;

function felisField(c: FelisColumn): VoField {
  const size = c['votable:arraysize'] !== undefined ? String(c['votable:arraysize']) : undefined;
  switch (c.datatype) {
    case 'char':
      return { name: c.name, datatype: 'char', arraysize: size ?? String(c.length ?? 1) };
    case 'string':
    case 'unicode':
      return { name: c.name, datatype: 'char', arraysize: size ?? `${c.length ?? 64}*` };
    case 'text':
      return { name: c.name, datatype: 'char', arraysize: '*' };
    case 'timestamp':
      return { name: c.name, datatype: 'char', arraysize: '*', xtype: 'timestamp' };
    case 'byte':
      return { name: c.name, datatype: 'unsignedByte' };
    case 'binary':
      return { name: c.name, datatype: 'unsignedByte', arraysize: size ?? '*' };
    case 'boolean':
    case 'short':
    case 'int':
    case 'long':
    case 'float':
    case 'double':
      return { name: c.name, datatype: c.datatype };
    default:
      // A column without a datatype: the description decides; text is always readable.
      return { name: c.name, datatype: 'char', arraysize: '*' };
  }
}

function felisValue(
  c: FelisColumn,
  f: VoField,
  row: number,
  role: 'pk' | 'fk' | 'plain',
  rnd: () => number,
): string {
  const ucd = c['ivoa:ucd'] ?? '';
  if (role === 'pk') return String(row + 1);
  if (role === 'fk') return String((row % FK_SPAN) + 1);
  switch (f.datatype) {
    case 'boolean':
      return rnd() < 0.5 ? 'T' : 'F';
    case 'unsignedByte':
      return f.arraysize ? '' : String(Math.floor(rnd() * 256));
    case 'short':
    case 'int':
    case 'long':
      return String(Math.floor(rnd() * 1000));
    case 'float':
    case 'double':
      if (ucd.startsWith('pos.eq.ra')) return (50 + rnd() * 25).toFixed(8);
      if (ucd.startsWith('pos.eq.dec')) return (-45 + rnd() * 20).toFixed(8);
      return (rnd() * 100).toPrecision(7);
    default: {
      if (f.xtype === 'timestamp') {
        const t = Date.UTC(2022, 0, 1) + Math.floor(rnd() * 3e10);
        return new Date(t).toISOString().replace('Z', '');
      }
      const max = c.length ?? (f.arraysize === '*' ? 24 : Number.parseInt(f.arraysize ?? '1', 10));
      if (max === 1) return 'ugrizy'[Math.floor(rnd() * 6)];
      return xml(`${c.name}-${row + 1}`.slice(0, max));
    }
  }
}

const bare = (ref: string) => ref.replace(/^#/, '').split('.').pop()!;

async function writeFelisRows(schemaPath: string, outDir: string, wanted: string[]): Promise<void> {
  const schema = parseYaml(await readFile(schemaPath, 'utf8')) as { name: string; tables: FelisTable[] };
  const rowsOf = new Map<string, number>();
  for (const w of wanted) {
    const [name, n] = w.split('=');
    rowsOf.set(name, n ? Number(n) : FELIS_DEFAULT_ROWS);
  }
  const rnd = random(5);
  const written: string[] = [];
  const counts: Record<string, number> = {};
  for (const table of schema.tables) {
    const rows = rowsOf.get(table.name) ?? FELIS_DEFAULT_ROWS;
    counts[table.name] = rows;
    const pk = new Set([table.primaryKey ?? []].flat().map(bare));
    const fk = new Set(
      (table.constraints ?? [])
        .filter((k) => k['@type'] === 'ForeignKey')
        .flatMap((k) => k.columns ?? [])
        .map(bare),
    );
    const fields = table.columns.map(felisField);
    const roles = table.columns.map((c) =>
      pk.size === 1 && pk.has(c.name) ? 'pk' : fk.has(c.name) ? 'fk' : 'plain',
    ) as ('pk' | 'fk' | 'plain')[];
    const path = join(outDir, `${table.name}.vot`);
    written.push(path);
    const out = new Out(path);
    out.put(votableHead(`Generated rows of ${schema.name}.${table.name}`, table.name, fields));
    for (let r = 0; r < rows; r++) {
      let tr = '          <TR>';
      for (let k = 0; k < fields.length; k++)
        tr += `<TD>${felisValue(table.columns[k], fields[k], r, roles[k], rnd)}</TD>`;
      out.put(`${tr}</TR>\n`);
    }
    out.put(VOTABLE_TAIL);
    out.close();
  }
  const missing = [...rowsOf.keys()].filter((n) => !schema.tables.some((t) => t.name === n));
  if (missing.length) throw new Error(`${schemaPath} has no table ${missing.join(', ')}`);
  await writeFile(join(outDir, 'files.txt'), `${written.join('\n')}\n`);
  await writeFile(join(outDir, 'rows.json'), `${JSON.stringify(counts)}\n`);
}

async function main(argv: string[]): Promise<void> {
  const [kind, out, arg, ...rest] = argv;
  const rows = Number(arg);
  const needRows = () => {
    if (!Number.isInteger(rows) || rows < 1) throw new Error(`${kind}: ROWS must be a positive integer`);
  };
  switch (kind) {
    case 'fits':
      needRows();
      return writeFits(out, rows);
    case 'votable':
      needRows();
      return writeSofia(out, rows);
    case 'csv':
      needRows();
      return writeCsv(out, rows);
    case 'parquet':
      needRows();
      return writeParquet(out, rows);
    case 'felis':
      return writeFelisRows(out, arg, rest);
    default:
      throw new Error(`unknown kind '${kind}': fits, votable, csv, parquet or felis`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`generate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
