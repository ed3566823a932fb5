/**
 * A node with every kind of state an operator must not lose (issue 23): the demo catalogue and
 * products, a catalogue published with `vonode publish`, a user table, UWS jobs with results,
 * a product ingested from outside the data folder. The backup test and the upgrade fixture
 * (scripts/make-upgrade-fixture.sh, with the code of an older commit) build it alike, and
 * read it back through the same queries.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { demoPlan } from '../../src/ingest/demo.js';
import { writeDemoImage } from '../../src/ingest/demo-products.js';

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly out: string;
}

/** Runs `node BIN args` with exactly `env` (plus PATH and HOME), as an operator's shell would. */
export function runVonode(
  bin: string,
  env: Record<string, string>,
  args: readonly string[],
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let out = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('close', (code) => resolve({ code, stdout, out }));
  });
}

/** What populateNode made that the queries name. */
export interface NodeFacts {
  /** An async TAP job that ran to COMPLETED, and one left PENDING, both alice's. */
  readonly completedJob: string;
  readonly pendingJob: string;
}

export type Vonode = (args: readonly string[]) => Promise<CommandResult>;

async function must(r: Promise<CommandResult>, what: string): Promise<string> {
  const res = await r;
  if (res.code !== 0) throw new Error(`${what} failed (${res.code}): ${res.out}`);
  return res.stdout;
}

/** A token for alice from the node's development issuer (VONODE_DEV_ISSUER=on). */
export async function aliceToken(vonode: Vonode): Promise<string> {
  return (await must(vonode(['token', '--sub', 'alice', '--groups', 'team-a']), 'vonode token')).trim();
}

