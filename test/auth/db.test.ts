import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ANONYMOUS,
  type Identity,
  normaliseGroups,
  withIdentity,
  withMaintenance,
  withReadOnlyIdentity,
} from '../../src/auth/index.js';
import { testDatabaseUrl, testPool } from '../support/db.js';

type Pool = Awaited<ReturnType<typeof testPool>>;

const member = (...groups: string[]): Identity => ({
  sub: groups.join('+') || 'nobody',
  groups: normaliseGroups(groups),
});
const TEAM_A = member('team-a');
const TEAM_B = member('team-b');

/**
 * A catalogue with every kind of row: public (no owner), owner but no release date (never
 * public: no date means never, OBS-82, as published catalogues have it), released (date in
 * the past), and proprietary (date in the future) for team-a and for a group recorded with
 * a leading '/'.
 */
const ROWS = `
  INSERT INTO docs (id, owner_group, release_date, secret) VALUES
    (1, NULL,          NULL,                         'public-1'),
    (2, NULL,          now() + interval '1 year',    'public-2'),
    (3, 'team-a',      NULL,                         'team-a-3'),
    (4, 'team-a',      now() - interval '1 day',     'released-4'),
    (5, 'team-a',      now() + interval '1 year',    'team-a-5'),
    (6, 'team-a',      now() + interval '2 years',   'team-a-6'),
    (7, '/ska/team-c', now() + interval '1 year',    'team-c-7')`;
const PUBLIC_IDS = [1, 2, 4];
/** What team-a reads: the public rows, its never-public row 3 and its proprietary 5 and 6. */
const TEAM_A_IDS = [1, 2, 3, 4, 5, 6];

