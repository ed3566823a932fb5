import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import formbody from '@fastify/formbody';
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adqlCatalogueSource } from '../../src/catalogue/index.js';
import { tapJobParameters, tapJobRunner } from '../../src/tap/async.js';
import { FileResultStore, JobFiles, UwsService, uwsRoutes } from '../../src/uws/index.js';
import { errorDocument } from '../../votable/index.js';
import { tempFolder, untilFinal, uwsDatabase } from '../uws/helpers.js';

/*
 * Issue 13: "uploads of async jobs that never run are never deleted (anonymous, permanent disk
 * exhaustion)". The TAP async job list as the node wires it (multipart, tapJobParameters,
 * tapJobRunner, JobFiles), on a private UWS schema and private folders so every file can be
 * counted: a job's uploads go with the job on every path, orphans are swept, and the spool
 * and the number of unfinished jobs per caller are capped.
 */

let db: Awaited<ReturnType<typeof uwsDatabase>>;
let results: ReturnType<typeof tempFolder>;
let spool: ReturnType<typeof tempFolder>;
let files: JobFiles;
let service: UwsService;
let app: FastifyInstance;
const SPOOL_CAP = 300_000;
const MAX_UNFINISHED = 3;

const LIMITS = {
  maxrecDefault: 1000,
  maxrecHard: 1000,
  syncTimeoutSeconds: 30,
  asyncDurationDefault: 60,
  asyncDurationHard: 60,
  retentionDefault: 3600,
  retentionHard: 3600,
  uploadMaxBytes: 200_000,
  uploadMaxRows: 10_000,
};
const UPLOAD_LIMITS = {
  maxBytes: 200_000,
  maxRows: 10_000,
  maxTables: 3,
  fetchTimeoutSeconds: 5,
  allowPrivateUrls: false,
};

beforeAll(async () => {
  db = await uwsDatabase();
  results = tempFolder();
  spool = tempFolder();
  files = new JobFiles(spool.path, { maxTotalBytes: SPOOL_CAP, orphanGrace: 60_000 });
  const opts = {
    pool: db.pool,
    baseUrl: 'http://127.0.0.1',
    limits: LIMITS,
    uploadLimits: UPLOAD_LIMITS,
    catalogues: adqlCatalogueSource([]),
    files,
  };
  // Wired as app.ts wires /tap/async.
  service = new UwsService({
    pool: db.pool,
    schema: db.schema,
    resultStore: new FileResultStore(results.path),
    runners: { tap: tapJobRunner(opts) },
    jobFiles: files,
    limits: {
      pollInterval: 500,
      heartbeatInterval: 200,
      staleAfter: 2000,
      maxUnfinishedPerClient: MAX_UNFINISHED,
    },
    logger: { warn: () => {}, error: (o, m) => console.error(m, o) },
  });
  await service.start();
  app = Fastify();
  await app.register(formbody);
  await app.register(multipart, {
    limits: { fileSize: UPLOAD_LIMITS.maxBytes, files: UPLOAD_LIMITS.maxTables },
  });
  await app.register(uwsRoutes, {
    prefix: '/tap/async',
    service,
    kind: 'tap',
    identify: (request) => ({ owner: (request.headers['x-owner'] as string | undefined) ?? null }),
    parseJobParameters: tapJobParameters(opts),
    multiValuedParameters: ['UPLOAD'],
    requestError: (_status, message) => ({
      contentType: 'application/x-votable+xml;charset=UTF-8',
      body: errorDocument(message),
    }),
  });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await service?.stop();
  await db?.close();
  results?.remove();
  spool?.remove();
});

/** A VOTable of `rows` rows, padded with a comment to about `bytes` bytes. */
function votable(rows: number, bytes = 0): string {
  const tr = Array.from({ length: rows }, (_, i) => `<TR><TD>${i + 1}</TD></TR>`).join('');
  const doc = `<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE><FIELD name="n" datatype="int"/><DATA><TABLEDATA>${tr}</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>`;
  return bytes > doc.length
    ? doc.replace('<RESOURCE>', `<!--${'x'.repeat(bytes - doc.length)}--><RESOURCE>`)
    : doc;
}

