/**
 * The fuzzer of the attack suite (issue 13 acceptance: 10,000 fuzzed requests, 0 answers
 * 500). Deterministic for a seed (printed; FUZZ_SEED reruns one), bounded in count
 * (FUZZ_COUNT, default 10,000) and time (FUZZ_SECONDS, default 180), FUZZ_CONCURRENCY
 * (default 8) requests in flight. Raw HTTP over a socket, so odd methods, headers and paths
 * reach the node unchanged. Every endpoint family: TAP sync/async with random and mutated
 * ADQL, uploads with malformed VOTable/CSV, SIA, SCS, DataLink, SODA, MOC, HiPS, OAI-PMH,
 * VOSI, the broker, UWS job operations, bad tokens.
 * A 500 (or a 503 without Retry-After) is printed with its request so it can be replayed.
 */
import { connect } from 'node:net';
import { BASE, report, Tally, TOKEN_A } from './lib.js';

/** mulberry32: a small, seedable generator; the same seed gives the same 10,000 requests. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  return { next, int, pick, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof rng>;

const ADQL = [
  'SELECT TOP 5 source_id, ra, dec FROM demo.sources',
  'SELECT TOP 5 * FROM ivoa.obscore',
  "SELECT TOP 3 obs_id FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 45, 1, 2)) = 1",
  'SELECT COUNT(*) FROM demo.sources WHERE flux_int > 0.5 GROUP BY field_id',
  'SELECT TOP 2 table_name FROM TAP_SCHEMA.tables ORDER BY table_name',
  "SELECT TOP 4 DISTANCE(POINT('ICRS', ra, dec), POINT('ICRS', 45, 1)) AS d FROM demo.sources ORDER BY d",
  'SELECT TOP 1 * FROM TAP_UPLOAD.t',
  'SELECT TOP 1 s.source_id FROM demo.sources AS s JOIN TAP_UPLOAD.t AS u ON s.source_id = u.source_id',
  'SELECT TOP 2 ra + dec * 2 - 1 / 3, ABS(dec), SQRT(ra), LOG10(ra), CAST(ra AS INTEGER) FROM demo.sources',
  "SELECT TOP 2 * FROM demo.sources WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), POLYGON('ICRS', 44, 0, 46, 0, 46, 2))",
  'SELECT TOP 2 source_id FROM demo.sources WHERE source_id IN (SELECT source_id FROM demo.sources WHERE ra < 50)',
  "SELECT TOP 1 UPPER('a'), LOWER('B'), 'x' || 'y', COALESCE(NULL, 1), MOD(7, 3), POWER(2, 10) FROM demo.sources",
  'SELECT TOP 1 * FROM demo.sources WHERE source_id BETWEEN 10 AND 20 AND NOT (ra < 0) OR dec IS NULL',
  'WITH a AS (SELECT TOP 3 source_id FROM demo.sources) SELECT * FROM a',
  'SELECT TOP 3 source_id FROM demo.sources UNION SELECT TOP 3 source_id FROM demo.sources',
  "SELECT TOP 1 ivo_hasword('a b', 'a'), ivo_string_agg(obs_id, ',') FROM ivoa.obscore",
  'SELECT TOP 1 * FROM demo.sources WHERE CONTAINS(POINT(ra, dec), CIRCLE(45, 1, 1e308)) = 1',
];
const TOKENS_OF_ADQL = [
  'SELECT',
  'FROM',
  'WHERE',
  'TOP',
  '*',
  ',',
  '(',
  ')',
  "'",
  '"',
  'AND',
  'OR',
  'NOT',
  '=',
  '<>',
  '<=',
  '||',
  '+',
  '-',
  '/',
  'POINT',
  'CIRCLE',
  'CONTAINS',
  'JOIN',
  'ON',
  'GROUP BY',
  'ORDER BY',
  'HAVING',
  'UNION',
  'NULL',
  '1e309',
  '-0',
  '9'.repeat(40),
  '\u0000',
  '\u00e9',
  '\ud83d\ude00',
  '\\',
  ';',
  '--',
  '/*',
  '*/',
  'pg_sleep(10)',
  'DROP TABLE x',
  '$1',
  '::text',
  '[',
  ']',
  'demo.sources',
  'ivoa.obscore',
  'TAP_SCHEMA.columns',
  'pg_catalog.pg_user',
  'information_schema.tables',
  '"',
  '""',
  "E'\\x00'",
];

