import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaliError } from '../../src/dali/index.js';
import { usesStoredUploadScheme } from '../../src/tap/upload.js';
import { addressRefusal, openUploadUrl, type UploadFetchPolicy } from '../../src/tap/upload-url.js';
import { startTestNode, TEST_BASE_URL } from '../support/node.js';

/**
 * Server-side request forgery through TAP upload URLs (TAP-46, issue 13 "input hygiene"):
 * every loopback spelling is refused before any connection, a name is resolved once and
 * connected to as checked, and each redirect hop is checked again.
 */

const VOTABLE = `<?xml version="1.0"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>
<FIELD name="id" datatype="int"/><DATA><TABLEDATA><TR><TD>7</TD></TR></TABLEDATA></DATA>
</TABLE></RESOURCE></VOTABLE>`;

/** A loopback server (IPv4 and IPv6 loopback, same routes) that records every connection. */
let v4: Server;
let v6: Server;
let port4: number;
let port6: number;
const connections: string[] = [];
const hosts: string[] = [];

function recordingServer(): Server {
  const s = createServer((req, res) => {
    hosts.push(req.headers.host ?? '');
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/data') {
      res.writeHead(200, { 'content-type': 'application/x-votable+xml' }).end(VOTABLE);
    } else if (url.pathname.startsWith('/to/')) {
      res.writeHead(302, { location: decodeURIComponent(url.pathname.slice(4)) }).end();
    } else if (url.pathname === '/loop') {
      res.writeHead(301, { location: '/loop' }).end();
    } else res.writeHead(404).end();
  });
  s.on('connection', (socket) => connections.push(`${socket.localAddress}:${socket.localPort}`));
  return s;
}

beforeAll(async () => {
  v4 = recordingServer();
  await new Promise<void>((r) => v4.listen(0, '127.0.0.1', r));
  port4 = (v4.address() as AddressInfo).port;
  v6 = recordingServer();
  await new Promise<void>((r) => v6.listen(0, '::1', r));
  port6 = (v6.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => v4?.close(r));
  await new Promise((r) => v6?.close(r));
});

/** Spellings of the node's own host that reach the loopback server if fetched. */
const loopbackForms = () => [
  `http://127.0.0.1:${port4}/data`,
  `http://[::ffff:127.0.0.1]:${port4}/data`, // IPv4-mapped, as written in the issue
  `http://[::ffff:7f00:1]:${port4}/data`, // IPv4-mapped, hex
  `http://[0:0:0:0:0:ffff:127.0.0.1]:${port4}/data`,
  `http://[::127.0.0.1]:${port4}/data`, // IPv4-compatible
  `http://[64:ff9b::127.0.0.1]:${port4}/data`, // NAT64 well-known prefix
  `http://[2002:7f00:1::]:${port4}/data`, // 6to4 of 127.0.0.1
  `http://2130706433:${port4}/data`, // decimal
  `http://0177.0.0.1:${port4}/data`, // octal
  `http://0x7f.1:${port4}/data`, // hex, short
  `http://0x7f000001:${port4}/data`,
  `http://127.1:${port4}/data`, // short form
  `http://127.0.0.1.:${port4}/data`, // trailing dot
  `http://0:${port4}/data`, // 0.0.0.0 reaches local services on Linux
  `http://0.0.0.0:${port4}/data`,
  `http://localhost:${port4}/data`, // a name: every DNS answer checked
  `http://LOCALHOST.:${port4}/data`,
  `http://[::1]:${port6}/data`,
  `http://[::]:${port6}/data`,
  `HTTP://127.0.0.1:${port4}/data`,
];

const strict: UploadFetchPolicy = { allowPrivate: false, timeoutSeconds: 5, maxRedirects: 5 };