/** A creating POST: multipart with a table in part 't' (unless `body` is given). */
async function post(
  fields: Record<string, string>,
  opts: { owner?: string; table?: string; upload?: string } = {},
): Promise<{ status: number; id?: string; body: string; headers: Record<string, unknown> }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (opts.table !== undefined) form.append(opts.upload ?? 't', new Blob([opts.table]), 't.xml');
  const req = new Request('http://localhost/tap/async', { method: 'POST', body: form });
  const res = await app.inject({
    method: 'POST',
    url: '/tap/async',
    headers: {
      'content-type': req.headers.get('content-type')!,
      ...(opts.owner ? { 'x-owner': opts.owner } : {}),
    },
    payload: Buffer.from(await req.arrayBuffer()),
  });
  const location = res.headers.location as string | undefined;
  return { status: res.statusCode, id: location?.split('/').pop(), body: res.body, headers: res.headers };
}

const folders = () => (existsSync(spool.path) ? readdirSync(spool.path) : []);
const filesOf = (id: string) => (existsSync(join(spool.path, id)) ? readdirSync(join(spool.path, id)) : []);
const QUERY = {
  LANG: 'ADQL',
  QUERY: 'SELECT SUM(n) AS s FROM TAP_UPLOAD.t',
  UPLOAD: 't,param:t',
  RESPONSEFORMAT: 'csv',
};

describe("an async job's uploads belong to the job (issue 13)", () => {
  it('are kept in the job’s folder while it waits, and deleted with it (UWS-26)', async () => {
    const made = await post(QUERY, { owner: 'del', table: votable(3) });
    expect(made.status).toBe(303);
    expect(filesOf(made.id!)).toHaveLength(1);
    const res = await app.inject({
      method: 'DELETE',
      url: `/tap/async/${made.id}`,
      headers: { 'x-owner': 'del' },
    });
    expect(res.statusCode).toBe(303);
    expect(folders()).not.toContain(made.id);
  });

  it('are deleted when a job that never ran is destroyed (UWS-9)', async () => {
    const made = await post(QUERY, { owner: 'destroy', table: votable(3) });
    expect(filesOf(made.id!)).toHaveLength(1);
    await db.pool.query(
      `UPDATE ${db.schema}.jobs SET destruction = now() - interval '1 second' WHERE id = $1`,
      [made.id],
    );
    expect(await service.sweep()).toContain(made.id);
    expect(folders()).not.toContain(made.id);
  });

  it('are used by the run and deleted when the job ends', async () => {
    const made = await post({ ...QUERY, PHASE: 'RUN' }, { owner: 'run', table: votable(4) });
    expect(made.status).toBe(303);
    expect(await untilFinal(service, made.id!)).toBe('COMPLETED');
    const job = await service.get(made.id!, 'run');
    const res = await service.openResult(made.id!, 'run', 'result');
    if ('href' in res) throw new Error('expected a stored result');
    const chunks: Buffer[] = [];
    for await (const c of res.stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString().trim().split(/\r?\n/)).toEqual(['s', '10']);
    expect(job.phase).toBe('COMPLETED');
    // Removed just after the final phase is written.
    for (let i = 0; i < 100 && folders().includes(made.id!); i++) await new Promise((r) => setTimeout(r, 50));
    expect(folders()).not.toContain(made.id);
  });

  it('are not kept when the creation fails halfway', async () => {
    const before = folders();
    // The file part is stored, then the UPLOAD names a part the request does not have.
    const made = await post({ ...QUERY, UPLOAD: 't,param:missing' }, { owner: 'half', table: votable(3) });
    expect(made.status).toBe(400);
    expect(made.body).toMatch(/refers to the part 'missing'/);
    expect(folders()).toEqual(before);
  });

  it('cannot be named by another job, in any case of the reserved scheme', async () => {
    const a = await post(QUERY, { owner: 'victim', table: votable(3) });
    const [name] = filesOf(a.id!);
    for (const scheme of ['vonode-upload:', 'VONODE-UPLOAD:', 'Vonode-Upload:']) {
      const b = await post({ ...QUERY, UPLOAD: `t,${scheme}${name}`, PHASE: 'RUN' }, { owner: 'thief' });
      expect(b.status, scheme).toBe(400);
    }
    // Even a job whose parameters name it directly (not through a request) reads only its own folder.
    const forged = await service.create({
      kind: 'tap',
      owner: 'thief',
      run: true,
      parameters: [
        { id: 'LANG', value: 'ADQL' },
        { id: 'QUERY', value: 'SELECT SUM(n) AS s FROM TAP_UPLOAD.t' },
        { id: 'UPLOAD', value: `t,vonode-upload:${name}` },
      ],
    });
    expect(await untilFinal(service, forged.id)).toBe('ERROR');
    expect((await service.get(forged.id, 'thief')).error?.message).toMatch(/no longer available/);
    expect(filesOf(a.id!)).toEqual([name]);
    await service.delete(a.id!, 'victim');
  });

  it('are swept when no unfinished job owns them (a crash, a lost creation), after a grace', async () => {
    const kept = await post(QUERY, { owner: 'sweep', table: votable(3) });
    const finished = await post(QUERY, { owner: 'sweep', table: votable(3) });
    await service.abort(finished.id!, 'sweep');
    // Left by a process killed while it kept an upload: no job has this id.
    const orphan = join(spool.path, 'Zm9yZ290dGVuLWpvYi1pZA');
    mkdirSync(orphan);
    writeFileSync(join(orphan, 'a'.repeat(32)), votable(2));
    const fresh = join(spool.path, 'c3RpbGwtYmVpbmctdXBsb2FkZWQ');
    mkdirSync(fresh);
    writeFileSync(join(fresh, 'b'.repeat(32)), votable(2));
    // A stray file of the old flat layout.
    writeFileSync(join(spool.path, 'c'.repeat(32)), votable(2));
    const old = new Date(Date.now() - 3600_000);
    for (const p of [orphan, join(orphan, 'a'.repeat(32)), join(spool.path, 'c'.repeat(32))])
      utimesSync(p, old, old);
    for (const id of [kept.id!]) {
      utimesSync(join(spool.path, id), old, old);
      for (const f of filesOf(id)) utimesSync(join(spool.path, id, f), old, old);
    }
    await service.sweep();
    const left = folders();
    expect(left).toContain(kept.id); // PENDING: its upload is still needed
    expect(left).not.toContain(finished.id); // ABORTED: removed at once
    expect(left).not.toContain('Zm9yZ290dGVuLWpvYi1pZA');
    expect(left).not.toContain('c'.repeat(32));
    expect(left).toContain('c3RpbGwtYmVpbmctdXBsb2FkZWQ'); // within the grace: may be a creation in progress
    await service.delete(kept.id!, 'sweep');
    await files.delete('c3RpbGwtYmVpbmctdXBsb2FkZWQ');
  });
});

