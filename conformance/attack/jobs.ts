/**
 * Jobs across a node SIGKILL and a result store that fills up (issue 13, build 2). attack.sh
 * kills and restarts the node; these are the steps before and after.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { DATA, http, report, SCRATCH, sleep, Tally, TOKEN_A, tapSync } from './lib.js';

const JOBS_FILE = () => join(SCRATCH(), 'jobs.txt');
const SNAPSHOT_FILE = () => join(SCRATCH(), 'jobs-at-kill.json');
const JOB_COUNT = 200;

/** The embedded PostgreSQL of the data folder, as its postmaster.pid names it. */
function databaseUrl(): string | undefined {
  const pid = join(DATA(), 'pg', 'postmaster.pid');
  if (!existsSync(pid)) return undefined;
  const port = readFileSync(pid, 'utf8').split('\n')[3]?.trim();
  return port ? `postgres://vonode:vonode@127.0.0.1:${port}/vonode` : undefined;
}

async function attempts(
  ids: string[],
): Promise<Map<string, { phase: string; attempts: number }> | undefined> {
  const url = databaseUrl();
  if (!url) return undefined;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const r = await client.query<{ id: string; phase: string; attempts: number }>(
      'SELECT id, phase, attempts FROM uws.jobs WHERE id = ANY($1)',
      [ids],
    );
    return new Map(r.rows.map((x) => [x.id, { phase: x.phase, attempts: x.attempts }]));
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Creates and runs 200 async jobs (alice's), a few hundred ms of work each. */
export async function jobsSubmit(): Promise<void> {
  const urls: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < JOB_COUNT) {
      const i = next++;
      const a = await http('POST', '/tap/async', {
        token: TOKEN_A(),
        form: {
          LANG: 'ADQL',
          FORMAT: 'csv',
          QUERY: `SELECT TOP 4000 source_id, ra, dec, flux_int, ${i} AS job FROM demo.sources WHERE source_id > ${i}`,
          PHASE: 'RUN',
        },
      });
      const loc = a.headers.get('location');
      if (loc) urls.push(loc);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  writeFileSync(JOBS_FILE(), `${urls.join('\n')}\n`);
  console.log(`     ${urls.length} of ${JOB_COUNT} jobs created and run`);
}

/** Right after the SIGKILL: the phase and attempt count of each job, if the database still answers. */
export async function jobsSnapshot(): Promise<void> {
  const ids = readFileSync(JOBS_FILE(), 'utf8')
    .trim()
    .split('\n')
    .map((u) => u.split('/').pop() as string);
  const snap = await attempts(ids);
  if (!snap) {
    console.log(
      '     the database did not answer right after the kill (no snapshot; the bound rule applies)',
    );
    return;
  }
  const byPhase = new Map<string, number>();
  for (const v of snap.values()) byPhase.set(v.phase, (byPhase.get(v.phase) ?? 0) + 1);
  console.log(`     at the kill: ${[...byPhase].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  writeFileSync(SNAPSHOT_FILE(), JSON.stringify(Object.fromEntries(snap)));
}

export async function jobsVerify(): Promise<void> {
  const t = new Tally();
  const urls = readFileSync(JOBS_FILE(), 'utf8').trim().split('\n').filter(Boolean);
  const restarted = process.env.ATTACK_RESTARTED === 'yes';
  const deadline = Date.now() + 120_000;
  const phases = new Map<string, string>();
  while (Date.now() < deadline) {
    await Promise.all(
      urls.map(async (u) => {
        if (['COMPLETED', 'ERROR', 'ABORTED'].includes(phases.get(u) ?? '')) return;
        const a = await http('GET', `${u}/phase`, { token: TOKEN_A(), timeoutMs: 5000 });
        phases.set(u, a.status === 200 ? a.text.trim() : `HTTP ${a.status || 'none'}`);
      }),
    );
    if ([...phases.values()].every((p) => ['COMPLETED', 'ERROR', 'ABORTED'].includes(p))) break;
    await sleep(1000);
  }
  const ids = urls.map((u) => u.split('/').pop() as string);
  const final = await attempts(ids);
  const snap: Record<string, { phase: string; attempts: number }> = existsSync(SNAPSHOT_FILE())
    ? JSON.parse(readFileSync(SNAPSHOT_FILE(), 'utf8'))
    : {};
  let lost = 0;
  let twice = 0;
  const executingAtKill = Object.values(snap).filter((s) => s.phase === 'EXECUTING').length;
  let rerun = 0;
  for (const [i, u] of urls.entries()) {
    const id = ids[i];
    const done = phases.get(u) === 'COMPLETED';
    const f = final?.get(id);
    const s = snap[id];
    // A job EXECUTING at the kill may run once more; a job QUEUED or COMPLETED at the kill
    // must run exactly once in all (attempts count claims by a worker).
    const allowed = s
      ? s.phase === 'EXECUTING'
        ? s.attempts + 1
        : s.phase === 'COMPLETED'
          ? s.attempts
          : 1
      : 2;
    const ranTwice = f !== undefined && f.attempts > allowed;
    if (f && f.attempts > 1) rerun++;
    if (!done) lost++;
    if (ranTwice) twice++;
    if (!done) t.leak(`job ${id} ended ${phases.get(u)} (not COMPLETED)`);
    else if (ranTwice)
      t.bad(`job ${id} ran ${f?.attempts} times (${s ? `${s.phase} at the kill` : 'no snapshot'})`);
    else t.hold();
  }
  // Without a snapshot, at most the jobs one node runs at once (VONODE_UWS_CONCURRENCY) may re-run.
  if (!existsSync(SNAPSHOT_FILE()) && rerun > 4) {
    twice += rerun - 4;
    t.bad(`${rerun} jobs ran twice, more than the 4 a node runs at once`);
  }
  const counts = new Map<string, number>();
  for (const p of phases.values()) counts.set(p, (counts.get(p) ?? 0) + 1);
  report(
    t.outcome(
      '200 queued jobs across a node SIGKILL',
      'resilience',
      `${urls.length} jobs; node restarted with no manual step: ${restarted ? 'yes' : 'NO'}; final phases ${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')}; lost ${lost}, run twice ${twice} (EXECUTING at the kill ${executingAtKill}, re-run ${rerun})`,
      restarted && urls.length === JOB_COUNT,
    ),
  );
}

/** Run with the result store on a full (small) file system: jobs end in ERROR, the node stays up. */
export async function diskFull(): Promise<void> {
  const t = new Tally();
  const lines: string[] = [];
  // Results larger than the store (each at least 2 MB at the default MAXREC of 100,000 rows),
  // streamed (more than the read-ahead), in the formats that take different paths.
  const cross = (cols: string) => `${cols} FROM demo.sources AS a, demo.sources AS b`;
  const runs: [string, string][] = [
    ['votable', 'SELECT TOP 20000 * FROM demo.sources'],
    ['csv', cross('SELECT TOP 300000 a.source_id, a.ra, a.dec, b.flux_int')],
    ['votable', cross('SELECT TOP 300000 a.source_id, a.ra, a.dec, b.flux_int')],
    ['tsv', cross('SELECT TOP 300000 a.*, b.source_id AS other')],
    ['fits', cross('SELECT TOP 300000 a.source_id, a.ra, a.dec, b.flux_int')],
    ['csv', cross('SELECT TOP 200000 a.*, b.source_id AS other')],
    ['votable', cross('SELECT TOP 200000 a.*, b.ra AS other')],
    ['csv', cross('SELECT TOP 300000 a.source_id, a.ra, a.dec, b.source_id AS other')],
  ];
  // All at once, as an attacker filling the disk would: the jobs fail together (four rounds,
  // since the failures race each other).
  for (let round = 1; round <= 4; round++) {
    const created = await Promise.all(
      runs.map(([format, query]) =>
        http('POST', '/tap/async', { form: { LANG: 'ADQL', FORMAT: format, QUERY: query, PHASE: 'RUN' } }),
      ),
    );
    const phases = await Promise.all(
      created.map(async (a) => {
        const job = a.headers.get('location');
        if (!job) return `HTTP ${a.status || a.error}`;
        let phase = '';
        for (let k = 0; k < 100; k++) {
          const p = await http('GET', `${job}/phase`, { timeoutMs: 3000 });
          phase = p.status === 200 ? p.text.trim() : `HTTP ${p.status || 'none'}`;
          if (['COMPLETED', 'ERROR', 'ABORTED'].includes(phase) || p.status === 0) break;
          await sleep(300);
        }
        return phase;
      }),
    );
    const up = await http('GET', '/tap/availability', { timeoutMs: 3000 });
    for (const [i, phase] of phases.entries()) {
      lines.push(`round ${round} job ${i + 1} (${runs[i][0]}): ${phase}`);
      if (phase !== 'ERROR')
        t.bad(`round ${round} job ${i + 1} on a full result store ended ${phase}, not ERROR`);
      else t.hold();
    }
    lines.push(`node ${up.status === 200 ? 'up' : `DOWN (${up.status || up.error})`}`);
    if (up.status !== 200) {
      t.leak(`after round ${round} of jobs on a full result store the node no longer answers`);
      break;
    }
    t.hold();
  }
  const q = await tapSync('SELECT TOP 1 source_id FROM demo.sources', { timeoutMs: 5000 });
  lines.push(`a sync query afterwards: ${q.status || q.error}`);
  if (q.status !== 200) t.leak(`a sync query after the full store: ${q.status || q.error}`);
  else t.hold();
  report(t.outcome('result store full', 'resilience', lines.join('; ')));
}
