import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putPublishedTable, removePublishedTable } from '../../src/catalogue/index.js';
import { publishedTableOf, type TableDescription } from '../../src/publish/index.js';
import {
  assertMayWrite,
  grantsFromHeaders,
  parsePermissionsDocument,
  permissionHeaders,
  readUserTablePermissions,
  UserTableError,
  userTableAccess,
} from '../../src/usertables/index.js';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { testDatabaseUrl } from '../support/db.js';
import { startTestNode } from '../support/node.js';

// The youcat permissions protocol (issue 16, item 2) on a whole node with real tokens of a
// real issuer: GET/POST /tap/permissions/{table} in cadc-tap's text form, the x-vosi-*
// headers, and the database deciding who may see, write or re-grant a user table. What a
// grant changes is checked where clients meet it: TAP_SCHEMA and the table's rows through
// /tap/sync (VOSI-30: TAP_SCHEMA tells no more than /tables).

const AUDIENCE = 'vonode-test';
const SUFFIX = Math.random().toString(36).slice(2, 7);
const SCHEMA = `user_grants${SUFFIX}`;
// Subjects of their own: other test files count the tables an 'alice' owns (quotas).
const ALICE = `alice-${SUFFIX}`;
const NAME = `${SCHEMA}.stars`;
const issuer = new TestIssuer();
let node: Awaited<ReturnType<typeof startTestNode>>;
let pool: pg.Pool;
const tokens: Record<'alice' | 'bob' | 'carol', string> = { alice: '', bob: '', carol: '' };
const identities = {
  alice: { sub: ALICE, groups: ['team-a'] },
  bob: { sub: `bob-${SUFFIX}`, groups: ['team-b'] },
  carol: { sub: `carol-${SUFFIX}`, groups: ['team-c'] },
} as const;

const desc: TableDescription = {
  schema: SCHEMA,
  name: 'stars',
  description: 'a user table',
  columns: [{ name: 'id', datatype: 'long', description: 'identifier' }],
};

beforeAll(async () => {
  await issuer.start();
  issuer.keys = [await signingKey()];
  node = await startTestNode({ VONODE_OIDC_ISSUER: issuer.url, VONODE_OIDC_AUDIENCE: AUDIENCE });
  for (const who of ['alice', 'bob', 'carol'] as const)
    tokens[who] = await issuer.token(
      { ...identities[who], groups: [...identities[who].groups] },
      { aud: AUDIENCE },
    );
  pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 3 });
  // alice's table, as the create route leaves it: published, owned, under its grants.
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`CREATE SCHEMA ${SCHEMA}`);
    await client.query(`CREATE TABLE ${SCHEMA}.stars (id bigint)`);
    await client.query(`INSERT INTO ${SCHEMA}.stars VALUES (1), (2), (3)`);
    await client.query(`SELECT auth.protect_user_table('${SCHEMA}.stars'::regclass, $1)`, [NAME]);
    await putPublishedTable(client, {
      table: publishedTableOf(desc, { sqlSchema: SCHEMA, sqlTable: 'stars' }, 3),
      sqlSchema: SCHEMA,
      sqlTable: 'stars',
      description: desc,
      nrows: 3,
      bytes: 0,
      version: 1,
    });
    await client.query('UPDATE vonode.published_tables SET owner_subject = $2 WHERE table_name = $1', [
      NAME,
      ALICE,
    ]);
    await client.query(`SELECT pg_notify('vonode_catalogue', $1)`, [NAME]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}, 240_000);

afterAll(async () => {
  if (pool) {
    const client = await pool.connect();
    await client.query('BEGIN');
    await removePublishedTable(client, NAME);
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await client.query('COMMIT');
    client.release();
    await pool.end();
  }
  await node?.stop();
  await issuer.stop();
});

type Who = 'alice' | 'bob' | 'carol' | 'anonymous';
const auth = (who: Who): Record<string, string> =>
  who === 'anonymous' ? {} : { authorization: `Bearer ${tokens[who]}` };

async function getPermissions(who: Who, name = NAME): Promise<Response> {
  return fetch(`${node.url}/tap/permissions/${name}`, { headers: auth(who) });
}

async function postPermissions(who: Who, body: string, type = 'text/plain'): Promise<Response> {
  return fetch(`${node.url}/tap/permissions/${NAME}`, {
    method: 'POST',
    body,
    headers: { ...auth(who), 'content-type': type },
  });
}

