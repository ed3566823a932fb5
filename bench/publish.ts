/**
 * Throughput of publishing: a generated PyBDSF-like table of N rows (default 1,000,000;
 * 13 columns) written as CSV and as a FITS binary table, each published by a child process
 * (publishCatalogue: read, HEALPix, COPY, sort, key and index, ANALYZE, swap), beside the
 * reference measured in the same run: psql `\copy ... FROM` of the same CSV into a plain
 * table (no HEALPix, no sort, no index). Prints rows/s, MB/s, the ratio to the reference,
 * the phases of each publish and each child's peak RSS.
 *
 *   npx tsx bench/publish.ts [rows] [--only=csv,fits] [--keep]
 *
 * DATABASE_URL names the PostgreSQL to use; without it an embedded one is started in a
 * temporary folder. BENCH_PROF=1 writes a CPU profile of each publishing child to
 * $TMPDIR/vonode-bench-prof; Targets (issue 14): >= 0.5 of the reference's rows/s, RSS < 300 MB at
 * 10,000,000 rows.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { notifyCatalogueChanged, putPublishedTable, removePublishedTable } from '../src/catalogue/index.js';
import { ensureDatabase, startEmbeddedPostgres } from '../src/db/embedded.js';
import { applyMigrations } from '../src/db/migrate.js';
import { parseDescriptionFile, publishCatalogue, unpublishTable } from '../src/publish/index.js';
import { SOURCE_FIELDS as FIELDS, writeSourceTable as writeFormat } from './source-table.js';

const DESCRIPTION = `validation: lax
schema: {name: bench, description: publishing benchmark}
tables:
  - name: srl
    description: PyBDSF-like source list
    primaryKey: [source_id]
    position: {ra: ra, dec: dec}
    columns:
      - {name: source_id, datatype: long, nullable: false, description: id}
      - {name: isl_id, datatype: int, description: island}
      - {name: ra, datatype: double, unit: deg, description: ra}
      - {name: dec, datatype: double, unit: deg, description: dec}
      - {name: e_ra, datatype: double, unit: deg, description: error}
      - {name: e_dec, datatype: double, unit: deg, description: error}
      - {name: total_flux, datatype: double, unit: Jy, description: flux}
      - {name: e_total_flux, datatype: double, unit: Jy, description: error}
      - {name: peak_flux, datatype: float, unit: Jy/beam, description: peak}
      - {name: maj, datatype: float, unit: arcsec, description: major axis}
      - {name: min_axis, source: min, datatype: float, unit: arcsec, description: minor axis}
      - {name: pa, datatype: float, unit: deg, description: position angle}
      - {name: s_code, datatype: char, arraysize: '1', description: code}
`;

interface ChildResult {
  rows: number;
  seconds: number;
  rss: number;
  phases: string[];
}

/** Child: publishes one file and prints {rows, seconds, rss, phases}. */
async function child(url: string, desc: string, file: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  const phases: string[] = [];
  const store = { putPublishedTable, removePublishedTable, notifyCatalogueChanged };
  try {
    const description = await parseDescriptionFile(desc);
    const t0 = process.hrtime.bigint();
    const report = await publishCatalogue(pool, description, [file], {
      store,
      log: (l) => {
        if (!l.startsWith('warning')) phases.push(l);
      },
    });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await unpublishTable(pool, report.tables[0].tableName, { store });
    const out: ChildResult = {
      rows: report.tables[0].nrows,
      seconds,
      rss: process.resourceUsage().maxRSS * 1024,
      phases,
    };
    process.stdout.write(JSON.stringify(out));
  } finally {
    await pool.end();
  }
}

function runChild(url: string, desc: string, file: string): ChildResult {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(
    process.execPath,
    [
      ...(process.env.BENCH_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${join(tmpdir(), 'vonode-bench-prof')}`]
        : []),
      '--import',
      'tsx',
      self,
      '--child',
      url,
      desc,
      file,
    ],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    },
  );
  if (r.status !== 0) throw new Error(`publishing ${file} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ChildResult;
}

/** The reference: psql streams the same CSV into a plain table with COPY. */
function psqlCopy(url: string, csv: string): number {
  const cols = FIELDS.map((f) => {
    const t =
      f.datatype === 'long'
        ? 'bigint'
        : f.datatype === 'int'
          ? 'integer'
          : f.datatype === 'float'
            ? 'real'
            : f.datatype === 'double'
              ? 'double precision'
              : 'text';
    return `"${f.name}" ${t}`;
  });
  const sql = [
    'DROP TABLE IF EXISTS public.bench_copy_reference;',
    `CREATE TABLE public.bench_copy_reference (${cols.join(', ')});`,
  ].join(' ');
  const psql = (args: string[]) => {
    const r = spawnSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-q', ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
  };
  psql(['-c', sql]);
  const t0 = process.hrtime.bigint();
  psql(['-c', `\\copy public.bench_copy_reference FROM '${csv}' WITH (FORMAT csv, HEADER true)`]);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  psql(['-c', 'DROP TABLE public.bench_copy_reference']);
  return seconds;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1], args[2], args[3]);
  const n = Number(args.find((a) => /^[0-9]+$/.test(a)) ?? 1_000_000);
  const only = args
    .find((a) => a.startsWith('--only='))
    ?.slice(7)
    .split(',') ?? ['csv', 'fits'];
  const keep = args.includes('--keep');
  const dir = mkdtempSync(join(tmpdir(), 'vonode-bench-publish-'));
  // Run as root, the embedded PostgreSQL runs as the postgres user, which must enter the folder.
  chmodSync(dir, 0o755);
  let stop = async () => {};
  let url = process.env.DATABASE_URL;
  try {
    if (!url) {
      const db = await startEmbeddedPostgres({ dataDir: join(dir, 'pg') });
      stop = db.stop;
      url = db.url;
      await ensureDatabase(url);
    }
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    await applyMigrations(pool);
    await pool.end();
    const desc = join(dir, 'srl.yaml');
    writeFileSync(desc, DESCRIPTION);
    const csv = join(dir, 'srl.csv');
    process.stderr.write(`writing ${n} rows as CSV${only.includes('fits') ? ' and FITS' : ''}...\n`);
    await writeFormat(csv, 'csv', n);
    const csvBytes = statSync(csv).size;
    const refSeconds = psqlCopy(url, csv);
    const refRate = n / refSeconds;
    const line = (what: string, rowsN: number, seconds: number, bytes: number, rss?: number) =>
      `${what.padEnd(34)} ${(rowsN / seconds).toFixed(0).padStart(9)} rows/s ${(bytes / 1e6 / seconds).toFixed(1).padStart(7)} MB/s ${(rowsN / seconds / refRate).toFixed(2).padStart(5)}x COPY${rss ? `  peak RSS ${(rss / 1e6).toFixed(0)} MB` : ''}`;
    const out = [
      `${n} rows, CSV ${(csvBytes / 1e6).toFixed(1)} MB`,
      line('psql \\copy FROM (reference)', n, refSeconds, csvBytes),
    ];
    const details: string[] = [];
    for (const fmt of only) {
      let file = csv;
      if (fmt === 'fits') {
        file = join(dir, 'srl.fits');
        await writeFormat(file, 'fits', n);
      }
      const r = runChild(url, desc, file);
      if (r.rows !== n) throw new Error(`published ${r.rows} rows of ${n}`);
      out.push(line(`vonode publish ${fmt}`, n, r.seconds, statSync(file).size, r.rss));
      details.push(`${fmt}: ${r.phases.join(' | ')}`);
    }
    process.stdout.write(`${[...out, ...details].join('\n')}\n`);
  } finally {
    await stop();
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
