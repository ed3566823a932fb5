/**
 * Input hygiene attacks (issue 13, build 3): upload SSRF, the reserved upload scheme, NUL
 * bytes and over-deep expressions, and uploads of jobs that never run (build 2).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { DATA, http, internalLeak, report, sleep, Tally, TOKEN_A, TOKEN_B, tapSync } from './lib.js';

const VOTABLE = (marker: string) => `<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>
<FIELD name="source_id" datatype="long"/><FIELD name="note" datatype="char" arraysize="*"/>
<DATA><TABLEDATA><TR><TD>1</TD><TD>${marker}</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>
`;

/** The loopback forms an upload URL may take; none may be fetched (VONODE_UPLOAD_ALLOW_PRIVATE is off). */
const SSRF_FORMS: [string, (port: number) => string][] = [
  ['IPv4-mapped IPv6', (p) => `http://[::ffff:127.0.0.1]:${p}/mapped.xml`],
  ['IPv4-mapped IPv6 (hex)', (p) => `http://[::ffff:7f00:1]:${p}/mapped-hex.xml`],
  ['decimal 2130706433', (p) => `http://2130706433:${p}/decimal.xml`],
  ['octal 0177.0.0.1', (p) => `http://0177.0.0.1:${p}/octal.xml`],
  ['hex 0x7f.0.0.1', (p) => `http://0x7f.0.0.1:${p}/hex.xml`],
  ['hex 0x7f000001', (p) => `http://0x7f000001:${p}/hex32.xml`],
  ['short 127.1', (p) => `http://127.1:${p}/short.xml`],
  ['DNS name localhost', (p) => `http://localhost:${p}/dns.xml`],
  ['DNS name localhost.', (p) => `http://localhost.:${p}/dns-dot.xml`],
  ['IPv6 ::1', (p) => `http://[::1]:${p}/v6.xml`],
  ['unspecified 0.0.0.0', (p) => `http://0.0.0.0:${p}/zero.xml`],
  ['plain 127.0.0.1', (p) => `http://127.0.0.1:${p}/plain.xml`],
];

/** Listens on 127.0.0.1 and ::1 at one port and records every request path that arrives. */
async function recordingServer(): Promise<{ port: number; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    hits.push(req.url ?? '?');
    res.writeHead(200, { 'content-type': 'application/x-votable+xml' }).end(VOTABLE('ssrf-reached'));
  };
  const v4 = createServer(handler);
  await new Promise<void>((r) => v4.listen(0, '127.0.0.1', r));
  const port = (v4.address() as { port: number }).port;
  const servers: Server[] = [v4];
  const v6 = createServer(handler);
  const v6ok = await new Promise<boolean>((r) => {
    v6.once('error', () => r(false));
    v6.listen(port, '::1', () => r(true));
  });
  if (v6ok) servers.push(v6);
  return {
    port,
    hits,
    close: () => Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => {}),
  };
}

export async function ssrf(): Promise<void> {
  const t = new Tally();
  const srv = await recordingServer();
  const lines: string[] = [];
  try {
    for (const [label, url] of SSRF_FORMS) {
      const u = url(srv.port);
      const path = new URL(u).pathname;
      const before = srv.hits.length;
      const a = await tapSync('SELECT * FROM TAP_UPLOAD.t', {
        extra: { UPLOAD: `t,${u}` },
        timeoutMs: 20_000,
      });
      await sleep(50);
      const reached = srv.hits.slice(before).some((h) => h.startsWith(path));
      if (reached) t.leak(`${label}: the node connected to the loopback test server (answer ${a.status})`);
      else if (a.status === 500 || a.status === 0) t.bad(`${label}: answer ${a.status || a.error}`);
      else t.hold();
      lines.push(`${label} ${reached ? 'CONNECTED' : `refused ${a.status}`}`);
    }
  } finally {
    await srv.close();
  }
  report(
    t.outcome(
      'upload SSRF forms',
      'input',
      `connections to the loopback server ${srv.hits.length}; ${lines.join('; ')}`,
    ),
  );
}

/** Stores an inline upload for a PENDING job of `token`'s owner; returns the job URL and the stored file's name. */
async function storedUpload(
  token: string,
  marker: string,
): Promise<{ job: string; name: string } | undefined> {
  const dir = join(DATA(), 'uploads');
  const before = new Set(existsSync(dir) ? readdirSync(dir) : []);
  const form = new FormData();
  form.append('LANG', 'ADQL');
  form.append('QUERY', 'SELECT * FROM TAP_UPLOAD.mine');
  form.append('UPLOAD', 'mine,param:t1');
  form.append('t1', new Blob([VOTABLE(marker)], { type: 'application/x-votable+xml' }), 't.xml');
  const a = await http('POST', '/tap/async', { token, body: form });
  const job = a.headers.get('location');
  if (!job) return undefined;
  const name = (existsSync(dir) ? readdirSync(dir) : []).find((f) => !before.has(f));
  return name ? { job, name } : undefined;
}

