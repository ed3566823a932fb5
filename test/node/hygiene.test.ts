import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerError, refuseNul } from '../../src/app.js';
import { DaliError, DaliParams } from '../../src/dali/index.js';
import { findNul, internalErrorMessage, nulInUrl, reportInternalError } from '../../src/errors/index.js';
import { startTestNode } from '../support/node.js';

/** Issue 13, "input hygiene": internal errors as log references, NUL characters as 400. */

describe('internal errors reach clients only as a reference into the log', () => {
  it('logs the error with the id the client reads, in each error form (DALI-43)', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)));
        cb();
      },
    });
    const app = Fastify({ logger: { level: 'error', stream } });
    app.setErrorHandler(answerError);
    const secret = 'ENOENT: no such file or directory, open /srv/vonode/var/uploads/3f2a';
    app.get('/tap/boom', async () => {
      throw new Error(secret);
    });
    app.get('/preview/boom', async () => {
      throw Object.assign(new Error(secret), { code: 'XX000' });
    });
    app.get('/tap/refused', async () => {
      throw new DaliError('MAXREC is not a number');
    });
    for (const [path, type] of [
      ['/tap/boom', /^application\/x-votable\+xml/],
      ['/preview/boom', /^text\/plain/],
    ] as const) {
      const res = await app.inject({ method: 'GET', url: path });
      expect(res.statusCode).toBe(500);
      expect(res.headers['content-type']).toMatch(type);
      expect(res.body).not.toContain('ENOENT');
      expect(res.body).not.toContain('/srv/vonode');
      const id = /reference ([0-9a-f]{12});/.exec(res.body)?.[1];
      expect(id, res.body).toBeDefined();
      expect(res.body).toContain(internalErrorMessage(id!));
      const logged = lines.find((l) => l.errorId === id);
      expect(logged).toBeDefined();
      expect(JSON.stringify(logged)).toContain(secret);
    }
    const refused = await app.inject({ method: 'GET', url: '/tap/refused' });
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toMatch(/<INFO name="QUERY_STATUS" value="ERROR">MAXREC is not a number/);
    await app.close();
  });

  it('gives a fresh reference each time', () => {
    const log = { error: () => undefined };
    const a = reportInternalError(log, new Error('x'), 'test');
    const b = reportInternalError(log, new Error('x'), 'test');
    expect(a).not.toBe(b);
  });
});

describe('NUL characters are a bad request (issue 13)', () => {
  it('are found in URLs, parsed bodies and DALI parameters', () => {
    expect(nulInUrl('/preview/a%00b.png')).toBe('the request path');
    expect(nulInUrl('/tap/sync?QUERY=SELECT%001')).toBe('the query string');
    expect(nulInUrl('/tap/sync?QUERY=SELECT%2000')).toBeUndefined();
    expect(findNul({ a: ['x', 'y\u0000'] })).toBe('the parameter a');
    expect(findNul({ 'a\u0000': 'x' })).toBe('a parameter name in the request body');
    expect(findNul({ a: { b: [{ c: 'ok' }] } })).toBeUndefined();
    expect(() => new DaliParams().push('QUERY', 'SELECT\u00001')).toThrow(/QUERY holds a NUL character/);
  });

  it('the edge hook refuses them before any route runs', async () => {
    const app = Fastify();
    let ran = 0;
    app.addHook('preValidation', refuseNul);
    app.setErrorHandler(answerError);
    app.post('/sia/query', async () => {
      ran++;
      return 'ran';
    });
    const res = await app.inject({
      method: 'POST',
      url: '/sia/query',
      payload: { POS: 'CIRCLE 1 2 \u00003' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).toMatch(/the parameter POS holds a NUL character/);
    expect(ran).toBe(0);
    await app.close();
  });
});

describe('NUL characters over a live node: 400 in each protocol form, never 500', () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node?.stop();
  });

  const VOTABLE = /^application\/x-votable\+xml/;
  const TEXT = /^text\/plain/;
  const form = (o: Record<string, string>) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(o).toString(),
  });
  const multipart = (o: Record<string, string>) => {
    const f = new FormData();
    for (const [k, v] of Object.entries(o)) f.append(k, v);
    return { method: 'POST', body: f };
  };

  const cases: Array<[string, string, RequestInit | undefined, RegExp]> = [
    [
      'TAP sync query string',
      '/tap/sync?LANG=ADQL&QUERY=SELECT%20%00%20FROM%20demo.sources',
      undefined,
      VOTABLE,
    ],
    [
      'TAP sync form',
      '/tap/sync',
      form({ LANG: 'ADQL', QUERY: 'SELECT TOP 1 source_id FROM demo.sources WHERE \u0000 = 1' }),
      VOTABLE,
    ],
    ['TAP sync multipart', '/tap/sync', multipart({ LANG: 'ADQL', QUERY: 'SELECT 1\u0000' }), VOTABLE],
    ['TAP async multipart', '/tap/async', multipart({ LANG: 'ADQL', QUERY: 'SELECT 1\u0000' }), VOTABLE],
    ['TAP async form', '/tap/async', form({ LANG: 'ADQL', QUERY: 'SELECT 1\u0000' }), VOTABLE],
    ['SIA', '/sia/query?ID=ivo://x%00y', undefined, VOTABLE],
    ['SIA multipart', '/sia/query', multipart({ COLLECTION: 'a\u0000b' }), VOTABLE],
    ['DataLink', '/datalink/links?ID=ivo://x%00y', undefined, VOTABLE],
    ['DataLink files', '/datalink/files?ID=ivo://x%00y', undefined, VOTABLE],
    ['SODA sync', '/soda/sync?ID=ivo://x%00y&CIRCLE=1%202%203', undefined, VOTABLE],
    ['SODA sync multipart', '/soda/sync', multipart({ ID: 'ivo://x\u0000y', CIRCLE: '1 2 3' }), TEXT],
    ['SCS', '/scs/query?RA=1&DEC=2&SR=0.1%00', undefined, VOTABLE],
    ['preview path', '/preview/ivo%3A%2F%2Fx%00y.png', undefined, TEXT],
    ['MOC', '/moc/products?id=x%00y', undefined, TEXT],
    ['HiPS path', '/hips/%00/properties', undefined, TEXT],
  ];

  it.each(cases)('%s', async (_name, path, init, type) => {
    const res = await fetch(`${node.url}${path}`, init);
    const text = await res.text();
    expect(res.status, text).toBe(400);
    expect(res.headers.get('content-type')).toMatch(type);
    expect(text).toMatch(/NUL character/);
  });
});

describe('a body that is not well-formed multipart is a 400 on every protocol, never a 500', () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(async () => {
    await node?.stop();
  });
  // Found by the fuzzer (conformance/attack.sh): a part cut short, and a boundary missing.
  const truncated = {
    method: 'POST',
    headers: { 'content-type': 'multipart/form-data; boundary=b1' },
    body: '--b1\r\nContent-Disposition: form-data; name="LANG"\r\n\r\nADQL\r\n--b1\r\nContent-Disposition: form-data; name="f"; filename="t.xml"\r\n\r\n<VOTABLE',
  };
  const noBoundary = { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'x' };
  const paths = ['/tap/sync', '/tap/async', '/sia/query', '/datalink/links', '/soda/sync'];
  it.each(
    paths.flatMap((p) => [[p, 'truncated', truncated] as const, [p, 'no boundary', noBoundary] as const]),
  )('%s, %s', async (path, _kind, init) => {
    const res = await fetch(`${node.url}${path}`, init);
    const text = await res.text();
    expect(res.status, text).toBe(400);
    expect(text).not.toMatch(/internal error/);
  });
});