describe('which addresses an upload may be fetched from (issue 13)', () => {
  it('refuses every non-public range, IPv4 inside IPv6 included, and allows public unicast', () => {
    const refused = [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '100.64.0.1', // CGNAT
      '169.254.169.254', // link-local: cloud metadata
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '240.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fc00::1',
      'fd12:3456::1',
      'ff02::1',
      'fec0::1', // site-local
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      '::ffff:169.254.169.254',
      '::ffff:0:127.0.0.1', // IPv4-translated
      '::127.0.0.1', // IPv4-compatible
      '::8.8.8.8', // IPv4-compatible, any: deprecated, refused outright
      '64:ff9b::7f00:1', // NAT64 of 127.0.0.1
      '64:ff9b::a9fe:a9fe', // NAT64 of 169.254.169.254
      '64:ff9b:1::1', // NAT64 local use
      '2002:7f00:1::', // 6to4 of 127.0.0.1
      '2002:a00:1::1', // 6to4 of 10.0.0.1
      '2001:0:4136:e378:8000:63bf:3fff:fdd2', // Teredo
      '2001:db8::1', // documentation
    ];
    for (const a of refused) expect(addressRefusal(a, false), a).toBeDefined();
    const allowed = ['93.184.216.34', '8.8.8.8', '2606:4700::1', '::ffff:93.184.216.34', '64:ff9b::808:808'];
    for (const a of allowed) expect(addressRefusal(a, false), a).toBeUndefined();
  });

  it('with VONODE_UPLOAD_ALLOW_PRIVATE allows loopback and private networks, never link-local or multicast', () => {
    for (const a of ['127.0.0.1', '::1', '10.0.0.1', '::ffff:127.0.0.1', 'fd00::1', '100.64.0.1'])
      expect(addressRefusal(a, true), a).toBeUndefined();
    for (const a of ['169.254.169.254', 'fe80::1', '224.0.0.1', '0.0.0.0', '::', '::ffff:169.254.169.254'])
      expect(addressRefusal(a, true), a).toBeDefined();
  });
});

describe('fetching upload URLs (issue 13: SSRF)', () => {
  it('refuses each loopback form with a 400 DaliError and opens no connection', async () => {
    const before = connections.length;
    for (const form of loopbackForms()) {
      const err = await openUploadUrl(new URL(form), strict).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, form).toBeInstanceOf(DaliError);
      expect((err as DaliError).status).toBe(400);
      expect((err as DaliError).message).toMatch(/loopback or private address/);
    }
    expect(connections.length).toBe(before);
  });

  it('refuses a name if any of its DNS answers is not public, before connecting', async () => {
    const before = connections.length;
    const resolve = async () => ['93.184.216.34', '127.0.0.1'];
    await expect(
      openUploadUrl(new URL(`http://mixed.example:${port4}/data`), { ...strict, resolve }),
    ).rejects.toThrow(/loopback or private address/);
    const unresolvable = async (): Promise<string[]> => {
      throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
    };
    // An internal name that does not resolve gets the same answer as one that resolves inside.
    await expect(
      openUploadUrl(new URL(`http://nothing.example:${port4}/data`), { ...strict, resolve: unresolvable }),
    ).rejects.toThrow(/does not resolve, or points at a loopback or private address/);
    expect(connections.length).toBe(before);
  });

  it('connects to the address it checked: a second DNS answer is never asked for (rebinding)', async () => {
    let lookups = 0;
    // First answer loopback (allowed here), any later one an address that must never be used.
    const resolve = async () => (++lookups === 1 ? ['127.0.0.1'] : ['192.0.2.1']);
    const { body } = await openUploadUrl(new URL(`http://data.example:${port4}/data`), {
      allowPrivate: true,
      timeoutSeconds: 5,
      maxRedirects: 5,
      resolve,
    });
    let text = '';
    for await (const chunk of body) text += chunk;
    expect(text).toContain('<TD>7</TD>');
    expect(lookups).toBe(1);
    expect(hosts.at(-1)).toBe(`data.example:${port4}`);
  });

  it('tries the next checked address of a name when one refuses the connection', async () => {
    const before = hosts.length;
    // A server on port4 of 127.0.0.1 only: 127.0.0.3 on that port refuses.
    const { body } = await openUploadUrl(new URL(`http://two.example:${port4}/data`), {
      allowPrivate: true,
      timeoutSeconds: 5,
      maxRedirects: 0,
      resolve: async () => ['127.0.0.3', '127.0.0.1'],
    });
    let text = '';
    for await (const chunk of body) text += chunk;
    expect(text).toContain('<TD>7</TD>');
    expect(hosts.length - before).toBe(1);
  });

  it('checks every redirect hop again, and stops after the configured number of hops', async () => {
    const policy: UploadFetchPolicy = { allowPrivate: true, timeoutSeconds: 5, maxRedirects: 3 };
    // Allowed hop to allowed hop works.
    const ok = await openUploadUrl(
      new URL(`http://127.0.0.1:${port4}/to/${encodeURIComponent(`http://[::1]:${port6}/data`)}`),
      policy,
    );
    ok.body.resume();
    // A redirect to the cloud metadata address (link-local, never fetched) is refused.
    await expect(
      openUploadUrl(
        new URL(
          `http://127.0.0.1:${port4}/to/${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`,
        ),
        policy,
      ),
    ).rejects.toThrow(/loopback or private address/);
    // A redirect to another scheme is refused.
    await expect(
      openUploadUrl(
        new URL(`http://127.0.0.1:${port4}/to/${encodeURIComponent('file:///etc/passwd')}`),
        policy,
      ),
    ).rejects.toThrow(/only http and https/);
    // A loop ends after maxRedirects hops.
    const before = connections.length;
    await expect(openUploadUrl(new URL(`http://127.0.0.1:${port4}/loop`), policy)).rejects.toThrow(
      /more than 3 redirects/,
    );
    expect(connections.length - before).toBe(4);
  });

  it('says why a fetch failed without naming addresses', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = await openUploadUrl(new URL(`http://name.example:${port}/x`), {
      allowPrivate: true,
      timeoutSeconds: 5,
      maxRedirects: 0,
      resolve: async () => ['127.0.0.1'],
    }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(DaliError);
    expect((err as Error).message).toBe(
      `could not fetch the upload http://name.example:${port}/x: the connection was refused`,
    );
  });
});

