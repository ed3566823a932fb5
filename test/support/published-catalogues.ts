import pg from 'pg';
import { type Identity, withReadOnlyIdentity } from '../../src/auth/index.js';
import {
  ensureBuiltinCatalogue,
  type LiveCatalogue,
  notifyCatalogueChanged,
  putPublishedTable,
  removePublishedTable,
  startLiveCatalogue,
} from '../../src/catalogue/index.js';
import {
  type ColumnDescription,
  publishCatalogue,
  publishedTableOf,
  type SourceColumn,
  type TableDescription,
  unpublishTable,
} from '../../src/publish/index.js';
import { memorySource } from '../publish/load-support.js';
import { testDatabaseUrl } from './db.js';

/** The owner group of the proprietary rows and of the proprietary catalogue. */
export const OWNER_GROUP = 'survey-team';

const store = { putPublishedTable, removePublishedTable, notifyCatalogueChanged };

const FILE_COLUMNS: SourceColumn[] = [
  { name: 'source_id', datatype: 'long' },
  { name: 'ra', datatype: 'double' },
  { name: 'dec', datatype: 'double' },
  { name: 'flux_int', datatype: 'double' },
  { name: 's_code', datatype: 'char', arraysize: '*' },
  { name: 'alt_name', datatype: 'char', arraysize: '*' },
  { name: 'owner_group', datatype: 'char', arraysize: '*' },
  { name: 'release_date', datatype: 'char', arraysize: '*', xtype: 'timestamp' },
];

export const CATALOGUE_COLUMNS: ColumnDescription[] = [
  {
    name: 'source_id',
    datatype: 'long',
    ucd: 'meta.id;meta.main',
    description: 'source identifier',
    principal: true,
    nullable: false,
  },
  {
    name: 'ra',
    datatype: 'double',
    unit: 'deg',
    ucd: 'pos.eq.ra;meta.main',
    description: 'right ascension (ICRS)',
    principal: true,
  },
  {
    name: 'dec',
    datatype: 'double',
    unit: 'deg',
    ucd: 'pos.eq.dec;meta.main',
    description: 'declination (ICRS)',
    principal: true,
  },
  {
    name: 'flux_int',
    datatype: 'double',
    unit: 'mJy',
    ucd: 'phot.flux.density',
    description: 'integrated flux density',
    principal: true,
  },
  {
    name: 's_code',
    datatype: 'char',
    arraysize: '*',
    ucd: 'meta.code.class',
    description: 'PyBDSF source code',
  },
  // Careless descriptions mark a second identifier as the main one.
  {
    name: 'alt_name',
    datatype: 'char',
    arraysize: '*',
    ucd: 'meta.id;meta.main',
    description: 'another name',
  },
  { name: 'owner_group', datatype: 'char', arraysize: '*', description: 'owner group of the row' },
  {
    name: 'release_date',
    datatype: 'char',
    arraysize: '*',
    xtype: 'timestamp',
    description: 'release date of the row',
  },
];

/**
 * `n` rows scattered within about a degree of (ra, dec), wrapped into [0, 360). With
 * `proprietary`, one row in five belongs to OWNER_GROUP with no release date (never
 * public) and one in five to it with a past release date (public).
 */
function rows(n: number, ra: number, dec: number, proprietary: boolean): unknown[][] {
  return Array.from({ length: n }, (_, k) => {
    const i = k + 1;
    const r = (((ra + ((i * 7919) % 1000) / 500 - 1) % 360) + 360) % 360;
    const d = dec + ((i * 104729) % 997) / 498.5 - 1;
    const owned = proprietary && i % 5 < 2;
    return [
      BigInt(i),
      r,
      d,
      i * 0.5,
      i % 3 === 0 ? 'M' : 'S',
      `J${i}`,
      owned ? OWNER_GROUP : null,
      owned && i % 5 === 1 ? '2020-01-01T00:00:00Z' : null,
    ];
  });
}

/**
 * Catalogues published into the test database the way `vonode publish` does it (the
 * loader's COPY, HEALPix column, rights policies and the catalogue store), served by a
 * live catalogue that hears each change by NOTIFY:
 * - `pybdsf`: per-row rights (proprietary rows without a release date), registry metadata;
 * - `private_cat`: whole-table rights, an owner group and no release date.
 */
