import pg from 'pg';
import { type Identity, withReadOnlyIdentity } from '../../src/auth/index.js';
import { type CatalogueSource, staticCatalogueSource } from '../../src/catalogue/index.js';
import { type PublishedColumn, type PublishedTable, publishedSchemas } from '../../src/tap/tables/index.js';
import { testDatabaseUrl } from './db.js';

/** The owner group of the proprietary catalogue (whole-table rights, no release date). */
export const OWNER_GROUP = 'survey-team';

/** When the public catalogue was published: its OAI datestamp. */
export const PUBLISHED_AT = new Date('2026-11-30T10:00:00Z');

const columns = (extra: PublishedColumn[] = []): PublishedColumn[] => [
  {
    name: 'source_id',
    datatype: 'long',
    ucd: 'meta.id;meta.main',
    description: 'source identifier',
    principal: true,
    indexed: true,
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
  ...extra,
  {
    name: 'healpix',
    datatype: 'long',
    ucd: 'pos.healpix',
    description: 'order-29 NESTED HEALPix index of (ra, dec)',
    indexed: true,
  },
];

/**
 * Two catalogues published beside the demo one, as real tables of the test database with
 * their order-29 HEALPix column: `pybdsf` (public, with registry metadata; a second column
 * claims meta.id;meta.main, as careless descriptions do) and `private_cat` (whole-table
 * rights: owner group, no release date, enforced by a row-level security policy as the
 * published-table rights are).
 */
export interface CatalogueFixture {
  readonly schema: string;
  readonly pool: pg.Pool;
  readonly public: PublishedTable;
  readonly private: PublishedTable;
  /** The demo declarations plus both catalogues; put/remove publish and withdraw. */
  readonly source: CatalogueSource & { put(t: PublishedTable): void; remove(q: string): void };
  /** Creates another physical table `<name>` of `rows` rows around (ra, dec) and describes it. */
  table(name: string, rows: number, ra: number, dec: number): Promise<PublishedTable>;
  /** (id, ra, dec) of the rows of `sqlTable` that `identity` may read. */
  rows(sqlTable: string, identity: Identity): Promise<Array<{ id: string; ra: number; dec: number }>>;
  close(): Promise<void>;
}

export async function createCatalogueFixture(): Promise<CatalogueFixture> {
  const schema = `radio_${Math.random().toString(36).slice(2, 8)}`;
  const pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 });
  const q = (sql: string) => pool.query(sql);
  await q(`CREATE SCHEMA ${schema}`);
  await q(`GRANT USAGE ON SCHEMA ${schema} TO vonode_reader`);
  // Deterministic scatter: `n` rows within about a degree of (ra, dec), wrapped into [0, 360).
  const physical = async (table: string, n: number, ra: number, dec: number, extra = '') => {
    await q(
      `CREATE TABLE ${schema}.${table} (source_id bigint PRIMARY KEY, ra double precision NOT NULL,
        dec double precision NOT NULL, flux_int double precision, s_code text${extra ? `, ${extra} text` : ''}, healpix bigint NOT NULL)`,
    );
    await q(
      `INSERT INTO ${schema}.${table} (source_id, ra, dec, flux_int, s_code${extra ? `, ${extra}` : ''}, healpix)
       SELECT i, r, d, i * 0.5, CASE WHEN i % 3 = 0 THEN 'M' ELSE 'S' END${extra ? `, 'J' || i` : ''}, sky.healpix_nest(29, r, d)
       FROM (SELECT i, (((${ra} + ((i * 7919) % 1000) / 500.0 - 1)::numeric % 360 + 360) % 360)::float8 AS r,
                    (${dec} + ((i * 104729) % 997) / 498.5 - 1)::float8 AS d
             FROM generate_series(1, ${n}) AS i) AS g`,
    );
    await q(`CREATE INDEX ON ${schema}.${table} (healpix)`);
    await q(`GRANT SELECT ON ${schema}.${table} TO vonode_reader`);
  };
  const describe = (name: string, sqlTable: string, extra: Partial<PublishedTable> = {}): PublishedTable => ({
    schema,
    name,
    sql: { schema, table: sqlTable },
    type: 'table',
    description: `Radio continuum sources of ${name}, as PyBDSF lists them`,
    columns: columns(),
    spatialIndex: { column: 'healpix', lon: 'ra', lat: 'dec' },
    primaryKey: ['source_id'],
    ...extra,
  });

  await physical('pybdsf_v1', 400, 150, 2, 'alt_name');
  const pub = describe('pybdsf', 'pybdsf_v1', {
    title: 'PyBDSF test catalogue',
    columns: columns([
      {
        name: 'alt_name',
        datatype: 'char',
        arraysize: '*',
        ucd: 'meta.id;meta.main',
        description: 'another name',
      },
    ]),
    registry: {
      title: 'PyBDSF sources of the test field',
      creators: ['A. Astronomer', 'B. Builder'],
      subjects: ['radio-continuum-surveys'],
      waveband: ['radio', 'Nonsense'],
      licence: 'CC-BY-4.0',
    },
    publishedAt: PUBLISHED_AT,
  });
  await physical('private_v1', 150, 200, -45);
  // Whole-table rights: only the owner group reads a row, and there is no release date.
  await q(`ALTER TABLE ${schema}.private_v1 ENABLE ROW LEVEL SECURITY`);
  await q(
    `CREATE POLICY owner_only ON ${schema}.private_v1 FOR SELECT TO vonode_reader
     USING ('${OWNER_GROUP}' = ANY ((SELECT auth.current_groups())::text[]))`,
  );
  const priv = describe('private_cat', 'private_v1', {
    rights: { ownerGroup: OWNER_GROUP },
    registry: { title: 'Proprietary catalogue', licence: 'CC-BY-4.0' },
    publishedAt: PUBLISHED_AT,
  });
  const source = staticCatalogueSource([
    ...publishedSchemas(),
    { name: schema, description: 'Catalogues published by the tests', tables: [pub, priv] },
  ]);
  return {
    schema,
    pool,
    public: pub,
    private: priv,
    source,
    async table(name, n, ra, dec) {
      await physical(name, n, ra, dec);
      return describe(name.replace(/_v\d+$/, ''), name, { publishedAt: new Date() });
    },
    rows: (sqlTable, identity) =>
      withReadOnlyIdentity(pool, identity, async (c) => {
        const r = await c.query<{ id: string; ra: number; dec: number }>(
          `SELECT source_id::text AS id, ra, dec FROM ${schema}.${sqlTable} ORDER BY source_id`,
        );
        return r.rows;
      }),
    async close() {
      await q(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
      await pool.end();
    },
  };
}
