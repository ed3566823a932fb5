import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeUserTablePermissions } from '../../src/usertables/index.js';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { testDatabaseUrl } from '../support/db.js';
import { startTestNode } from '../support/node.js';
import { body, STAR_COLUMNS, starRows, vosiTable } from './support.js';

// User tables over CADC's youcat protocol, as pyvo's TAPService.create_table / load_table /
// create_index / remove_table send it (VOSI-33 [1.2-WD]), on a real node with real tokens.

type TestNode = Awaited<ReturnType<typeof startTestNode>>;
let node: TestNode;
let pool: pg.Pool;
let issuer: TestIssuer;
const tokens: Record<string, string> = {};

const LIMITS = {
  VONODE_USER_TABLE_MAX_ROWS: '30000',
  VONODE_USER_TABLE_MAX_BYTES: String(8 * 1024 * 1024),
  VONODE_USER_TABLE_MAX_TABLES: '4',
  VONODE_USER_TABLE_MAX_REQUEST_BYTES: String(64 * 1024 * 1024),
};

interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

async function call(
  method: string,
  path: string,
  opts: { who?: string; type?: string; body?: Buffer | string | URLSearchParams } = {},
): Promise<Answer> {
  const res = await fetch(`${node.url}${path}`, {
    method,
    redirect: 'manual',
    headers: {
      ...(opts.who ? { authorization: `Bearer ${tokens[opts.who]}` } : {}),
      ...(opts.type ? { 'content-type': opts.type } : {}),
    },
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const create = (who: string, name: string, xml: string) =>
  call('PUT', `/tap/tables/${name}`, { who, type: 'text/xml', body: xml });
const load = (who: string, name: string, type: string, data: Buffer | string) =>
  call('POST', `/tap/load/${name}`, { who, type, body: data });

async function adql(
  query: string,
  who?: string,
): Promise<{ status: number; rows: string[][]; text: string }> {
  const a = await call('POST', '/tap/sync', {
    who,
    type: 'application/x-www-form-urlencoded',
    body: new URLSearchParams({ LANG: 'ADQL', QUERY: query, RESPONSEFORMAT: 'csv' }),
  });
  const rows =
    a.status === 200
      ? a.text
          .trim()
          .split(/\r?\n/)
          .slice(1)
          .map((l) => l.split(','))
      : [];
  return { status: a.status, rows, text: a.text };
}

const count = async (name: string, who = 'alice') =>
  Number((await adql(`SELECT COUNT(*) FROM ${name}`, who)).rows[0]?.[0]);

/** A DALI error document (DALI-43) whose message matches. */
function expectDaliError(a: Answer, status: number, message: RegExp) {
  expect(a.status, a.text).toBe(status);
  expect(a.headers.get('content-type')).toMatch(/application\/x-votable\+xml/);
  expect(a.text).toMatch(/<INFO name="QUERY_STATUS" value="ERROR">/);
  expect(a.text).toMatch(message);
}

beforeAll(async () => {
  issuer = await new TestIssuer().start();
  issuer.keys.push(await signingKey('RS256', 'k1'));
  for (const [who, groups] of [
    ['alice', ['/alice-team']],
    ['bob', ['/bob-team']],
    ['carol', ['/carol-team']],
    ['dave', []],
  ] as const)
    tokens[who] = await issuer.token({ sub: who, groups }, { aud: 'vonode-test' });
  pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 });
  node = await startTestNode({
    VONODE_OIDC_ISSUER: issuer.url,
    VONODE_OIDC_AUDIENCE: 'vonode-test',
    ...LIMITS,
  });
});

afterAll(async () => {
  for (const who of ['alice', 'carol', 'dave'])
    for (const r of (
      await pool.query<{ t: string }>(
        'SELECT table_name AS t FROM vonode.published_tables WHERE owner_subject = $1',
        [who],
      )
    ).rows)
      await call('DELETE', `/tap/tables/${r.t}`, { who });
  await node?.stop();
  await pool?.end();
  await issuer?.stop();
});

describe('creating user tables (VOSI-33)', () => {
  it('refuses anonymous callers with 401 and the node challenge', async () => {
    const a = await create('', 'user_alice.stars', vosiTable('user_alice.stars', STAR_COLUMNS));
    expectDaliError(a, 401, /needs a token/);
    expect(a.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
    const idx = await call('POST', '/tap/table-update', {
      type: 'application/x-www-form-urlencoded',
      body: new URLSearchParams({ table: 'user_alice.stars', index: 'mag' }),
    });
    expect(idx.status).toBe(401);
    expect(idx.headers.get('www-authenticate')).toMatch(/Bearer/);
  });

  it('creates a table from a VOSI table document (201), with the HEALPix index from the UCDs', async () => {
    const a = await create('alice', 'user_alice.stars', vosiTable('user_alice.stars', STAR_COLUMNS));
    expect(a.status, a.text).toBe(201);
    const doc = await call('GET', '/tap/tables/user_alice.stars', { who: 'alice' });
    expect(doc.status).toBe(200);
    expect(doc.text).toContain('<name>user_alice.stars</name>');
    // VOSI-25: the generated index column is listed with its indexed flag.
    expect(doc.text).toMatch(/<name>healpix<\/name>[\s\S]*?<flag>indexed<\/flag>/);
    const cols = await adql(
      "SELECT column_name, datatype, ucd FROM TAP_SCHEMA.columns WHERE table_name = 'user_alice.stars' ORDER BY column_index",
      'alice',
    );
    expect(cols.rows.map((r) => r[0])).toEqual(['id', 'ra', 'dec', 'mag', 'label', 'healpix']);
    expect(cols.rows[1]).toEqual(['ra', 'double', 'pos.eq.ra;meta.main']);
  });

  it('creates a table from a VOTable and loads the rows it carries', async () => {
    const vot = await body('votable/td', starRows(1, 10));
    const a = await call('PUT', '/tap/tables/user_alice.fromvot', {
      who: 'alice',
      type: 'application/x-votable+xml',
      body: vot,
    });
    expect(a.status, a.text).toBe(201);
    expect(await count('user_alice.fromvot')).toBe(10);
  });

  it('takes the legacy vs:TAPType datatypes', async () => {
    const xml = vosiTable('user_alice.taptypes', [
      { name: 'n', datatype: 'BIGINT', type: 'vs:TAPType' },
      { name: 'word', datatype: 'VARCHAR', type: 'vs:TAPType' },
      { name: 't', datatype: 'TIMESTAMP', type: 'vs:TAPType' },
    ]);
    expect((await create('alice', 'user_alice.taptypes', xml)).status).toBe(201);
    const r = await load(
      'alice',
      'user_alice.taptypes',
      'text/csv',
      'n,word,t\n1,hello,2024-01-02T03:04:05Z\n',
    );
    expect(r.status, r.text).toBe(200);
    const got = await adql("SELECT word FROM user_alice.taptypes WHERE t > '2024-01-01'", 'alice');
    expect(got.rows).toEqual([['hello']]);
  });

  it('refuses malformed definitions with a 400 naming every problem', async () => {
    const bad = vosiTable('user_alice.bad', [
      { name: 'id', datatype: 'integer' },
      { name: 'select', datatype: 'int' },
      { name: 'x', datatype: 'double' },
      { name: 'X', datatype: 'double' },
      { name: '2fast', datatype: 'double' },
    ]);
    const a = await create('alice', 'user_alice.bad', bad);
    expectDaliError(a, 400, /'integer' is not a VOTable datatype/);
    expect(a.text).toMatch(/'select' is an ADQL reserved word/);
    expect(a.text).toMatch(/column X is declared twice/);
    expect(a.text).toMatch(/'2fast' is not an ADQL identifier/);
    expectDaliError(
      await create('alice', 'user_alice.select', vosiTable('user_alice.select', STAR_COLUMNS)),
      400,
      /reserved/,
    );
    expectDaliError(
      await create('alice', 'user_alice.empty', vosiTable('user_alice.empty', [])),
      400,
      /no columns/,
    );
    expectDaliError(
      await create('alice', 'user_alice.broken', '<vosi:table><name>'),
      400,
      /not well-formed XML/,
    );
    expectDaliError(
      await create('alice', 'user_alice.stars', vosiTable('user_alice.stars', STAR_COLUMNS)),
      409,
      /already exists/,
    );
    const junk = await call('PUT', '/tap/tables/user_alice.junk', {
      who: 'alice',
      type: 'application/x-votable+xml',
      body: 'this is not a VOTable',
    });
    expectDaliError(junk, 400, /VOTable|XML|TABLE/);
    expect((await pool.query("SELECT to_regclass('user_alice.bad') AS t")).rows[0].t).toBeNull();
    expect((await pool.query("SELECT to_regclass('user_alice.junk') AS t")).rows[0].t).toBeNull();
  });

  it("refuses a table in someone else's schema with 403, naming the caller's own", async () => {
    const a = await create('bob', 'user_alice.mine', vosiTable('user_alice.mine', STAR_COLUMNS));
    expectDaliError(a, 403, /only in your own schema user_bob/);
    expectDaliError(await create('bob', 'demo.mine', vosiTable('demo.mine', STAR_COLUMNS)), 403, /user_bob/);
  });
});

describe('loading rows', () => {
  it('appends TSV and CSV with their header line, FITS and VOTable (pyvo load_table formats)', async () => {
    for (const [type, format, first] of [
      ['text/tab-separated-values', 'tsv', 1],
      ['text/csv', 'csv', 101],
      ['application/fits', 'fits', 201],
      ['application/x-votable+xml', 'votable/binary2', 301],
    ] as const) {
      const r = await load('alice', 'user_alice.stars', type, await body(format, starRows(first, 100)));
      expect(r.status, `${type}: ${r.text}`).toBe(200);
    }
    expect(await count('user_alice.stars')).toBe(400);
    // Parquet needs its footer first: the body is kept in the data folder while it is read.
    const dir = mkdtempSync(join(tmpdir(), 'vonode-usertables-'));
    const file = join(dir, 'rows.parquet');
    const rows = starRows(401, 50);
    const col = (i: number) => rows.map((r) => r[i]);
    await parquetWriteFile({
      filename: file,
      columnData: [
        { name: 'id', data: col(0) as bigint[], type: 'INT64' },
        { name: 'ra', data: col(1) as number[], type: 'DOUBLE' },
        { name: 'dec', data: col(2) as number[], type: 'DOUBLE' },
        { name: 'mag', data: col(3) as number[], type: 'DOUBLE' },
        { name: 'label', data: col(4) as string[], type: 'STRING' },
      ],
    });
    const pq = await load(
      'alice',
      'user_alice.fromvot',
      'application/vnd.apache.parquet',
      readFileSync(file),
    );
    rmSync(dir, { recursive: true, force: true });
    expect(pq.status, pq.text).toBe(200);
    expect(await count('user_alice.fromvot')).toBe(60);
    const stored = await pool.query(
      "SELECT nrows::int AS n FROM vonode.published_tables WHERE table_name = 'user_alice.stars'",
    );
    expect(stored.rows).toEqual([{ n: 400 }]);
    const meta = await adql(
      "SELECT nrows FROM TAP_SCHEMA.tables WHERE table_name = 'user_alice.stars'",
      'alice',
    );
    expect(meta.rows).toEqual([['400']]);
    // The cone uses the HEALPix index the position UCDs gave the table: half the rows are near (10, -20).
    const cone = await adql(
      "SELECT COUNT(*) FROM user_alice.stars WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 10, -20, 0.1))",
      'alice',
    );
    expect(cone.rows).toEqual([['200']]);
  });

  it('refuses a load whose columns do not match the table, and a bad value, keeping nothing', async () => {
    const wrong = await load('alice', 'user_alice.stars', 'text/csv', 'id,ra,decl,mag,label\n1,2,3,4,x\n');
    expectDaliError(wrong, 400, /missing dec; not in the table: decl/);
    // A bad value well after the first COPY buffers were sent: still nothing of the load is kept.
    const lines = (await body('csv', starRows(10_001, 12_000))).toString().split('\r\n');
    lines[9_001] = lines[9_001].replace(/,[0-9.]+,("?)star/, ',bright,$1star');
    expect(lines[9_001]).toContain(',bright,');
    const bad = await load('alice', 'user_alice.stars', 'text/csv', lines.join('\r\n'));
    expectDaliError(bad, 400, /row 9001.*mag|mag.*row 9001/);
    expect(await count('user_alice.stars')).toBe(400);
    expectDaliError(await load('alice', 'user_alice.stars', 'text/csv', ''), 400, /empty|header/);
    expectDaliError(
      await load('alice', 'user_alice.stars', 'application/fits', 'SIMPLE  = nonsense'),
      400,
      /FITS|truncated|header/,
    );
    const unsupported = await load('alice', 'user_alice.stars', 'application/json', '{}');
    expectDaliError(unsupported, 415, /text\/tab-separated-values/);
  });

  it('keeps nothing of a body cut off mid-row or mid-stream, and the table stays usable', async () => {
    const full = (await body('csv', starRows(20_001, 50))).toString();
    // The last row loses its last three fields: the body ends inside it.
    const lastLine = full.lastIndexOf('\n', full.length - 3) + 1;
    const cut = full.slice(0, full.indexOf(',', full.indexOf(',', lastLine) + 1));
    const truncated = await load('alice', 'user_alice.stars', 'text/csv', cut);
    expectDaliError(truncated, 400, /truncated|fields/);
    // A chunked body whose connection drops after some rows.
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${node.url}/tap/load/user_alice.stars`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.alice}`, 'content-type': 'text/csv' },
      });
      req.on('error', () => resolve());
      req.on('response', () => resolve());
      req.write(full.slice(0, full.length / 2));
      req.flushHeaders();
      setImmediate(() => {
        req.destroy();
        resolve();
      });
    });
    // The next load waits for any load of the table still running (it locks the table's row).
    const after = await load('alice', 'user_alice.stars', 'text/csv', await body('csv', starRows(30_001, 5)));
    expect(after.status, after.text).toBe(200);
    expect(await count('user_alice.stars')).toBe(405);
  });
});

