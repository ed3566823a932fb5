import type { Field, Param, Resource } from '../../votable/index.js';
import { OBSCORE_TAP_COLUMNS } from '../tap/tables/obscore.js';

export const SIA_STANDARD_ID = 'ivo://ivoa.net/std/SIA#query-2.0';
export const DATALINK_STANDARD_ID = 'ivo://ivoa.net/std/DataLink#links-1.1';
export const SODA_SYNC_STANDARD_ID = 'ivo://ivoa.net/std/SODA#sync-1.0';
export const DATALINK_CONTENT_TYPE = 'application/x-votable+xml;content=datalink';

/** The XML ID of the obs_publisher_did FIELD that descriptors point at (OBS-86, SIA-64). */
export const DID_FIELD_ID =
  OBSCORE_TAP_COLUMNS.find((c) => c.name === 'obs_publisher_did')?.fieldId ?? 'obs_publisher_did';

/** ObsCore columns as VOTable FIELDs (names, units, UCDs, obscore: utypes: SIA-61). */
export function obscoreFields(): Field[] {
  return OBSCORE_TAP_COLUMNS.map((c) => {
    const f: Field = { name: c.name, datatype: c.datatype, description: c.description };
    if (c.arraysize) f.arraysize = c.arraysize;
    if (c.xtype) f.xtype = c.xtype;
    if (c.unit) f.unit = c.unit;
    if (c.ucd) f.ucd = c.ucd;
    if (c.utype) f.utype = c.utype;
    if (c.fieldId) f.ID = c.fieldId;
    return f;
  });
}

export const charParam = (name: string, value: string, extra: Partial<Param> = {}): Param => ({
  name,
  datatype: 'char',
  arraysize: '*',
  value,
  ...extra,
});

/**
 * A descriptor for `{links}` taking the ID from the FIELD `ref` (DL 6.1, SIA-64): by default
 * ObsCore's obs_publisher_did; TAP results give the ID of their identifier FIELD (OBS-86).
 */
export function linksDescriptor(baseUrl: string, ref: string = DID_FIELD_ID): Resource {
  return {
    type: 'meta',
    utype: 'adhoc:service',
    name: 'links',
    description: 'Files, previews and cutout services of each dataset',
    params: [
      charParam('standardID', DATALINK_STANDARD_ID),
      charParam('accessURL', `${baseUrl}/datalink/links`),
      charParam('contentType', DATALINK_CONTENT_TYPE),
    ],
    groups: [{ name: 'inputParams', params: [charParam('ID', '', { ref })] }],
  };
}

/** SODA's parameters as a descriptor declares them (SODA-10..16). */
export const SODA_PARAM = {
  ID: (value: string, ref?: string): Param =>
    charParam('ID', value, { ucd: 'meta.ref.url;meta.curation', ...(ref ? { ref } : {}) }),
  POS: (): Param =>
    charParam('POS', '', { ucd: 'pos.outline;obs', description: 'CIRCLE, RANGE or POLYGON in ICRS deg' }),
  CIRCLE: (max?: string): Param => ({
    name: 'CIRCLE',
    datatype: 'double',
    arraysize: '3',
    xtype: 'circle',
    unit: 'deg',
    ucd: 'pos.outline;obs',
    description: 'centre RA, Dec and radius of the region to cut out',
    value: '',
    ...(max ? { values: { max: { value: max } } } : {}),
  }),
  POLYGON: (max?: string): Param => ({
    name: 'POLYGON',
    datatype: 'double',
    arraysize: '*',
    xtype: 'polygon',
    unit: 'deg',
    ucd: 'pos.outline;obs',
    description: 'vertices RA1 Dec1 RA2 Dec2 ... of the region to cut out',
    value: '',
    ...(max ? { values: { max: { value: max } } } : {}),
  }),
  BAND: (min?: number, max?: number): Param => ({
    name: 'BAND',
    datatype: 'double',
    arraysize: '2',
    xtype: 'interval',
    unit: 'm',
    ucd: 'em.wl;stat.interval',
    description: 'vacuum wavelength interval to extract (lo hi)',
    value: '',
    ...(min !== undefined && max !== undefined
      ? { values: { min: { value: String(min) }, max: { value: String(max) } } }
      : {}),
  }),
  TIME: (min?: number, max?: number): Param => ({
    name: 'TIME',
    datatype: 'double',
    arraysize: '2',
    xtype: 'interval',
    unit: 'd',
    ucd: 'time.interval;obs.exposure',
    description: 'MJD interval to extract (lo hi)',
    value: '',
    ...(min !== undefined && max !== undefined
      ? { values: { min: { value: String(min) }, max: { value: String(max) } } }
      : {}),
  }),
  POL: (options?: readonly string[]): Param =>
    charParam('POL', '', {
      ucd: 'meta.code;phys.polarization',
      description: 'polarisation state(s) to extract',
      ...(options ? { values: { options: options.map((value) => ({ value })) } } : {}),
    }),
};

/** A SODA sync descriptor taking ID from the obs_publisher_did column (SODA-70). */
export function genericSodaDescriptor(baseUrl: string): Resource {
  return {
    type: 'meta',
    utype: 'adhoc:service',
    name: 'cutout',
    description: 'Cutouts in position, wavelength and polarisation (SODA 1.0 sync)',
    params: [charParam('standardID', SODA_SYNC_STANDARD_ID), charParam('accessURL', `${baseUrl}/soda/sync`)],
    groups: [
      {
        name: 'inputParams',
        params: [
          SODA_PARAM.ID('', DID_FIELD_ID),
          SODA_PARAM.POS(),
          SODA_PARAM.CIRCLE(),
          SODA_PARAM.POLYGON(),
          SODA_PARAM.BAND(),
          SODA_PARAM.TIME(),
          SODA_PARAM.POL(),
        ],
      },
    ],
  };
}
