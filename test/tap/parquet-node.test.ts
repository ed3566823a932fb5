import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, DuckDBListValue, DuckDBTimestampValue } from '@duckdb/node-api';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReadField, VOPARQUET_CONTENT_KEY } from '../../votable/index.js';
import { isoFromMillis } from '../../votable/values.js';
import { startTestNode, TEST_BASE_URL } from '../support/node.js';
import { readAll } from '../votable/helpers.js';

/*
 * VOParquet through a live node: RESPONSEFORMAT=parquet and application/vnd.apache.parquet
 * (DALI 1.2, DALI-17..19) on /tap/sync and /tap/async, advertised in TAPRegExt (REG-21), and
 * Parquet accepted as a TAP upload (TAP-47..TAP-52), by its magic number.
 */

let node: Awaited<ReturnType<typeof startTestNode>>;
let dir: string;
let duck: Awaited<ReturnType<Awaited<ReturnType<typeof DuckDBInstance.create>>['connect']>>;

beforeAll(async () => {
  node = await startTestNode();
  dir = mkdtempSync(join(tmpdir(), 'vonode-parquet-node-'));
  duck = await (await DuckDBInstance.create(':memory:')).connect();
}, 120_000);
afterAll(async () => {
  duck?.closeSync();
  if (dir) rmSync(dir, { recursive: true, force: true });
  await node?.stop();
});

let files = 0;
function save(body: Buffer): string {
  const p = join(dir, `n${files++}.parquet`);
  writeFileSync(p, body);
  return p;
}

function fromDuck(v: unknown): unknown {
  if (v instanceof DuckDBTimestampValue) return isoFromMillis(Number(v.micros / 1000n));
  if (v instanceof DuckDBListValue) return v.items.map(fromDuck);
  return v;
}

async function duckRows(file: string): Promise<unknown[][]> {
  const r = await duck.runAndReadAll(`SELECT * FROM read_parquet('${file}')`);
  return r.getRows().map((row) => row.map(fromDuck));
}

async function sync(params: Record<string, string>): Promise<Response> {
  return fetch(`${node.url}/tap/sync`, {
    method: 'POST',
    body: new URLSearchParams({ LANG: 'ADQL', ...params }),
  });
}

/** BINARY2's char cells are 7-bit (VOT-37); Parquet keeps the UTF-8 text. */
const ascii = (rows: unknown[][]) =>
  rows.map((r) => r.map((v) => (typeof v === 'string' ? v.replace(/[^\x00-\x7f]/g, '?') : v)));