/** What `who` sees through TAP: its TAP_SCHEMA rows and its rows. */
async function seen(who: Who): Promise<{ tap: number; rows: number | string }> {
  const sync = async (query: string) => {
    const res = await fetch(`${node.url}/tap/sync`, {
      method: 'POST',
      body: new URLSearchParams({ LANG: 'ADQL', RESPONSEFORMAT: 'csv', QUERY: query }),
      headers: auth(who),
    });
    return { status: res.status, text: await res.text() };
  };
  const t = await sync(`SELECT COUNT(*) AS n FROM TAP_SCHEMA.tables WHERE table_name = '${NAME}'`);
  const r = await sync(`SELECT COUNT(*) AS n FROM ${NAME}`);
  const n = (text: string) => Number(text.trim().split('\n')[1]);
  return {
    tap: n(t.text),
    rows: r.status === 200 ? n(r.text) : /no table/.test(r.text) ? 'no table' : r.text,
  };
}

describe('GET/POST /tap/permissions in the youcat text form', () => {
  it('gives the owner the document, anonymous a 401 with challenges, and others a 404', async () => {
    const res = await getPermissions('alice');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe(`owner=${ALICE}\npublic=false\nr-group=\nrw-group=\n`);
    const anon = await getPermissions('anonymous');
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toMatch(/Bearer/);
    // bob may not know the table exists: the answer of a table that does not exist
    const bob = await getPermissions('bob');
    expect(bob.status).toBe(404);
    const none = await getPermissions('bob', `${SCHEMA}.nothing`);
    expect(none.status).toBe(404);
    expect((await bob.text()).replace(NAME, '?')).toBe((await none.text()).replace(`${SCHEMA}.nothing`, '?'));
    expect(await seen('bob')).toEqual({ tap: 0, rows: 'no table' });
    expect(await seen('alice')).toEqual({ tap: 1, rows: 3 });
  });

  it("shares with a group by cadc-tap's group URI; bob then reads it, and may not re-grant", async () => {
    const res = await postPermissions('alice', 'r-group=ivo://cadc.nrc.ca/gms?team-b\n');
    expect(res.status).toBe(200);
    expect(await (await getPermissions('alice')).text()).toBe(
      `owner=${ALICE}\npublic=false\nr-group=team-b\nrw-group=\n`,
    );
    expect(await seen('bob')).toEqual({ tap: 1, rows: 3 });
    expect(await seen('carol')).toEqual({ tap: 0, rows: 'no table' });
    expect(await seen('anonymous')).toEqual({ tap: 0, rows: 'no table' });
    // bob sees the table now, so he is told that only the owner may change it
    const bobPost = await postPermissions('bob', 'public=true\n');
    expect(bobPost.status).toBe(403);
    expect(await bobPost.text()).toMatch(/only the owner/);
    expect((await getPermissions('bob')).status).toBe(403);
    expect((await readUserTablePermissions(pool, NAME))?.public).toBe(false);
  });

  it('refuses malformed documents with a message naming the problem, changing nothing', async () => {
    for (const [body, words] of [
      ['public=maybe\n', /maybe/],
      ['owner=bob\n', /owner cannot be changed/],
      ['colour=blue\n', /unknown permissions key 'colour'/],
      ['r-group\n', /key=value/],
      ['r-group=http://example.org/g?x\n', /group URI/],
      ['', /no permission to change/],
    ] as const) {
      const res = await postPermissions('alice', body);
      expect(res.status, body).toBe(400);
      expect(await res.text(), body).toMatch(words);
    }
    const wrongType = await postPermissions('alice', 'public=true', 'application/x-www-form-urlencoded');
    expect(wrongType.status).toBe(400);
    expect(await wrongType.text()).toMatch(/text\/plain/);
    expect(await (await getPermissions('alice')).text()).toBe(
      `owner=${ALICE}\npublic=false\nr-group=team-b\nrw-group=\n`,
    );
  });

  it('public=true shows it to anonymous callers; public=false hides it again', async () => {
    expect((await postPermissions('alice', 'public=true\n')).status).toBe(200);
    expect(await seen('anonymous')).toEqual({ tap: 1, rows: 3 });
    expect((await postPermissions('alice', 'public=false\nr-group=\n')).status).toBe(200);
    expect(await seen('anonymous')).toEqual({ tap: 0, rows: 'no table' });
    expect(await seen('bob')).toEqual({ tap: 0, rows: 'no table' });
  });
});