function mutateAdql(r: Rng): string {
  if (r.chance(0.15)) return Array.from({ length: 1 + r.int(30) }, () => r.pick(TOKENS_OF_ADQL)).join(' ');
  let q = r.pick(ADQL);
  const edits = 1 + r.int(4);
  for (let i = 0; i < edits; i++) {
    const at = r.int(q.length + 1);
    switch (r.int(5)) {
      case 0:
        q = q.slice(0, at) + r.pick(TOKENS_OF_ADQL) + q.slice(at);
        break;
      case 1:
        q = q.slice(0, at) + q.slice(at + 1 + r.int(8));
        break;
      case 2:
        q = q.slice(0, at) + q.slice(at).toUpperCase();
        break;
      case 3:
        q = q.slice(0, at) + ` ${r.pick(TOKENS_OF_ADQL)} ` + q.slice(at + r.int(4));
        break;
      default:
        q = q.replace(/\d+/, String(r.pick([0, -1, 2 ** 31, 2 ** 63, 1e308, Number.NaN])));
    }
  }
  return q;
}

const VALUES = [
  '',
  ' ',
  '0',
  '-1',
  '1e309',
  'NaN',
  'Infinity',
  '-Infinity',
  '99999999999999999999',
  '3.5',
  'abc',
  '\u0000',
  '%00',
  '../../etc/passwd',
  '<script>',
  "' OR 1=1 --",
  'ICRS',
  'CIRCLE 45 1 1',
  'POLYGON 0 0 1 1',
  'RANGE 0 360 -90 90',
  '45 1 0.1',
  'a'.repeat(5000),
  '2026-01-01',
  '60000 61000',
  '-Inf +Inf',
  'true',
  'null',
  '[]',
  '{}',
  '\ud83d\ude00',
  'ivo://vonode.demo/ska?image-01-low',
  'ivo://vonode.demo/ska?cube-02-low',
  'ivo://vonode.demo/ska?image-07-mid',
  'ivo://x/y?../../z',
  'file:///etc/passwd',
];
const PARAMS = [
  'LANG',
  'QUERY',
  'FORMAT',
  'RESPONSEFORMAT',
  'MAXREC',
  'UPLOAD',
  'REQUEST',
  'PHASE',
  'RUNID',
  'POS',
  'BAND',
  'TIME',
  'POL',
  'FOV',
  'SPATRES',
  'EXPTIME',
  'ID',
  'COLLECTION',
  'FACILITY',
  'INSTRUMENT',
  'DPTYPE',
  'CALIB',
  'TARGET',
  'RA',
  'DEC',
  'SR',
  'VERB',
  'CIRCLE',
  'POLYGON',
  'PIXEL',
  'KIND',
  'SIZE',
  'verb',
  'metadataPrefix',
  'identifier',
  'set',
  'from',
  'until',
  'resumptionToken',
  'ACTION',
  'DESTRUCTION',
  'EXECUTIONDURATION',
  'WAIT',
  'AFTER',
  'LAST',
  'order',
  'MOC',
  'norder',
];
const PATHS = [
  '/tap/sync',
  '/tap/async',
  '/tap/tables',
  '/tap/tables/demo.sources',
  '/tap/capabilities',
  '/tap/availability',
  '/tap/examples',
  '/sia/query',
  '/sia/capabilities',
  '/scs/query',
  '/scs/capabilities',
  '/datalink/links',
  '/datalink/files',
  '/soda/sync',
  '/soda/async',
  '/moc',
  '/moc/sources',
  '/moc/products',
  '/hips/hipslist',
  '/registry/oai',
  '/broker/offersets',
  '/broker/sessions',
  '/broker/query',
  '/broker/provision',
  '/',
  '/preview/x.png',
  '/dev-issuer/.well-known/openid-configuration',
];
const ODD_PATHS = [
  '/tap/sync%00',
  '/tap/../tap/sync',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/preview/..%2F..%2Fetc%2Fpasswd.png',
  '/datalink/files%00.fits',
  '/tap/async/%00',
  '/tap/async/../../',
  '/hips/images/Norder3/Dir0/Npix%00.png',
  '/hips/images/Norder99/Dir0/Npix-1.png',
  '/broker/sessions/../../etc/passwd',
  '/broker/sessions/%2e%2e%2f/results/..%2f..%2f',
  '//tap//sync',
  '/tap/sync/',
  '/TAP/SYNC',
  `/${'a'.repeat(8000)}`,
  '/tap/sync;jsessionid=1',
  '/soda/sync?ID=%00',
  '/preview/%ff%fe.png',
  '/tap/tables/%00',
  '/moc/%2e%2e',
];
const METHODS = [
  'GET',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'HEAD',
  'OPTIONS',
  'TRACE',
  'PROPFIND',
  'FOO',
  'CONNECT',
];

