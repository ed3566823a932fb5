import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type UwsService, uwsRoutes } from '../../src/uws/index.js';
import {
  newRunLog,
  newService,
  tempFolder,
  testRunner,
  untilFinal,
  untilPhase,
  uwsDatabase,
  validateUws,
} from './helpers.js';

let db: Awaited<ReturnType<typeof uwsDatabase>>;
let store: ReturnType<typeof tempFolder>;
let service: UwsService;
let app: FastifyInstance;
const log = newRunLog();
const BASE = 'http://localhost:80/test/async';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

beforeAll(async () => {
  db = await uwsDatabase();
  store = tempFolder();
  service = newService(
    db.pool,
    db.schema,
    store.path,
    { test: testRunner(log), other: testRunner(log) },
    {
      maxWait: 30,
    },
  );
  await service.start();
  app = Fastify();
  await app.register(uwsRoutes, {
    prefix: '/test/async',
    service,
    kind: 'test',
    identify: (request) => ({ owner: (request.headers['x-owner'] as string | undefined) ?? null }),
    multiValuedParameters: ['UPLOAD'],
  });
  // A second job list whose parameters come pre-parsed from the caller, as TAP plugs in multipart.
  await app.register(uwsRoutes, {
    prefix: '/other/async',
    service,
    kind: 'other',
    parseJobParameters: () => [
      { id: 'MODE', value: 'result' },
      { id: 'TEXT', value: 'pre-parsed' },
      { id: 'PHASE', value: 'RUN' },
      { id: 'UPLOAD', value: 't,http://example.org/t.xml', byReference: true },
    ],
    inlineParameter: async (_job, name) =>
      name === 't'
        ? { stream: Readable.from([Buffer.from('<VOTABLE/>')]), mime: 'application/x-votable+xml', size: 10 }
        : null,
    requestError: (status, message) => ({
      contentType: 'application/x-votable+xml',
      body: `<VOTABLE><INFO name="QUERY_STATUS" value="ERROR">${status}: ${message}</INFO></VOTABLE>`,
    }),
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await service?.stop();
  await db?.close();
  store?.remove();
});

async function create(body: string, owner?: string): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/test/async',
    headers: { ...FORM, ...(owner ? { 'x-owner': owner } : {}) },
    payload: body,
  });
  expect(res.statusCode).toBe(303);
  const location = res.headers.location as string;
  expect(location.startsWith(`${BASE}/`)).toBe(true);
  return location.slice(BASE.length + 1);
}

function get(url: string, owner?: string) {
  return app.inject({ method: 'GET', url, headers: owner ? { 'x-owner': owner } : {} });
}

function post(url: string, body: string, owner?: string) {
  return app.inject({
    method: 'POST',
    url,
    headers: { ...FORM, ...(owner ? { 'x-owner': owner } : {}) },
    payload: body,
  });
}

function tag(xml: string, name: string): string | undefined {
  return new RegExp(`<uws:${name}>([^<]*)</uws:${name}>`).exec(xml)?.[1];
}

