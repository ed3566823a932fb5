import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  notifyCatalogueChanged,
  putPublishedTable,
  removePublishedTable,
} from '../../src/catalogue/index.js';
import { ConfigError, parseConfig } from '../../src/config/index.js';
import {
  publishCatalogue,
  publishedTableOf,
  type SourceColumn,
  type TableDescription,
  unpublishTable,
} from '../../src/publish/index.js';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { memorySource } from '../publish/load-support.js';
import { testDatabaseUrl } from '../support/db.js';
import { startTestNode } from '../support/node.js';

// A running node serves what is published in the database: published through the loader
// into a running node (no restart), kept across restarts, and a table hidden by its
// whole-table rights absent for other callers from /tables, TAP_SCHEMA and ADQL.

const SCHEMA = `live_node_${Math.random().toString(36).slice(2, 8)}`;
const store = { putPublishedTable, removePublishedTable, notifyCatalogueChanged };
type TestNode = Awaited<ReturnType<typeof startTestNode>>;
let node: TestNode;
let pool: pg.Pool;
let issuer: TestIssuer;
let owner: string;

const FILE: SourceColumn[] = [
  { name: 'id', datatype: 'long' },
  { name: 'ra', datatype: 'double' },
  { name: 'dec', datatype: 'double' },
];
const table = (name: string, extra: Partial<TableDescription> = {}): TableDescription => ({
  schema: SCHEMA,
  name,
  description: `the ${name} catalogue`,
  primaryKey: ['id'],
  position: { ra: 'ra', dec: 'dec' },
  columns: [
    { name: 'id', datatype: 'long', ucd: 'meta.id;meta.main', description: 'identifier', nullable: false },
    {
      name: 'ra',
      datatype: 'double',
      unit: 'deg',
      ucd: 'pos.eq.ra;meta.main',
      description: 'right ascension',
    },
    { name: 'dec', datatype: 'double', unit: 'deg', ucd: 'pos.eq.dec;meta.main', description: 'declination' },
  ],
  ...extra,
});

async function publish(...tables: TableDescription[]) {
  await publishCatalogue(
    pool,
    { schemas: [{ name: SCHEMA, description: 'catalogues of the live node test' }], tables },
    tables.map(() =>
      memorySource(FILE, [
        [1n, 10.5, -20.25],
        [2n, 10.6, -20.3],
        [3n, 200, 45],
      ]),
    ),
    {
      store,
      toPublished: publishedTableOf,
      openSource: () => Promise.reject(new Error('no files')),
      validation: 'lax',
    },
  );
}

async function tap(
  query: string,
  token?: string,
): Promise<{ status: number; rows: string[][]; body: string }> {
  const res = await fetch(`${node.url}/tap/sync`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: new URLSearchParams({ LANG: 'ADQL', QUERY: query, RESPONSEFORMAT: 'csv' }),
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
  return { status: res.status, rows, body };
}

const tablesDoc = async (token?: string) =>
  (
    await fetch(`${node.url}/tap/tables`, { headers: token ? { authorization: `Bearer ${token}` } : {} })
  ).text();

/** Waits (on the node's own source, no timing) until the node has heard of `name`. */
const heard = (name: string) =>
  new Promise<void>((resolve) => {
    const off = node.catalogues.onChange((n) => {
      if (n === name) {
        off();
        resolve();
      }
    });
  });

const env = () => ({ VONODE_OIDC_ISSUER: issuer.url, VONODE_OIDC_AUDIENCE: 'vonode-test' });

beforeAll(async () => {
  issuer = await new TestIssuer().start();
  issuer.keys.push(await signingKey('RS256', 'k1'));
  owner = await issuer.token({ sub: 'olga', groups: ['/live-team'] }, { aud: 'vonode-test' });
  pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 4 });
  node = await startTestNode(env());
});

afterAll(async () => {
  await node?.stop();
  for (const t of ['opened', 'secret'])
    await unpublishTable(pool, `${SCHEMA}.${t}`, { store }).catch(() => {});
  await pool?.end();
  await issuer?.stop();
});

