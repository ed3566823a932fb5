import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReadField, readVOTable } from '../../votable/index.js';
import { testDatabaseUrl } from '../support/db.js';
import { startTestNode } from '../support/node.js';

type TestNode = Awaited<ReturnType<typeof startTestNode>>;
let node: TestNode;

beforeAll(async () => {
  node = await startTestNode();
});
afterAll(async () => {
  await node?.stop();
});

interface Parsed {
  status: number;
  contentType: string;
  fields: ReadField[];
  rows: unknown[][];
  infos: Array<{ name: string; value: string; content?: string }>;
  text: string;
}

async function parse(res: Response): Promise<Parsed> {
  const buf = Buffer.from(await res.arrayBuffer());
  const fields: ReadField[] = [];
  const rows: unknown[][] = [];
  let infos: Parsed['infos'] = [];
  const text = buf.toString('utf8');
  if (/<TABLE/.test(text)) {
    for await (const ev of readVOTable([buf])) {
      if (ev.kind === 'fields') {
        fields.push(...ev.fields);
        infos = ev.infos as Parsed['infos'];
      } else rows.push(...ev.rows);
    }
  }
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    fields,
    rows,
    infos,
    text,
  };
}

function statuses(text: string): string[] {
  return [...text.matchAll(/<INFO name="QUERY_STATUS" value="(\w+)"/g)].map((m) => m[1]);
}

const sync = (params: Record<string, string>, init?: RequestInit) =>
  fetch(`${node.url}/tap/sync?${new URLSearchParams(params)}`, init);

const post = (params: Record<string, string>) =>
  fetch(`${node.url}/tap/sync`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });

