import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Identity, withIdentity } from '../../src/auth/index.js';
import { putPublishedTable, removePublishedTable } from '../../src/catalogue/index.js';
import { publishedTableOf, type TableDescription } from '../../src/publish/index.js';
import {
  mayRead,
  mayWrite,
  readUserTablePermissions,
  writeUserTablePermissions,
} from '../../src/usertables/index.js';
import { testDatabaseUrl } from '../support/db.js';

// The grants of a user table live in vonode.published_tables and the database enforces them
// (sql/130_user_tables.sql): TAP_SCHEMA rows of an unshared table are absent for others
// (VOSI-30, TAP_SCHEMA equivalent to /tables), and the permissions API changes them.

const SCHEMA = `user_perm${Math.random().toString(36).slice(2, 7)}`;
const NAME = `${SCHEMA}.stars`;
let pool: pg.Pool;

const alice: Identity = { sub: 'alice-sub', groups: ['alice-team'] };
const bob: Identity = { sub: 'bob-sub', groups: ['bob-team'] };
const anonymous: Identity = { sub: null, groups: [] };

const desc: TableDescription = {
  schema: SCHEMA,
  name: 'stars',
  description: 'a user table',
  columns: [{ name: 'id', datatype: 'long', description: 'identifier' }],
};

async function seen(identity: Identity): Promise<{ tap: number; rows: number }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await withIdentity(client, identity);
    const tap = await client.query(
      'SELECT count(*)::int AS n FROM tap_schema.columns WHERE table_name = $1',
      [NAME],
    );
    const rows = await client.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.stars`);
    return { tap: tap.rows[0].n, rows: rows.rows[0].n };
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 3 });
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`CREATE SCHEMA ${SCHEMA}`);
    await client.query(`CREATE TABLE ${SCHEMA}.stars (id bigint)`);
    await client.query(`INSERT INTO ${SCHEMA}.stars VALUES (1), (2)`);
    await client.query(`SELECT auth.protect_user_table('${SCHEMA}.stars'::regclass, $1)`, [NAME]);
    await putPublishedTable(client, {
      table: publishedTableOf(desc, { sqlSchema: SCHEMA, sqlTable: 'stars' }, 2),
      sqlSchema: SCHEMA,
      sqlTable: 'stars',
      description: desc,
      nrows: 2,
      bytes: 0,
      version: 1,
    });
    await client.query('UPDATE vonode.published_tables SET owner_subject = $2 WHERE table_name = $1', [
      NAME,
      alice.sub,
    ]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
});

afterAll(async () => {
  const client = await pool.connect();
  await client.query('BEGIN');
  await removePublishedTable(client, NAME);
  await client.query(`DROP SCHEMA ${SCHEMA} CASCADE`);
  await client.query('COMMIT');
  client.release();
  await pool.end();
});

describe('user table grants in the database', () => {
  it('shows an unshared table, its TAP_SCHEMA rows and its rows to the owner only', async () => {
    expect(await seen(alice)).toEqual({ tap: 1, rows: 2 });
    expect(await seen(bob)).toEqual({ tap: 0, rows: 0 });
    expect(await seen(anonymous)).toEqual({ tap: 0, rows: 0 });
  });

  it('reads and writes grants; a read group sees it, then public shows it to everyone', async () => {
    const before = await readUserTablePermissions(pool, NAME.toUpperCase());
    expect(before).toEqual({
      tableName: NAME,
      owner: alice.sub,
      public: false,
      readGroups: [],
      writeGroups: [],
    });
    const client = await pool.connect();
    try {
      const after = await writeUserTablePermissions(client, NAME, { readGroups: ['/bob-team/'] });
      expect(after?.readGroups).toEqual(['bob-team']);
      expect(after && mayRead(after, bob)).toBe(true);
      expect(after && mayWrite(after, bob)).toBe(false);
    } finally {
      client.release();
    }
    expect(await seen(bob)).toEqual({ tap: 1, rows: 2 });
    expect(await seen(anonymous)).toEqual({ tap: 0, rows: 0 });
    const c2 = await pool.connect();
    try {
      await writeUserTablePermissions(c2, NAME, { public: true, readGroups: [] });
    } finally {
      c2.release();
    }
    expect(await seen(anonymous)).toEqual({ tap: 1, rows: 2 });
    expect(await readUserTablePermissions(pool, 'demo.sources')).toBeUndefined();
  });
});