describe('RESPONSEFORMAT=parquet on /tap/sync and /tap/async (DALI-17..19)', () => {
  const queries = [
    'SELECT TOP 300 * FROM demo.sources ORDER BY source_id',
    'SELECT * FROM ivoa.obscore ORDER BY obs_publisher_did',
    "SELECT * FROM tap_schema.columns WHERE table_name IN ('demo.sources', 'ivoa.obscore') ORDER BY table_name, column_name",
  ];
  for (const query of queries) {
    it(`${query}: same values as the BINARY2 result, read by DuckDB`, async () => {
      const b2 = await sync({ QUERY: query, RESPONSEFORMAT: 'votable' });
      expect(b2.status).toBe(200);
      const want = await readAll(Buffer.from(await b2.arrayBuffer()));
      for (const format of ['parquet', 'application/vnd.apache.parquet']) {
        const res = await sync({ QUERY: query, RESPONSEFORMAT: format });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/vnd.apache.parquet');
        const body = Buffer.from(await res.arrayBuffer());
        expect(body.subarray(0, 4).toString('latin1')).toBe('PAR1');
        const file = save(body);
        const got = await duckRows(file);
        expect(got.length).toBeGreaterThan(0);
        expect(ascii(got)).toEqual(ascii(want.rows));
        // The footer's FIELDs are the BINARY2 FIELDs (timestamps aside: Parquet's own type).
        const kv = await duck.runAndReadAll(
          `SELECT decode(value) FROM parquet_kv_metadata('${file}') WHERE decode(key) = '${VOPARQUET_CONTENT_KEY}'`,
        );
        const meta = await readAll(String(kv.getRows()[0][0]));
        // The BINARY2 result's position FIELDs ref the COOSYS of its MIVOT annotation, which
        // the footer VOTable (no MIVOT) does not carry.
        const strip = ({ datatype: _d, xtype: _x, arraysize: _a, ID: _i, ref: _r, ...rest }: ReadField) =>
          rest;
        expect(meta.fields.map(strip)).toEqual(want.fields.map(strip));
      }
    }, 60_000);
  }

  it('an async job gives a Parquet result', async () => {
    const created = await fetch(`${node.url}/tap/async`, {
      method: 'POST',
      redirect: 'manual',
      body: new URLSearchParams({
        LANG: 'ADQL',
        QUERY: 'SELECT TOP 20 source_id, ra, dec FROM demo.sources ORDER BY source_id',
        RESPONSEFORMAT: 'parquet',
        PHASE: 'RUN',
      }),
    });
    expect(created.status).toBe(303);
    const job = (created.headers.get('location') ?? '').replace(TEST_BASE_URL, node.url);
    const deadline = Date.now() + 60_000;
    let phase = '';
    while (Date.now() < deadline) {
      phase = (await (await fetch(`${job}/phase`)).text()).trim();
      if (phase === 'COMPLETED' || phase === 'ERROR') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(phase).toBe('COMPLETED');
    const res = await fetch(`${job}/results/result`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    const rows = await duckRows(save(Buffer.from(await res.arrayBuffer())));
    expect(rows.length).toBe(20);
    const b2 = await readAll(
      Buffer.from(
        await (
          await sync({ QUERY: 'SELECT TOP 20 source_id, ra, dec FROM demo.sources ORDER BY source_id' })
        ).arrayBuffer(),
      ),
    );
    expect(rows).toEqual(b2.rows);
  }, 90_000);

  it('is advertised in the TAPRegExt capability with its MIME type and alias (REG-21)', async () => {
    const caps = await (await fetch(`${node.url}/tap/capabilities`)).text();
    expect(caps).toMatch(
      /<outputFormat>\s*<mime>application\/vnd\.apache\.parquet<\/mime>\s*<alias>parquet<\/alias>\s*<\/outputFormat>/,
    );
  });
});

describe('Parquet uploads (TAP-47..TAP-52)', () => {
  function upload(name: string, file: Buffer, query: string, format = 'votable'): Promise<Response> {
    const form = new FormData();
    form.append('LANG', 'ADQL');
    form.append('RESPONSEFORMAT', format);
    form.append('UPLOAD', `${name},param:t1`);
    form.append('QUERY', query);
    // Named .bin on purpose: Parquet is known by its magic number, not by the file name.
    form.append('t1', new Blob([file]), 'table.bin');
    return fetch(`${node.url}/tap/sync`, { method: 'POST', body: form });
  }

  it('a Parquet file from another writer is queried like a VOTable upload', async () => {
    const pq = Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 'id', data: [3, 1, 2, null], type: 'INT32' },
          { name: 'big', data: [10n ** 15n, -5n, 0n, 7n], type: 'INT64' },
          { name: 'x', data: [0.5, Number.NaN, -2.25, 1e300], type: 'DOUBLE' },
          { name: 'f', data: [1.5, 2.5, null, -0.125], type: 'FLOAT' },
          { name: 'ok', data: [true, false, null, true], type: 'BOOLEAN' },
          { name: 'label', data: ['three', 'ünï', '', null], type: 'STRING' },
          {
            name: 'at',
            data: [
              new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)),
              null,
              new Date(0),
              new Date(Date.UTC(2030, 5, 1)),
            ],
            type: 'TIMESTAMP',
          },
        ],
      }),
    );
    const res = await upload('mine', pq, 'SELECT * FROM TAP_UPLOAD.mine ORDER BY id');
    const text = Buffer.from(await res.arrayBuffer());
    expect(res.status, text.toString()).toBe(200);
    const r = await readAll(text);
    expect(r.fields.map((f) => [f.name, f.datatype])).toEqual([
      ['id', 'int'],
      ['big', 'long'],
      ['x', 'double'],
      ['f', 'float'],
      ['ok', 'boolean'],
      ['label', 'char'],
      ['at', 'char'],
    ]);
    expect(r.fields[6].xtype).toBe('timestamp');
    // PostgreSQL sorts NULL last; NaN doubles are null as in every upload (astropy masks them);
    // BINARY2's char is 7-bit (VOT-37), so ü and ï come back as '?'.
    expect(r.rows).toEqual([
      [1, -5n, null, 2.5, false, '?n?', null],
      [2, 0n, -2.25, null, null, '', '1970-01-01T00:00:00'],
      [3, 10n ** 15n, 0.5, 1.5, true, 'three', '2024-01-02T03:04:05.678'],
      [null, 7n, 1e300, -0.125, true, null, '2030-06-01T00:00:00'],
    ]);
  });

  it("vonode's own Parquet result uploads back with its names, units and UCDs, and joins the catalogue", async () => {
    const q = 'SELECT TOP 40 source_id, ra, dec FROM demo.sources ORDER BY source_id';
    const first = await sync({ QUERY: q, RESPONSEFORMAT: 'parquet' });
    const pq = Buffer.from(await first.arrayBuffer());
    const res = await upload(
      'back',
      pq,
      'SELECT b.source_id, b.ra, s.dec FROM TAP_UPLOAD.back AS b JOIN demo.sources AS s ON s.source_id = b.source_id ORDER BY b.source_id',
      'parquet',
    );
    const body = Buffer.from(await res.arrayBuffer());
    expect(res.status, body.toString()).toBe(200);
    const got = await duckRows(save(body));
    const want = await readAll(Buffer.from(await (await sync({ QUERY: q })).arrayBuffer()));
    expect(got).toEqual(want.rows);
    // The uploaded table's columns took the footer's metadata (checked through TAP_UPLOAD's FIELDs).
    const meta = await upload('back', pq, 'SELECT TOP 1 ra FROM TAP_UPLOAD.back');
    const f = (await readAll(Buffer.from(await meta.arrayBuffer()))).fields[0];
    const orig = want.fields.find((x) => x.name === 'ra');
    expect(f).toMatchObject({ name: 'ra', unit: orig?.unit, ucd: orig?.ucd });
  });

  it('an async job reads a Parquet upload (kept with the job until it runs)', async () => {
    const pq = Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 'k', data: [2, 1, 3], type: 'INT32' },
          { name: 'v', data: ['b', 'a', 'c'], type: 'STRING' },
        ],
      }),
    );
    const form = new FormData();
    form.append('LANG', 'ADQL');
    form.append('UPLOAD', 'mine,param:t1');
    form.append('QUERY', 'SELECT k, v FROM TAP_UPLOAD.mine ORDER BY k');
    form.append('PHASE', 'RUN');
    form.append('t1', new Blob([pq]), 'table.bin');
    const created = await fetch(`${node.url}/tap/async`, { method: 'POST', body: form, redirect: 'manual' });
    expect(created.status).toBe(303);
    const job = (created.headers.get('location') ?? '').replace(TEST_BASE_URL, node.url);
    const deadline = Date.now() + 60_000;
    let phase = '';
    while (Date.now() < deadline) {
      phase = (await (await fetch(`${job}/phase`)).text()).trim();
      if (phase === 'COMPLETED' || phase === 'ERROR') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(phase).toBe('COMPLETED');
    const r = await readAll(Buffer.from(await (await fetch(`${job}/results/result`)).arrayBuffer()));
    expect(r.rows).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
  }, 90_000);

  it('a file that starts like Parquet but is not one is a clear 400 (DALI error document)', async () => {
    const res = await upload(
      'bad',
      Buffer.from('PAR1 this is not really parquet PAR1'),
      'SELECT * FROM TAP_UPLOAD.bad',
    );
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toMatch(/QUERY_STATUS" value="ERROR"/);
    expect(text).toMatch(/UPLOAD 'bad' is not a valid Parquet file/);
  });
});