describe('row-level security keyed on the identity (sql/050_auth.sql)', () => {
  let pool: Pool;

  beforeAll(async () => {
    pool = await testPool();
    await pool.query(
      'CREATE TABLE docs (id int PRIMARY KEY, owner_group text, release_date timestamptz, secret text)',
    );
    await pool.query(ROWS);
    await pool.query('CREATE TABLE notes (doc_id int, note text)');
    await pool.query("INSERT INTO notes SELECT id, 'note ' || id FROM docs");
    await pool.query("SELECT auth.protect_table('docs', 'owner_group', 'release_date')");
    await pool.query("SELECT auth.grant_read('notes')");
  });
  afterAll(() => pool.close());

  const ids = (identity: Identity, sql = 'SELECT id FROM docs ORDER BY id') =>
    withReadOnlyIdentity(pool, identity, async (c) =>
      (await c.query<{ id: number }>(sql)).rows.map((r) => r.id),
    );
  const scalar = async (identity: Identity, sql: string) =>
    withReadOnlyIdentity(pool, identity, async (c) => Object.values((await c.query(sql)).rows[0])[0]);

  it('shows anonymous callers only public and released rows', async () => {
    expect(await ids(ANONYMOUS)).toEqual(PUBLIC_IDS);
  });

  it('shows a group its own proprietary rows, and no one else’s', async () => {
    expect(await ids(TEAM_A)).toEqual(TEAM_A_IDS);
    expect(await ids(TEAM_B)).toEqual(PUBLIC_IDS);
    expect(await ids(member('team-a', 'team-b'))).toEqual(TEAM_A_IDS);
  });

  it('matches a group recorded with a leading slash in both token spellings', async () => {
    expect(await ids(member('/ska/team-c'))).toEqual([...PUBLIC_IDS, 7]);
    expect(await ids(member('ska/team-c'))).toEqual([...PUBLIC_IDS, 7]);
    expect(await ids(member('ska:team-c'))).toEqual([...PUBLIC_IDS, 7]);
    // The leaf alone is another group.
    expect(await ids(member('team-c'))).toEqual(PUBLIC_IDS);
  });

  it('does not leak through aggregates, joins, subqueries or EXISTS', async () => {
    expect(await scalar(ANONYMOUS, 'SELECT count(*)::int FROM docs')).toBe(3);
    expect(await scalar(TEAM_A, 'SELECT count(*)::int FROM docs')).toBe(6);
    expect(await scalar(ANONYMOUS, 'SELECT count(*)::int FROM docs WHERE release_date > now()')).toBe(1);
    expect(await scalar(ANONYMOUS, 'SELECT max(id) FROM docs')).toBe(4);
    expect(await scalar(ANONYMOUS, 'SELECT count(*)::int FROM notes n JOIN docs d ON d.id = n.doc_id')).toBe(
      3,
    );
    expect(
      await scalar(
        ANONYMOUS,
        'SELECT count(*)::int FROM notes n LEFT JOIN docs d ON d.id = n.doc_id WHERE d.id IS NULL',
      ),
    ).toBe(4);
    expect(await scalar(ANONYMOUS, 'SELECT (SELECT secret FROM docs WHERE id = 5)')).toBeNull();
    expect(await scalar(ANONYMOUS, 'SELECT EXISTS (SELECT 1 FROM docs WHERE id = 6)')).toBe(false);
    expect(await scalar(ANONYMOUS, 'SELECT EXISTS (SELECT 1 FROM docs WHERE id = 3)')).toBe(false);
    expect(
      await scalar(ANONYMOUS, 'SELECT count(*)::int FROM notes WHERE doc_id IN (SELECT id FROM docs)'),
    ).toBe(3);
    expect(await scalar(ANONYMOUS, "SELECT string_agg(secret, ',' ORDER BY id) FROM docs")).toBe(
      'public-1,public-2,released-4',
    );
  });

  it('evaluates the policy before a leaky user function sees the row', async () => {
    // A function that reports every value it is given: RLS must filter before it runs,
    // however cheap the planner thinks it is.
    await pool.query(`CREATE FUNCTION peek(t text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
      $$ BEGIN RAISE NOTICE 'saw %', t; RETURN true; END $$`);
    await pool.query(`GRANT EXECUTE ON FUNCTION peek(text) TO vonode_reader`);
    const seen: string[] = [];
    const client = await pool.connect();
    const onNotice = (n: { message?: string }) => seen.push(n.message ?? '');
    client.on('notice', onNotice);
    try {
      await client.query('BEGIN READ ONLY');
      await withIdentity(client, ANONYMOUS);
      await client.query('SELECT id FROM docs WHERE peek(secret)');
      await client.query('ROLLBACK');
    } finally {
      client.off('notice', onNotice);
      client.release();
    }
    expect(seen.sort()).toEqual(['saw public-1', 'saw public-2', 'saw released-4']);
  });

  it('also filters in parallel workers (the identity reaches them)', async () => {
    const run = (identity: Identity) =>
      withReadOnlyIdentity(pool, identity, async (c) => {
        await c.query("SET LOCAL debug_parallel_query = 'on'");
        const plan = (await c.query('EXPLAIN (COSTS OFF) SELECT id FROM docs')).rows.map(
          (r) => r['QUERY PLAN'],
        );
        const rows = (await c.query<{ id: number }>('SELECT id FROM docs ORDER BY id')).rows.map((r) => r.id);
        return { plan: plan.join('\n'), rows };
      });
    const anon = await run(ANONYMOUS);
    expect(anon.plan).toMatch(/Gather/);
    // The caller's groups are read once per query, not once per row.
    expect(anon.plan).toMatch(/InitPlan/);
    expect(anon.rows).toEqual(PUBLIC_IDS);
    expect((await run(TEAM_A)).rows).toEqual(TEAM_A_IDS);
  });

  it('makes rows public when the release date passes, with no other change', async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("UPDATE docs SET release_date = now() - interval '1 second' WHERE id = 5");
      await withIdentity(client, ANONYMOUS);
      const rows = (await client.query<{ id: number }>('SELECT id FROM docs ORDER BY id')).rows.map(
        (r) => r.id,
      );
      expect(rows).toEqual([...PUBLIC_IDS, 5]);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    expect(await ids(ANONYMOUS)).toEqual(PUBLIC_IDS);
  });

  it('needs SET ROLE: the superuser service login itself is not filtered', async () => {
    // This is why withIdentity switches role: RLS never applies to superusers.
    const all = (await pool.query<{ id: number }>('SELECT id FROM docs ORDER BY id')).rows.map((r) => r.id);
    expect(all).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const role = await withReadOnlyIdentity(
      pool,
      TEAM_A,
      async (c) => (await c.query('SELECT current_user AS u')).rows[0].u,
    );
    expect(role).toBe('vonode_reader');
  });

  it('quotes the identity, whatever the group names contain', async () => {
    const odd = { sub: "o'brien\\x", groups: ['a,b', 'c"d', '{e}', 'f\\g', "h'); DROP TABLE docs; --"] };
    const got = await withReadOnlyIdentity(
      pool,
      odd,
      async (c) => (await c.query('SELECT auth.current_groups() AS g, auth.current_user_id() AS u')).rows[0],
    );
    expect(got).toEqual({ g: odd.groups, u: odd.sub });
    const anon = await withReadOnlyIdentity(
      pool,
      ANONYMOUS,
      async (c) => (await c.query('SELECT auth.current_groups() AS g, auth.current_user_id() AS u')).rows[0],
    );
    expect(anon).toEqual({ g: [], u: null });
  });

  it('runs read only and leaves a pooled connection clean', async () => {
    const single = new pg.Pool({
      connectionString: testDatabaseUrl(),
      max: 1,
      options: `-c search_path=${pool.schema}`,
    });
    try {
      await expect(
        withReadOnlyIdentity(single, TEAM_A, (c) => c.query("UPDATE docs SET secret = 'x' WHERE id = 1")),
      ).rejects.toThrow(/read-only transaction/);
      await withReadOnlyIdentity(single, TEAM_A, (c) => c.query('SELECT 1'));
      const after = await single.query(
        "SELECT current_user AS u, coalesce(current_setting('vonode.groups', true), '') AS g, current_setting('transaction_read_only') AS ro",
      );
      expect(after.rows[0]).toEqual({ u: 'vonode', g: '', ro: 'off' });
    } finally {
      await single.end();
    }
  });

  it('refuses to set an identity outside a transaction', async () => {
    const client = await pool.connect();
    try {
      await expect(withIdentity(client, TEAM_A)).rejects.toThrow(/inside a transaction/);
    } finally {
      client.release();
    }
  });

  it('answers auth.may_read for data access paths', async () => {
    const sql =
      "SELECT auth.may_read('team-a', now() + interval '1 day') AS p, auth.may_read(NULL, now() + interval '1 day') AS q";
    expect(await withReadOnlyIdentity(pool, ANONYMOUS, async (c) => (await c.query(sql)).rows[0])).toEqual({
      p: false,
      q: true,
    });
    expect(await withReadOnlyIdentity(pool, TEAM_A, async (c) => (await c.query(sql)).rows[0])).toEqual({
      p: true,
      q: true,
    });
  });
});

