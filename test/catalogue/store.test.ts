import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANONYMOUS, withIdentity } from '../../src/auth/index.js';
import {
  ensureBuiltinCatalogue,
  putPublishedTable,
  readPublishedTables,
  removePublishedTable,
} from '../../src/catalogue/index.js';
import { publishedTableOf, type TableDescription } from '../../src/publish/index.js';
import { testDatabaseUrl } from '../support/db.js';

// The stored catalogue against the real PostgreSQL: rows, TAP_SCHEMA rows written in the
// caller's transaction, and TAP_SCHEMA rows of a hidden table hidden from vonode_reader.

const SCHEMA = `live_store_${Math.random().toString(36).slice(2, 8)}`;
let pool: pg.Pool;

function desc(name: string, extra: Partial<TableDescription> = {}): TableDescription {
  return {
    schema: SCHEMA,
    name,
    description: `the ${name} table`,
    columns: [
      { name: 'id', datatype: 'long', ucd: 'meta.id;meta.main', description: 'identifier' },
      { name: 'ra', datatype: 'double', unit: 'deg', ucd: 'pos.eq.ra;meta.main', description: 'RA' },
      { name: 'dec', datatype: 'double', unit: 'deg', ucd: 'pos.eq.dec;meta.main', description: 'Dec' },
    ],
    primaryKey: ['id'],
    position: { ra: 'ra', dec: 'dec' },
    ...extra,
  };
}

async function put(client: pg.ClientBase, d: TableDescription, nrows = 10) {
  const where = { sqlSchema: SCHEMA, sqlTable: `${d.name}_v1` };
  await putPublishedTable(client, {
    table: publishedTableOf(d, where, nrows),
    ...where,
    description: d,
    nrows,
    bytes: 1000,
    version: 1,
    schema: { name: SCHEMA, description: 'tables of the store test' },
  });
}

async function tx<T>(fn: (c: pg.PoolClient) => Promise<T>, commit = true): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query(commit ? 'COMMIT' : 'ROLLBACK');
    return out;
  } catch (e) {
    await c.query('ROLLBACK');
    throw e;
  } finally {
    c.release();
  }
}

/** What a caller with these groups reads from TAP_SCHEMA about this test's schema. */
async function seen(groups: string[]) {
  return tx(async (c) => {
    await withIdentity(c, groups.length ? { sub: 'x', groups } : ANONYMOUS);
    const t = await c.query<{ table_name: string; nrows: string | null }>(
      'SELECT table_name, nrows::text FROM tap_schema.tables WHERE schema_name = $1 ORDER BY table_name',
      [SCHEMA],
    );
    const cols = await c.query('SELECT 1 FROM tap_schema.columns WHERE table_name LIKE $1', [`${SCHEMA}.%`]);
    const s = await c.query('SELECT 1 FROM tap_schema.schemas WHERE schema_name = $1', [SCHEMA]);
    return {
      tables: t.rows.map((r) => r.table_name),
      nrows: t.rows.map((r) => r.nrows),
      columns: cols.rowCount,
      schemas: s.rowCount,
    };
  }, false);
}

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 3 });
  await ensureBuiltinCatalogue(pool);
});

afterAll(async () => {
  await tx(async (c) => {
    for (const r of await readPublishedTables(c))
      if (r.schemaName === SCHEMA) await removePublishedTable(c, r.tableName);
  });
  await pool.end();
});