async function waitPhase(job: string, token: string | undefined, seconds: number): Promise<string> {
  let phase = '';
  for (let i = 0; i < seconds * 5; i++) {
    phase = (await http('GET', `${job}/phase`, { token, timeoutMs: 5000 })).text.trim();
    if (['COMPLETED', 'ERROR', 'ABORTED'].includes(phase)) return phase;
    await sleep(200);
  }
  return phase;
}

export async function reservedScheme(): Promise<void> {
  const t = new Tally();
  const lines: string[] = [];
  for (const scheme of ['VONODE-UPLOAD:', 'Vonode-Upload:', 'vOnOdE-uPlOaD:', 'vonode-upload:']) {
    const marker = `victim-secret-${Math.random().toString(36).slice(2)}`;
    const victim = await storedUpload(TOKEN_B(), marker);
    if (!victim) {
      t.bad(`${scheme} could not set up the victim's stored upload`);
      continue;
    }
    const victimFile = join(DATA(), 'uploads', victim.name);
    const a = await http('POST', '/tap/async', {
      token: TOKEN_A(),
      form: {
        LANG: 'ADQL',
        FORMAT: 'csv',
        QUERY: 'SELECT * FROM TAP_UPLOAD.t',
        UPLOAD: `t,${scheme}${victim.name}`,
        PHASE: 'RUN',
      },
    });
    const job = a.headers.get('location');
    let read = false;
    if (job) {
      const phase = await waitPhase(job, TOKEN_A(), 20);
      if (phase === 'COMPLETED')
        read = (await http('GET', `${job}/results/result`, { token: TOKEN_A() })).text.includes(marker);
    }
    const deleted = !existsSync(victimFile);
    if (read || deleted)
      t.leak(
        `${scheme}: another user's upload ${read ? 'read' : ''}${read && deleted ? ' and ' : ''}${deleted ? 'deleted' : ''}`,
      );
    else if (a.status >= 500) t.bad(`${scheme}: answer ${a.status}`);
    else t.hold();
    lines.push(`${scheme} ${read || deleted ? 'LEAKED' : `refused ${a.status}`}`);
    await http('DELETE', victim.job, { token: TOKEN_B() });
    if (job) await http('DELETE', job, { token: TOKEN_A() });
  }
  // Errors must not show the data folder or internal text: a stored-upload reference that
  // names no file, and other uploads the node cannot read.
  const probes: [string, () => Promise<string>][] = [
    ['async VONODE-UPLOAD:zz', async () => errorText('VONODE-UPLOAD:zz')],
    ['async VONODE-UPLOAD:', async () => errorText('VONODE-UPLOAD:')],
    [
      'sync file:///etc/passwd',
      async () =>
        (await tapSync('SELECT * FROM TAP_UPLOAD.t', { extra: { UPLOAD: 't,file:///etc/passwd' } })).text,
    ],
    [
      'sync vonode-upload:00',
      async () =>
        (await tapSync('SELECT * FROM TAP_UPLOAD.t', { extra: { UPLOAD: 't,vonode-upload:00' } })).text,
    ],
    ['sync no such table', async () => (await tapSync('SELECT * FROM nosuch.table')).text],
  ];
  for (const [label, probe] of probes) {
    const text = await probe();
    const leak = internalLeak(text);
    if (leak) t.leak(`${label}: error text shows ${leak}`);
    else t.hold();
  }
  report(t.outcome('reserved scheme and paths in errors', 'input', lines.join('; ')));
}

async function errorText(scheme: string): Promise<string> {
  const a = await http('POST', '/tap/async', {
    form: { LANG: 'ADQL', QUERY: 'SELECT * FROM TAP_UPLOAD.t', UPLOAD: `t,${scheme}`, PHASE: 'RUN' },
  });
  const job = a.headers.get('location');
  if (!job) return a.text;
  await waitPhase(job, undefined, 20);
  const doc = (await http('GET', job)).text;
  const err = (await http('GET', `${job}/error`)).text;
  await http('DELETE', job);
  return `${a.text}\n${doc}\n${err}`;
}