function badVotable(r: Rng): string {
  const forms = [
    '<VOTABLE><RESOURCE><TABLE><FIELD name="a" datatype="int"/><DATA><TABLEDATA><TR><TD>x</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>',
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><VOTABLE>&e;</VOTABLE>',
    '<VOTABLE><RESOURCE><TABLE>'.repeat(50),
    '<VOTABLE><RESOURCE><TABLE><FIELD name="" datatype="long"/><DATA><BINARY><STREAM encoding="base64">!!!!</STREAM></BINARY></DATA></TABLE></RESOURCE></VOTABLE>',
    '<VOTABLE><RESOURCE><TABLE><FIELD name="source_id" datatype="long"/><FIELD name="source_id" datatype="long"/><DATA><TABLEDATA><TR><TD>1</TD><TD>2</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>',
    '<VOTABLE><RESOURCE><TABLE><FIELD name="a;drop" datatype="unicornType"/><DATA><TABLEDATA><TR><TD>1</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>',
    '<VOTABLE><RESOURCE><TABLE><FIELD name="a" datatype="char" arraysize="-5"/><DATA><FITS><STREAM href="file:///etc/passwd"/></FITS></DATA></TABLE></RESOURCE></VOTABLE>',
    '\u0000\u0001\u0002 not xml',
    'source_id,ra\n1,2\n3\n"4,5\n',
    'a,a,a\n1,2,3\n',
    `${'x,'.repeat(2000)}y\n1\n`,
    'source_id\n\u0000\n',
  ];
  return r.pick(forms);
}

interface Req {
  method: string;
  path: string;
  headers: [string, string][];
  body?: Buffer;
}