describe('a running node and the published catalogue', () => {
  it('serves a table published into it at once: ADQL, TAP_SCHEMA with nrows, /tables', async () => {
    const name = `${SCHEMA}.opened`;
    const seen = heard(name);
    await publish(table('opened'));
    await seen;
    const cone = await tap(
      `SELECT id FROM ${name} WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 10.5, -20.25, 0.2)) ORDER BY id`,
    );
    expect(cone.status, cone.body).toBe(200);
    expect(cone.rows).toEqual([['1'], ['2']]);
    const meta = await tap(`SELECT nrows FROM TAP_SCHEMA.tables WHERE table_name = '${name}'`);
    expect(meta.rows).toEqual([['3']]);
    const units = await tap(
      `SELECT column_name, unit, ucd FROM TAP_SCHEMA.columns WHERE table_name = '${name}' ORDER BY column_index`,
    );
    expect(units.rows[1]).toEqual(['ra', 'deg', 'pos.eq.ra;meta.main']);
    expect(await tablesDoc()).toContain(`<name>${name}</name>`);
    const one = await fetch(`${node.url}/tap/tables/${name}`);
    expect(one.status).toBe(200);
    // VODataService 1.2 row count, as in TAP_SCHEMA (VOSI-24).
    expect(await one.text()).toMatch(/<nrows>3<\/nrows>/);
  });

  it('hides a table with whole-table rights and no release date from everyone but its owner group', async () => {
    const name = `${SCHEMA}.secret`;
    const seen = heard(name);
    await publish(table('secret', { rights: { ownerGroup: 'live-team' } }));
    await seen;
    const other = await issuer.token({ sub: 'otto', groups: ['/other-team'] }, { aud: 'vonode-test' });
    for (const token of [undefined, other]) {
      expect(await tablesDoc(token)).not.toContain(name);
      expect(
        (
          await fetch(`${node.url}/tap/tables/${name}`, {
            headers: token ? { authorization: `Bearer ${token}` } : {},
          })
        ).status,
      ).toBe(404);
      const meta = await tap(`SELECT COUNT(*) FROM TAP_SCHEMA.columns WHERE table_name = '${name}'`, token);
      expect(meta.rows).toEqual([['0']]);
      const keys = await tap(`SELECT COUNT(*) FROM TAP_SCHEMA.tables WHERE table_name = '${name}'`, token);
      expect(keys.rows).toEqual([['0']]);
      const q = await tap(`SELECT COUNT(*) FROM ${name}`, token);
      expect(q.status).toBe(400);
      expect(q.body).toMatch(/secret/);
    }
    expect(await tablesDoc(owner)).toContain(`<name>${name}</name>`);
    const mine = await tap(`SELECT COUNT(*) FROM ${name}`, owner);
    expect(mine.status, mine.body).toBe(200);
    expect(mine.rows).toEqual([['3']]);
    const meta = await tap(`SELECT COUNT(*) FROM TAP_SCHEMA.columns WHERE table_name = '${name}'`, owner);
    expect(meta.rows).toEqual([['4']]);
  });

  it('keeps what was published across a restart', async () => {
    await node.stop();
    node = await startTestNode(env());
    expect(await tablesDoc()).toContain(`<name>${SCHEMA}.opened</name>`);
    expect((await tap(`SELECT COUNT(*) FROM ${SCHEMA}.opened`)).rows).toEqual([['3']]);
    expect((await tap(`SELECT COUNT(*) FROM ${SCHEMA}.secret`, owner)).rows).toEqual([['3']]);
    const rows = await pool.query('SELECT builtin FROM vonode.published_tables WHERE table_name = $1', [
      `${SCHEMA}.opened`,
    ]);
    expect(rows.rows).toEqual([{ builtin: false }]);
    // The demo catalogue is a published row too, kept as it was (not published again).
    const demo = await pool.query(
      "SELECT version, builtin FROM vonode.published_tables WHERE table_name = 'demo.sources'",
    );
    expect(demo.rows[0].builtin).toBe(false);
  });
});

describe('VONODE_DEFAULT_SCHEMA', () => {
  const base = { DATABASE_URL: 'postgres://x@localhost/x' };
  it('defaults to the demo schema with demo data, to none without', () => {
    expect(parseConfig(base).defaultSchema).toBe('demo');
    expect(parseConfig({ ...base, VONODE_DEMO_ROWS: '0' }).defaultSchema).toBeUndefined();
    expect(parseConfig({ ...base, VONODE_DEFAULT_SCHEMA: 'radio' }).defaultSchema).toBe('radio');
    expect(parseConfig({ ...base, VONODE_DEFAULT_SCHEMA: 'none' }).defaultSchema).toBeUndefined();
  });

  it('refuses what is not a schema name, with one line naming it', () => {
    expect(() => parseConfig({ ...base, VONODE_DEFAULT_SCHEMA: 'a b; drop' })).toThrow(ConfigError);
    expect(() => parseConfig({ ...base, VONODE_DEFAULT_SCHEMA: 'a b; drop' })).toThrow(
      /VONODE_DEFAULT_SCHEMA/,
    );
  });

  it('reaches the ADQL catalogue of every caller', () => {
    expect(node.catalogues.view(null).adql.defaultSchema).toBe('demo');
  });
});