export async function nulAndDepth(): Promise<void> {
  const t = new Tally();
  const n = 100_000;
  const cases: [string, () => Promise<Awaited<ReturnType<typeof http>>>][] = [
    ['NUL in QUERY', () => tapSync('SELECT TOP 1 source_id FROM demo.sources WHERE source_id = 1\u0000')],
    [
      'NUL in a string literal',
      () => tapSync("SELECT TOP 1 source_id FROM demo.sources WHERE source_id = 1 OR 'a\u0000b' = 'x'"),
    ],
    ['NUL in an identifier', () => tapSync('SELECT TOP 1 "sou\u0000rce_id" FROM demo.sources')],
    [
      'NUL in MAXREC',
      () => tapSync('SELECT TOP 1 source_id FROM demo.sources', { extra: { MAXREC: '1\u0000' } }),
    ],
    [
      'NUL in an upload name',
      () => tapSync('SELECT 1 FROM demo.sources', { extra: { UPLOAD: 'a\u0000b,http://example.org/x' } }),
    ],
    ['NUL in DataLink ID', () => http('GET', '/datalink/links?ID=ivo%3A%2F%2Fvonode.demo%2Fska%3F%00')],
    ['NUL in SCS RA', () => http('GET', '/scs/query?RA=10%00&DEC=1&SR=0.1')],
    ['NUL in SIA POS', () => http('GET', '/sia/query?POS=CIRCLE%2010%201%200.1%00')],
    [
      `${n}-term + chain`,
      () =>
        tapSync(`SELECT TOP 1 ${Array(n).fill('1').join('+')} AS x FROM demo.sources`, { timeoutMs: 30_000 }),
    ],
    [
      `${n}-term OR chain`,
      () =>
        tapSync(
          `SELECT TOP 1 source_id FROM demo.sources WHERE ${Array(n).fill('source_id = 1').join(' OR ')}`,
          { timeoutMs: 30_000 },
        ),
    ],
    [
      `${n}-deep parentheses`,
      () =>
        tapSync(`SELECT TOP 1 ${'('.repeat(n)}1${')'.repeat(n)} AS x FROM demo.sources`, {
          timeoutMs: 30_000,
        }),
    ],
    [
      `${n}-deep unary minus`,
      () => tapSync(`SELECT TOP 1 ${'-'.repeat(n)}1 AS x FROM demo.sources`, { timeoutMs: 30_000 }),
    ],
    [
      `${n / 10}-deep function nesting`,
      () =>
        tapSync(`SELECT TOP 1 ${'ABS('.repeat(n / 10)}1${')'.repeat(n / 10)} AS x FROM demo.sources`, {
          timeoutMs: 30_000,
        }),
    ],
  ];
  const lines: string[] = [];
  for (const [label, run] of cases) {
    const a = await run();
    lines.push(`${label} ${a.status || 'no answer'} (${a.ms.toFixed(0)} ms)`);
    if (a.status === 400 || a.status === 413) t.hold();
    else
      t.bad(
        `${label}: answer ${a.status || a.error}${a.status >= 500 ? ` ${a.text.replace(/\s+/g, ' ').slice(0, 160)}` : ''} (400 expected)`,
      );
  }
  report(t.outcome('NUL bytes and deep expressions', 'input', lines.join('; ')));
}

export async function uploadCleanup(): Promise<void> {
  const t = new Tally();
  const dir = join(DATA(), 'uploads');
  const count = () => (existsSync(dir) ? readdirSync(dir).length : 0);
  const bytes = () =>
    existsSync(dir) ? readdirSync(dir).reduce((s, f) => s + statSync(join(dir, f)).size, 0) : 0;
  const jobs: { job: string; name: string }[] = [];
  const before = count();
  for (let i = 0; i < 10; i++) {
    const s = await storedUpload('', `never-run-${i}`);
    if (s) jobs.push(s);
  }
  const stored = count() - before;
  const storedBytes = bytes();
  for (const [i, j] of jobs.entries()) {
    // Half with DELETE, half with the form (UWS-20, UWS-21).
    if (i % 2 === 0) await http('DELETE', j.job);
    else await http('POST', j.job, { form: { ACTION: 'DELETE' } });
  }
  let left = jobs.length;
  for (let i = 0; i < 20 && left > 0; i++) {
    await sleep(250);
    left = jobs.filter((j) => existsSync(join(dir, j.name))).length;
  }
  for (const j of jobs) {
    if (existsSync(join(dir, j.name)))
      t.leak(`upload ${j.name} of deleted job ${j.job.split('/').pop()} is still on disk`);
    else t.hold();
  }
  report(
    t.outcome(
      'uploads of jobs that never run',
      'input',
      `10 PENDING jobs with an inline upload: ${stored} files (${storedBytes} bytes) stored; after deleting the jobs ${left} remain`,
      jobs.length === 10,
    ),
  );
}
