import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureReaderRole } from '../../src/backup/index.js';
import { loadMigrations } from '../../src/db/index.js';
import { testDatabaseUrl } from '../support/db.js';
import { aliceToken, type NodeFacts, nodeSnapshot, runVonode } from '../support/node-state.js';
import { freePort, type NodeProcess, spawnNode } from '../support/process.js';

// Issue 23, acceptance: a node's database at the schema of an older commit, with data in place
// (demo and published catalogues, a user table, jobs, products), is upgraded by the current code
// and answers the same queries with the same rows. Each fixture is a pg_dump made by the old
// code (scripts/make-upgrade-fixture.sh), with what its queries answered then.

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'vonode.js');
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'upgrade');
const run = promisify(execFile);

interface Fixture {
  commit: string;
  env: Record<string, string>;
  facts: NodeFacts;
  snapshot: Record<string, string>;
}

const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as Fixture);

let dir: string;
const databases: string[] = [];
let node: NodeProcess | undefined;

/** A new, empty database on the test's PostgreSQL server. */
async function newDatabase(): Promise<string> {
  const name = `vonode_upgrade_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: testDatabaseUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  databases.push(name);
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vonode-upgrade-'));
  chmodSync(dir, 0o755);
});

afterAll(async () => {
  await node?.stop();
  const admin = new pg.Client({ connectionString: testDatabaseUrl() });
  await admin.connect();
  for (const name of databases)
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
  await admin.end();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('vonode migrate --check', () => {
  it('lists every pending migration of a database vonode never opened, exits 3, and applies none', async () => {
    const url = await newDatabase();
    const r = await runVonode(BIN, { DATABASE_URL: url, VONODE_DATA_DIR: join(dir, 'check') }, [
      'migrate',
      '--check',
    ]);
    expect(r.code, r.out).toBe(3);
    const all = loadMigrations();
    expect(r.stdout).toContain(`${all.length} migration(s) pending`);
    for (const m of all) expect(r.stdout).toContain(`${String(m.version).padStart(3, '0')}_${m.name}.sql`);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const schema = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = 'vonode'");
    await client.end();
    expect(schema.rowCount).toBe(0);
    const apply = await runVonode(BIN, { DATABASE_URL: url, VONODE_DATA_DIR: join(dir, 'check') }, [
      'migrate',
    ]);
    expect(apply.code, apply.out).toBe(0);
    expect(apply.stdout.match(/^applied /gm)?.length).toBe(all.length);
    const again = await runVonode(BIN, { DATABASE_URL: url, VONODE_DATA_DIR: join(dir, 'check') }, [
      'migrate',
      '--check',
    ]);
    expect(again.code, again.out).toBe(0);
    expect(again.stdout).toMatch(/up to date/);
  }, 120_000);
});

describe.each(fixtures)('upgrade from the schema of $commit with data in place', (fixture) => {
  it('restores the old dump, applies the newer migrations, and answers the same queries with the same rows', async () => {
    expect(Object.keys(fixture.snapshot).length).toBeGreaterThan(5);
    const url = await newDatabase();
    await ensureReaderRole(url);
    await run(
      'psql',
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-f', join(FIXTURES, `${fixture.commit}.sql`)],
      {
        maxBuffer: 64 << 20,
      },
    );
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const recorded = (
      await client.query<{ version: number }>('SELECT version FROM vonode.schema_migrations')
    ).rows.map((r) => r.version);
    await client.end();
    const newer = loadMigrations().filter((m) => !recorded.includes(m.version));

    const env = {
      DATABASE_URL: url,
      VONODE_DATA_DIR: join(dir, fixture.commit),
      VONODE_DEV_ISSUER: 'on',
      ...fixture.env,
    };
    const check = await runVonode(BIN, env, ['migrate', '--check']);
    expect(check.code, check.out).toBe(newer.length > 0 ? 3 : 0);
    for (const m of newer) expect(check.stdout).toContain(`_${m.name}.sql`);

    const port = await freePort();
    node = await spawnNode({ ...env, PORT: String(port) }, port);
    const after = await runVonode(BIN, { ...env, PORT: String(port) }, ['migrate', '--check']);
    expect(after.code, after.out).toBe(0);
    const token = await aliceToken((a) => runVonode(BIN, { ...env, PORT: String(port) }, a));
    const now = await nodeSnapshot(node.url, token, fixture.facts);
    for (const [name, answer] of Object.entries(fixture.snapshot)) {
      // A newer migration may add a built-in table (ivoa.obscore_radio): every table the old
      // node listed is still listed, the rest of each answer is the same.
      if (name === 'tables') {
        const listed = new Set(now[name]?.split(/\r?\n/));
        expect(
          answer.split(/\r?\n/).filter((l) => !listed.has(l)),
          name,
        ).toEqual([]);
      } else expect(now[name], name).toBe(answer);
    }
    await node.stop();
    node = undefined;
  }, 300_000);
});