describe('UWS resource tree', () => {
  it('serves a PENDING job and its atomic properties as the schema and UWS-1/UWS-2 say', async () => {
    const id = await create('MODE=quick&RUNID=tag-1&LANG=ADQL');
    const res = await get(`/test/async/${id}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/xml/);
    await validateUws(res.body);
    expect(res.body).toContain('version="1.1"');
    expect(tag(res.body, 'jobId')).toBe(id);
    expect(tag(res.body, 'runId')).toBe('tag-1');
    expect(tag(res.body, 'phase')).toBe('PENDING');
    expect(res.body).toContain('<uws:ownerId xsi:nil="true"/>');
    expect(res.body).toContain('<uws:startTime xsi:nil="true"/>');
    expect(res.body).toContain('<uws:parameter id="LANG">ADQL</uws:parameter>');
    const phase = await get(`/test/async/${id}/phase`);
    expect(phase.headers['content-type']).toMatch(/^text\/plain/);
    expect(phase.headers['cache-control']).toBe('no-cache');
    expect(phase.body).toBe('PENDING');
    const duration = await get(`/test/async/${id}/executionduration`);
    expect(duration.headers['content-type']).toMatch(/^text\/plain/);
    expect(duration.body).toBe(tag(res.body, 'executionDuration'));
    const destruction = await get(`/test/async/${id}/destruction`);
    expect(destruction.body).toBe(tag(res.body, 'destruction'));
    expect(destruction.body).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect((await get(`/test/async/${id}/quote`)).body).toBe('');
    expect((await get(`/test/async/${id}/owner`)).body).toBe('');
    const params = await get(`/test/async/${id}/parameters`);
    await validateUws(params.body);
    expect(params.body).toContain('<uws:parameter id="MODE">quick</uws:parameter>');
    const results = await get(`/test/async/${id}/results`);
    await validateUws(results.body);
    expect((await get(`/test/async/${id}/error`)).statusCode).toBe(404);
  });

  it('starts with PHASE=RUN at creation, and WAIT blocks until the phase changes (UWS-17, UWS-38)', async () => {
    const id = await create('mode=result&text=%3Chello%20%26%20bye%3E&phase=run');
    let doc = (await get(`/test/async/${id}?WAIT=30`)).body;
    while (['QUEUED', 'EXECUTING'].includes(tag(doc, 'phase')!)) {
      doc = (await get(`/test/async/${id}?WAIT=30&PHASE=${tag(doc, 'phase')}`)).body;
    }
    expect(tag(doc, 'phase')).toBe('COMPLETED');
    await validateUws(doc);
    expect(doc).toContain(
      `<uws:result id="out" xlink:href="${BASE}/${id}/results/out" size="13" mime-type="text/plain"/>`,
    );
    await validateUws((await get(`/test/async/${id}/results`)).body);
    const result = await get(`/test/async/${id}/results/out`);
    expect(result.statusCode).toBe(200);
    expect(result.headers['content-type']).toMatch(/^text\/plain/);
    expect(result.headers['content-length']).toBe('13');
    expect(result.body).toBe('<hello & bye>');
    expect((await get(`/test/async/${id}/results/nope`)).statusCode).toBe(404);
    // UWS-40: a final phase answers at once even with a long WAIT.
    expect(tag((await get(`/test/async/${id}?WAIT=-1`)).body, 'phase')).toBe('COMPLETED');
  });

  it('answers a WAIT at once when the phase differs from the PHASE given (UWS-41)', async () => {
    const id = await create('MODE=quick');
    const res = await get(`/test/async/${id}?WAIT=30&PHASE=EXECUTING`);
    expect(tag(res.body, 'phase')).toBe('PENDING');
    expect((await get(`/test/async/${id}?WAIT=soon`)).statusCode).toBe(400);
    expect((await get(`/test/async/${id}?WAIT=5&PHASE=LATER`)).statusCode).toBe(400);
  });

  it('holds no database connection while many clients WAIT (UWS-38)', async () => {
    const id = await create('MODE=quick');
    // Twenty waiters on a pool of four: if waiting held connections, the RUN below could not run.
    const waiting = Array.from({ length: 20 }, () => get(`/test/async/${id}?WAIT=30`));
    const run = await post(`/test/async/${id}/phase`, 'PHASE=RUN');
    expect(run.statusCode).toBe(303);
    expect(run.headers.location).toBe(`${BASE}/${id}`);
    for (const res of await Promise.all(waiting)) expect(tag(res.body, 'phase')).not.toBe('PENDING');
  });

  it('reports an ERROR job with errorSummary and an /error document (UWS-22)', async () => {
    const id = await create('MODE=fail&PHASE=RUN');
    await untilFinal(service, id);
    const doc = (await get(`/test/async/${id}`)).body;
    await validateUws(doc);
    expect(doc).toContain(
      '<uws:errorSummary type="fatal" hasDetail="true"><uws:message>the test runner was asked to fail</uws:message></uws:errorSummary>',
    );
    const error = await get(`/test/async/${id}/error`);
    expect(error.statusCode).toBe(200);
    expect(error.body).toBe('detailed failure report');
  });

  it('aborts a running job with PHASE=ABORT (UWS-25)', async () => {
    const id = await create('MODE=sleep&PHASE=RUN');
    await untilPhase(service, id, 'EXECUTING');
    const res = await post(`/test/async/${id}/phase`, 'phase=abort');
    expect(res.statusCode).toBe(303);
    expect((await get(`/test/async/${id}/phase`)).body).toBe('ABORTED');
    await expect.poll(() => log.aborted.has(id), { timeout: 20_000 }).toBe(true);
    expect((await post(`/test/async/${id}/phase`, 'PHASE=RUN')).statusCode).toBe(403);
    expect((await post(`/test/async/${id}/phase`, 'PHASE=SUSPEND')).statusCode).toBe(400);
  });

  it('changes execution duration and destruction with 303, and refuses bad values with 400 (UWS-27, UWS-28)', async () => {
    const id = await create('MODE=quick');
    const ed = await post(`/test/async/${id}/executionduration`, 'EXECUTIONDURATION=77');
    expect(ed.statusCode).toBe(303);
    expect(ed.headers.location).toBe(`${BASE}/${id}`);
    expect((await get(`/test/async/${id}/executionduration`)).body).toBe('77');
    expect((await post(`/test/async/${id}/executionduration`, 'EXECUTIONDURATION=ten')).statusCode).toBe(400);
    const when = new Date(Date.now() + 86400_000);
    when.setUTCMilliseconds(0);
    const de = await post(`/test/async/${id}/destruction`, `DESTRUCTION=${when.toISOString()}`);
    expect(de.statusCode).toBe(303);
    expect((await get(`/test/async/${id}/destruction`)).body).toBe(when.toISOString());
    expect(tag((await get(`/test/async/${id}`)).body, 'destruction')).toBe(when.toISOString());
    expect((await post(`/test/async/${id}/destruction`, 'DESTRUCTION=tomorrow')).statusCode).toBe(400);
    expect((await post(`/test/async/${id}/destruction`, '')).statusCode).toBe(400);
  });

  it('updates parameters while PENDING only, one value per single-valued name (UWS-29, UWS-30)', async () => {
    const id = await create('MODE=quick&RUNID=first&UPLOAD=a,param:a');
    const res = await post(`/test/async/${id}/parameters`, 'runId=second&upload=b,param:b');
    expect(res.statusCode).toBe(303);
    const doc = (await get(`/test/async/${id}`)).body;
    await validateUws(doc);
    expect(tag(doc, 'runId')).toBe('second');
    const ids = [...doc.matchAll(/<uws:parameter id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids).toEqual(['MODE', 'UPLOAD', 'RUNID', 'UPLOAD']);
    await post(`/test/async/${id}/phase`, 'PHASE=RUN');
    await untilFinal(service, id);
    expect((await post(`/test/async/${id}/parameters`, 'MODE=sleep')).statusCode).toBe(403);
  });

  it('deletes with DELETE and with ACTION=DELETE, redirecting to the job list (UWS-26)', async () => {
    const a = await create('MODE=quick');
    const del = await app.inject({ method: 'DELETE', url: `/test/async/${a}` });
    expect(del.statusCode).toBe(303);
    expect(del.headers.location).toBe(BASE);
    expect((await get(`/test/async/${a}`)).statusCode).toBe(404);
    const b = await create('MODE=quick');
    const act = await post(`/test/async/${b}`, 'ACTION=DELETE');
    expect(act.statusCode).toBe(303);
    expect(act.headers.location).toBe(BASE);
    expect((await get(`/test/async/${b}/phase`)).statusCode).toBe(404);
    expect((await post(`/test/async/${b}`, 'ACTION=DELETE')).statusCode).toBe(404);
    const c = await create('MODE=quick');
    expect((await post(`/test/async/${c}`, 'PHASE=RUN')).statusCode).toBe(400);
  });

  it('answers 404 for unknown jobs on every sub-resource (UWS-50)', async () => {
    for (const sub of [
      '',
      '/phase',
      '/executionduration',
      '/destruction',
      '/quote',
      '/owner',
      '/error',
      '/parameters',
      '/results',
      '/results/x',
    ]) {
      const res = await get(`/test/async/no-such-job${sub}`);
      expect(res.statusCode, sub).toBe(404);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
    }
  });

  it('lists only the caller’s jobs, filtered by PHASE, AFTER and LAST (UWS-31..35, UWS-53)', async () => {
    const first = await create('MODE=quick', 'hana');
    await new Promise((r) => setTimeout(r, 5));
    const second = await create('MODE=quick&PHASE=RUN', 'hana');
    await untilFinal(service, second);
    await create('MODE=quick', 'ivan');
    const list = await get('/test/async', 'hana');
    expect(list.statusCode).toBe(200);
    await validateUws(list.body);
    const ids = (xml: string) => [...xml.matchAll(/<uws:jobref id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids(list.body)).toEqual([second, first]);
    expect(list.body).toContain(`xlink:href="${BASE}/${first}"`);
    expect(list.body).toContain('<uws:ownerId>hana</uws:ownerId>');
    expect(ids((await get('/test/async?PHASE=PENDING', 'hana')).body)).toEqual([first]);
    expect(ids((await get('/test/async?phase=PENDING&PHASE=COMPLETED', 'hana')).body)).toEqual([
      second,
      first,
    ]);
    expect(ids((await get('/test/async?LAST=1', 'hana')).body)).toEqual([second]);
    const created = tag((await get(`/test/async/${first}`, 'hana')).body, 'creationTime')!;
    expect(ids((await get(`/test/async?AFTER=${created}`, 'hana')).body)).toEqual([second]);
    expect((await get('/test/async?PHASE=DONE', 'hana')).statusCode).toBe(400);
    expect((await get('/test/async?LAST=0', 'hana')).statusCode).toBe(400);
    expect((await get('/test/async?AFTER=yesterday', 'hana')).statusCode).toBe(400);
    const anonymous = await get('/test/async');
    await validateUws(anonymous.body);
    expect(ids(anonymous.body)).toEqual([]);
    // Someone else's job is forbidden (UWS-53); an owner's job shows the owner.
    expect((await get(`/test/async/${first}`, 'ivan')).statusCode).toBe(403);
    expect((await get(`/test/async/${first}`)).statusCode).toBe(403);
    expect((await get(`/test/async/${first}/owner`, 'hana')).body).toBe('hana');
    expect(
      (await app.inject({ method: 'DELETE', url: `/test/async/${first}`, headers: { 'x-owner': 'ivan' } }))
        .statusCode,
    ).toBe(403);
  });

  it('takes a pre-parsed parameter list from the caller and keeps byReference', async () => {
    const res = await app.inject({ method: 'POST', url: '/other/async', headers: FORM, payload: '' });
    expect(res.statusCode).toBe(303);
    const id = (res.headers.location as string).split('/').at(-1)!;
    expect(await untilFinal(service, id)).toBe('COMPLETED');
    const doc = (await get(`/other/async/${id}`)).body;
    await validateUws(doc);
    expect(doc).toContain(
      '<uws:parameter id="UPLOAD" byReference="true">t,http://example.org/t.xml</uws:parameter>',
    );
    expect(doc).not.toContain('id="PHASE"');
    expect((await get(`/other/async/${id}/results/out`)).body).toBe('pre-parsed');
    const inline = await get(`/other/async/${id}/parameters/t`);
    expect(inline.statusCode).toBe(200);
    expect(inline.headers['content-type']).toMatch(/^application\/x-votable\+xml/);
    expect(inline.body).toBe('<VOTABLE/>');
    expect((await get(`/other/async/${id}/parameters/u`)).statusCode).toBe(404);
    // A job of another kind is not part of this job list.
    expect((await get(`/test/async/${id}`)).statusCode).toBe(404);
    expect((await get(`/test/async/${id}/phase`)).statusCode).toBe(404);
    const missing = await get('/other/async/no-such-job');
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/x-votable\+xml/);
    expect(missing.body).toContain('404: no job with id no-such-job');
  });

  it('refuses a creating PHASE other than RUN and malformed control values (UWS-51)', async () => {
    expect((await post('/test/async', 'MODE=quick&PHASE=ABORT')).statusCode).toBe(400);
    expect((await post('/test/async', 'MODE=quick&EXECUTIONDURATION=-3')).statusCode).toBe(400);
    expect((await post('/test/async', 'MODE=quick&DESTRUCTION=2030-13-45')).statusCode).toBe(400);
    const id = await create('MODE=quick&EXECUTIONDURATION=12&DESTRUCTION=2030-01-01T00:00:00Z');
    const doc = (await get(`/test/async/${id}`)).body;
    expect(tag(doc, 'executionDuration')).toBe('12');
    expect(tag(doc, 'destruction')).not.toBe('');
    expect(doc).not.toContain('id="EXECUTIONDURATION"');
  });

  it('is read by pyvo 1.2 (a real client): job list, finished and failed jobs', async () => {
    const done = await create('MODE=result&RUNID=py&PHASE=RUN', 'pyuser');
    const failed = await create('MODE=fail&PHASE=RUN', 'pyuser');
    await untilFinal(service, done);
    await untilFinal(service, failed);
    const docs = {
      list: (await get('/test/async', 'pyuser')).body,
      done: (await get(`/test/async/${done}`, 'pyuser')).body,
      failed: (await get(`/test/async/${failed}`, 'pyuser')).body,
    };
    const script = `
import io, json, sys
from pyvo.io import uws
docs = json.load(sys.stdin)
jobs = uws.parse_job_list(io.BytesIO(docs['list'].encode()))
d = uws.parse_job(io.BytesIO(docs['done'].encode()))
f = uws.parse_job(io.BytesIO(docs['failed'].encode()))
print(json.dumps({
  'list': sorted(j.jobid for j in jobs),
  'phase': d.phase, 'runid': d.runid, 'owner': d.ownerid,
  'results': [(r.id_, r.href) for r in d.results],
  'duration': str(d.executionduration), 'destruction': str(d.destruction),
  'fphase': f.phase, 'fdetail': f.errorsummary.has_detail, 'ftype': f.errorsummary.type_,
}))
`;
    const child = promisify(execFile)('/usr/bin/python3', ['-c', script]);
    child.child.stdin?.end(JSON.stringify(docs));
    const seen = JSON.parse((await child).stdout);
    expect(seen.list).toEqual([done, failed].sort());
    expect(seen.phase).toBe('COMPLETED');
    expect(seen.runid).toBe('py');
    expect(seen.owner).toBe('pyuser');
    expect(seen.results).toEqual([['out', `${BASE}/${done}/results/out`]]);
    expect(Number(seen.duration)).toBe(Number(tag(docs.done, 'executionDuration')));
    expect(seen.destruction).not.toBe('None');
    expect(seen.fphase).toBe('ERROR');
    // pyvo 1.2 leaves errorSummary/message content unread (None) whatever the XML; it
    // reports failures from the phase, so only the attributes are checked here.
    expect(seen.fdetail).toBe(true);
    expect(seen.ftype).toBe('fatal');
  });
});
