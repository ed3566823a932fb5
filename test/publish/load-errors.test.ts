import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CatalogueDescription,
  type ColumnDescription,
  publishCatalogue,
  type TableDescription,
} from '../../src/publish/index.js';
import { testDatabaseUrl } from '../support/db.js';
import { recordingStore } from './load-support.js';

const SCHEMA = `pubx_${Math.random().toString(36).slice(2, 8)}`;
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'vonode.js');

const COLUMNS: ColumnDescription[] = [
  { name: 'id', datatype: 'long', nullable: false, description: 'id' },
  { name: 'ra', datatype: 'double', unit: 'deg', description: 'ra' },
  { name: 'dec', datatype: 'double', unit: 'deg', description: 'dec' },
  { name: 'flux', datatype: 'float', description: 'flux' },
];

function table(extra: Partial<TableDescription> = {}): TableDescription {
  return {
    schema: SCHEMA,
    name: 'cat',
    description: 'a test catalogue',
    primaryKey: ['id'],
    position: { ra: 'ra', dec: 'dec' },
    columns: COLUMNS,
    ...extra,
  };
}

const catalogue = (t: TableDescription): CatalogueDescription => ({
  schemas: [{ name: SCHEMA, description: 'tables of the loader error tests' }],
  tables: [t],
});

const GOOD_ROWS = ['id,ra,dec,flux', '1,10.5,-30.25,0.5', '2,11,-31,0.25', '3,12,-32,1'];

