import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEALPIX_INDEX_ORDER, nestedIndex } from '../../sky/index.js';
import { ANONYMOUS, type Identity, normaliseGroups, withReadOnlyIdentity } from '../../src/auth/index.js';
import { assignDataFiles } from '../../src/cli/publish.js';
import {
  type CatalogueDescription,
  cleanupPublishing,
  publishCatalogue,
  type SourceColumn,
  type TableDescription,
  unpublishTable,
} from '../../src/publish/index.js';
import { testDatabaseUrl } from '../support/db.js';
import { memorySource, recordingStore } from './load-support.js';

const SCHEMA = process.env.KEEP_SCHEMA ?? `pub_${Math.random().toString(36).slice(2, 8)}`;
const member = (...groups: string[]): Identity => ({
  sub: groups.join('+') || 'x',
  groups: normaliseGroups(groups),
});

const FILE_COLUMNS: SourceColumn[] = [
  { name: 'ID', datatype: 'long' },
  { name: 'RA_deg', datatype: 'double' },
  { name: 'Dec_deg', datatype: 'double' },
  { name: 'flux', datatype: 'float' },
  { name: 'label', datatype: 'char', arraysize: '*' },
];

function rows(n: number, offset = 0): unknown[][] {
  return Array.from({ length: n }, (_, i) => [
    BigInt(i + 1 + offset),
    (i * 37.1) % 360,
    -80 + ((i * 13.7) % 160),
    i / 10,
    i % 7 === 0 ? null : `s\t${i}`,
  ]);
}

function table(name: string, extra: Partial<TableDescription> = {}): TableDescription {
  return {
    schema: SCHEMA,
    name,
    description: 'a test catalogue',
    primaryKey: ['id'],
    position: { ra: 'ra', dec: 'dec' },
    columns: [
      { name: 'id', source: 'ID', datatype: 'long', nullable: false, description: 'id' },
      { name: 'ra', source: 'RA_deg', datatype: 'double', unit: 'deg', description: 'ra' },
      { name: 'dec', source: 'dec_deg', datatype: 'double', unit: 'deg', description: 'dec' },
      { name: 'flux', datatype: 'float', indexed: true, description: 'flux' },
      { name: 'label', datatype: 'char', arraysize: '*', description: 'label' },
    ],
    ...extra,
  };
}

const catalogue = (...tables: TableDescription[]): CatalogueDescription => ({
  schemas: [{ name: SCHEMA, description: 'tables of the loader tests' }],
  tables,
});