/** Percent-encodes any string, lone surrogates included (encodeURIComponent throws on those). */
const enc = (s: string) =>
  [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).padStart(2, '0')}`,
    )
    .join('');

function form(r: Rng, extra: [string, string][] = []): string {
  const n = r.int(5);
  const pairs: [string, string][] = [...extra];
  for (let i = 0; i < n; i++) pairs.push([r.chance(0.8) ? r.pick(PARAMS) : r.pick(VALUES), r.pick(VALUES)]);
  return pairs.map(([k, v]) => (r.chance(0.05) ? `${k}=${v}` : `${enc(k)}=${enc(v)}`)).join('&');
}

function generate(r: Rng, host: string, token: string, jobs: string[]): Req {
  const headers: [string, string][] = [['Host', host]];
  const auth = r.int(10);
  if (auth === 0) headers.push(['Authorization', `Bearer ${token}`]);
  else if (auth === 1) headers.push(['Authorization', `Bearer ${token.slice(0, -3)}abc`]);
  else if (auth === 2)
    headers.push([
      'Authorization',
      r.pick([
        'Bearer',
        'Bearer ',
        'Basic !!!',
        'Basic Og==',
        `Basic ${Buffer.from(`x:${token}`).toString('base64')}`,
        'Negotiate x',
        'Bearer a.b.c',
        `Bearer ${'A'.repeat(9000)}`,
      ]),
    ]);
  if (r.chance(0.05)) headers.push(['X-Odd', 'a'.repeat(r.pick([10, 1000, 7000]))]);
  if (r.chance(0.03)) headers.push(['Accept', r.pick(['application/yaml', '*/*;q=abc', 'text/xml', ''])]);
  if (r.chance(0.02)) headers.push(['x-vonode-broker-hop', r.pick(['1', '99', 'x'])]);
  const kind = r.int(14);
  const q = (params: string) => (params ? `?${params}` : '');
  switch (kind) {
    case 0:
    case 1: {
      const body = form(r, [
        ['LANG', r.chance(0.9) ? 'ADQL' : r.pick(VALUES)],
        ['QUERY', mutateAdql(r)],
        ...(r.chance(0.3)
          ? ([['FORMAT', r.pick(['csv', 'votable', 'tsv', 'fits', 'json', 'votable/b2', 'x'])]] as [
              string,
              string,
            ][])
          : []),
        // Mostly a small MAXREC: the fuzzer looks for wrong answers, not for long transfers.
        ['MAXREC', r.chance(0.2) ? r.pick(['0', '1', '-1', '1e9', 'x']) : '100'],
      ]);
      return r.chance(0.5)
        ? {
            method: 'POST',
            path: '/tap/sync',
            headers: [...headers, ['Content-Type', 'application/x-www-form-urlencoded']],
            body: Buffer.from(body),
          }
        : { method: 'GET', path: `/tap/sync?${body}`.slice(0, 7000), headers };
    }
    case 2: {
      // Upload: multipart with a malformed table, or an URL upload to an odd place.
      const boundary = `b${r.int(1e9)}`;
      const name = r.pick(['t', 'T', '1bad', 'a b', '']);
      const parts = [
        ['LANG', 'ADQL'],
        ['QUERY', r.chance(0.7) ? `SELECT TOP 3 * FROM TAP_UPLOAD.${name}` : mutateAdql(r)],
        [
          'UPLOAD',
          r.chance(0.8)
            ? `${name},param:f`
            : r.pick([
                `${name},http://[::ffff:127.0.0.1]:1/x`,
                `${name},vonode-upload:zz`,
                `${name},ftp://x/y`,
                `${name}`,
              ]),
        ],
      ];
      let body = '';
      for (const [k, v] of parts)
        body += `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
      body += `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="t.xml"\r\nContent-Type: ${r.pick(['application/x-votable+xml', 'text/csv', 'application/octet-stream'])}\r\n\r\n${badVotable(r)}\r\n--${boundary}${r.chance(0.9) ? '--' : ''}\r\n`;
      return {
        method: 'POST',
        path: r.pick(['/tap/sync', '/tap/async']),
        headers: [...headers, ['Content-Type', `multipart/form-data; boundary=${boundary}`]],
        body: Buffer.from(body),
      };
    }
    case 3:
      return { method: 'GET', path: `/sia/query${q(form(r, [['POS', r.pick(VALUES)]]))}`, headers };
    case 4:
      return {
        method: r.pick(['GET', 'POST']),
        path: `/scs/query${q(
          form(r, [
            ['RA', r.pick(VALUES)],
            ['DEC', r.pick(VALUES)],
            ['SR', r.pick(VALUES)],
          ]),
        )}`,
        headers,
      };
    case 5:
      return {
        method: 'GET',
        path: `${r.pick(['/datalink/links', '/datalink/files', '/soda/sync'])}${q(form(r, [['ID', r.pick(VALUES)]]))}`,
        headers,
      };
    case 6:
      return {
        method: 'GET',
        path: `/preview/${enc(r.pick(VALUES))}.png${r.chance(0.5) ? '?SIZE=thumbnail' : ''}`,
        headers,
      };
    case 7:
      return {
        method: 'GET',
        path: r.pick([
          `/moc/${r.pick(['sources', 'products', 'x'])}${q(form(r, [['order', r.pick(['0', '29', '30', '-1', 'x'])]]))}`,
          `/hips/images/Norder${r.int(12) - 1}/Dir${r.int(3) * 10000}/Npix${r.int(100000) - 5}.${r.pick(['png', 'fits', 'jpg'])}`,
          `/hips/images/${r.pick(['properties', 'Moc.fits', 'Norder3/Allsky.png', 'index.html'])}`,
        ]),
        headers,
      };
    case 8:
      return {
        method: r.pick(['GET', 'POST']),
        path: `/registry/oai${q(form(r, [['verb', r.pick(['Identify', 'ListRecords', 'GetRecord', 'ListSets', 'ListMetadataFormats', 'ListIdentifiers', 'Bad', ''])]]))}`,
        headers,
      };
    case 9:
      return {
        method: 'GET',
        path: `/${r.pick(['tap', 'sia', 'scs', 'datalink', 'soda'])}/${r.pick(['capabilities', 'availability', 'tables', 'examples'])}`,
        headers,
      };
    case 10: {
      const bodies = [
        '{"executable":{"kind":"urn:vonode:broker:types:executable:pipeline-1.0","pipeline":"cutout-stats","params":{"size":"-1"}}}',
        '{"executable":{"kind":"docker-container-1.0","image":{"locations":["--privileged"]}}}',
        '{"executable":',
        '[]',
        'executable:\n  kind: x\n  image: {locations: [a]}\n',
        '{"data":[{"kind":"ivoa-data-resource-1.0","ivoa":{"obscore":{"obs_publisher_did":"ivo://vonode.demo/ska?cube-02-low"}}}]}',
        `{"compute":{"cores":{"min":${r.pick(['-1', '1e9', '"x"', 'null'])}}}}`,
        '{"kind":"uri:enum-value-update","path":"phase","value":"ACCEPTED"}',
        '{"data_location":"x","runtime":-5,"memory":"1e400"}',
      ];
      return {
        method: r.pick(['POST', 'GET', 'PUT']),
        path: r.pick([
          '/broker/offersets',
          `/broker/sessions/${r.pick(['00000000-0000-0000-0000-000000000000', 'x', '..'])}`,
          '/broker/query',
          '/broker/provision',
          '/broker/x/submit',
          '/broker/x/status',
        ]),
        headers: [
          ...headers,
          ['Content-Type', r.pick(['application/json', 'application/yaml', 'text/plain'])],
        ],
        body: Buffer.from(r.pick(bodies)),
      };
    }
    case 11: {
      // UWS job operations on real jobs (created below) and on made-up ones.
      const job =
        jobs.length && r.chance(0.8)
          ? r.pick(jobs)
          : `/tap/async/${r.pick(['x', '%00', '..', 'A'.repeat(300)])}`;
      const sub = r.pick([
        '',
        '/phase',
        '/executionduration',
        '/destruction',
        '/quote',
        '/owner',
        '/error',
        '/parameters',
        '/parameters/QUERY',
        '/results',
        '/results/result',
        '/results/x',
      ]);
      const method = r.pick(['GET', 'GET', 'POST', 'DELETE']);
      const body =
        method === 'POST'
          ? form(r, [
              [
                r.pick(['PHASE', 'ACTION', 'DESTRUCTION', 'EXECUTIONDURATION', 'QUERY']),
                r.pick(['RUN', 'ABORT', 'DELETE', 'SUSPEND', ...VALUES]),
              ],
            ])
          : undefined;
      return {
        method,
        path: `${job}${sub}${method === 'GET' && r.chance(0.2) ? `?WAIT=${r.pick(['0', '1', '-1', 'x'])}&PHASE=EXECUTING` : ''}`,
        headers: body ? [...headers, ['Content-Type', 'application/x-www-form-urlencoded']] : headers,
        body: body ? Buffer.from(body) : undefined,
      };
    }
    case 12:
      return { method: r.pick(METHODS), path: r.pick([...PATHS, ...ODD_PATHS]), headers };
    default: {
      // Odd framing: a wrong Content-Length, an unknown Transfer-Encoding, a huge header.
      const body = Buffer.from(form(r));
      const h: [string, string][] = [...headers];
      const odd = r.int(4);
      if (odd === 0)
        h.push([
          'Content-Type',
          r.pick([
            'application/x-www-form-urlencoded; charset=ebcdic',
            'multipart/form-data',
            'multipart/form-data; boundary=',
            'application/json',
          ]),
        ]);
      if (odd === 1) h.push(['X-Big', 'b'.repeat(r.pick([8000, 15000]))]);
      if (odd === 2) h.push(['Content-Encoding', r.pick(['gzip', 'br', 'x'])]);
      if (odd === 3) h.push(['Cookie', `${'c=1; '.repeat(500)}`]);
      return {
        method: r.pick(['POST', 'GET']),
        path: r.pick([...PATHS, ...ODD_PATHS]),
        headers: [...h, ['Content-Type', 'application/x-www-form-urlencoded']],
        body,
      };
    }
  }
}

/** One raw HTTP/1.1 exchange on a fresh socket; resolves with the status (0: none) and the Retry-After header. */
function send(req: Req, timeoutMs: number): Promise<{ status: number; retryAfter: boolean; head: string }> {
  const url = new URL(BASE());
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    let buf = '';
    let done = false;
    const finish = (status: number, retryAfter = false) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ status, retryAfter, head: buf.slice(0, 400) });
    };
    const timer = setTimeout(() => finish(0), timeoutMs);
    socket.on('error', () => finish(-1));
    socket.on('close', () => {
      clearTimeout(timer);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
      finish(m ? Number(m[1]) : -1, /\r\nretry-after:/i.test(buf));
    });
    socket.on('data', (d) => {
      if (buf.length < 65536) buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        clearTimeout(timer);
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf);
        finish(m ? Number(m[1]) : -1, /\r\nretry-after:/i.test(buf.slice(0, end)));
      }
    });
    socket.on('connect', () => {
      const hs = [...req.headers, ['Connection', 'close'] as [string, string]];
      if (req.body) hs.push(['Content-Length', String(req.body.length)]);
      const head = `${req.method} ${req.path} HTTP/1.1\r\n${hs.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
      socket.write(Buffer.concat([Buffer.from(head, 'latin1'), req.body ?? Buffer.alloc(0)]));
    });
  });
}

