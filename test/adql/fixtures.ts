import type { Catalogue, CatalogueTable } from '../../adql/index.js';

/** Seeded PRNG (mulberry32): every run draws the same "random" data. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A catalogue shaped like a real site: a source table with a HEALPix index, ObsCore, an upload. */
export function demoCatalogue(physicalSchema = 'demo'): Catalogue & { list: CatalogueTable[] } {
  const list: CatalogueTable[] = [
    {
      schema: 'demo',
      name: 'sources',
      description: 'radio sources',
      sql: { schema: physicalSchema, table: 'sources' },
      spatialIndex: { column: 'hpx', lon: 'ra', lat: 'dec' },
      columns: [
        { name: 'source_id', datatype: 'long', ucd: 'meta.id;meta.main', description: 'source identifier' },
        {
          name: 'ra',
          datatype: 'double',
          unit: 'deg',
          ucd: 'pos.eq.ra;meta.main',
          description: 'right ascension',
        },
        { name: 'dec', datatype: 'double', unit: 'deg', ucd: 'pos.eq.dec;meta.main' },
        { name: 'hpx', datatype: 'long' },
        { name: 'flux', datatype: 'double', unit: 'mJy', ucd: 'phot.flux.density' },
        { name: 'maj_axis', datatype: 'double', unit: 'arcsec' },
        { name: 'field_id', datatype: 'char', arraysize: '*' },
        { name: 'flag', datatype: 'int' },
        { name: 'obs_time', datatype: 'char', arraysize: '*', xtype: 'timestamp' },
        { name: 'pos', datatype: 'double', arraysize: '2', xtype: 'point', unit: 'deg' },
        { name: '"size"', datatype: 'double', sqlName: 'size', unit: 'arcsec' },
        { name: 'MixedCase', datatype: 'int', sqlName: 'mixedcase' },
      ],
    },
    {
      schema: 'ivoa',
      name: 'obscore',
      sql: { schema: physicalSchema, table: 'obscore' },
      columns: [
        { name: 'obs_id', datatype: 'char', arraysize: '*' },
        { name: 's_ra', datatype: 'double', unit: 'deg' },
        { name: 's_dec', datatype: 'double', unit: 'deg' },
        { name: 's_region', datatype: 'double', arraysize: '*', xtype: 'polygon', unit: 'deg' },
        { name: 't_min', datatype: 'double', unit: 'd' },
        // The same stored polygon published as STC-S, as the node's ivoa.obscore.s_region is (OBS-62).
        {
          name: 'footprint',
          datatype: 'char',
          arraysize: '*',
          xtype: 'adql:REGION',
          sqlName: 's_region',
          region: 'polygon-array',
        },
      ],
    },
    {
      schema: 'TAP_UPLOAD',
      name: 'mine',
      sql: { schema: physicalSchema, table: 'upload1' },
      columns: [
        { name: 'id', datatype: 'int' },
        { name: 'ra', datatype: 'double', unit: 'deg' },
        { name: 'dec', datatype: 'double', unit: 'deg' },
      ],
    },
    {
      schema: 'other',
      name: 'sources',
      sql: { schema: physicalSchema, table: 'sources2' },
      columns: [{ name: 'source_id', datatype: 'long' }],
    },
  ];
  return { list, tables: () => list };
}
