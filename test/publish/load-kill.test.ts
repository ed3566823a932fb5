import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANONYMOUS, withReadOnlyIdentity } from '../../src/auth/index.js';
import { cleanupPublishing, parseDescriptionFile, publishCatalogue } from '../../src/publish/index.js';
import { testDatabaseUrl } from '../support/db.js';
import { recordingStore } from './load-support.js';

const SCHEMA = `pubk_${Math.random().toString(36).slice(2, 8)}`;
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'vonode.js');
const BIG_ROWS = 400_000;
const STAGED_HASH = createHash('sha256').update(`${SCHEMA}.cat`).digest('hex').slice(0, 12);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function writeCsv(path: string, rows: number, offset = 0): Promise<void> {
  const out = createWriteStream(path);
  out.write('id,ra,dec,flux\n');
  let buf = '';
  for (let i = 1; i <= rows; i++) {
    buf += `${i + offset},${((i * 0.0137) % 360).toFixed(6)},${(-85 + ((i * 0.0071) % 170)).toFixed(6)},${i % 1000}\n`;
    if (buf.length > 1 << 16) {
      if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
      buf = '';
    }
  }
  out.end(buf);
  await new Promise<void>((r) => out.on('finish', () => r()));
}

describe('SIGKILL of vonode publish: the old version stays served, nothing half-visible, cleaned next time', () => {
  let pool: pg.Pool;
  let dir: string;
  let desc: string;
  let big: string;
  const store = recordingStore();

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 4 });
    dir = mkdtempSync(join(tmpdir(), 'vonode-load-kill-'));
    desc = join(dir, 'cat.yaml');
    writeFileSync(
      desc,
      `validation: lax
schema: {name: ${SCHEMA}, description: tables of the SIGKILL test}
tables:
  - name: cat
    description: a catalogue published while the publisher is killed
    primaryKey: [id]
    position: {ra: ra, dec: dec}
    columns:
      - {name: id, datatype: long, nullable: false, description: identifier}
      - {name: ra, datatype: double, unit: deg, description: right ascension}
      - {name: dec, datatype: double, unit: deg, description: declination}
      - {name: flux, datatype: double, description: flux}
`,
    );
    big = join(dir, 'big.csv');
    await writeCsv(big, BIG_ROWS);
  });
  afterAll(async () => {
    await pool.query('DELETE FROM vonode.published_tables WHERE schema_name = $1', [SCHEMA]);
    await pool.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await pool.end();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Starts `vonode publish` and kills it once its COPY into vonode_staging has rows. The
   * table being filled is created in the COPY's own transaction (invisible to this
   * session), so the COPY is found by its statement, which names the staging table
   * (`v_<sha256 of the table name>_v<N>`, src/publish/staging.ts).
   */
  async function killMidLoad(): Promise<void> {
    const child: ChildProcess = spawn(process.execPath, [BIN, 'publish', desc, big], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        DATABASE_URL: testDatabaseUrl(),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (d) => {
      err += d;
    });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, s) => r(s)));
    let copying = false;
    while (!copying && child.exitCode === null) {
      const r = await pool.query(
        `SELECT p.tuples_processed FROM pg_stat_progress_copy p JOIN pg_stat_activity a ON a.pid = p.pid
          WHERE a.query LIKE $1 AND p.tuples_processed > 0`,
        [`COPY "vonode_staging"."v_${STAGED_HASH}_v%`],
      );
      copying = (r.rowCount ?? 0) > 0;
      if (!copying) await sleep(20);
    }
    expect(copying, `the publish ended before it was killed: ${err}`).toBe(true);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
  }

  const leftovers = async () =>
    (
      await pool.query(
        `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'vonode_staging' AND obj_description(c.oid, 'pg_class') = $1`,
        [`vonode staging of ${SCHEMA}.cat`],
      )
    ).rows;

  /** The killed backend ends when it sees its client gone; until then its lock keeps the tables. */
  async function cleanUntilGone(): Promise<void> {
    for (let i = 0; i < 100 && (await leftovers()).length > 0; i++) {
      await cleanupPublishing(pool);
      if ((await leftovers()).length > 0) await sleep(100);
    }
    expect(await leftovers()).toEqual([]);
  }

  const servedTables = async () =>
    (
      await pool.query(
        "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
        [SCHEMA],
      )
    ).rows.map((r) => r.relname);

  it('mid-load of a first publish: nothing is published, any leftover goes at the next publish/start', async () => {
    await killMidLoad();
    const row = await pool.query('SELECT 1 FROM vonode.published_tables WHERE schema_name = $1', [SCHEMA]);
    expect(row.rowCount).toBe(0);
    expect(await servedTables()).toEqual([]);
    await cleanUntilGone();
  });

  it('mid-republish: the previous version is still served, whole, and the next publish works', async () => {
    const small = join(dir, 'small.csv');
    await writeCsv(small, 1000, 5_000_000);
    const description = await parseDescriptionFile(desc);
    await publishCatalogue(pool, description, [small], { store, validation: 'lax' });
    await killMidLoad();
    const row = await pool.query(
      'SELECT sql_table, version FROM vonode.published_tables WHERE table_name = $1',
      [`${SCHEMA}.cat`],
    );
    expect(row.rows).toEqual([{ sql_table: 'cat_v1', version: 1 }]);
    expect(await servedTables()).toEqual(['cat_v1']);
    const seen = await withReadOnlyIdentity(
      pool,
      ANONYMOUS,
      async (c) =>
        (await c.query(`SELECT count(*)::int AS n, min(id)::int AS lo FROM ${SCHEMA}.cat_v1`)).rows[0],
    );
    expect(seen).toEqual({ n: 1000, lo: 5_000_001 });
    await cleanUntilGone();
    const again = await publishCatalogue(pool, description, [small], { store, validation: 'lax' });
    expect(again.tables[0]).toMatchObject({ replaced: 1, nrows: 1000 });
    expect(await servedTables()).toEqual([again.tables[0].sqlTable]);
  });
});