function describe(req: Req): string {
  const body = req.body ? ` body(${req.body.length}): ${req.body.toString('latin1').slice(0, 300)}` : '';
  return `${req.method} ${req.path.slice(0, 300)}${body}`
    .replace(/\u0000/g, '\\0')
    .replace(/[\r\n]+/g, '\\n');
}

const DEFAULT_SEED = 20261202;

async function main(): Promise<void> {
  // A fixed default keeps CI repeatable; FUZZ_SEED=random (or any number) explores further.
  const given = process.env.FUZZ_SEED ?? String(DEFAULT_SEED);
  const seed = given === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(given);
  const count = Number(process.env.FUZZ_COUNT ?? 10_000);
  const seconds = Number(process.env.FUZZ_SECONDS ?? 180);
  const concurrency = Number(process.env.FUZZ_CONCURRENCY ?? 8);
  console.log(
    `     fuzz seed ${seed} (FUZZ_SEED=${seed} replays it), ${count} requests, ${concurrency} at a time, at most ${seconds} s`,
  );
  const r = rng(seed);
  const url = new URL(BASE());
  const token = TOKEN_A();
  // A few real jobs to aim UWS operations at (made before the fuzzing, deterministically).
  const jobs: string[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${BASE()}/tap/async`, {
      method: 'POST',
      body: new URLSearchParams({ LANG: 'ADQL', QUERY: `SELECT TOP ${i + 1} source_id FROM demo.sources` }),
      redirect: 'manual',
    });
    const loc = res.headers.get('location');
    if (loc) jobs.push(new URL(loc).pathname);
  }
  const requests = Array.from({ length: count }, () => generate(r, url.host, token, jobs));
  const statuses = new Map<string, number>();
  const bad: string[] = [];
  const slow: string[] = [];
  const t = new Tally();
  const deadline = Date.now() + seconds * 1000;
  let next = 0;
  let sent = 0;
  const worker = async () => {
    while (next < requests.length && Date.now() < deadline) {
      const i = next++;
      const req = requests[i];
      const a = await send(req, 10_000);
      sent++;
      const key = a.status === 0 ? 'timeout' : a.status === -1 ? 'closed' : String(a.status);
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      if (a.status >= 500 && !(a.status === 503 && a.retryAfter)) {
        t.bad(`#${i} ${a.status}: ${describe(req)}`);
        if (bad.length < 50)
          bad.push(
            `#${i} ${a.status} ${describe(req)}\n       answer: ${a.head.split('\r\n\r\n')[1]?.slice(0, 200) ?? ''}`,
          );
      } else {
        // No answer in 10 s is printed, not failed: a fuzzed query may legitimately run long
        // (the sync timeout is minutes); the node must still answer everything else.
        if (a.status === 0 && slow.length < 10) slow.push(`#${i} ${describe(req).slice(0, 300)}`);
        t.hold();
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wall = (performance.now() - t0) / 1000;
  for (const b of bad) console.log(`     500: ${b}`);
  if (t.wrong > bad.length)
    console.log(`     ... and ${t.wrong - bad.length} more 500s (FUZZ_SEED=${seed} replays them)`);
  for (const s of slow) console.log(`     no answer in 10 s: ${s}`);
  const list = [...statuses]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  const fives = [...statuses].filter(([k]) => k.startsWith('5')).reduce((s, [, v]) => s + v, 0);
  report(
    t.outcome(
      `fuzz (${count} requests)`,
      'fuzz',
      `seed ${seed}; sent ${sent} in ${wall.toFixed(0)} s; statuses ${list}; 5xx ${fives} (a 500, or a 503 without Retry-After, fails the check; timeout = no answer in 10 s, printed)`,
      sent === count,
    ),
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.log(`FAIL fuzz: the fuzzer itself failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
