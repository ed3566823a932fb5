import { SignJWT } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { testDatabaseUrl } from '../support/db.js';
import { startTestNode } from '../support/node.js';

// Identity and data rights end to end (issue: OIDC bearer tokens, groups and proprietary
// periods): a real issuer on loopback, real signed tokens, the node's TAP path, and
// PostgreSQL row-level security deciding what each caller sees. field-07 of the demo
// catalogue belongs to team-a and field-08 to team-b until 2031.

type TestNode = Awaited<ReturnType<typeof startTestNode>>;
let node: TestNode;
let issuer: TestIssuer;
let db: pg.Client;
let teamA: string;
let teamB: string;
let nobody: string;

beforeAll(async () => {
  issuer = await new TestIssuer().start();
  issuer.keys.push(await signingKey('RS256', 'k1'));
  node = await startTestNode({ VONODE_OIDC_ISSUER: issuer.url, VONODE_OIDC_AUDIENCE: 'vonode-test' });
  db = new pg.Client({ connectionString: testDatabaseUrl() });
  await db.connect();
  teamA = await issuer.token({ sub: 'alice', groups: ['/team-a'] }, { aud: 'vonode-test' });
  teamB = await issuer.token({ sub: 'bob', 'wlcg.groups': ['/team-b'] }, { aud: 'vonode-test' });
  nobody = await issuer.token({ sub: 'carol', groups: [] }, { aud: 'vonode-test' });
});

afterAll(async () => {
  await db?.end();
  await node?.stop();
  await issuer?.stop();
});

async function csv(
  query: string,
  token?: string,
  extra: Record<string, string> = {},
): Promise<{ status: number; body: string; rows: string[][] }> {
  const res = await fetch(`${node.url}/tap/sync`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: new URLSearchParams({ LANG: 'ADQL', QUERY: query, RESPONSEFORMAT: 'csv', ...extra }),
  });
  const body = await res.text();
  const rows =
    res.status === 200
      ? body
          .trim()
          .split(/\r?\n/)
          .slice(1)
          .map((l) => l.split(','))
      : [];
  return { status: res.status, body, rows };
}

/** The same question asked of PostgreSQL directly, over the public rows only. */
async function publicAnswer(sql: string): Promise<string[][]> {
  const r = await db.query({ text: sql, rowMode: 'array' });
  return r.rows.map((row: unknown[]) => row.map((v) => (v === null ? '' : String(v))));
}

describe('who sees what', () => {
  const perField = 'SELECT field_id, COUNT(*) AS n FROM demo.sources GROUP BY field_id ORDER BY field_id';

  it('anonymous sees only public rows', async () => {
    const r = await csv(perField);
    expect(r.status).toBe(200);
    const fields = r.rows.map((x) => x[0]);
    expect(fields).not.toContain('field-07');
    expect(fields).not.toContain('field-10');
    expect(r.rows).toEqual(
      await publicAnswer(
        'SELECT field_id, count(*) FROM demo.sources WHERE owner_group IS NULL GROUP BY field_id ORDER BY field_id',
      ),
    );
  });

  it('a member of the owning group sees its proprietary rows, and only its own', async () => {
    const a = (await csv(perField, teamA)).rows.map((x) => x[0]);
    expect(a).toContain('field-07');
    expect(a).not.toContain('field-10');
    const b = (await csv(perField, teamB)).rows.map((x) => x[0]);
    expect(b).toContain('field-10');
    expect(b).not.toContain('field-07');
    const c = (await csv(perField, nobody)).rows.map((x) => x[0]);
    expect(c).not.toContain('field-07');
    expect(c).not.toContain('field-10');
  });

  it('when the release date passes the rows become public with no other change', async () => {
    try {
      await db.query(
        "UPDATE demo.sources SET release_date = now() - interval '1 second' WHERE field_id = 'field-07'",
      );
      const fields = (await csv(perField)).rows.map((x) => x[0]);
      expect(fields).toContain('field-07');
      expect(fields).not.toContain('field-10');
    } finally {
      await db.query(
        "UPDATE demo.sources SET release_date = '2031-01-01T00:00:00Z' WHERE field_id = 'field-07'",
      );
    }
    expect((await csv(perField)).rows.map((x) => x[0])).not.toContain('field-07');
  });
});