export interface CatalogueFixture {
  readonly schema: string;
  readonly pool: pg.Pool;
  readonly source: LiveCatalogue;
  /** Publishes (or re-publishes) `name` with `n` rows around (ra, dec); resolves once the source has it. */
  publish(name: string, n: number, ra: number, dec: number, extra?: Partial<TableDescription>): Promise<void>;
  unpublish(name: string): Promise<void>;
  /** (id, ra, dec) of the rows of table `name` that `identity` may read, as the database filters them. */
  rows(name: string, identity: Identity): Promise<Array<{ id: string; ra: number; dec: number }>>;
  /** vonode.published_tables.published_at of `name`. */
  publishedAt(name: string): Promise<Date>;
  close(): Promise<void>;
}

export async function createCatalogueFixture(): Promise<CatalogueFixture> {
  const schema = `radio_${Math.random().toString(36).slice(2, 8)}`;
  const pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 3 });
  await ensureBuiltinCatalogue(pool);
  const source = await startLiveCatalogue(pool);
  const describe = (name: string, extra: Partial<TableDescription>): TableDescription => ({
    schema,
    name,
    title: `${name} test catalogue`,
    description: `Radio continuum sources of ${name}, as PyBDSF lists them`,
    primaryKey: ['source_id'],
    position: { ra: 'ra', dec: 'dec' },
    columns: CATALOGUE_COLUMNS,
    ...extra,
  });
  const fixture: CatalogueFixture = {
    schema,
    pool,
    source,
    async publish(name, n, ra, dec, extra = {}) {
      const desc = describe(name, extra);
      const proprietary = desc.rights?.ownerGroupColumn !== undefined;
      await publishCatalogue(
        pool,
        {
          schemas: [{ name: schema, description: 'Catalogues published by the tests' }],
          tables: [desc],
          // private_cat publishes owner_group/release_date as plain columns without UCDs.
          validation: 'lax',
        },
        [memorySource(FILE_COLUMNS, rows(n, ra, dec, proprietary))],
        {
          store,
          toPublished: publishedTableOf,
          openSource: async () => {
            throw new Error('no data files in this test');
          },
        },
      );
      // NOTIFY reaches the source asynchronously; a reload makes the test's next step see it.
      await source.reload();
    },
    async unpublish(name) {
      await unpublishTable(pool, `${schema}.${name}`, { store });
      await source.reload();
    },
    async rows(name, identity) {
      const where = await pool.query<{ sql_schema: string; sql_table: string }>(
        'SELECT sql_schema, sql_table FROM vonode.published_tables WHERE table_name = $1',
        [`${schema}.${name}`],
      );
      const { sql_schema, sql_table } = where.rows[0];
      return withReadOnlyIdentity(pool, identity, async (c) => {
        const r = await c.query<{ id: string; ra: number; dec: number }>(
          `SELECT source_id::text AS id, ra, dec FROM ${c.escapeIdentifier(sql_schema)}.${c.escapeIdentifier(sql_table)} ORDER BY source_id`,
        );
        return r.rows;
      });
    },
    async publishedAt(name) {
      const r = await pool.query<{ at: Date }>(
        'SELECT published_at AS at FROM vonode.published_tables WHERE table_name = $1',
        [`${schema}.${name}`],
      );
      return r.rows[0].at;
    },
    async close() {
      const left = await pool.query<{ table_name: string }>(
        'SELECT table_name FROM vonode.published_tables WHERE schema_name = $1',
        [schema],
      );
      for (const t of left.rows) await unpublishTable(pool, t.table_name, { store }).catch(() => {});
      await source.close();
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
      await pool.end();
    },
  };
  await fixture.publish('pybdsf', 400, 150, 2, {
    rights: { ownerGroupColumn: 'owner_group', releaseColumn: 'release_date' },
    registry: {
      title: 'PyBDSF sources of the test field',
      creators: ['A. Astronomer', 'B. Builder'],
      subjects: ['radio-continuum-surveys'],
      waveband: ['radio', 'Nonsense'],
      licence: 'CC-BY-4.0',
    },
  });
  await fixture.publish('private_cat', 150, 200, -45, {
    rights: { ownerGroup: OWNER_GROUP },
    registry: { title: 'Proprietary catalogue', licence: 'CC-BY-4.0' },
  });
  return fixture;
}
