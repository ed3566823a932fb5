import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVonode } from '../support/node-state.js';
import { freePort } from '../support/process.js';

// Issue 23: backup and restore of a node on an external PostgreSQL (DATABASE_URL), with
// pg_dump in custom format and pg_restore into an empty database. Debian's PostgreSQL 15
// server (scripts/install-debian-deps.sh) plays the site's server, so that Debian's pg_dump
// is as new as it.

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'vonode.js');
const PG = '/usr/lib/postgresql/15/bin';
let dir: string;
let port: number;
const asPostgres = (cmd: string, args: string[]) =>
  process.getuid?.() === 0
    ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' })
    : execFileSync(cmd, args, { stdio: 'pipe' });
const url = (db: string) => `postgres://vonode@127.0.0.1:${port}/${db}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vonode-backup-external-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'pg'));
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    chownSync(join(dir, 'pg'), uid, gid);
  }
  port = await freePort();
  asPostgres(join(PG, 'initdb'), ['-D', join(dir, 'pg'), '-U', 'vonode', '--auth=trust', '--encoding=UTF8']);
  asPostgres(join(PG, 'pg_ctl'), [
    '-D',
    join(dir, 'pg'),
    '-w',
    '-l',
    join(dir, 'pg', 'log'),
    '-o',
    `-p ${port} -k ${join(dir, 'pg')} -c listen_addresses=127.0.0.1`,
    'start',
  ]);
  for (const db of ['site', 'restored', 'busy']) {
    execFileSync(join(PG, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'vonode', db]);
  }
}, 120_000);

afterAll(() => {
  try {
    asPostgres(join(PG, 'pg_ctl'), ['-D', join(dir, 'pg'), '-m', 'fast', 'stop']);
  } catch {
    // not started
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function rows(db: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url(db) });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('vonode backup and restore on DATABASE_URL', () => {
  it('dumps with pg_dump, restores into an empty database and a fresh data folder, and refuses a busy one', async () => {
    const site = { DATABASE_URL: url('site'), VONODE_DATA_DIR: join(dir, 'var') };
    const csv = [
      'id,ra,dec,flux',
      ...Array.from({ length: 30 }, (_, i) => `${i + 1},${10 + i / 10},${-5 + i / 20},${i}`),
    ];
    writeFileSync(join(dir, 'sources.csv'), `${csv.join('\n')}\n`);
    const desc = await runVonode(BIN, site, [
      'describe',
      join(dir, 'sources.csv'),
      '--schema',
      'survey',
      '--name',
      'sources',
    ]);
    expect(desc.code, desc.out).toBe(0);
    writeFileSync(join(dir, 'sources.yaml'), desc.stdout);
    const pub = await runVonode(BIN, site, [
      'publish',
      '--lax',
      join(dir, 'sources.yaml'),
      join(dir, 'sources.csv'),
    ]);
    expect(pub.code, pub.out).toBe(0);
    mkdirSync(join(dir, 'var', 'results', 'job1'), { recursive: true });
    writeFileSync(join(dir, 'var', 'results', 'job1', 'result'), 'a result\n');

    const file = join(dir, 'site.backup');
    const backup = await runVonode(BIN, site, ['backup', file]);
    expect(backup.code, backup.out).toBe(0);
    expect(backup.stdout).toMatch(/pg_dump 15/);

    const busy = await runVonode(BIN, { DATABASE_URL: url('site'), VONODE_DATA_DIR: join(dir, 'other') }, [
      'restore',
      file,
    ]);
    expect(busy.code).toBe(2);
    expect(busy.out).toMatch(/DATABASE_URL is not empty/);

    const target = { DATABASE_URL: url('restored'), VONODE_DATA_DIR: join(dir, 'restored') };
    const restore = await runVonode(BIN, target, ['restore', file]);
    expect(restore.code, restore.out).toBe(0);
    for (const sql of [
      'SELECT * FROM survey.sources ORDER BY id',
      "SELECT * FROM tap_schema.columns WHERE table_name = 'survey.sources' ORDER BY column_name",
      'SELECT version, name FROM vonode.schema_migrations ORDER BY version',
    ]) {
      const before = await rows('site', sql);
      expect(before.length, sql).toBeGreaterThan(0);
      expect(await rows('restored', sql), sql).toEqual(before);
    }
    const check = await runVonode(BIN, target, ['migrate', '--check']);
    expect(check.code, check.out).toBe(0);
    expect(execFileSync('cat', [join(dir, 'restored', 'results', 'job1', 'result')]).toString()).toBe(
      'a result\n',
    );
  }, 300_000);
});
