import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withIdentity } from '../../src/auth/index.js';
import {
  ensureBuiltinCatalogue,
  type LiveCatalogue,
  notifyCatalogueChanged,
  putPublishedTable,
  removePublishedTable,
  startLiveCatalogue,
} from '../../src/catalogue/index.js';
import { publishedTableOf, type TableDescription } from '../../src/publish/index.js';
import { testDatabaseUrl } from '../support/db.js';

// Two catalogues on two pools stand for two node processes on one database: what one
// publishes, the other serves without a restart, told by NOTIFY.

const SCHEMA = `live_cat_${Math.random().toString(36).slice(2, 8)}`;
let poolA: pg.Pool;
let poolB: pg.Pool;
let a: LiveCatalogue;
let b: LiveCatalogue;

const desc = (name: string, extra: Partial<TableDescription> = {}): TableDescription => ({
  schema: SCHEMA,
  name,
  description: `the ${name} table`,
  columns: [
    { name: 'id', datatype: 'long', description: 'identifier' },
    { name: 'ra', datatype: 'double', unit: 'deg', description: 'RA' },
    { name: 'dec', datatype: 'double', unit: 'deg', description: 'Dec' },
  ],
  position: { ra: 'ra', dec: 'dec' },
  ...extra,
});

async function tx(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<void>) {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await fn(c);
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK');
    throw e;
  } finally {
    c.release();
  }
}

async function publish(pool: pg.Pool, d: TableDescription) {
  await tx(pool, async (c) => {
    const where = { sqlSchema: SCHEMA, sqlTable: d.name };
    await putPublishedTable(c, {
      table: publishedTableOf(d, where, 5),
      ...where,
      description: d,
      nrows: 5,
      bytes: 100,
      version: 1,
    });
    await notifyCatalogueChanged(c, `${SCHEMA}.${d.name}`);
  });
}

/** Resolves when `cat` has heard of `name`. */
function heard(cat: LiveCatalogue, name: string): Promise<void> {
  return new Promise((resolve) => {
    const off = cat.onChange((n) => {
      if (n === name) {
        off();
        resolve();
      }
    });
  });
}

beforeAll(async () => {
  poolA = new pg.Pool({ connectionString: testDatabaseUrl(), max: 3 });
  poolB = new pg.Pool({ connectionString: testDatabaseUrl(), max: 3 });
  await ensureBuiltinCatalogue(poolA);
  a = await startLiveCatalogue(poolA, { defaultSchema: SCHEMA });
  b = await startLiveCatalogue(poolB);
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await tx(poolA, async (c) => {
    for (const t of ['one', 'hand', 'handsecret', 'secret', 'later'])
      await removePublishedTable(c, `${SCHEMA}.${t}`);
  });
  await poolA?.end();
  await poolB?.end();
});