describe('/tap/sync answers queries directly', () => {
  it('answers a POST with 200 and BINARY2 VOTable by default, no redirect (TAP-7, CLIENTS.md)', async () => {
    const res = await post({
      LANG: 'ADQL',
      QUERY: 'SELECT TOP 7 source_id, ra, dec FROM demo.sources ORDER BY source_id',
    });
    expect(res.status).toBe(200);
    expect(res.redirected).toBe(false);
    const p = await parse(res);
    expect(p.contentType).toMatch(/^application\/x-votable\+xml/);
    expect(p.text).toContain('<BINARY2>');
    expect(p.fields.map((f) => f.name)).toEqual(['source_id', 'ra', 'dec']);
    expect(p.rows.map((r) => r[0])).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n]);
    expect(statuses(p.text)).toEqual(['OK']);
  });

  it('takes parameter names in any case, ignores unknown ones and accepts REQUEST=doQuery (TAP-13, TAP-16, TAP-17)', async () => {
    const res = await sync({
      lang: 'adql',
      Query: 'SELECT COUNT(*) AS n FROM demo.sources',
      request: 'doQuery',
      FoO: 'bar',
      responseformat: 'csv',
    });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body.trim().split(/\r?\n/)[0]).toBe('n');
    expect(Number(body.trim().split(/\r?\n/)[1])).toBeGreaterThan(0);
  });

  it('gives TABLEDATA on request, by short name or MIME type, echoing the MIME type (TAP-34)', async () => {
    const q = { LANG: 'ADQL', QUERY: 'SELECT TOP 2 source_id FROM demo.sources' };
    const td = await sync({ ...q, RESPONSEFORMAT: 'votable/td' });
    expect(await td.text()).toContain('<TABLEDATA>');
    const mime = 'application/x-votable+xml;serialization=TABLEDATA';
    const res = await sync({ ...q, RESPONSEFORMAT: mime });
    expect(res.headers.get('content-type')).toBe(mime);
    const xml = await sync({ ...q, FORMAT: 'text/xml' });
    expect(xml.headers.get('content-type')).toBe('text/xml');
  });

  it('with TOP 50 and MAXREC=5 returns exactly 5 rows and OVERFLOW (TAP-21, CLIENTS.md)', async () => {
    const p = await parse(
      await sync({ LANG: 'ADQL', QUERY: 'SELECT TOP 50 source_id FROM demo.sources', MAXREC: '5' }),
    );
    expect(p.rows).toHaveLength(5);
    expect(statuses(p.text)).toEqual(['OVERFLOW']);
  });

  it('does not flag an exact fit: TOP 5 with MAXREC=5 is OK (TAP-44)', async () => {
    const p = await parse(
      await sync({ LANG: 'ADQL', QUERY: 'SELECT TOP 5 source_id FROM demo.sources', MAXREC: '5' }),
    );
    expect(p.rows).toHaveLength(5);
    expect(statuses(p.text)).toEqual(['OK']);
  });

  it('puts OVERFLOW up front for a result of a few thousand rows, where pyvo reads it (DALI-44, CLIENTS.md)', async () => {
    for (const format of ['votable', 'votable/b', 'votable/td']) {
      const p = await parse(
        await sync({
          LANG: 'ADQL',
          QUERY: 'SELECT * FROM demo.sources',
          MAXREC: '2000',
          RESPONSEFORMAT: format,
        }),
      );
      expect(p.rows).toHaveLength(2000);
      expect([format, statuses(p.text)]).toEqual([format, ['OVERFLOW']]);
    }
  });

  it('reports an overflow found beyond the read-ahead before the TABLE, where pyvo 1.2 reads it (DALI-44, issue 19)', async () => {
    // Above the read-ahead (1 MiB of COPY: 4,000 rows of 44 columns are about 1.5 MB; 2000
    // rows on the row path) and below the public rows of the demo catalogue: the result is
    // read to its end into the status spool (VONODE_SYNC_STATUS_SPOOL), so OVERFLOW leads.
    // Beyond that bound it follows the TABLE (DALI-45): test/tap/status-spool.test.ts.
    const maxrec = 4000;
    for (const format of ['votable', 'votable/b', 'votable/td']) {
      const p = await parse(
        await sync({
          LANG: 'ADQL',
          QUERY: 'SELECT a.*, b.* FROM demo.sources AS a JOIN demo.sources AS b ON a.source_id = b.source_id',
          MAXREC: String(maxrec),
          RESPONSEFORMAT: format,
        }),
      );
      expect(p.rows).toHaveLength(maxrec);
      expect(statuses(p.text)).toEqual(['OVERFLOW']);
      expect(p.text.indexOf('value="OVERFLOW"')).toBeLessThan(p.text.indexOf('<TABLE'));
    }
  });

  it('MAXREC=0 returns the metadata alone with OVERFLOW (TAP-22)', async () => {
    const p = await parse(await sync({ LANG: 'ADQL', QUERY: 'SELECT * FROM demo.sources', MAXREC: '0' }));
    expect(p.rows).toHaveLength(0);
    expect(p.fields.length).toBe(22);
    expect(statuses(p.text)).toEqual(['OVERFLOW']);
  });

  it('treats a MAXREC above the hard limit as the hard limit, not an error (CLIENTS.md)', async () => {
    const res = await sync({
      LANG: 'ADQL',
      QUERY: 'SELECT TOP 3 source_id FROM demo.sources',
      MAXREC: '999999999999',
    });
    expect(res.status).toBe(200);
    expect((await parse(res)).rows).toHaveLength(3);
  });

  it('takes column metadata from TAP_SCHEMA, names exactly as declared (TAP-30)', async () => {
    const p = await parse(
      await sync({
        LANG: 'ADQL',
        QUERY: 'SELECT TOP 1 "size", column_name FROM TAP_SCHEMA.columns',
        MAXREC: '1',
      }),
    );
    expect(p.fields.map((f) => f.name)).toEqual(['size', 'column_name']);
    expect(p.fields[0].datatype).toBe('int');
  });
});

describe('/tap/sync errors are DALI error VOTables a person can act on', () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['no LANG', { QUERY: 'SELECT 1 FROM demo.sources' }, /LANG is missing/],
    ['an unknown LANG', { LANG: 'SQL', QUERY: 'SELECT 1' }, /LANG='SQL'/],
    ['no QUERY', { LANG: 'ADQL' }, /QUERY is missing/],
    ['a bad MAXREC', { LANG: 'ADQL', QUERY: 'SELECT 1 FROM demo.sources', MAXREC: 'ten' }, /MAXREC='ten'/],
    [
      'an unknown format',
      { LANG: 'ADQL', QUERY: 'SELECT 1 FROM demo.sources', RESPONSEFORMAT: 'image/gif' },
      /RESPONSEFORMAT 'image\/gif'/,
    ],
    [
      'an unknown column, with a suggestion',
      { LANG: 'ADQL', QUERY: 'SELECT raj2000 FROM demo.sources' },
      /raj2000.*line 1/s,
    ],
    ['a syntax error, with its position', { LANG: 'ADQL', QUERY: 'SELECT TOP FROM demo.sources' }, /line 1/],
    ['an unpublished table', { LANG: 'ADQL', QUERY: 'SELECT * FROM pg_catalog.pg_authid' }, /pg_authid/],
  ];
  for (const [what, params, message] of cases) {
    it(`refuses ${what} with 400`, async () => {
      const res = await sync(params);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/x-votable\+xml/);
      const text = await res.text();
      expect(statuses(text)).toEqual(['ERROR']);
      const msg = /<INFO name="QUERY_STATUS" value="ERROR">([^<]*)<\/INFO>/.exec(text)?.[1] ?? '';
      expect(msg).toMatch(message);
    });
  }

  it('refuses single-valued parameters given twice with different values (DALI-14)', async () => {
    const res = await fetch(
      `${node.url}/tap/sync?LANG=ADQL&QUERY=SELECT+1+FROM+demo.sources&MAXREC=1&MAXREC=2`,
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/MAXREC was given 2 different values/);
  });
});

