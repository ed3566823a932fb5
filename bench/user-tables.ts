/**
 * Throughput of loading a user table over HTTP (POST /tap/load, as pyvo's load_table sends
 * it): a generated TSV of N rows (default 1,000,000; id, ra, dec, flux) is streamed into a
 * running node twice — into a table whose position UCDs give it the HEALPix column and index,
 * and into one without a position — beside the reference measured in the same run: COPY of
 * the same file into a plain table over one connection (no HTTP, no parsing in JavaScript,
 * no index). Prints rows/s, MB/s, the ratio to the reference and the peak RSS of this
 * process (node and client together), which stays flat because nothing is held whole.
 *
 *   npx tsx bench/user-tables.ts [rows]
 *
 * DATABASE_URL names the PostgreSQL to use; without it an embedded one is started in a
 * temporary folder.
 */
import { chmodSync, createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DevIssuer, devIssuerSettings } from '../src/auth/index.js';
import { parseConfig } from '../src/config/index.js';
import { ensureDatabase, startEmbeddedPostgres } from '../src/db/embedded.js';
import { startNode } from '../src/node.js';

const rows = Number(process.argv[2] ?? 1_000_000);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function writeTsv(path: string, n: number): Promise<void> {
  const out = createWriteStream(path);
  out.write('id\tra\tdec\tflux\n');
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  let chunk = '';
  for (let i = 0; i < n; i++) {
    chunk += `${i}\t${(rnd() * 360).toFixed(6)}\t${(rnd() * 180 - 90).toFixed(6)}\t${(rnd() * 10).toFixed(3)}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = '';
    }
  }
  out.end(chunk);
  await finished(out);
}

const definition = (position: boolean) => `<vosi:table xmlns:vosi="http://www.ivoa.net/xml/VOSITables/v1.0"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <column><name>id</name><dataType xsi:type="vs:VOTableType">long</dataType></column>
  <column><name>ra</name>${position ? '<ucd>pos.eq.ra;meta.main</ucd>' : ''}<dataType xsi:type="vs:VOTableType">double</dataType></column>
  <column><name>dec</name>${position ? '<ucd>pos.eq.dec;meta.main</ucd>' : ''}<dataType xsi:type="vs:VOTableType">double</dataType></column>
  <column><name>flux</name><dataType xsi:type="vs:VOTableType">float</dataType></column>
</vosi:table>`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vonode-bench-usertables-'));
  // As root the embedded cluster runs as the postgres user, who must enter the folder.
  chmodSync(dir, 0o755);
  let stopDb = async () => {};
  let url = process.env.DATABASE_URL;
  if (!url) {
    const db = await startEmbeddedPostgres({ dataDir: join(dir, 'pg') });
    url = db.url;
    stopDb = () => db.stop();
    await ensureDatabase(url);
  }
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    DATABASE_URL: url,
    PORT: String(port),
    VONODE_DATA_DIR: join(dir, 'data'),
    VONODE_DEMO_ROWS: '0',
    VONODE_DEV_ISSUER: 'on',
    VONODE_BASE_URL: base,
    VONODE_LOG_LEVEL: 'silent',
  };
  const node = await startNode(parseConfig(env));
  try {
    const issuer = await DevIssuer.open(devIssuerSettings(env, {}));
    const token = await issuer.mintToken({ sub: 'bench', groups: [], expiresIn: '1h' });
    const auth = { authorization: `Bearer ${token}` };
    const file = join(dir, 'rows.tsv');
    await writeTsv(file, rows);
    const mb = statSync(file).size / 1e6;

    // Reference: COPY of the same file into a plain table.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(
      'CREATE TABLE public.bench_user_tables_ref (id bigint, ra double precision, dec double precision, flux real)',
    );
    let t = process.hrtime.bigint();
    await pipeline(
      createReadStream(file),
      client.query(
        copyFrom("COPY public.bench_user_tables_ref FROM STDIN (FORMAT csv, DELIMITER E'\\t', HEADER true)"),
      ),
    );
    const reference = Number(process.hrtime.bigint() - t) / 1e9;
    await client.query('DROP TABLE public.bench_user_tables_ref');
    await client.end();
    console.log(`rows ${rows}, file ${mb.toFixed(1)} MB`);
    console.log(
      `reference: COPY into a plain table   ${(rows / reference).toFixed(0)} rows/s  ${(mb / reference).toFixed(1)} MB/s`,
    );

    for (const position of [true, false]) {
      const name = `user_bench.${position ? 'withpos' : 'nopos'}`;
      const put = await fetch(`${base}/tap/tables/${name}`, {
        method: 'PUT',
        headers: { ...auth, 'content-type': 'text/xml' },
        body: definition(position),
      });
      if (put.status !== 201) throw new Error(`create ${name}: ${put.status} ${await put.text()}`);
      t = process.hrtime.bigint();
      const load = await fetch(`${base}/tap/load/${name}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'text/tab-separated-values' },
        body: Readable.toWeb(createReadStream(file)) as ReadableStream,
        duplex: 'half',
      } as RequestInit);
      const text = await load.text();
      const seconds = Number(process.hrtime.bigint() - t) / 1e9;
      if (load.status !== 200) throw new Error(`load ${name}: ${load.status} ${text}`);
      console.log(
        `POST /tap/load ${position ? 'with position (HEALPix)' : 'without position   '}  ${(rows / seconds).toFixed(0)} rows/s  ${(mb / seconds).toFixed(1)} MB/s  ratio ${(reference / seconds).toFixed(2)}`,
      );
      await fetch(`${base}/tap/tables/${name}`, { method: 'DELETE', headers: auth });
    }
    console.log(
      `peak RSS of this process (node and client): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
    );
  } finally {
    await node.close();
    await stopDb();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