describe('collections with public metadata and the owner in maintenance mode', () => {
  let pool: Pool;
  const open = `open-${Math.random().toString(36).slice(2, 8)}`;
  const closed = `closed-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    pool = await testPool();
    await pool.query(
      'CREATE TABLE products (id int PRIMARY KEY, collection text, owner_group text, release_date timestamptz)',
    );
    await pool.query(
      `INSERT INTO products VALUES (1, $1, 'team-a', now() + interval '1 year'), (2, $2, 'team-a', now() + interval '1 year'), (3, $2, NULL, NULL)`,
      [open, closed],
    );
    await pool.query(
      'INSERT INTO auth.collections (collection, owner_group, metadata_public) VALUES ($1, $3, true), ($2, $3, false)',
      [open, closed, 'team-a'],
    );
    await pool.query("SELECT auth.protect_table('products', 'owner_group', 'release_date', 'collection')");
  });
  afterAll(async () => {
    await pool.query('DELETE FROM auth.collections WHERE collection IN ($1, $2)', [open, closed]);
    await pool.close();
  });

  it('lists a proprietary product of a metadata-public collection, while its data stay closed', async () => {
    const rows = await withReadOnlyIdentity(
      pool,
      ANONYMOUS,
      async (c) =>
        (
          await c.query(
            'SELECT id, auth.may_read(owner_group, release_date) AS data FROM products ORDER BY id',
          )
        ).rows,
    );
    expect(rows).toEqual([
      { id: 1, data: false },
      { id: 3, data: true },
    ]);
    const team = await withReadOnlyIdentity(
      pool,
      TEAM_A,
      async (c) =>
        (
          await c.query(
            'SELECT id, auth.may_read(owner_group, release_date) AS data FROM products ORDER BY id',
          )
        ).rows,
    );
    expect(team).toEqual([
      { id: 1, data: true },
      { id: 2, data: true },
      { id: 3, data: true },
    ]);
  });

  it('forces RLS on a non-superuser owner: nothing without maintenance mode, everything with it', async () => {
    const owner = `vonode_test_owner_${Math.random().toString(36).slice(2, 8)}`;
    await pool.query(`CREATE ROLE ${owner} NOLOGIN`);
    await pool.query(`GRANT ${owner} TO current_user`);
    await pool.query(`GRANT USAGE ON SCHEMA ${pool.schema} TO ${owner}`);
    await pool.query(`GRANT USAGE ON SCHEMA auth TO ${owner}`);
    await pool.query('CREATE TABLE owned (id int, owner_group text, release_date timestamptz)');
    await pool.query(`ALTER TABLE owned OWNER TO ${owner}`);
    await pool.query("SELECT auth.protect_table('owned', 'owner_group', 'release_date')");
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL ROLE ${owner}`);
      await expect(
        client.query("INSERT INTO owned VALUES (1, 'team-a', now() + interval '1 year')"),
      ).rejects.toThrow(/row-level security/);
      await client.query('ROLLBACK');

      await client.query('BEGIN');
      await client.query(`SET LOCAL ROLE ${owner}`);
      await withMaintenance(client);
      await client.query(
        "INSERT INTO owned VALUES (1, 'team-a', now() + interval '1 year'), (2, NULL, NULL)",
      );
      expect((await client.query('SELECT count(*)::int AS n FROM owned')).rows[0].n).toBe(2);
      await client.query('COMMIT');

      await client.query('BEGIN');
      await client.query(`SET LOCAL ROLE ${owner}`);
      // Forgot the identity: the owner reads nothing, not everything.
      expect((await client.query('SELECT count(*)::int AS n FROM owned')).rows[0].n).toBe(0);
      await client.query('ROLLBACK');
    } finally {
      await client.query('ROLLBACK').catch(() => {});
      client.release();
    }
    expect(
      await withReadOnlyIdentity(pool, ANONYMOUS, async (c) => (await c.query('SELECT id FROM owned')).rows),
    ).toEqual([{ id: 2 }]);
    await pool.query('DROP TABLE owned');
    await pool.query(`REVOKE USAGE ON SCHEMA auth FROM ${owner}`);
    await pool.query(`DROP OWNED BY ${owner}`);
    await pool.query(`DROP ROLE ${owner}`);
  });

  it('rejects a protect_table call naming a missing column', async () => {
    await expect(pool.query("SELECT auth.protect_table('products', 'nope', 'release_date')")).rejects.toThrow(
      /no text column "nope"/,
    );
  });
});
