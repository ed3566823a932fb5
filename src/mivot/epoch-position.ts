import type { Coosys, Field, Resource } from '../../votable/index.js';

/**
 * MIVOT 1.0 (IVOA Recommendation 2023-06-20) annotation of a result whose columns, by their
 * UCDs, hold an astrometric position: one MANGO `mango:EpochPosition` mapped onto the FIELDs,
 * so a client (pyvo's `pyvo.mivot`, 1.6 and later) can build sky coordinates with proper
 * motion, parallax, radial velocity and epoch without guessing which column is which.
 *
 * The MANGO roles follow the model as its readers use it today (pyvo's SkyCoordBuilder, the
 * MIVOT writers of the CDS): the epoch is `mango:EpochPosition.obsDate`, a `mango:DateTime`
 * with a representation (`year`, `mjd`, `iso`). The model file on MANGO's wd-v1.0 branch of
 * October 2024 still calls it `epoch` (a `coords:Epoch`); the draft moved on since.
 */

export const MIVOT_NS = 'http://www.ivoa.net/xml/mivot';

/** The models the mapping uses, with the VO-DML files that define them (MIVOT `MODEL`). */
const MODELS: ReadonlyArray<[name: string, url: string]> = [
  ['ivoa', 'https://www.ivoa.net/xml/VODML/IVOA-v1.vo-dml.xml'],
  ['coords', 'https://www.ivoa.net/xml/VODML/Coords-v1.vo-dml.xml'],
  ['mango', 'https://raw.githubusercontent.com/ivoa-std/MANGO/refs/heads/wd-v1.0/vo-dml/mango.vo-dml.xml'],
];

/** The columns a result maps onto EpochPosition, by role. */
export interface EpochPositionColumns {
  longitude: Field;
  latitude: Field;
  pmLongitude?: Field;
  pmLatitude?: Field;
  parallax?: Field;
  radialVelocity?: Field;
  epoch?: Field;
}

export interface MivotAnnotation {
  /** The FIELDs by role, as they were given their IDs. */
  readonly columns: EpochPositionColumns;
  /** Goes in the results RESOURCE; the position FIELDs ref it (VOT-12). */
  readonly coosys: Coosys;
  /** The RESOURCE type="meta" holding the VODML block, inside the results RESOURCE, before the TABLE. */
  readonly resource: Resource;
}

/** UCD1+ words, lower-cased (UCDs compare case-insensitively). */
function words(f: Field): string[] {
  return (f.ucd ?? '')
    .split(';')
    .map((w) => w.trim().toLowerCase())
    .filter((w) => w);
}

const NUMERIC = new Set(['short', 'int', 'long', 'float', 'double']);

/** A scalar number column: the only kind an ivoa:RealQuantity attribute can point at. */
function scalarNumber(f: Field): boolean {
  return NUMERIC.has(f.datatype) && (f.arraysize === undefined || f.arraysize === '1');
}

/** The first scalar numeric FIELD the test picks, preferring one the UCD marks `meta.main`. */
function pick(fields: readonly Field[], test: (w: string[]) => boolean): Field | undefined {
  const found = fields.filter((f) => scalarNumber(f) && words(f).length > 0 && test(words(f)));
  return found.find((f) => words(f).includes('meta.main')) ?? found[0];
}

/**
 * Which columns play which role. The primary word (the first) decides, so an error or a
 * flag about a quantity (`stat.error;pos.pm;pos.eq.ra`) is never taken for the quantity.
 * Right ascension and declination must both be `meta.main` (the table's main position), as
 * a result may hold other positions (a cross-match, a field centre).
 */
export function epochPositionColumns(fields: readonly Field[]): EpochPositionColumns | undefined {
  const main = (primary: string) => pick(fields, (w) => w[0] === primary && w.includes('meta.main'));
  const longitude = main('pos.eq.ra');
  const latitude = main('pos.eq.dec');
  if (!longitude || !latitude) return undefined;
  const cols: EpochPositionColumns = { longitude, latitude };
  const pmLongitude = pick(fields, (w) => w[0] === 'pos.pm' && w.includes('pos.eq.ra'));
  const pmLatitude = pick(fields, (w) => w[0] === 'pos.pm' && w.includes('pos.eq.dec'));
  // A proper motion is two components or none: one alone cannot move a position.
  if (pmLongitude && pmLatitude) Object.assign(cols, { pmLongitude, pmLatitude });
  const parallax = pick(fields, (w) => w[0] === 'pos.parallax' || w[0] === 'pos.parallax.trig');
  if (parallax) cols.parallax = parallax;
  const radialVelocity = pick(fields, (w) => w[0].startsWith('spect.dopplerveloc'));
  if (radialVelocity) cols.radialVelocity = radialVelocity;
  const epoch = fields.find(
    (f) =>
      epochRepresentation(f) !== undefined &&
      (words(f)[0] === 'time.epoch' || (words(f)[0] === 'meta.ref' && words(f)[1] === 'time.epoch')),
  );
  if (epoch) cols.epoch = epoch;
  return cols;
}

/**
 * How an epoch column writes its instants, as mango:DateTime.representation names them:
 * Julian years (`yr`, `a`: Gaia's ref_epoch), MJD (days, `d`, named or typed as MJD), or
 * DALI timestamps. Any other column is not taken as the epoch: its meaning would be a guess.
 */
export function epochRepresentation(f: Field): 'year' | 'mjd' | 'iso' | undefined {
  if (f.xtype === 'timestamp' && (f.datatype === 'char' || f.datatype === 'unicodeChar')) return 'iso';
  if (!scalarNumber(f)) return undefined;
  const unit = (f.unit ?? '').trim();
  if (unit === 'yr' || unit === 'a' || unit === 'year') return 'year';
  if (unit === 'd' && (/mjd/i.test(f.name) || f.xtype === 'mjd')) return 'mjd';
  return undefined;
}