describe('caps on what waiting jobs may hold (issue 13)', () => {
  it('refuses uploads past the spool cap with 503, Retry-After and a DALI error, keeping nothing', async () => {
    const first = await post(QUERY, { owner: 'spool', table: votable(3, 150_000) });
    expect(first.status).toBe(303);
    const second = await post(QUERY, { owner: 'spool', table: votable(3, 190_000) });
    expect(second.status).toBe(503);
    expect(second.headers['retry-after']).toBe('60');
    expect(second.body).toMatch(/<INFO name="QUERY_STATUS" value="ERROR">[^<]*no room left for uploads/);
    expect(folders()).toEqual([first.id]);
    // Deleting the waiting job frees its room.
    await service.delete(first.id!, 'spool');
    expect(await files.usage()).toBeLessThan(1000);
    const third = await post(QUERY, { owner: 'spool', table: votable(3, 190_000) });
    expect(third.status).toBe(303);
    await service.delete(third.id!, 'spool');
  });

  it('refuses a file larger than the upload limit with 413', async () => {
    const big = await post(QUERY, { owner: 'big', table: votable(3, 250_000) });
    expect(big.status).toBe(413);
    expect(big.body).toMatch(/too large|larger than the limit/);
    expect(folders()).toEqual([]);
  });

  it('refuses more unfinished jobs than allowed per anonymous address, and per owner, with 429', async () => {
    for (const who of [undefined, 'capped']) {
      for (let i = 0; i < MAX_UNFINISHED; i++) {
        expect((await post({ LANG: 'ADQL', QUERY: 'SELECT 1 AS one' }, { owner: who })).status).toBe(303);
      }
      const refused = await post(QUERY, { owner: who, table: votable(3) });
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.body).toMatch(/unfinished jobs/);
    }
    // Another owner is not affected.
    expect((await post({ LANG: 'ADQL', QUERY: 'SELECT 1 AS one' }, { owner: 'someone-else' })).status).toBe(
      303,
    );
  });
});