describe('bad tokens get 401 with a challenge, never anonymous access', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: Array<[string, () => Promise<string>]> = [
    [
      'expired',
      () => issuer.token({ sub: 'x', groups: ['team-a'] }, { aud: 'vonode-test', exp: now() - 3600 }),
    ],
    [
      'not yet valid',
      () => issuer.token({ sub: 'x', groups: ['team-a'] }, { aud: 'vonode-test', nbf: now() + 3600 }),
    ],
    [
      'from another issuer',
      () =>
        issuer.token(
          { sub: 'x', groups: ['team-a'] },
          { aud: 'vonode-test', iss: 'http://127.0.0.1:1/other' },
        ),
    ],
    ['for another audience', () => issuer.token({ sub: 'x', groups: ['team-a'] }, { aud: 'someone-else' })],
    [
      'signed by an unknown key with a known kid',
      async () =>
        issuer.token(
          { sub: 'x', groups: ['team-a'] },
          { aud: 'vonode-test', key: await signingKey('RS256', 'k1') },
        ),
    ],
    [
      'with alg=none',
      async () => {
        const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
        return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub: 'x', groups: ['team-a'], iss: issuer.url, aud: 'vonode-test', exp: now() + 600 })}.`;
      },
    ],
    [
      'HS256-signed with the public key as secret',
      async () => {
        const secret = new TextEncoder().encode(JSON.stringify(issuer.keys[0].publicJwk));
        return new SignJWT({ sub: 'x', groups: ['team-a'] })
          .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
          .setIssuer(issuer.url)
          .setAudience('vonode-test')
          .setExpirationTime(now() + 600)
          .sign(secret);
      },
    ],
    ['malformed', async () => 'not.a.jwt'],
  ];
  for (const [what, make] of cases) {
    it(what, async () => {
      const res = await fetch(`${node.url}/tap/sync?LANG=ADQL&QUERY=SELECT+COUNT(*)+FROM+demo.sources`, {
        headers: { authorization: `Bearer ${await make()}` },
      });
      expect(res.status).toBe(401);
      const challenges = res.headers.get('www-authenticate') ?? '';
      expect(challenges).toMatch(/Bearer realm=/);
      expect(challenges).toMatch(/ivoa_bearer/);
      expect(await res.text()).toMatch(/QUERY_STATUS" value="ERROR"/);
    });
  }
});

describe('a leak suite: crafted ADQL run anonymously reveals no proprietary row, value or count', () => {
  const PUBLIC = 'owner_group IS NULL';
  let secret: { source_id: string; flux_int: number; ra: number; dec: number };
  beforeAll(async () => {
    const r = await db.query(
      "SELECT source_id::text, flux_int, ra, dec FROM demo.sources WHERE field_id = 'field-07' ORDER BY flux_int DESC LIMIT 1",
    );
    secret = r.rows[0];
  });

  // [ADQL run anonymously, the same question answered by PostgreSQL over public rows]
  const equalCases: Array<[string, string]> = [
    ['SELECT COUNT(*) FROM demo.sources', `SELECT count(*) FROM demo.sources WHERE ${PUBLIC}`],
    ["SELECT COUNT(*) FROM demo.sources WHERE field_id = 'field-07'", 'SELECT 0'],
    ["SELECT COALESCE(MAX(flux_int), -1) FROM demo.sources WHERE field_id = 'field-07'", 'SELECT -1'],
    ['SELECT MAX(flux_int) FROM demo.sources', `SELECT max(flux_int) FROM demo.sources WHERE ${PUBLIC}`],
    [
      'SELECT MAX(source_id), MIN(source_id) FROM demo.sources',
      `SELECT max(source_id), min(source_id) FROM demo.sources WHERE ${PUBLIC}`,
    ],
    [
      'SELECT COUNT(DISTINCT field_id) FROM demo.sources',
      `SELECT count(DISTINCT field_id) FROM demo.sources WHERE ${PUBLIC}`,
    ],
    [
      "SELECT COUNT(*) FROM demo.sources WHERE field_id LIKE 'field-0%'",
      `SELECT count(*) FROM demo.sources WHERE ${PUBLIC} AND field_id LIKE 'field-0%'`,
    ],
    ["SELECT COUNT(*) FROM demo.sources WHERE field_id ILIKE 'FIELD-07'", 'SELECT 0'],
    [
      'SELECT TOP 1 source_id FROM demo.sources ORDER BY flux_int DESC',
      `SELECT source_id FROM demo.sources WHERE ${PUBLIC} ORDER BY flux_int DESC LIMIT 1`,
    ],
    [
      'SELECT field_id, COUNT(*) FROM demo.sources GROUP BY field_id HAVING COUNT(*) > 0 ORDER BY field_id',
      `SELECT field_id, count(*) FROM demo.sources WHERE ${PUBLIC} GROUP BY field_id ORDER BY field_id`,
    ],
    [
      "SELECT COUNT(*) FROM demo.sources AS a JOIN demo.sources AS b ON a.source_id = b.source_id WHERE a.field_id = 'field-07'",
      'SELECT 0',
    ],
    [
      "SELECT COUNT(*) FROM demo.sources WHERE source_id IN (SELECT source_id FROM demo.sources WHERE field_id = 'field-07')",
      'SELECT 0',
    ],
    [
      "SELECT COUNT(*) FROM demo.sources AS s WHERE EXISTS (SELECT 1 FROM demo.sources AS t WHERE t.field_id = 'field-07' AND t.island_id = s.island_id)",
      'SELECT 0',
    ],
    [
      "SELECT COUNT(*) FROM (SELECT source_id FROM demo.sources WHERE field_id = 'field-07' UNION SELECT source_id FROM demo.sources WHERE field_id = 'field-10') AS u",
      'SELECT 0',
    ],
    [
      "SELECT COUNT(*) FROM (SELECT field_id FROM demo.sources EXCEPT SELECT field_id FROM demo.sources WHERE field_id <> 'field-07') AS e",
      'SELECT 0',
    ],
    [
      "SELECT COUNT(*) FROM (SELECT source_id FROM demo.sources INTERSECT SELECT source_id FROM demo.sources WHERE field_id = 'field-07') AS i",
      'SELECT 0',
    ],
    ["WITH p AS (SELECT * FROM demo.sources WHERE field_id = 'field-07') SELECT COUNT(*) FROM p", 'SELECT 0'],
    ['SELECT SUM(flux_int) FROM demo.sources', `SELECT sum(flux_int) FROM demo.sources WHERE ${PUBLIC}`],
    [
      'SELECT COUNT(*) FROM demo.sources AS a CROSS JOIN (SELECT TOP 1 source_id FROM demo.sources) AS b',
      `SELECT count(*) FROM demo.sources WHERE ${PUBLIC}`,
    ],
    [
      "SELECT source_id FROM demo.sources WHERE field_id = 'field-07' ORDER BY source_id OFFSET 0",
      'SELECT 1 WHERE false',
    ],
    [
      "SELECT COUNT(*) FROM demo.sources WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 10.7, -72.8, 0.6)) = 1",
      `SELECT count(*) FROM demo.sources WHERE ${PUBLIC} AND degrees(acos(least(1, sin(radians(dec))*sin(radians(-72.8)) + cos(radians(dec))*cos(radians(-72.8))*cos(radians(ra - 10.7))))) <= 0.6`,
    ],
    [
      "SELECT (SELECT COUNT(*) FROM demo.sources WHERE field_id = 'field-07') AS n FROM demo.sources WHERE source_id = 1",
      `SELECT (SELECT 0) FROM demo.sources WHERE ${PUBLIC} AND source_id = 1`,
    ],
    [
      "SELECT COUNT(*) FROM TAP_SCHEMA.tables WHERE table_name LIKE '%auth%' OR table_name LIKE '%uws%'",
      'SELECT 0',
    ],
  ];
  for (const [adql, sql] of equalCases) {
    it(adql, async () => {
      const r = await csv(adql);
      expect(r.status, r.body).toBe(200);
      expect(r.rows).toEqual(await publicAnswer(sql));
    });
  }

  it('a cone on the exact position of a proprietary source finds nothing', async () => {
    const r = await csv(
      `SELECT COUNT(*) FROM demo.sources WHERE DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', ${secret.ra}, ${secret.dec})) < 1.0/3600`,
    );
    expect(r.rows).toEqual([['0']]);
  });

  it('a proprietary value in a predicate cannot be probed with an error (division by zero)', async () => {
    const r = await csv(`SELECT COUNT(*) FROM demo.sources WHERE 1.0 / (flux_int - ${secret.flux_int}) > 0`);
    expect(r.status, r.body).toBe(200);
    expect(r.body).not.toMatch(/division/i);
  });

  it('a proprietary id cannot be probed with a cast error', async () => {
    const r = await csv(
      `SELECT COUNT(*) FROM demo.sources WHERE source_id = ${secret.source_id} AND CAST(field_id AS INTEGER) = 1`,
    );
    expect(r.status, r.body).toBe(200);
    expect(r.rows).toEqual([['0']]);
  });

  it('an upload joined with the catalogue finds no proprietary row', async () => {
    const ids = (
      await db.query(
        "SELECT source_id::text AS id FROM demo.sources WHERE field_id IN ('field-07', 'field-10') LIMIT 50",
      )
    ).rows.map((x) => x.id);
    const vot = `<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>
<FIELD name="id" datatype="long"/><DATA><TABLEDATA>${ids.map((i) => `<TR><TD>${i}</TD></TR>`).join('')}</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>`;
    const form = new FormData();
    form.append('LANG', 'ADQL');
    form.append('RESPONSEFORMAT', 'csv');
    form.append('UPLOAD', 'ids,param:f');
    form.append(
      'QUERY',
      'SELECT COUNT(*) FROM TAP_UPLOAD.ids AS u JOIN demo.sources AS s ON s.source_id = u.id',
    );
    form.append('f', new Blob([vot]), 'ids.xml');
    const res = await fetch(`${node.url}/tap/sync`, { method: 'POST', body: form });
    const body = await res.text();
    expect(res.status, body).toBe(200);
    expect(body.trim().split(/\r?\n/)[1]).toBe('0');
  });

  it('an overflow flag does not reveal that hidden rows exist', async () => {
    const visible = Number((await publicAnswer(`SELECT count(*) FROM demo.sources WHERE ${PUBLIC}`))[0][0]);
    const res = await fetch(
      `${node.url}/tap/sync?${new URLSearchParams({ LANG: 'ADQL', QUERY: 'SELECT source_id FROM demo.sources', MAXREC: String(visible) })}`,
    );
    const text = await res.text();
    expect([...text.matchAll(/QUERY_STATUS" value="(\w+)"/g)].map((m) => m[1])).toEqual(['OK']);
  });

  it('the error for an unknown column does not list hidden columns', async () => {
    const r = await csv('SELECT owner_grop FROM demo.sources');
    expect(r.status).toBe(400);
    expect(r.body).not.toMatch(/owner_group|release_date/);
  });
});
