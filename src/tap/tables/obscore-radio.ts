/**
 * ivoa.obscore_radio, the IVOA ObsCore Extension for Radio Data (ivoa-std/
 * ObsCoreExtensionForRadioData): names, definitions, utypes, UCDs and units exactly as the
 * standard's three column tables give them (radio data in general, interferometry,
 * instrumental parameters), typos included, so that queries and clients written against the
 * standard find what it names. The standard gives no datatypes: measures are double, the two
 * counts (antennas, feeds) int, the two modes text. Stored in sql/156_obscore_radio.sql.
 */
import type { Datatype, PublishedColumn, PublishedTable } from './model.js';
import { OBSCORE_COLUMNS } from './obscore.js';

type Spec = [name: string, datatype: Datatype, unit: string, ucd: string, utype: string, description: string];

const SPECS: Spec[] = [
  // Radio data in general (the standard's first table).
  [
    's_resolution_min',
    'double',
    'arcsec',
    'pos.angResolution;stat.min',
    'Char.SpatialAxis.Resolution.Bounds.Limits.LoLim',
    'Angular resolution, min value, longest baseline and max frequency dependent',
  ],
  [
    's_resolution_max',
    'double',
    'arcsec',
    'pos.angResolution;stat.max',
    'Char.SpatialAxis.Resolution.Bounds.Limits.HiLim',
    'Angular resolution, max value, longest baseline and max frequency dependent',
  ],
  [
    's_fov_min',
    'double',
    'deg',
    'phys.angSize;instr.fov;stat.min',
    'Char.SpatialAxis.Coverage.Bounds.Extent.LowLim',
    'field of view diameter, min value, max frequency dependent',
  ],
  [
    's_fov_max',
    'double',
    'deg',
    'phys.angSize;instr.fov;stat.max',
    'Char.SpatialAxis.Coverage.Bounds.Extent.HiLim',
    'field of view diameter, max value, min frequency dependent',
  ],
  [
    'f_resolution',
    'double',
    'kHz',
    'em.freq;stat.max',
    'Char.SpectralAxis.Coverage.BoundsLimits.HiLim',
    'absolute spectral resolution in frequency',
  ],
  // Interferometry (the second table).
  [
    's_largest_angular_scale',
    'double',
    'arcsec',
    'phys.angSize;stat.max',
    'Char.SpatialAxis.Resolution.Scale.Limits.HiLim',
    'maximum scale in dataset, shortest baseline and for reference frequency',
  ],
  [
    's_largest_angular_scale_min',
    'double',
    'arcsec',
    'phys.angSize;stat.max',
    'Char.SpatialAxis.Resolution.Scale.Limits.HiLim.Low',
    'smallest maximum scale in dataset, shortest baseline and for highest frequency',
  ],
  [
    's_largest_angular_scale_max',
    'double',
    'arcsec',
    'phys.angSize;stat.max',
    'Char.SpatialAxis.Resolution.Scale.Limits.HiLim.Hi',
    'largest maximum scale in dataset, shortest baseline and  for lowest frequency',
  ],
  [
    'uv_distance_min',
    'double',
    'm',
    'stat.fourier;pos;stat.min',
    'Char.UVAxis.Coverage.Bounds.Limits.LoLim',
    'minimal distance in uv plane',
  ],
  [
    'uv_distance_max',
    'double',
    'm',
    'stat.fourier;pos;stat.max',
    'Char.UVAxis.Coverage.Bounds.Limits.LoLim',
    'maximal distance in uv plane',
  ],
  [
    'uv_distribution_ecc',
    'double',
    '',
    'stat.fourier;pos',
    'Char.UVAxis.Coverage.Bounds.Eccentricity',
    'eccentricity of uv distribution',
  ],
  [
    'uv_distribution_fill',
    'double',
    '',
    'stat.fourier;pos;arith.ratio',
    'Char.UVAxis.Coverage.Bounds.FillingFactor',
    'filling factor of uv distribution',
  ],
  // Instrumental parameters (the third table).
  [
    'instr_tel_number',
    'int',
    '',
    'meta.number;instr.param',
    'Provenance.ObsConfig.Instrument.Array.AntNumber',
    'number of antennas in array',
  ],
  [
    'instr_tel_min_dist',
    'double',
    'm',
    'instr.baseline;stat.min',
    'Provenance.ObsConfig.Instrument.Array.MinDist',
    'minimum distance between antennas in array',
  ],
  [
    'instr_tel_max_dist',
    'double',
    'm',
    'instr.baseline;stat.max',
    'Provenance.ObsConfig.Instrument.Array.MaxDist',
    'maximum distance between antennas in array',
  ],
  [
    'instr_tel_diameter',
    'double',
    'm',
    'instr.param',
    'Provenance.ObsConfig.Instrument.Array.Diameter',
    'diameter of the largest telecope or antenna in array',
  ],
  ['instr_feed', 'int', '', 'instr.param', 'Provenance.ObsConfig.Instrument.Feed', 'number of feeds'],
  [
    'scan_mode',
    'char',
    '',
    'instr.param',
    'Provenance.Observation.sky_scan_mode',
    'sky and spectral axis scan mode ',
  ],
  [
    'tracking_type',
    'char',
    '',
    'instr.param',
    'Provenance.Observation.tracking_mode',
    'target tracking mode',
  ],
];

/** The extension's own columns, in the standard's order. */
export const OBSCORE_RADIO_EXTENSION_COLUMNS: readonly PublishedColumn[] = SPECS.map(
  ([name, datatype, unit, ucd, utype, description]) => ({
    name,
    datatype,
    ...(datatype === 'char' ? { arraysize: '*' } : {}),
    ...(unit ? { unit } : {}),
    ucd,
    utype,
    description: description.trim(),
    std: true,
  }),
);

// The join column is ObsCore's own (the standard: the two tables "must share exactly the
// obs_publisher_did column"), described as ivoa.obscore describes it; no FIELD ID, which
// belongs to the ObsCore FIELD that DataLink descriptors point at (OBS-86).
const { fieldId: _id, ...did } = OBSCORE_COLUMNS.find(
  (c) => c.name === 'obs_publisher_did',
) as PublishedColumn;

/** The table's registry utype, which RegTAP queries look for (the standard's "Registry Aspects"). */
export const OBSCORE_RADIO_UTYPE = 'ivo://ivoa.net/std/obscore#radio-ext-1.0';

export const OBSCORE_RADIO_TABLE: PublishedTable = {
  schema: 'ivoa',
  name: 'obscore_radio',
  sql: { schema: 'ivoa', table: 'obscore_radio' },
  type: 'table',
  utype: OBSCORE_RADIO_UTYPE,
  title: 'ObsCore extension for radio data',
  description:
    'ObsCore Extension for Radio Data 1.0: radio-specific metadata of the radio products in ivoa.obscore ' +
    '(beam range, field of view range, spectral resolution in frequency; interferometric and instrumental ' +
    'parameters where known, else NULL). Join with ivoa.obscore on obs_publisher_did (NATURAL JOIN).',
  columns: [did, ...OBSCORE_RADIO_EXTENSION_COLUMNS],
  primaryKey: ['obs_publisher_did'],
  // Its own registry record (src/oai/catalogues.ts), as the standard urges.
  registry: { waveband: ['Radio', 'Millimeter'] },
  foreignKeys: [
    {
      id: 'ivoa.obscore_radio-ivoa.obscore',
      target: 'ivoa.obscore',
      columns: [['obs_publisher_did', 'obs_publisher_did']],
      description: 'the ObsCore row of the dataset this radio metadata describes',
    },
  ],
};