describe('publishCatalogue on the real PostgreSQL', () => {
  let pool: pg.Pool;
  let store: ReturnType<typeof recordingStore>;
  const opts = () => ({ store, validation: 'lax' as const });

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 6 });
    store = recordingStore();
  });
  afterAll(async () => {
    await pool.query(`DELETE FROM vonode.published_tables WHERE schema_name = $1`, [SCHEMA]);
    if (!process.env.KEEP_SCHEMA) await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await pool.end();
  });

  const read = (identity: Identity, sql: string) =>
    withReadOnlyIdentity(pool, identity, async (c) => (await c.query(sql)).rows);

  it('loads a table in HEALPix order with its key, indexes and row count', async () => {
    const lines: string[] = [];
    const phases = new Set<string>();
    const report = await publishCatalogue(
      pool,
      catalogue(table('cat')),
      [memorySource(FILE_COLUMNS, rows(2500))],
      {
        ...opts(),
        log: (l) => lines.push(l),
        onProgress: (p) => phases.add(p.phase),
      },
    );
    expect(report.tables).toMatchObject([
      { tableName: `${SCHEMA}.cat`, sqlTable: 'cat_v1', version: 1, nrows: 2500 },
    ]);
    expect([...phases]).toEqual(['read', 'sort', 'index', 'analyze', 'swap']);
    expect(lines.some((l) => /read 2500 rows/.test(l))).toBe(true);
    const got = await read(
      ANONYMOUS,
      `SELECT id, ra, dec, flux, label, healpix FROM ${SCHEMA}.cat_v1 ORDER BY ctid`,
    );
    expect(got).toHaveLength(2500);
    // Stored in HEALPix order: a later, shorter row may fill a gap left on an earlier
    // page, so the order is measured as the planner sees it (correlation), not row by row.
    const stats = await pool.query(
      "SELECT correlation FROM pg_stats WHERE schemaname = $1 AND tablename = 'cat_v1' AND attname = 'healpix'",
      [SCHEMA],
    );
    expect(stats.rows[0].correlation).toBeGreaterThan(0.99);
    const one = got.find((r) => BigInt(r.id) === 9n);
    expect(one).toMatchObject({ label: 's\t8', flux: 0.8 });
    expect(BigInt(one?.healpix)).toBe(nestedIndex(HEALPIX_INDEX_ORDER, one?.ra, one?.dec));
    expect(got.find((r) => BigInt(r.id) === 1n)?.label).toBeNull();
    const idx = await pool.query(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'cat_v1' ORDER BY indexname`,
      [SCHEMA],
    );
    const defs = idx.rows.map((r) => r.indexdef).join('\n');
    expect(defs).toMatch(/UNIQUE INDEX .* \(id\)/);
    expect(defs).toMatch(/\(healpix\)/);
    expect(defs).toMatch(/\(flux\)/);
    const row = await pool.query(
      'SELECT nrows, version, sql_table FROM vonode.published_tables WHERE table_name = $1',
      [`${SCHEMA}.cat`],
    );
    expect({ ...row.rows[0], nrows: Number(row.rows[0].nrows) }).toMatchObject({
      nrows: 2500,
      version: 1,
      sql_table: 'cat_v1',
    });
    expect(store.notified).toContain(`${SCHEMA}.cat`);
    const staged = await pool.query(
      "SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'vonode_staging' AND tablename LIKE '%_v1'",
    );
    expect(staged.rows[0].n).toBe(0);
  });

  it('sorts through temporary runs when the rows exceed the sort memory: every row, in HEALPix order, no position last', async () => {
    const lines: string[] = [];
    const data = rows(6000).map((r, i) => (i % 1000 === 3 ? [r[0], null, r[2], r[3], r[4]] : r));
    const report = await publishCatalogue(
      pool,
      catalogue(table('runs')),
      [memorySource(FILE_COLUMNS, data)],
      { ...opts(), sortMemoryBytes: 64 * 1024, log: (l) => lines.push(l) },
    );
    expect(report.tables[0].nrows).toBe(6000);
    expect(lines.some((l) => /HEALPix order .*\(\d+ rows through temporary files\)/.test(l))).toBe(true);
    // COPY appends to the new table, so its physical order is the order the rows were sent in.
    const got = await read(ANONYMOUS, `SELECT id, ra, dec, healpix FROM ${SCHEMA}.runs_v1 ORDER BY ctid`);
    expect(got).toHaveLength(6000);
    expect(new Set(got.map((r) => String(r.id))).size).toBe(6000);
    const keys = got.map((r) => (r.healpix === null ? null : BigInt(r.healpix)));
    expect(keys.slice(-6)).toEqual([null, null, null, null, null, null]);
    const placed = keys.slice(0, -6) as bigint[];
    for (let i = 1; i < placed.length; i++) expect(placed[i - 1] <= placed[i]).toBe(true);
    for (const r of got.slice(0, 50))
      expect(BigInt(r.healpix)).toBe(nestedIndex(HEALPIX_INDEX_ORDER, r.ra, r.dec));
  });

  it('re-publishing swaps in a new version and drops the old one', async () => {
    const report = await publishCatalogue(
      pool,
      catalogue(table('cat')),
      [memorySource(FILE_COLUMNS, rows(100, 10_000))],
      opts(),
    );
    expect(report.tables[0]).toMatchObject({ version: 2, sqlTable: 'cat_v2', replaced: 1, nrows: 100 });
    const got = await read(ANONYMOUS, `SELECT min(id)::int AS lo, count(*)::int AS n FROM ${SCHEMA}.cat_v2`);
    expect(got[0]).toEqual({ lo: 10_001, n: 100 });
    const old = await pool.query(`SELECT to_regclass($1) AS r`, [`${SCHEMA}.cat_v1`]);
    expect(old.rows[0].r).toBeNull();
  });

  it('keeps a whole table with an owner group and no release date from everyone else', async () => {
    await publishCatalogue(
      pool,
      catalogue(
        table('secret', { rights: { ownerGroup: 'team-a' } }),
        table('later', { rights: { ownerGroup: 'team-a', releaseDate: '2999-01-01' } }),
        table('released', { rights: { ownerGroup: 'team-a', releaseDate: '2001-01-01' } }),
      ),
      [
        memorySource(FILE_COLUMNS, rows(10)),
        memorySource(FILE_COLUMNS, rows(10)),
        memorySource(FILE_COLUMNS, rows(10)),
      ],
      opts(),
    );
    const count = async (who: Identity, t: string) =>
      (await read(who, `SELECT count(*)::int AS n FROM ${SCHEMA}.${t}_v1`))[0].n;
    expect(await count(ANONYMOUS, 'secret')).toBe(0);
    expect(await count(member('team-b'), 'secret')).toBe(0);
    expect(await count(member('team-a'), 'secret')).toBe(10);
    expect(await count(member('/team-a'), 'secret')).toBe(10);
    expect(await count(ANONYMOUS, 'later')).toBe(0);
    expect(await count(member('team-a'), 'later')).toBe(10);
    expect(await count(ANONYMOUS, 'released')).toBe(10);
  });

  it('applies per-row rights where a missing release date means never public', async () => {
    const cols: SourceColumn[] = [
      { name: 'id', datatype: 'long' },
      { name: 'grp', datatype: 'char', arraysize: '*' },
      { name: 'rel', datatype: 'char', arraysize: '*' },
    ];
    const desc: TableDescription = {
      schema: SCHEMA,
      name: 'perrow',
      description: 'rows with rights',
      primaryKey: ['id'],
      rights: { ownerGroupColumn: 'grp', releaseColumn: 'rel' },
      columns: [
        { name: 'id', datatype: 'long', description: 'id' },
        { name: 'grp', datatype: 'char', arraysize: '*', description: 'owner' },
        { name: 'rel', datatype: 'char', arraysize: '*', xtype: 'timestamp', description: 'release' },
      ],
    };
    await publishCatalogue(
      pool,
      catalogue(desc),
      [
        memorySource(cols, [
          [1n, null, null],
          [2n, 'team-a', null],
          [3n, 'team-a', '2001-01-01T00:00:00Z'],
          [4n, 'team-a', '2999-01-01T00:00:00Z'],
          [5n, 'team-b', null],
        ]),
      ],
      opts(),
    );
    const ids = async (who: Identity) =>
      (await read(who, `SELECT id FROM ${SCHEMA}.perrow_v1 ORDER BY id`)).map((r) => Number(r.id));
    expect(await ids(ANONYMOUS)).toEqual([1, 3]);
    expect(await ids(member('team-a'))).toEqual([1, 2, 3, 4]);
    expect(await ids(member('team-b'))).toEqual([1, 3, 5]);
  });

  it('unpublishes: the catalogue row and the table go', async () => {
    await unpublishTable(pool, `${SCHEMA}.released`, { store });
    const row = await pool.query('SELECT 1 FROM vonode.published_tables WHERE table_name = $1', [
      `${SCHEMA}.released`,
    ]);
    expect(row.rowCount).toBe(0);
    const t = await pool.query('SELECT to_regclass($1) AS r', [`${SCHEMA}.released_v1`]);
    expect(t.rows[0].r).toBeNull();
    await expect(unpublishTable(pool, `${SCHEMA}.released`, { store })).rejects.toThrow(/no published table/);
  });

  it('cleans up tables left by a load that died and versions no longer referenced', async () => {
    await pool.query(`CREATE TABLE vonode_staging.load_dead_v9 (x int)`);
    await pool.query(`COMMENT ON TABLE vonode_staging.load_dead_v9 IS 'vonode staging of ${SCHEMA}.dead'`);
    await pool.query(`CREATE TABLE ${SCHEMA}.cat_v1 (x int)`);
    await pool.query(`COMMENT ON TABLE ${SCHEMA}.cat_v1 IS 'vonode published version of ${SCHEMA}.cat'`);
    const removed = await cleanupPublishing(pool);
    expect(removed).toEqual(
      expect.arrayContaining(['"vonode_staging"."load_dead_v9"', `"${SCHEMA}"."cat_v1"`]),
    );
    const served = await pool.query('SELECT to_regclass($1) AS r', [`${SCHEMA}.cat_v2`]);
    expect(served.rows[0].r).not.toBeNull();
  });
});

describe('which data file feeds which table (vonode publish)', () => {
  const t = (name: string): TableDescription => ({ schema: 'dp02', name, description: name, columns: [] });
  const tables = [t('Object'), t('Source'), t('Visit')];

  it('maps by name when every file is named after a table; the others get no rows', () => {
    expect(assignDataFiles(tables, ['/d/Visit.vot', '/d/object.csv.gz'], new Map())).toEqual([
      '/d/object.csv.gz',
      null,
      '/d/Visit.vot',
    ]);
  });

  it('maps in order otherwise, and says so when the counts differ', () => {
    expect(assignDataFiles(tables, ['a.csv', 'b.csv', 'c.csv'], new Map())).toEqual([
      'a.csv',
      'b.csv',
      'c.csv',
    ]);
    expect(() => assignDataFiles(tables, ['a.csv'], new Map())).toThrow(/1 data file\(s\) for 3 table\(s\)/);
    expect(() => assignDataFiles(tables, [], new Map())).toThrow(/no data files/);
  });

  it('takes --table TABLE=FILE first', () => {
    expect(assignDataFiles(tables, ['x.csv', 'y.csv'], new Map([['dp02.source', 's.fits']]))).toEqual([
      'x.csv',
      's.fits',
      'y.csv',
    ]);
    expect(() => assignDataFiles(tables, [], new Map([['nope', 'n.csv']]))).toThrow(/no such table/);
  });
});