describe('the database decides who may write and who may re-grant', () => {
  async function inTransaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      return await fn(client);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  }

  it('rw-group lets a member write; a reader may not; a stranger is told nothing', async () => {
    expect((await postPermissions('alice', 'rw-group=team-c\nr-group=team-b\n')).status).toBe(200);
    const access = async (who: 'alice' | 'bob' | 'carol') =>
      inTransaction((c) => userTableAccess(c, NAME, identities[who]));
    expect(await access('alice')).toBe('owner');
    expect(await access('carol')).toBe('write');
    expect(await access('bob')).toBe('read');
    await inTransaction((c) => assertMayWrite(c, NAME, identities.carol));
    await expect(inTransaction((c) => assertMayWrite(c, NAME, identities.bob))).rejects.toMatchObject({
      status: 403,
    });
    await expect(
      inTransaction((c) => assertMayWrite(c, NAME, { sub: 'dave', groups: ['team-d'] })),
    ).rejects.toMatchObject({ status: 404 });
    // a writer (carol) still may not change the grants
    expect((await postPermissions('carol', 'public=true\n')).status).toBe(403);
  });

  it('refuses a change of grants made in a transaction of anyone but the owner', async () => {
    const asCaller = (who: 'alice' | 'bob' | 'carol') =>
      inTransaction(async (c) => {
        await c.query("SELECT set_config('vonode.user', $1, true)", [identities[who].sub]);
        await c.query('UPDATE vonode.published_tables SET public_read = true WHERE table_name = $1', [NAME]);
        return 'updated';
      });
    await expect(asCaller('bob')).rejects.toMatchObject({ code: '42501' });
    await expect(asCaller('carol')).rejects.toThrow(/only the owner/);
    expect(await asCaller('alice')).toBe('updated'); // rolled back
    await expect(
      inTransaction((c) =>
        c.query('UPDATE vonode.published_tables SET owner_subject = $2 WHERE table_name = $1', [
          NAME,
          identities.bob.sub,
        ]),
      ),
    ).rejects.toThrow(/owner .* cannot be changed/);
  });
});

describe('the x-vosi-* headers of a create', () => {
  it("reads youcat's headers (and its implementation's -ro/-rw names) into grants", () => {
    expect(
      grantsFromHeaders(
        {
          'x-vosi-owner': ALICE,
          'x-vosi-auth-read': 'false',
          'x-vosi-group-read': 'ivo://cadc.nrc.ca/gms?team-b',
          'x-vosi-group-write': '/team-c/',
        },
        ALICE,
      ),
    ).toEqual({ given: true, grants: { public: true, readGroups: ['team-b'], writeGroups: ['team-c'] } });
    expect(
      grantsFromHeaders(
        { 'x-vosi-auth-read': 'true', 'x-vosi-group-ro': 'null', 'x-vosi-group-rw': 'g' },
        'a',
      ),
    ).toEqual({ given: true, grants: { public: false, readGroups: [], writeGroups: ['g'] } });
    expect(grantsFromHeaders({ accept: '*/*' }, 'alice')).toEqual({ given: false, grants: {} });
  });

  it('refuses another owner (403) and values that are not grants (400)', () => {
    const status = (h: Record<string, string>) => {
      try {
        grantsFromHeaders(h, 'alice');
        return 0;
      } catch (err) {
        expect(err).toBeInstanceOf(UserTableError);
        return (err as UserTableError).status;
      }
    };
    expect(status({ 'x-vosi-owner': 'bob' })).toBe(403);
    expect(status({ 'x-vosi-owner': 'openid alice' })).toBe(0);
    expect(status({ 'x-vosi-auth-read': 'perhaps' })).toBe(400);
    expect(status({ 'x-vosi-group-read': 'ftp://x?y' })).toBe(400);
    expect(status({ 'x-vosi-group-write': 'two words' })).toBe(400);
  });

  it('writes the response headers youcat sets on /tables/{name}, and parses what it reads back', () => {
    const p = { tableName: NAME, owner: 'alice', public: false, readGroups: ['team-b'], writeGroups: [] };
    expect(permissionHeaders(p)).toEqual({
      'x-vosi-owner': 'alice',
      'x-vosi-auth-read': 'true',
      'x-vosi-group-read': 'team-b',
    });
    expect(parsePermissionsDocument('OWNER=\r\nPublic=TRUE\r\n\r\nrw-group=\n')).toEqual({
      public: true,
      writeGroups: [],
    });
  });
});
