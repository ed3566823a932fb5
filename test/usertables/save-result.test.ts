import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { savedColumnNames } from '../../src/usertables/index.js';
import { signingKey, TestIssuer } from '../auth/issuer.js';
import { startTestNode, TEST_BASE_URL } from '../support/node.js';

// Saving an async job's result as a user table (issue 16, item 3; the vonode job parameter
// SAVE_AS_TABLE): the rows are those the caller may read (row-level security, as for any
// query), the table is the caller's, and a carried position gets the HEALPix column, so the
// saved table answers cones and crossmatches on its index. UWS-level outcomes per TAP-8/UWS:
// the job completes with a small result naming the table, or ends in ERROR with a message.

const AUDIENCE = 'vonode-test';
const SUFFIX = Math.random().toString(36).slice(2, 7);
const issuer = new TestIssuer();
let node: Awaited<ReturnType<typeof startTestNode>>;
const who = {
  alice: { sub: `alice-${SUFFIX}`, groups: ['team-a'] },
  bob: { sub: `bob-${SUFFIX}`, groups: ['team-b'] },
} as const;
const tokens = { alice: '', bob: '' };
const schemaOf = (sub: string) => `user_${sub.replace(/-/g, '_')}`;

beforeAll(async () => {
  await issuer.start();
  issuer.keys = [await signingKey()];
  node = await startTestNode({ VONODE_OIDC_ISSUER: issuer.url, VONODE_OIDC_AUDIENCE: AUDIENCE });
  tokens.alice = await issuer.token({ ...who.alice, groups: [...who.alice.groups] }, { aud: AUDIENCE });
  tokens.bob = await issuer.token({ ...who.bob, groups: [...who.bob.groups] }, { aud: AUDIENCE });
}, 240_000);
afterAll(async () => {
  for (const w of ['alice', 'bob'] as const)
    for (const t of ['field07', 'cone', 'again'])
      await fetch(`${node.url}/tap/tables/${schemaOf(who[w].sub)}.${t}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${tokens[w]}` },
      }).catch(() => {});
  await node?.stop();
  await issuer.stop();
});

const auth = (w?: 'alice' | 'bob'): Record<string, string> =>
  w ? { authorization: `Bearer ${tokens[w]}` } : {};

/** An async job run to its end: its phase, error summary and result text. */
async function runJob(params: Record<string, string>, w?: 'alice' | 'bob') {
  const created = await fetch(`${node.url}/tap/async`, {
    method: 'POST',
    body: new URLSearchParams({ LANG: 'ADQL', PHASE: 'RUN', ...params }),
    headers: auth(w),
    redirect: 'manual',
  });
  expect(created.status).toBe(303);
  // the job URL is written with the node's public base URL
  const url = created.headers.get('location')!.replace(TEST_BASE_URL, node.url);
  let phase = '';
  let doc = '';
  for (let i = 0; i < 120; i++) {
    doc = await (await fetch(`${url}?WAIT=5`, { headers: auth(w) })).text();
    phase = /<uws:phase>([A-Z]+)</.exec(doc)?.[1] ?? '';
    if (['COMPLETED', 'ERROR', 'ABORTED'].includes(phase)) break;
  }
  const message = /<uws:message>([^<]*)</.exec(doc)?.[1] ?? '';
  const result =
    phase === 'COMPLETED' ? await (await fetch(`${url}/results/result`, { headers: auth(w) })).text() : '';
  return { phase, message, result };
}

async function sync(query: string, w?: 'alice' | 'bob') {
  const res = await fetch(`${node.url}/tap/sync`, {
    method: 'POST',
    body: new URLSearchParams({ LANG: 'ADQL', RESPONSEFORMAT: 'csv', QUERY: query }),
    headers: auth(w),
  });
  return { status: res.status, text: await res.text() };
}
const count = async (query: string, w?: 'alice' | 'bob') =>
  Number((await sync(query, w)).text.split(/\r?\n/)[1]);