describe('querying a user table like any catalogue', () => {
  it('crossmatches an uploaded table against it on the HEALPix index (TAP-47 inline upload)', async () => {
    const upload = await body('votable/td', [[1n, 10, -20, 0, 'here']]);
    const form = new FormData();
    form.set('LANG', 'ADQL');
    form.set('RESPONSEFORMAT', 'csv');
    form.set('UPLOAD', 'mine,param:t');
    form.set(
      'QUERY',
      "SELECT COUNT(*) FROM TAP_UPLOAD.mine AS u JOIN user_alice.stars AS s ON 1 = CONTAINS(POINT('ICRS', s.ra, s.dec), CIRCLE('ICRS', u.ra, u.dec, 0.02))",
    );
    form.set('t', new Blob([upload], { type: 'application/x-votable+xml' }), 't.xml');
    const res = await fetch(`${node.url}/tap/sync`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.alice}` },
      body: form,
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    // The even ids lie within 0.01 degrees of (10, -20): 200 of rows 1..400 and 2 of 30001..30005.
    expect(text.trim().split(/\r?\n/)[1]).toBe('202');
  });
});

describe('the index job (POST /tap/table-update, UWS)', () => {
  async function runJob(params: Record<string, string>): Promise<{ phase: string; job: string }> {
    const a = await call('POST', '/tap/table-update', {
      who: 'alice',
      type: 'application/x-www-form-urlencoded',
      body: new URLSearchParams(params),
    });
    // pyvo treats anything but 303 as a bug (UWS-17: the job's URL).
    expect(a.status, a.text).toBe(303);
    const job = new URL(a.headers.get('location') ?? '').pathname.replace(/^.*\/tap\//, '/tap/');
    expect(job).toMatch(/^\/tap\/table-update\/[^/]+$/);
    const run = await call('POST', `${job}/phase`, {
      who: 'alice',
      type: 'application/x-www-form-urlencoded',
      body: new URLSearchParams({ PHASE: 'RUN' }),
    });
    expect(run.status).toBe(303);
    let phase = '';
    for (;;) {
      const doc = await call('GET', `${job}?WAIT=30`, { who: 'alice' });
      phase = /<uws:phase>(\w+)<\/uws:phase>/.exec(doc.text)?.[1] ?? '';
      if (!['PENDING', 'QUEUED', 'EXECUTING'].includes(phase)) break;
    }
    return { phase, job };
  }

  it('builds an index through a job that pyvo follows: 303, PHASE=RUN, COMPLETED', async () => {
    const { phase } = await runJob({ table: 'user_alice.stars', index: 'mag', unique: 'false' });
    expect(phase).toBe('COMPLETED');
    const meta = await adql(
      "SELECT indexed FROM TAP_SCHEMA.columns WHERE table_name = 'user_alice.stars' AND column_name = 'mag'",
      'alice',
    );
    expect(meta.rows).toEqual([['1']]);
    const idx = await pool.query(
      "SELECT indexdef FROM pg_indexes WHERE schemaname = 'user_alice' AND tablename = 'stars'",
    );
    expect(idx.rows.map((r) => r.indexdef).join('\n')).toMatch(/\(mag\)/);
  });

  it('ends in ERROR with the reason for a unique index on repeated values', async () => {
    const { phase, job } = await runJob({ table: 'user_alice.stars', index: 'mag', unique: 'true' });
    expect(phase).toBe('ERROR');
    const err = await call('GET', `${job}/error`, { who: 'alice' });
    expect(err.text).toMatch(/repeated values/);
  });

  it('refuses a job on a table the caller does not own', async () => {
    const a = await call('POST', '/tap/table-update', {
      who: 'bob',
      type: 'application/x-www-form-urlencoded',
      body: new URLSearchParams({ table: 'user_alice.stars', index: 'mag' }),
    });
    expectDaliError(a, 400, /no table user_alice.stars of yours/);
  });
});

describe("alice's table is absent for others (TAP_SCHEMA, /tables, ADQL)", () => {
  it('hides it from bob and from anonymous callers on every path', async () => {
    for (const who of ['bob', undefined]) {
      expect((await call('GET', '/tap/tables', { who })).text).not.toContain('user_alice');
      expect((await call('GET', '/tap/tables/user_alice.stars', { who })).status).toBe(404);
      expect(
        (await adql("SELECT COUNT(*) FROM TAP_SCHEMA.tables WHERE schema_name = 'user_alice'", who)).rows,
      ).toEqual([['0']]);
      expect(
        (await adql("SELECT COUNT(*) FROM TAP_SCHEMA.schemas WHERE schema_name = 'user_alice'", who)).rows,
      ).toEqual([['0']]);
      const q = await adql('SELECT COUNT(*) FROM user_alice.stars', who);
      expect(q.status).toBe(400);
    }
    expectDaliError(await load('bob', 'user_alice.stars', 'text/csv', 'id\n1\n'), 404, /no user table/);
    expectDaliError(
      await call('DELETE', '/tap/tables/user_alice.stars', { who: 'bob' }),
      404,
      /no user table/,
    );
    expect((await call('GET', '/tap/tables', { who: 'alice' })).text).toContain(
      '<name>user_alice.stars</name>',
    );
  });
});

describe('grants written through the permissions API take effect at once', () => {
  /** Waits (without timing) until the node's views have heard of the change. */
  async function until(check: () => Promise<boolean>) {
    while (!(await check())) await new Promise((r) => setImmediate(r));
  }

  it('lets a read group query the table, and only read it; public shows it to everyone', async () => {
    const client = await pool.connect();
    try {
      await writeUserTablePermissions(client, 'user_alice.stars', { readGroups: ['/bob-team'] });
    } finally {
      client.release();
    }
    await until(async () =>
      (await call('GET', '/tap/tables', { who: 'bob' })).text.includes('user_alice.stars'),
    );
    expect(await count('user_alice.stars', 'bob')).toBe(405);
    expectDaliError(await load('bob', 'user_alice.stars', 'text/csv', 'id\n1\n'), 403, /not load rows/);
    expectDaliError(
      await call('DELETE', '/tap/tables/user_alice.stars', { who: 'bob' }),
      403,
      /only the owner/,
    );
    expect((await adql('SELECT COUNT(*) FROM user_alice.stars')).status).toBe(400);
    const c2 = await pool.connect();
    try {
      await writeUserTablePermissions(c2, 'user_alice.stars', { public: true });
    } finally {
      c2.release();
    }
    await until(async () => (await call('GET', '/tap/tables')).text.includes('user_alice.stars'));
    expect((await adql('SELECT COUNT(*) FROM user_alice.stars')).rows).toEqual([['405']]);
  });
});

describe('quotas and limits (named, advertised, 413/403 with a DALI error)', () => {
  it('advertises the table-management capabilities and their limits', async () => {
    const caps = await call('GET', '/tap/capabilities');
    expect(caps.text).toContain('standardID="ivo://ivoa.net/std/VOSI#table-load-sync-1.x"');
    expect(caps.text).toContain('standardID="ivo://ivoa.net/std/VOSI#table-update-async-1.x"');
    expect(caps.text).toMatch(/rows per table 30000 \(VONODE_USER_TABLE_MAX_ROWS\)/);
  });

  it('refuses a load that crosses the rows per table mid-stream, keeping nothing', async () => {
    expect((await create('carol', 'user_carol.big', vosiTable('user_carol.big', STAR_COLUMNS))).status).toBe(
      201,
    );
    expect(
      (await load('carol', 'user_carol.big', 'text/csv', await body('csv', starRows(1, 25_000)))).status,
    ).toBe(200);
    // The first large load built the HEALPix index after the rows: it is there.
    const idx = await pool.query(
      "SELECT indexdef FROM pg_indexes WHERE schemaname = 'user_carol' AND tablename = 'big'",
    );
    expect(idx.rows.map((r) => r.indexdef).join('\n')).toMatch(/\(healpix\)/);
    const over = await load(
      'carol',
      'user_carol.big',
      'text/csv',
      await body('csv', starRows(25_001, 10_000)),
    );
    expectDaliError(over, 413, /past 30000 rows \(VONODE_USER_TABLE_MAX_ROWS\)/);
    expect(await count('user_carol.big', 'carol')).toBe(25_000);
  });

  it('answers a refusal mid-stream to a client that sends its whole body before reading (requests, pyvo)', async () => {
    // 400,000 rows (17 MB) where 5,000 are allowed: the refusal comes early, the client
    // is still sending, and it must get the 413, not a connection reset.
    const data = await body('csv', starRows(100_001, 400_000));
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(`${node.url}/tap/load/user_carol.big`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tokens.carol}`,
          'content-type': 'text/csv',
          'content-length': String(data.length),
        },
      });
      req.on('error', reject);
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.end(data);
    });
    expect(answer.status).toBe(413);
    expect(answer.text).toMatch(/VONODE_USER_TABLE_MAX_ROWS/);
    expect(await count('user_carol.big', 'carol')).toBe(25_000);
  });

  it("refuses a load that takes a user's tables past the bytes quota", async () => {
    // Random labels: PostgreSQL would compress repeated text to almost nothing.
    const rows = starRows(40_001, 4000).map((r) => [...r.slice(0, 4), randomBytes(1500).toString('base64')]);
    const over = await load('carol', 'user_carol.big', 'text/csv', await body('csv', rows));
    expectDaliError(over, 413, /VONODE_USER_TABLE_MAX_BYTES/);
    expect(await count('user_carol.big', 'carol')).toBe(25_000);
  });

  it('refuses a body declared larger than the request limit before reading it', async () => {
    const status = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(`${node.url}/tap/load/user_carol.big`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tokens.carol}`,
          'content-type': 'text/csv',
          'content-length': String(100 * 1024 * 1024),
        },
      });
      req.on('response', (res) => {
        let text = '';
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, text });
          req.destroy();
        });
      });
      req.on('error', reject);
      req.write('id,ra,dec,mag,label\n');
    });
    expect(status.status).toBe(413);
    expect(status.text).toMatch(/VONODE_USER_TABLE_MAX_REQUEST_BYTES/);
  });

  it('refuses a table past the tables per user', async () => {
    for (let i = 1; i <= 4; i++)
      expect(
        (await create('dave', `user_dave.t${i}`, vosiTable(`user_dave.t${i}`, STAR_COLUMNS))).status,
      ).toBe(201);
    const fifth = await create('dave', 'user_dave.t5', vosiTable('user_dave.t5', STAR_COLUMNS));
    expectDaliError(fifth, 403, /VONODE_USER_TABLE_MAX_TABLES=4/);
  });
});

describe('removing a table (DELETE, pyvo remove_table)', () => {
  it('drops the table, its TAP_SCHEMA rows and its rows (204); only the owner may', async () => {
    const a = await call('DELETE', '/tap/tables/user_alice.fromvot', { who: 'alice' });
    expect(a.status, a.text).toBe(204);
    expect((await call('GET', '/tap/tables/user_alice.fromvot', { who: 'alice' })).status).toBe(404);
    expect(
      (await adql("SELECT COUNT(*) FROM TAP_SCHEMA.columns WHERE table_name = 'user_alice.fromvot'", 'alice'))
        .rows,
    ).toEqual([['0']]);
    expect((await pool.query("SELECT to_regclass('user_alice.fromvot') AS t")).rows[0].t).toBeNull();
    expect((await call('DELETE', '/tap/tables/user_alice.fromvot', { who: 'alice' })).status).toBe(404);
  });
});