export async function populateNode(url: string, vonode: Vonode, workDir: string): Promise<NodeFacts> {
  // A catalogue published as docs/publishing.md has it: describe, then publish.
  const csv = ['id,ra,dec,flux'];
  for (let i = 1; i <= 60; i++)
    csv.push(`${i},${(150 + i * 0.01).toFixed(4)},${(2 + i * 0.005).toFixed(4)},${(i * 1.25).toFixed(2)}`);
  const data = join(workDir, 'sources.csv');
  writeFileSync(data, `${csv.join('\n')}\n`);
  const yaml = await must(
    vonode(['describe', data, '--schema', 'survey', '--name', 'sources']),
    'vonode describe',
  );
  const desc = join(workDir, 'sources.yaml');
  writeFileSync(desc, yaml);
  await must(vonode(['publish', '--lax', desc, data]), 'vonode publish');

  // A product ingested from a folder outside the data folder: the backup lists it, not copies it.
  const fits = join(workDir, 'site-image.fits');
  await writeDemoImage(fits, { ...demoPlan(16)[3], fileName: 'site-image.fits', obsId: 'site-image' }, []);
  await must(vonode(['ingest', '--collection', 'site', fits]), 'vonode ingest');

  const token = await aliceToken(vonode);
  const auth = { authorization: `Bearer ${token}` };
  const stars = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<vosi:table xmlns:vosi="http://www.ivoa.net/xml/VOSITables/v1.0" xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1"',
    '  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" type="output">',
    '  <name>user_alice.stars</name><description>alice stars</description>',
    '  <column><name>star_id</name><dataType xsi:type="vs:VOTableType">int</dataType></column>',
    '  <column><name>mag</name><dataType xsi:type="vs:VOTableType">double</dataType></column>',
    '  <column><name>label</name><dataType xsi:type="vs:VOTableType" arraysize="*">char</dataType></column>',
    '</vosi:table>',
  ].join('\n');
  await expectOk(
    fetch(`${url}/tap/tables/user_alice.stars`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'text/xml' },
      body: stars,
    }),
    'creating user_alice.stars',
  );
  const rows = ['star_id,mag,label'];
  for (let i = 1; i <= 40; i++) rows.push(`${i},${(10 + i / 8).toFixed(3)},star ${i}`);
  await expectOk(
    fetch(`${url}/tap/load/user_alice.stars`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/csv' },
      body: `${rows.join('\n')}\n`,
    }),
    'loading user_alice.stars',
  );

  const submit = async (query: string, run: boolean) => {
    const res = await fetch(`${url}/tap/async`, {
      method: 'POST',
      redirect: 'manual',
      headers: auth,
      body: new URLSearchParams({ LANG: 'ADQL', QUERY: query, ...(run ? { PHASE: 'RUN' } : {}) }),
    });
    const location = res.headers.get('location');
    if (res.status !== 303 || !location)
      throw new Error(`async submit answered ${res.status}: ${await res.text()}`);
    return location.split('/').pop() as string;
  };
  const completedJob = await submit('SELECT id, flux FROM survey.sources WHERE flux > 50 ORDER BY id', true);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const phase = await (await fetch(`${url}/tap/async/${completedJob}/phase`, { headers: auth })).text();
    if (phase.trim() === 'COMPLETED') break;
    if (/ERROR|ABORTED/.test(phase) || Date.now() > deadline)
      throw new Error(`job ${completedJob} is ${phase}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const pendingJob = await submit('SELECT COUNT(*) FROM user_alice.stars', false);
  return { completedJob, pendingJob };
}

async function expectOk(res: Promise<Response>, what: string): Promise<void> {
  const r = await res;
  if (r.status >= 300) throw new Error(`${what} answered ${r.status}: ${await r.text()}`);
}

/** The queries whose answers must survive a backup and restore, or an upgrade. */
export const STATE_QUERIES: Readonly<Record<string, string>> = {
  demo: 'SELECT * FROM demo.sources ORDER BY source_id',
  published: 'SELECT * FROM survey.sources ORDER BY id',
  userTable: 'SELECT * FROM user_alice.stars ORDER BY star_id',
  products:
    'SELECT obs_publisher_did, obs_collection, dataproduct_type, s_ra, s_dec, t_min, em_min, access_url, access_estsize FROM ivoa.obscore ORDER BY obs_publisher_did',
  tapSchema:
    "SELECT table_name, column_name, datatype, arraysize, unit, ucd FROM tap_schema.columns WHERE table_name IN ('demo.sources', 'survey.sources', 'user_alice.stars', 'ivoa.obscore') ORDER BY table_name, column_index, column_name",
  tables:
    "SELECT schema_name, table_name, table_type FROM tap_schema.tables WHERE schema_name <> 'tap_schema' ORDER BY schema_name, table_name",
};

/**
 * Every query's CSV answer as alice sees it, with the node's own address replaced by NODE (the
 * access URLs carry it, and two nodes listen on two ports), and the jobs' phases.
 */
export async function nodeSnapshot(
  url: string,
  token: string,
  facts: NodeFacts,
): Promise<Record<string, string>> {
  const auth = { authorization: `Bearer ${token}` };
  const port = new URL(url).port;
  const local = (text: string) =>
    text.replaceAll(`http://127.0.0.1:${port}`, 'NODE').replaceAll(`http://localhost:${port}`, 'NODE');
  const out: Record<string, string> = {};
  for (const [name, query] of Object.entries(STATE_QUERIES)) {
    const res = await fetch(`${url}/tap/sync`, {
      method: 'POST',
      headers: auth,
      body: new URLSearchParams({ LANG: 'ADQL', QUERY: query, RESPONSEFORMAT: 'csv', MAXREC: '100000' }),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${name}: ${res.status} ${text}`);
    out[name] = local(text);
  }
  for (const [name, id] of Object.entries(facts)) {
    out[`${name}Phase`] = (
      await (await fetch(`${url}/tap/async/${id}/phase`, { headers: auth })).text()
    ).trim();
    out[`${name}Query`] = local(
      (await (await fetch(`${url}/tap/async/${id}/parameters`, { headers: auth })).text()).trim(),
    );
  }
  return out;
}