describe('the catalogue store', () => {
  it('round trip: a put row reads back, with its TAP_SCHEMA rows and nrows', async () => {
    await tx((c) => put(c, desc('alpha'), 42));
    const row = (await readPublishedTables(pool)).find((r) => r.tableName === `${SCHEMA}.alpha`);
    expect(row).toMatchObject({
      schemaName: SCHEMA,
      sqlSchema: SCHEMA,
      sqlTable: 'alpha_v1',
      nrows: 42,
      bytes: 1000,
      version: 1,
      builtin: false,
    });
    expect(row?.description.primaryKey).toEqual(['id']);
    expect(row?.published?.spatialIndex).toEqual({ column: 'healpix', lon: 'ra', lat: 'dec' });
    const cols = await pool.query(
      'SELECT column_name, unit, ucd, indexed FROM tap_schema.columns WHERE table_name = $1 ORDER BY column_index',
      [`${SCHEMA}.alpha`],
    );
    expect(cols.rows.map((r) => r.column_name)).toEqual(['id', 'ra', 'dec', 'healpix']);
    expect(cols.rows[1]).toMatchObject({ unit: 'deg', ucd: 'pos.eq.ra;meta.main', indexed: 0 });
    expect(cols.rows[3].indexed).toBe(1);
    expect(await seen([])).toMatchObject({ tables: [`${SCHEMA}.alpha`], nrows: ['42'], schemas: 1 });
  });

  it('a re-put replaces the rows; a rolled-back put leaves nothing', async () => {
    await tx((c) => put(c, { ...desc('alpha'), columns: desc('alpha').columns.slice(0, 3) }, 43));
    await tx((c) => put(c, desc('rolled')), false);
    const names = (await readPublishedTables(pool)).map((r) => r.tableName);
    expect(names).toContain(`${SCHEMA}.alpha`);
    expect(names).not.toContain(`${SCHEMA}.rolled`);
    expect((await seen([])).nrows).toEqual(['43']);
  });

  it('foreign keys are listed once both ends are published, whichever comes first', async () => {
    await tx((c) =>
      put(c, desc('child', { foreignKeys: [{ target: `${SCHEMA}.parent`, columns: [['id', 'id']] }] })),
    );
    const keys = () =>
      pool.query(
        'SELECT k.key_id, from_column FROM tap_schema.keys k JOIN tap_schema.key_columns USING (key_id) WHERE from_table = $1',
        [`${SCHEMA}.child`],
      );
    expect((await keys()).rowCount).toBe(0);
    await tx((c) => put(c, desc('parent')));
    expect((await keys()).rows).toEqual([{ key_id: `${SCHEMA}.child.fk1`, from_column: 'id' }]);
    await tx((c) => removePublishedTable(c, `${SCHEMA}.parent`));
    expect((await keys()).rowCount).toBe(0);
  });

  it('TAP_SCHEMA rows of a table hidden by whole-table rights are hidden from other callers', async () => {
    await tx((c) => put(c, desc('secret', { rights: { ownerGroup: 'team-s' } })));
    await tx((c) =>
      put(c, desc('released', { rights: { ownerGroup: 'team-s', releaseDate: '2001-01-01' } })),
    );
    await tx((c) => put(c, desc('perrow', { rights: { ownerGroupColumn: 'og', releaseColumn: 'rd' } })));
    const anon = await seen([]);
    expect(anon.tables).not.toContain(`${SCHEMA}.secret`);
    expect(anon.tables).toContain(`${SCHEMA}.released`);
    expect(anon.tables).toContain(`${SCHEMA}.perrow`);
    const other = await seen(['team-x']);
    expect(other.tables).not.toContain(`${SCHEMA}.secret`);
    const owner = await seen(['team-s']);
    expect(owner.tables).toContain(`${SCHEMA}.secret`);
    expect(owner.columns).toBe((anon.columns ?? 0) + 4);
  });

  it('a schema whose only table is hidden is hidden too', async () => {
    const lone = `${SCHEMA}_lone`;
    const d = { ...desc('only', { rights: { ownerGroup: 'team-s' } }), schema: lone };
    await tx((c) =>
      putPublishedTable(c, {
        table: publishedTableOf(d, { sqlSchema: lone, sqlTable: 'only' }),
        sqlSchema: lone,
        sqlTable: 'only',
        description: d,
        nrows: 1,
        bytes: 1,
        version: 1,
      }),
    );
    const count = (groups: string[]) =>
      tx(async (c) => {
        await withIdentity(c, { sub: groups.length ? 'x' : null, groups });
        return (await c.query('SELECT 1 FROM tap_schema.schemas WHERE schema_name = $1', [lone])).rowCount;
      }, false);
    expect(await count([])).toBe(0);
    expect(await count(['team-s'])).toBe(1);
    await tx((c) => removePublishedTable(c, `${lone}.only`));
    expect(
      (await pool.query('SELECT 1 FROM tap_schema.schemas WHERE schema_name = $1', [lone])).rowCount,
    ).toBe(0);
  });

  it('the built-in tables are rows, and ensureBuiltinCatalogue keeps other rows', async () => {
    await ensureBuiltinCatalogue(pool);
    const rows = await readPublishedTables(pool);
    const builtin = rows.filter((r) => r.builtin).map((r) => r.tableName);
    expect(builtin).toEqual(
      expect.arrayContaining(['ivoa.obscore', 'TAP_SCHEMA.tables', 'TAP_SCHEMA.key_columns']),
    );
    expect(rows.map((r) => r.tableName)).toContain(`${SCHEMA}.alpha`);
    const obscore = rows.find((r) => r.tableName === 'ivoa.obscore');
    expect(obscore?.published?.columns.find((c) => c.name === 's_region')?.region).toBe('polygon-array');
  });
});