describe('the live catalogue', () => {
  it('starts with the built-in schemas as rows', () => {
    const v = b.view(null);
    expect(v.table('ivoa.obscore')?.columns.length).toBeGreaterThan(20);
    expect(v.table('tap_schema.columns')).toBeDefined();
    expect(v.adql.defaultSchema).toBeUndefined();
    expect(a.view(null).adql.defaultSchema).toBe(SCHEMA);
  });

  it('a publish by one process is seen by another without restart', async () => {
    const name = `${SCHEMA}.one`;
    const seen = heard(b, name);
    const before = b.version;
    await publish(poolA, desc('one', { primaryKey: ['id'] }));
    await seen;
    expect(b.version).toBeGreaterThan(before);
    const t = b.view(null).table(name);
    expect(t?.nrows).toBe(5);
    expect(t?.publishedAt).toBeInstanceOf(Date);
    expect(
      b
        .view(null)
        .positional()
        .map((x) => `${x.schema}.${x.name}`),
    ).toContain(name);
    const adql = [...b.view(null).adql.tables()].find((x) => x.schema === SCHEMA && x.name === 'one');
    expect(adql).toMatchObject({ sql: { schema: SCHEMA, table: 'one' }, primaryKey: ['id'] });
    expect(adql?.spatialIndex).toEqual({ column: 'healpix', lon: 'ra', lat: 'dec' });
  });

  it('a row written by hand into vonode.published_tables, then NOTIFY, appears in TAP_SCHEMA and the catalogue', async () => {
    const name = `${SCHEMA}.hand`;
    const seen = heard(a, name);
    await poolB.query(
      `INSERT INTO vonode.published_tables (table_name, schema_name, sql_schema, sql_table, description, nrows)
       VALUES ($1, $2, $2, 'hand_table', $3, 7)`,
      [name, SCHEMA, JSON.stringify(desc('hand'))],
    );
    await poolB.query('SELECT pg_notify($1, $2)', ['vonode_catalogue', name]);
    await seen;
    expect(a.view(null).table(name)?.sql).toEqual({ schema: SCHEMA, table: 'hand_table' });
    const cols = await poolA.query(
      'SELECT column_name FROM tap_schema.columns WHERE table_name = $1 ORDER BY column_index',
      [name],
    );
    expect(cols.rows.map((r) => r.column_name)).toEqual(['id', 'ra', 'dec', 'healpix']);
    const t = await poolA.query('SELECT nrows FROM tap_schema.tables WHERE table_name = $1', [name]);
    expect(t.rows).toEqual([{ nrows: '7' }]);
  });

  it('a row written by hand with whole-table rights is hidden in TAP_SCHEMA and in the views alike', async () => {
    const name = `${SCHEMA}.handsecret`;
    const seen = heard(a, name);
    await poolB.query(
      `INSERT INTO vonode.published_tables (table_name, schema_name, sql_schema, sql_table, description)
       VALUES ($1, $2, $2, 'handsecret', $3)`,
      [name, SCHEMA, JSON.stringify(desc('handsecret', { rights: { ownerGroup: 'team-h' } }))],
    );
    await poolB.query('SELECT pg_notify($1, $2)', ['vonode_catalogue', name]);
    await seen;
    expect(a.view(null).table(name)).toBeUndefined();
    expect(a.view({ groups: ['team-h'] }).table(name)).toBeDefined();
    const count = async (groups: string[]) => {
      const c = await poolA.connect();
      try {
        await c.query('BEGIN');
        await withIdentity(c, { sub: 'x', groups });
        return (await c.query('SELECT 1 FROM tap_schema.columns WHERE table_name = $1', [name])).rowCount;
      } finally {
        await c.query('ROLLBACK');
        c.release();
      }
    };
    expect(await count([])).toBe(0);
    expect(await count(['team-h'])).toBe(4);
  });

  it('a table hidden by whole-table rights is absent from the views of other callers', async () => {
    const name = `${SCHEMA}.secret`;
    const seen = heard(a, name);
    await publish(poolB, desc('secret', { rights: { ownerGroup: '/team-s' } }));
    await seen;
    for (const who of [null, { groups: [] }, { groups: ['team-x'] }]) {
      const v = a.view(who);
      expect(v.table(name)).toBeUndefined();
      expect([...v.adql.tables()].some((t) => t.name === 'secret')).toBe(false);
      expect(v.positional().some((t) => t.name === 'secret')).toBe(false);
      expect(v.schemas.flatMap((s) => s.tables).some((t) => t.name === 'secret')).toBe(false);
    }
    const owner = a.view({ groups: ['team-s'] });
    expect(owner.table(name)).toBeDefined();
    expect([...owner.adql.tables()].some((t) => t.name === 'secret')).toBe(true);
    // Views are shared by callers who see the same tables.
    expect(a.view(null)).toBe(a.view({ groups: ['team-x'] }));
  });

  it('a removal is heard too', async () => {
    const name = `${SCHEMA}.one`;
    const seen = heard(b, name);
    await tx(poolA, async (c) => {
      await removePublishedTable(c, name);
      await notifyCatalogueChanged(c, name);
    });
    await seen;
    expect(b.view(null).table(name)).toBeUndefined();
  });

  it('after its connection is killed, the catalogue reconnects and reloads everything', async () => {
    const reloaded = heard(b, '*');
    await poolA.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'vonode-catalogue' AND query LIKE 'LISTEN%'",
    );
    // Published while nobody listened: found by the reload after reconnecting.
    await tx(poolA, async (c) => {
      const d = desc('later');
      const where = { sqlSchema: SCHEMA, sqlTable: 'later' };
      await putPublishedTable(c, {
        table: publishedTableOf(d, where),
        ...where,
        description: d,
        nrows: 1,
        bytes: 1,
        version: 1,
      });
    });
    await reloaded;
    // The new connection listens again.
    const seen = heard(b, `${SCHEMA}.one`);
    await publish(poolA, desc('one'));
    await seen;
    expect(b.view(null).table(`${SCHEMA}.later`)).toBeDefined();
    expect(b.view(null).table(`${SCHEMA}.one`)).toBeDefined();
  });
});