describe('bad input: a clear message and nothing half-published', () => {
  let pool: pg.Pool;
  let dir: string;
  const store = recordingStore();

  beforeAll(() => {
    pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 4 });
    dir = mkdtempSync(join(tmpdir(), 'vonode-load-errors-'));
  });
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await pool.end();
    rmSync(dir, { recursive: true, force: true });
  });

  const file = (name: string, text: string | Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  /** Nothing of the table exists anywhere: catalogue row, published schema, staging. */
  async function nothingPublished(): Promise<void> {
    const row = await pool.query('SELECT 1 FROM vonode.published_tables WHERE schema_name = $1', [SCHEMA]);
    expect(row.rowCount).toBe(0);
    const tables = await pool.query(
      `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND (n.nspname = $1 OR (n.nspname = 'vonode_staging'
          AND obj_description(c.oid, 'pg_class') LIKE $2))`,
      [SCHEMA, `%${SCHEMA}.%`],
    );
    expect(tables.rows).toEqual([]);
  }

  const publish = (t: TableDescription, data: string) =>
    publishCatalogue(pool, catalogue(t), [data], { store, validation: 'lax' });

  it('refuses an unknown datatype', async () => {
    const bad = table({ columns: [...COLUMNS, { name: 'x', datatype: 'quad' as never, description: 'x' }] });
    await expect(publish(bad, file('a.csv', GOOD_ROWS.join('\n')))).rejects.toThrow(/quad/);
    await nothingPublished();
  });

  it('refuses missing and non-numeric position columns', async () => {
    const data = file('b.csv', GOOD_ROWS.join('\n'));
    await expect(publish(table({ position: { ra: 'ra', dec: 'decl' } }), data)).rejects.toThrow(/decl/);
    const textDec = table({
      columns: COLUMNS.map((c) => (c.name === 'dec' ? { ...c, datatype: 'char', arraysize: '*' } : c)),
    });
    await expect(publish(textDec, data)).rejects.toThrow(/dec/);
    await nothingPublished();
  });

  it('refuses duplicate and reserved names', async () => {
    const data = file('c.csv', GOOD_ROWS.join('\n'));
    const dup = table({ columns: [...COLUMNS, { name: 'FLUX', datatype: 'double', description: 'again' }] });
    await expect(publish(dup, data)).rejects.toThrow(/flux/i);
    const reserved = table({
      columns: [...COLUMNS, { name: 'select', datatype: 'double', description: 'x' }],
    });
    await expect(publish(reserved, data)).rejects.toThrow(/reserved/);
    await nothingPublished();
  });

  it('names the file, row and column of a value that does not fit', async () => {
    const rows = [...GOOD_ROWS, '4,13,-33,bright', '5,14,-34,2'];
    const data = file('d.csv', rows.join('\n'));
    const err = await publish(table(), data).catch((e: Error) => e);
    expect(String(err)).toMatch(/d\.csv/);
    expect(String(err)).toMatch(/row 4/);
    expect(String(err)).toMatch(/flux/);
    await nothingPublished();
  });

  it('names the row of a declination out of range', async () => {
    const data = file('e.csv', [...GOOD_ROWS, '4,13,-95,2'].join('\n'));
    await expect(publish(table(), data)).rejects.toThrow(/row 4, column dec/);
    await nothingPublished();
  });

  it('names a described column the file does not have', async () => {
    const data = file('f.csv', ['id,ra,dec', '1,2,3'].join('\n'));
    await expect(publish(table(), data)).rejects.toThrow(/no column for flux/);
    await nothingPublished();
  });

  it('refuses a duplicate primary key', async () => {
    const data = file('g.csv', [...GOOD_ROWS, '3,13,-33,2'].join('\n'));
    await expect(publish(table(), data)).rejects.toThrow(/duplicate primary key/);
    await nothingPublished();
  });

  it('refuses a truncated file and keeps the version served before', async () => {
    const good = file('h.csv', GOOD_ROWS.join('\n'));
    await publish(table(), good);
    const rows = ['id,ra,dec,flux'];
    for (let i = 1; i <= 50_000; i++) rows.push(`${i},${(i * 0.007) % 360},${-60 + (i % 100) / 10},${i}`);
    const whole = gzipSync(rows.join('\n'));
    const cut = file('i.csv.gz', whole.subarray(0, Math.floor(whole.length / 2)));
    await expect(publish(table(), cut)).rejects.toThrow(/i\.csv\.gz/);
    const served = await pool.query(
      'SELECT sql_table, nrows FROM vonode.published_tables WHERE table_name = $1',
      [`${SCHEMA}.cat`],
    );
    expect(served.rows).toEqual([{ sql_table: 'cat_v1', nrows: expect.anything() }]);
    expect(Number(served.rows[0].nrows)).toBe(3);
    const staged = await pool.query(
      "SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'vonode_staging' AND obj_description(c.oid, 'pg_class') LIKE $1",
      [`%${SCHEMA}.cat`],
    );
    expect(staged.rows[0].n).toBe(0);
    await pool.query('DELETE FROM vonode.published_tables WHERE schema_name = $1', [SCHEMA]);
    await pool.query(`DROP SCHEMA ${SCHEMA} CASCADE`);
  });

  it('the command says what is wrong in one line, with no stack trace, and exits non-zero', () => {
    const desc = file(
      'bad.yaml',
      `validation: lax\nschema: {name: ${SCHEMA}, description: x}\ntables:\n  - name: cat\n    description: x\n    position: {ra: ra, dec: dec}\n    columns:\n      - {name: id, datatype: long, description: id}\n      - {name: ra, datatype: double, description: ra}\n      - {name: dec, datatype: double, description: dec}\n      - {name: flux, datatype: float, description: flux}\n`,
    );
    const data = file('j.csv', [...GOOD_ROWS, '4,13,-33,bright'].join('\n'));
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      DATABASE_URL: testDatabaseUrl(),
    };
    const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
    const bad = run('publish', desc, data);
    for (const r of [
      bad,
      run('publish', join(dir, 'missing.yaml'), data),
      run('publish', desc),
      run('unpublish', `${SCHEMA}.nothing`),
    ]) {
      expect(r.status).not.toBe(0);
      // Lax validation lists metadata warnings before the failure.
      const lines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !/^vonode: warning: /.test(l));
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^vonode: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(bad.stderr).toMatch(/j\.csv: row 4, column "?flux"?: "bright" is not a float/);
    expect(readFileSync(desc, 'utf8')).toContain(SCHEMA);
  });
});