describe('the reserved vonode-upload: scheme (issue 13: input hygiene, RFC 3986 §3.1)', () => {
  it('is recognised in any case and through what the URL parser strips', () => {
    for (const v of [
      'x,vonode-upload:0123',
      'x,VONODE-UPLOAD:0123',
      'x,Vonode-Upload:0123',
      'x, vOnOdE-uPlOaD:0123',
      'x,vonode-up\tload:0123',
      'x,vonode-upload\n:0123',
      'a,param:f;x,VONODE-upload:0123',
      'x,\u0001vonode-upload:0123',
    ])
      expect(usesStoredUploadScheme(v), JSON.stringify(v)).toBe(true);
    for (const v of ['x,param:f', 'x,http://example.org/vonode.xml', 'x,https://example.org/a?b=c'])
      expect(usesStoredUploadScheme(v), v).toBe(false);
  });
});

describe('/tap over a live node (issue 13)', () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('/tap/sync answers 400 with an error VOTable for each SSRF form, with no connection (DALI-32)', async () => {
    const before = connections.length;
    for (const form of loopbackForms()) {
      const res = await fetch(
        `${node.url}/tap/sync?${new URLSearchParams({ LANG: 'ADQL', QUERY: 'SELECT * FROM TAP_UPLOAD.u', UPLOAD: `u,${form}` })}`,
      );
      const text = await res.text();
      expect(res.status, form).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/x-votable\+xml/);
      expect(text).toMatch(/<INFO name="QUERY_STATUS" value="ERROR">[^<]*loopback or private address/);
    }
    expect(connections.length).toBe(before);
  });

  it("refuses another job's stored upload named in any case, so it can be neither read nor deleted", async () => {
    const form = new FormData();
    form.append('LANG', 'ADQL');
    form.append('UPLOAD', 'ids,param:f');
    form.append('QUERY', 'SELECT id FROM TAP_UPLOAD.ids');
    form.append('f', new Blob([VOTABLE]), 'ids.xml');
    const created = await fetch(`${node.url}/tap/async`, { method: 'POST', body: form, redirect: 'manual' });
    expect(created.status).toBe(303);
    const job = created.headers.get('location')!.replace(TEST_BASE_URL, '');
    const params = await (await fetch(`${node.url}${job}/parameters`)).text();
    const stored = /vonode-upload:([0-9a-f]+)/.exec(params)?.[1];
    expect(stored).toMatch(/^[0-9a-f]{32}$/);
    for (const scheme of ['VONODE-UPLOAD:', 'Vonode-Upload:', 'vonode-up\tload:']) {
      const res = await fetch(`${node.url}/tap/async`, {
        method: 'POST',
        body: new URLSearchParams({
          LANG: 'ADQL',
          QUERY: 'SELECT * FROM TAP_UPLOAD.x',
          UPLOAD: `x,${scheme}${stored}`,
          PHASE: 'RUN',
        }),
        redirect: 'manual',
      });
      expect(res.status, scheme).toBe(400);
      const text = await res.text();
      expect(text).toMatch(/may not use the vonode-upload: scheme/);
      expect(text).not.toContain(node.dataDir);
    }
    // The first job's upload is still there and still its own.
    await fetch(`${node.url}${job}/phase`, {
      method: 'POST',
      body: new URLSearchParams({ PHASE: 'RUN' }),
      redirect: 'manual',
    });
    let phase = '';
    for (let i = 0; i < 100 && !/COMPLETED|ERROR/.test(phase); i++) {
      await new Promise((r) => setTimeout(r, 100));
      phase = await (await fetch(`${node.url}${job}/phase`)).text();
    }
    expect(phase).toBe('COMPLETED');
  });
});
