/**
 * Throughput of the publishing readers: a generated PyBDSF-like table of N rows (default
 * 1,000,000; 13 columns) written as FITS, VOTable BINARY2 and TABLEDATA, CSV, TSV and
 * Parquet, each read through openDataSource to the last batch in a child process, beside the
 * reference of reading the same bytes with a plain fs stream (no parsing) in the same run.
 * Prints rows/s, MB/s, the ratio to the reference and each child's peak RSS.
 *
 * With --rss-rows=N (e.g. 10000000), also writes an N-row CSV of the same columns and prints
 * the peak RSS of a child reading it through openDataSource (the reader's share of the
 * publishing process's memory; it should not grow with N).
 *
 *   npx tsx bench/readers.ts [rows] [--keep] [--only=csv,fits] [--rss-rows=N]
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDataSource } from '../src/publish/readers/index.js';
import type { Field } from '../votable/index.js';
import {
  SOURCE_FIELDS as FIELDS,
  sourceRows as rows,
  writeSourceTable as writeFormat,
} from './source-table.js';

async function writeParquet(path: string, n: number) {
  const { parquetWriteFile } = await import('hyparquet-writer');
  const cols: unknown[][] = FIELDS.map(() => new Array(n));
  let i = 0;
  for (const r of rows(n)) {
    for (let k = 0; k < r.length; k++) cols[k][i] = r[k];
    i++;
  }
  const type = (f: Field) =>
    f.datatype === 'long'
      ? 'INT64'
      : f.datatype === 'int'
        ? 'INT32'
        : f.datatype === 'float'
          ? 'FLOAT'
          : f.datatype === 'double'
            ? 'DOUBLE'
            : 'STRING';
  await parquetWriteFile({
    filename: path,
    rowGroupSize: 100_000,
    columnData: FIELDS.map((f, k) => ({ name: f.name, data: cols[k] as never, type: type(f) as never })),
  });
}

/** Child: reads one file (or just its bytes) and prints {rows, seconds, rss}. */
async function child(mode: string, path: string) {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let n = 0;
  if (mode === 'reference') {
    for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) n += (c as Buffer).length;
  } else {
    const ds = await openDataSource(path);
    try {
      for await (const b of ds.batches()) n += b.rows.length;
    } finally {
      await ds.close();
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  process.stdout.write(JSON.stringify({ n, seconds, cpu, rss: process.resourceUsage().maxRSS * 1024 }));
}

function runChild(mode: string, path: string): { n: number; seconds: number; cpu: number; rss: number } {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', mode, path], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`child ${mode} ${path} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function main() {
  const args = process.argv.slice(2);
  if (args[0] === '--child') return child(args[1], args[2]);
  const n = Number(args.find((a) => /^[0-9]+$/.test(a)) ?? 1_000_000);
  const keep = args.includes('--keep');
  const only = args
    .find((a) => a.startsWith('--only='))
    ?.slice(7)
    .split(',');
  const dir = mkdtempSync(join(tmpdir(), 'vonode-bench-readers-'));
  const files: [string, string, () => Promise<void>][] = [
    ['fits', join(dir, 't.fits'), () => writeFormat(join(dir, 't.fits'), 'fits', n)],
    ['votable-binary2', join(dir, 't.vot'), () => writeFormat(join(dir, 't.vot'), 'votable/binary2', n)],
    ['votable-td', join(dir, 't-td.vot'), () => writeFormat(join(dir, 't-td.vot'), 'votable/td', n)],
    ['csv', join(dir, 't.csv'), () => writeFormat(join(dir, 't.csv'), 'csv', n)],
    ['tsv', join(dir, 't.tsv'), () => writeFormat(join(dir, 't.tsv'), 'tsv', n)],
    ['parquet', join(dir, 't.parquet'), () => writeParquet(join(dir, 't.parquet'), n)],
  ];
  console.log(`readers bench: ${n} rows x ${FIELDS.length} columns, files in ${dir}`);
  // rows/cpu-s: rows per second of the reader's own CPU time, steadier than wall time on a
  // shared machine (the wall-time ratio to the plain read is the figure asked for).
  console.log('format            MB     ref MB/s   rows/s      MB/s    /ref   rows/cpu-s   peak RSS');
  try {
    for (const [name, path, make] of files) {
      if (only && !only.includes(name)) continue;
      await make();
      const mb = statSync(path).size / 1e6;
      const ref = runChild('reference', path);
      const got = runChild('read', path);
      if (got.n !== n) throw new Error(`${name}: read ${got.n} rows, wrote ${n}`);
      const refMBs = mb / ref.seconds;
      const mbs = mb / got.seconds;
      console.log(
        `${name.padEnd(16)}${mb.toFixed(1).padStart(7)}${refMBs.toFixed(0).padStart(11)}${(n / got.seconds).toFixed(0).padStart(10)}` +
          `${mbs.toFixed(1).padStart(9)}${(mbs / refMBs).toFixed(3).padStart(8)}${(n / got.cpu).toFixed(0).padStart(13)}` +
          `${(got.rss / 1e6).toFixed(0).padStart(8)} MB (plain read ${(ref.rss / 1e6).toFixed(0)} MB)`,
      );
      if (!keep) rmSync(path);
    }
    const rssRows = Number(args.find((a) => a.startsWith('--rss-rows='))?.slice(11) ?? 0);
    if (rssRows > 0) {
      const big = join(dir, 'big.csv');
      await writeFormat(big, 'csv', rssRows);
      const got = runChild('read', big);
      if (got.n !== rssRows) throw new Error(`big.csv: read ${got.n} rows, wrote ${rssRows}`);
      console.log(
        `csv ${rssRows} rows (${(statSync(big).size / 1e6).toFixed(0)} MB): ${(rssRows / got.seconds).toFixed(0)} rows/s, ` +
          `${(rssRows / got.cpu).toFixed(0)} rows/cpu-s, peak RSS ${(got.rss / 1e6).toFixed(0)} MB`,
      );
    }
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
  writeFileSync(1, '');
}

await main();