/** A name made an XML NCName (an ID): other characters become '_', and it starts with a letter or '_'. */
function ncName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_.-]/g, '_');
  return /^[A-Za-z_]/.test(s) ? s : `_${s}`;
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function attrs(a: Record<string, string | undefined>): string {
  let s = '';
  for (const [k, v] of Object.entries(a)) if (v !== undefined && v !== '') s += ` ${k}="${escapeAttr(v)}"`;
  return s;
}

/**
 * Annotates a result with a MANGO EpochPosition when its FIELDs give at least the main right
 * ascension and declination (by UCD); otherwise returns undefined and changes nothing.
 * The mapped FIELDs get an `ID` (MIVOT ATTRIBUTE@ref points at FIELD IDs, MIVOT 1.0 §4.8)
 * where they have none, and the position and proper motion FIELDs `ref` the COOSYS.
 * Positions are ICRS: vonode indexes and publishes only ICRS positions.
 */
export function annotateEpochPosition(fields: Field[]): MivotAnnotation | undefined {
  const columns = epochPositionColumns(fields);
  if (!columns) return undefined;
  const taken = new Set<string>();
  for (const f of fields) {
    if (f.ID) taken.add(f.ID);
  }
  const names = new Set(fields.map((f) => f.name));
  const mapped = Object.values(columns) as Field[];
  for (const f of mapped) {
    if (f.ID) continue;
    // The column's own name where it is one (clients look refs up as names too), else unique.
    let id = ncName(f.name);
    while (taken.has(id) || (id !== f.name && names.has(id))) id = `${id}_`;
    f.ID = id;
    taken.add(id);
  }
  let coosysId = '_icrs';
  while (taken.has(coosysId) || names.has(coosysId)) coosysId = `${coosysId}_`;
  taken.add(coosysId);
  for (const f of [columns.longitude, columns.latitude, columns.pmLongitude, columns.pmLatitude]) {
    if (f && !f.ref) f.ref = coosysId;
  }
  const coosys: Coosys = { ID: coosysId, system: 'ICRS', refposition: 'BARYCENTER' };
  return { columns, coosys, resource: { type: 'meta', vodml: vodmlBlock(columns) } };
}

/** The VODML element (MIVOT 1.0 §4): REPORT, MODELs, the space frame in GLOBALS, the EpochPosition template. */
export function vodmlBlock(c: EpochPositionColumns): string {
  // dmid values live in the mapping block's own scope (MIVOT 1.0 §4.5), not among XML IDs.
  const spaceSysId = '_spacesys_icrs';
  const quantity = (role: string, f: Field | undefined) =>
    f
      ? `      <ATTRIBUTE${attrs({ dmrole: `mango:EpochPosition.${role}`, dmtype: 'ivoa:RealQuantity', ref: f.ID, unit: f.unit })}/>\n`
      : '';
  let s = `<VODML xmlns="${MIVOT_NS}">\n`;
  // REPORT says what was found, so a reader sees why a role it wants is missing.
  const roles = Object.keys(c).join(', ');
  s += `  <REPORT status="OK">mango:EpochPosition mapped from the UCDs of the columns: ${roles}</REPORT>\n`;
  for (const [name, url] of MODELS) s += `  <MODEL${attrs({ name, url })}/>\n`;
  s += '  <GLOBALS>\n';
  s += `    <INSTANCE${attrs({ dmid: spaceSysId, dmtype: 'coords:SpaceSys' })}>\n`;
  s += '      <INSTANCE dmrole="coords:PhysicalCoordSys.frame" dmtype="coords:SpaceFrame">\n';
  s += '        <ATTRIBUTE dmrole="coords:SpaceFrame.spaceRefFrame" dmtype="ivoa:string" value="ICRS"/>\n';
  s += '        <INSTANCE dmrole="coords:SpaceFrame.refPosition" dmtype="coords:StdRefLocation">\n';
  s +=
    '          <ATTRIBUTE dmrole="coords:StdRefLocation.position" dmtype="ivoa:string" value="BARYCENTER"/>\n';
  s += '        </INSTANCE>\n';
  s += '      </INSTANCE>\n';
  s += '    </INSTANCE>\n';
  s += '  </GLOBALS>\n';
  s += '  <TEMPLATES>\n';
  s += '    <INSTANCE dmtype="mango:EpochPosition">\n';
  s += quantity('longitude', c.longitude);
  s += quantity('latitude', c.latitude);
  s += quantity('pmLongitude', c.pmLongitude);
  s += quantity('pmLatitude', c.pmLatitude);
  s += quantity('parallax', c.parallax);
  s += quantity('radialVelocity', c.radialVelocity);
  if (c.epoch) {
    s += '      <INSTANCE dmrole="mango:EpochPosition.obsDate" dmtype="mango:DateTime">\n';
    s += `        <ATTRIBUTE dmrole="mango:DateTime.representation" dmtype="ivoa:string" value="${epochRepresentation(c.epoch)}"/>\n`;
    s += `        <ATTRIBUTE${attrs({ dmrole: 'mango:DateTime.dateTime', dmtype: 'ivoa:datetime', ref: c.epoch.ID })}/>\n`;
    s += '      </INSTANCE>\n';
  }
  s += `      <REFERENCE${attrs({ dmrole: 'mango:EpochPosition.spaceSys', dmref: spaceSysId })}/>\n`;
  s += '    </INSTANCE>\n';
  s += '  </TEMPLATES>\n';
  return `${s}</VODML>\n`;
}