describe('SAVE_AS_TABLE on an async TAP job', () => {
  const FIELD07 = "SELECT source_id, ra, dec, flux_int FROM demo.sources WHERE field_id = 'field-07'";

  it("saves the rows the caller may read into the caller's schema, with the HEALPix column", async () => {
    const alicesRows = await count(
      "SELECT COUNT(*) AS n FROM demo.sources WHERE field_id = 'field-07'",
      'alice',
    );
    expect(alicesRows).toBeGreaterThan(0);
    const job = await runJob({ QUERY: FIELD07, SAVE_AS_TABLE: 'field07', RESPONSEFORMAT: 'csv' }, 'alice');
    expect(job.phase, job.message).toBe('COMPLETED');
    const table = `${schemaOf(who.alice.sub)}.field07`;
    expect(job.result).toContain(table);
    expect(job.result).toContain(String(alicesRows));
    expect(await count(`SELECT COUNT(*) AS n FROM ${table}`, 'alice')).toBe(alicesRows);
    // the same rows, value for value
    const saved = await sync(`SELECT source_id, ra, dec FROM ${table} ORDER BY source_id`, 'alice');
    const original = await sync(
      "SELECT source_id, ra, dec FROM demo.sources WHERE field_id = 'field-07' ORDER BY source_id",
      'alice',
    );
    expect(saved.text).toBe(original.text);
    // the position columns were recognised: TAP_SCHEMA lists the HEALPix column
    const cols = await sync(
      `SELECT column_name FROM TAP_SCHEMA.columns WHERE table_name = '${table}'`,
      'alice',
    );
    expect(cols.text.split(/\r?\n/).slice(1).filter(Boolean).sort()).toEqual(
      ['dec', 'flux_int', 'healpix', 'ra', 'source_id'].sort(),
    );
    // a cone on the saved table finds what the same cone on the source finds
    const row = saved.text.split(/\r?\n/)[1].split(',');
    const cone = (t: string) =>
      `SELECT COUNT(*) AS n FROM ${t} WHERE 1 = CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', ${row[1]}, ${row[2]}, 0.5))`;
    const inSaved = await count(cone(table), 'alice');
    expect(inSaved).toBeGreaterThan(0);
    expect(inSaved).toBe(await count(`${cone('demo.sources')} AND field_id = 'field-07'`, 'alice'));
    // bob sees nothing of it
    expect((await sync(`SELECT COUNT(*) AS n FROM ${table}`, 'bob')).text).toMatch(/no table/);
  });

  it("saves only what the caller may read: bob's save of the same query has none of team-a's rows", async () => {
    const bobs = await count("SELECT COUNT(*) AS n FROM demo.sources WHERE field_id = 'field-07'", 'bob');
    const alices = await count("SELECT COUNT(*) AS n FROM demo.sources WHERE field_id = 'field-07'", 'alice');
    expect(bobs).toBeLessThan(alices);
    const job = await runJob({ QUERY: FIELD07, SAVE_AS_TABLE: 'field07' }, 'bob');
    expect(job.phase, job.message).toBe('COMPLETED');
    expect(await count(`SELECT COUNT(*) AS n FROM ${schemaOf(who.bob.sub)}.field07`, 'bob')).toBe(bobs);
  });

  it('ends in ERROR with a message for anonymous callers, other schemas, taken names and MAXREC', async () => {
    const anonymous = await runJob({ QUERY: FIELD07, SAVE_AS_TABLE: 'mine' });
    expect(anonymous.phase).toBe('ERROR');
    expect(anonymous.message).toMatch(/needs a token/);
    const elsewhere = await runJob({ QUERY: FIELD07, SAVE_AS_TABLE: `${schemaOf(who.bob.sub)}.x` }, 'alice');
    expect(elsewhere.phase).toBe('ERROR');
    expect(elsewhere.message).toMatch(/only in your own schema/);
    const taken = await runJob({ QUERY: FIELD07, SAVE_AS_TABLE: 'field07' }, 'alice');
    expect(taken.phase).toBe('ERROR');
    expect(taken.message).toMatch(/already exists/);
    const tooMany = await runJob({ QUERY: FIELD07, SAVE_AS_TABLE: 'again', MAXREC: '3' }, 'alice');
    expect(tooMany.phase).toBe('ERROR');
    expect(tooMany.message).toMatch(/MAXREC=3/);
    // nothing left behind by the refused save
    expect((await sync(`SELECT COUNT(*) AS n FROM ${schemaOf(who.alice.sub)}.again`, 'alice')).text).toMatch(
      /no table/,
    );
  });

  it('folds result column names into names a table can hold', () => {
    expect(savedColumnNames(['COUNT', 'select', '"Weird Name"', 'id', 'ID', '1st'])).toEqual([
      'count_',
      'select_',
      'weird_name',
      'id',
      'id_2',
      'c_1st',
    ]);
  });
});
