/**
 * The test catalogue of the partitioning and sharding tests and bench/shards.ts: rows
 * generated from their index (no file, any size), uniform over the sky plus a dense field,
 * with a proprietary tenth (row-level security), published under several layouts.
 */
import type pg from 'pg';
import {
  notifyCatalogueChanged,
  putPublishedTable,
  removePublishedTable,
} from '../../src/catalogue/index.js';
import {
  type CatalogueStore,
  type ColumnDescription,
  type DataSource,
  publishCatalogue,
  publishedTableOf,
  type SourceColumn,
  type TableDescription,
} from '../../src/publish/index.js';
import type { LayoutSettings } from '../../src/shards/index.js';

export const STORE: CatalogueStore = { putPublishedTable, removePublishedTable, notifyCatalogueChanged };

export const OWNER = 'survey-team';

/** A hash of i to [0, 1): the same rows on every run. */
function unit(i: number, salt: number): number {
  let x = (i * 0x9e3779b1 + salt * 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return ((x ^ (x >>> 16)) >>> 0) / 4294967296;
}

/** Position of row i: one in five within 2 degrees of (150, 2), the rest uniform on the sphere. */
export function positionOf(i: number): [number, number] {
  if (i % 5 === 0) {
    const r = 2 * Math.sqrt(unit(i, 1));
    const a = 2 * Math.PI * unit(i, 2);
    return [150 + (r * Math.cos(a)) / Math.cos((2 * Math.PI) / 180), 2 + r * Math.sin(a)];
  }
  const ra = 360 * unit(i, 3);
  const dec = (Math.asin(2 * unit(i, 4) - 1) * 180) / Math.PI;
  return [ra, dec];
}

export function rowOf(i: number): unknown[] {
  const [ra, dec] = positionOf(i);
  return [
    BigInt(i),
    ra,
    dec,
    // Two decimals: sums in any order of a few million of them stay exact enough to round.
    Math.round(1000 + 1500 * unit(i, 5)) / 100,
    ['G', 'S', 'Q'][i % 3],
    i % 10 === 7 ? OWNER : null,
  ];
}

const FILE_COLUMNS: SourceColumn[] = [
  { name: 'source_id', datatype: 'long' },
  { name: 'ra', datatype: 'double' },
  { name: 'dec', datatype: 'double' },
  { name: 'mag', datatype: 'double' },
  { name: 'cls', datatype: 'char', arraysize: '*' },
  { name: 'owner_group', datatype: 'char', arraysize: '*' },
];

const COLUMNS: ColumnDescription[] = [
  {
    name: 'source_id',
    datatype: 'long',
    ucd: 'meta.id;meta.main',
    description: 'identifier',
    nullable: false,
  },
  { name: 'ra', datatype: 'double', unit: 'deg', ucd: 'pos.eq.ra;meta.main', description: 'right ascension' },
  { name: 'dec', datatype: 'double', unit: 'deg', ucd: 'pos.eq.dec;meta.main', description: 'declination' },
  { name: 'mag', datatype: 'double', unit: 'mag', ucd: 'phot.mag', description: 'magnitude' },
  { name: 'cls', datatype: 'char', arraysize: '*', ucd: 'src.class', description: 'class' },
  { name: 'owner_group', datatype: 'char', arraysize: '*', description: 'owner group of the row' },
];

/** Rows 1..n, generated batch by batch. */
export function generatedSource(n: number): DataSource {
  let read = 0;
  return {
    path: 'generated.csv',
    format: 'csv',
    columns: FILE_COLUMNS,
    meta: {},
    totalBytes: n * 60,
    bytesRead: () => read * 60,
    async *batches() {
      for (let i = 1; i <= n; i += 5000) {
        const rows: unknown[][] = [];
        for (let k = i; k < Math.min(n + 1, i + 5000); k++) rows.push(rowOf(k));
        read += rows.length;
        yield { firstRow: i, rows };
      }
    },
    async close() {},
  };
}

export function describeTable(schema: string, name: string): TableDescription {
  return {
    schema,
    name,
    description: `Test catalogue ${name}`,
    primaryKey: ['source_id'],
    position: { ra: 'ra', dec: 'dec' },
    rights: { ownerGroupColumn: 'owner_group' },
    columns: COLUMNS,
  };
}

/** Publishes n generated rows as schema.name with the given layout (minRows 0: one plain table). */
export async function publishGenerated(
  pool: pg.Pool,
  schema: string,
  name: string,
  n: number,
  layout: LayoutSettings,
  log?: (line: string) => void,
): Promise<void> {
  await publishCatalogue(
    pool,
    {
      schemas: [{ name: schema, description: 'sharding tests' }],
      tables: [describeTable(schema, name)],
      validation: 'lax',
    },
    [generatedSource(n)],
    { store: STORE, toPublished: publishedTableOf, layout, ...(log ? { log } : {}) },
  );
}

/** A VOTable of `n` upload positions, each close to a catalogue row (a crossmatch finds most). */
export function uploadVOTable(n: number, total: number): string {
  const rows: string[] = [];
  for (let k = 1; k <= n; k++) {
    const i = 1 + ((k * 7919) % total);
    const [ra, dec] = positionOf(i);
    rows.push(`<TR><TD>${k}</TD><TD>${ra + 0.0003}</TD><TD>${dec - 0.0002}</TD></TR>`);
  }
  return (
    '<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>' +
    '<FIELD name="uid" datatype="long"/><FIELD name="ra" datatype="double" unit="deg"/><FIELD name="dec" datatype="double" unit="deg"/>' +
    `<DATA><TABLEDATA>${rows.join('')}</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>`
  );
}