describe('/tap/sync with uploads', () => {
  const votable = (rows: Array<[number, number, string]>) => `<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>
<FIELD name="ra" datatype="double" unit="deg"/><FIELD name="dec" datatype="double" unit="deg"/>
<FIELD name="My Name" datatype="char" arraysize="*"/>
<DATA><TABLEDATA>${rows.map((r) => `<TR><TD>${r[0]}</TD><TD>${r[1]}</TD><TD>${r[2]}</TD></TR>`).join('')}</TABLEDATA></DATA>
</TABLE></RESOURCE></VOTABLE>`;

  it('joins an inline upload with the catalogue (TAP-47..TAP-49)', async () => {
    const db = new pg.Client({ connectionString: testDatabaseUrl() });
    await db.connect();
    const src = await db.query<{ ra: number; dec: number; source_id: bigint }>(
      'SELECT source_id, ra, dec FROM demo.sources WHERE owner_group IS NULL ORDER BY source_id LIMIT 3',
    );
    await db.end();
    const form = new FormData();
    form.append('LANG', 'ADQL');
    form.append('UPLOAD', 'mine,param:t1');
    form.append(
      'QUERY',
      `SELECT m."My Name", s.source_id FROM TAP_UPLOAD.mine AS m JOIN demo.sources AS s
       ON CONTAINS(POINT('ICRS', s.ra, s.dec), CIRCLE('ICRS', m.ra, m.dec, 1.0/3600)) = 1 ORDER BY s.source_id`,
    );
    form.append('t1', new Blob([votable(src.rows.map((r, i) => [r.ra, r.dec, `target ${i}`]))]), 'mine.xml');
    const res = await fetch(`${node.url}/tap/sync`, { method: 'POST', body: form });
    const p = await parse(res);
    expect(p.status, p.text).toBe(200);
    expect(p.fields.map((f) => f.name)).toEqual(['My Name', 'source_id']);
    expect(p.rows.map((r) => r[1])).toEqual(src.rows.map((r) => r.source_id));
    expect(p.rows.map((r) => r[0])).toEqual(['target 0', 'target 1', 'target 2']);
  });

  it('crossmatches uploads at the sky edges and with no position as the exact distance does (ADQL-39)', async () => {
    // Upload positions 2 arcsec from the published sources nearest RA 0 and 360 and the
    // poles, plus rows with no position: the pairs within 10 arcsec through /tap/sync must
    // be those of the exact distance over every published row (no HEALPix prefilter).
    const db = new pg.Client({ connectionString: testDatabaseUrl() });
    await db.connect();
    try {
      const picked = await db.query<{ ra: number; dec: number }>(
        `(SELECT ra, dec FROM demo.sources WHERE owner_group IS NULL ORDER BY ra LIMIT 3)
         UNION ALL (SELECT ra, dec FROM demo.sources WHERE owner_group IS NULL ORDER BY ra DESC LIMIT 3)
         UNION ALL (SELECT ra, dec FROM demo.sources WHERE owner_group IS NULL ORDER BY dec LIMIT 3)
         UNION ALL (SELECT ra, dec FROM demo.sources WHERE owner_group IS NULL ORDER BY dec DESC LIMIT 3)`,
      );
      const shift = 2 / 3600;
      const up: Array<[number | null, number | null, string]> = picked.rows.map((r, i) => [
        (((r.ra + shift / Math.max(Math.cos((r.dec * Math.PI) / 180), 1e-3)) % 360) + 360) % 360,
        Math.max(-90, Math.min(90, r.dec - shift)),
        `u${i}`,
      ]);
      up.push([null, 10, 'no ra'], [10, null, 'no dec'], [null, null, 'none'], [0, 90, 'north pole']);
      up.push([0, -90, 'south pole'], [359.9999999, 0, 'ra 360'], [0, 0, 'ra 0']);
      const xml = `<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>
<FIELD name="ra" datatype="double" unit="deg"/><FIELD name="dec" datatype="double" unit="deg"/>
<FIELD name="tag" datatype="char" arraysize="*"/>
<DATA><TABLEDATA>${up.map((r) => `<TR><TD>${r[0] ?? ''}</TD><TD>${r[1] ?? ''}</TD><TD>${r[2]}</TD></TR>`).join('')}</TABLEDATA></DATA>
</TABLE></RESOURCE></VOTABLE>`;
      const form = new FormData();
      form.append('LANG', 'ADQL');
      form.append('UPLOAD', 'edge,param:t1');
      form.append(
        'QUERY',
        `SELECT m.tag, s.source_id FROM TAP_UPLOAD.edge AS m LEFT JOIN demo.sources AS s
         ON CONTAINS(POINT('ICRS', s.ra, s.dec), CIRCLE('ICRS', m.ra, m.dec, 10.0/3600)) = 1`,
      );
      form.append('t1', new Blob([xml]), 'edge.xml');
      const p = await parse(await fetch(`${node.url}/tap/sync`, { method: 'POST', body: form }));
      expect(p.status, p.text).toBe(200);
      const got = p.rows.map((r) => `${r[0]} ${r[1] ?? '-'}`).sort();
      const want = await db.query<{ tag: string; source_id: string | null }>(
        `SELECT u.tag, s.source_id FROM unnest($1::float8[], $2::float8[], $3::text[]) AS u(ra, dec, tag)
         LEFT JOIN demo.sources AS s ON s.owner_group IS NULL AND u.ra IS NOT NULL AND u.dec IS NOT NULL
          AND degrees(2 * asin(sqrt(power(sind((s.dec - u.dec) / 2), 2)
                + cosd(s.dec) * cosd(u.dec) * power(sind((s.ra - u.ra) / 2), 2)))) <= 10.0 / 3600`,
        [up.map((r) => r[0]), up.map((r) => r[1]), up.map((r) => r[2])],
      );
      expect(got).toEqual(want.rows.map((r) => `${r.tag} ${r.source_id ?? '-'}`).sort());
      expect(got.filter((g) => !g.endsWith(' -')).length).toBeGreaterThanOrEqual(12);
    } finally {
      await db.end();
    }
  });

  it('refuses an upload part that is not a VOTable, and a missing part, clearly', async () => {
    const form = new FormData();
    form.append('LANG', 'ADQL');
    form.append('UPLOAD', 'bad,param:t1');
    form.append('QUERY', 'SELECT * FROM TAP_UPLOAD.bad');
    form.append('t1', new Blob(['this is not xml']), 'bad.xml');
    const res = await fetch(`${node.url}/tap/sync`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/UPLOAD 'bad' is not a valid VOTable/);
    const form2 = new FormData();
    form2.append('LANG', 'ADQL');
    form2.append('UPLOAD', 'gone,param:nothere');
    form2.append('QUERY', 'SELECT * FROM TAP_UPLOAD.gone');
    const res2 = await fetch(`${node.url}/tap/sync`, { method: 'POST', body: form2 });
    expect(res2.status).toBe(400);
    expect(await res2.text()).toMatch(/part 'nothere', which is not in the request/);
  });

  it('refuses upload URLs on loopback unless configured', async () => {
    const res = await sync({
      LANG: 'ADQL',
      QUERY: 'SELECT * FROM TAP_UPLOAD.u',
      UPLOAD: `u,${node.url}/tap/tables`,
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/loopback or private address/);
    const res2 = await sync({
      LANG: 'ADQL',
      QUERY: 'SELECT * FROM TAP_UPLOAD.u',
      UPLOAD: 'u,ftp://example.org/x',
    });
    expect(await res2.text()).toMatch(/scheme ftp: is not supported/);
  });
});

describe('/tap/sync stops queries nobody waits for', () => {
  it('cancels the PostgreSQL query within 2 s when the client disconnects mid-stream', async () => {
    const marker = `disconnect_${Date.now()}`;
    const query = `SELECT a.source_id AS ${marker}, b.source_id FROM demo.sources AS a, demo.sources AS b`;
    const ac = new AbortController();
    const res = await sync({ LANG: 'ADQL', QUERY: query, MAXREC: '50000000' }, { signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    const db = new pg.Client({ connectionString: testDatabaseUrl() });
    await db.connect();
    const running = async () =>
      Number(
        (
          await db.query(
            `SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE $1 AND state = 'active' AND pid <> pg_backend_pid()`,
            [`%${marker}%`],
          )
        ).rows[0].n,
      );
    expect(await running()).toBe(1);
    ac.abort();
    const t0 = Date.now();
    let left = 1;
    while (Date.now() - t0 < 2000) {
      left = await running();
      if (left === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await db.end();
    expect(left).toBe(0);
  });
});
