import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  FINAL_PHASES,
  FileResultStore,
  type JobContext,
  JobFailure,
  type JobRunner,
  type Phase,
  type UwsLimits,
  UwsService,
} from '../../src/uws/index.js';
import { testDatabaseUrl, testPool } from '../support/db.js';
import { xsdErrors } from '../support/xsd.js';

const here = dirname(fileURLToPath(import.meta.url));
const MIGRATIONS = ['040_uws.sql', '045_uws_runs.sql'].map((f) => join(here, '..', '..', 'sql', f));

/**
 * A private copy of the UWS tables: sql/040_uws.sql and 045_uws_runs.sql applied with its `uws` schema
 * renamed, so test files running in parallel never share jobs.
 */
export async function uwsDatabase(): Promise<{
  pool: pg.Pool;
  schema: string;
  extraPool(): pg.Pool;
  close(): Promise<void>;
}> {
  const pool = await testPool();
  const schema = `${pool.schema}_uws`;
  for (const file of MIGRATIONS) {
    const sql = readFileSync(file, 'utf8')
      .replace(/CREATE SCHEMA IF NOT EXISTS uws;/, `CREATE SCHEMA IF NOT EXISTS ${schema};`)
      .replace(/\buws\./g, `${schema}.`);
    // One simple-protocol query: PostgreSQL runs a multi-statement text as one transaction.
    await pool.query(sql);
  }
  const extras: pg.Pool[] = [];
  return {
    pool,
    schema,
    extraPool() {
      const p = new pg.Pool({ connectionString: testDatabaseUrl(), max: 4 });
      extras.push(p);
      return p;
    },
    async close() {
      for (const p of extras) await p.end();
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pool.close();
    },
  };
}

export function tempFolder(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'vonode-uws-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** What the test runner saw, to check "never twice at once" and abort delivery. */
export interface RunLog {
  started: Map<string, number>;
  active: Set<string>;
  overlaps: string[];
  aborted: Set<string>;
  /** Most jobs of one owner seen running at once. */
  maxPerOwner: Map<string, number>;
  runningPerOwner: Map<string, number>;
}

export function newRunLog(): RunLog {
  return {
    started: new Map(),
    active: new Set(),
    overlaps: [],
    aborted: new Set(),
    maxPerOwner: new Map(),
    runningPerOwner: new Map(),
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/**
 * The test job kind. MODE=sleep waits SLEEP ms (abortable); MODE=result writes TEXT as
 * result `out`; MODE=fail throws a JobFailure with a detail; MODE=outcome returns an
 * error outcome; MODE=quick returns at once.
 */
export function testRunner(log: RunLog = newRunLog()): JobRunner {
  return async (job: JobContext, signal: AbortSignal) => {
    if (log.active.has(job.id)) log.overlaps.push(job.id);
    log.active.add(job.id);
    log.started.set(job.id, (log.started.get(job.id) ?? 0) + 1);
    // A run stopped before its runner began (a stop right after the claim) is aborted too:
    // its signal fires no event any more.
    if (signal.aborted) log.aborted.add(job.id);
    else signal.addEventListener('abort', () => log.aborted.add(job.id), { once: true });
    const owner = job.owner ?? '';
    const now = (log.runningPerOwner.get(owner) ?? 0) + 1;
    log.runningPerOwner.set(owner, now);
    log.maxPerOwner.set(owner, Math.max(now, log.maxPerOwner.get(owner) ?? 0));
    try {
      const mode = job.parameter('mode') ?? 'quick';
      if (mode === 'sleep') await sleep(Number(job.parameter('sleep') ?? '60000'), signal);
      if (mode === 'result' || mode === 'sleep') {
        const text = job.parameter('text') ?? 'hello';
        await job.addResult('out', Readable.from([Buffer.from(text)]), 'text/plain');
      }
      if (mode === 'fail') {
        throw new JobFailure({
          message: 'the test runner was asked to fail',
          detail: { mime: 'text/plain', body: 'detailed failure report' },
        });
      }
      if (mode === 'outcome') return { error: { message: 'reported failure', type: 'transient' } };
      return undefined;
    } finally {
      log.active.delete(job.id);
      log.runningPerOwner.set(owner, (log.runningPerOwner.get(owner) ?? 1) - 1);
    }
  };
}

export function newService(
  pool: pg.Pool,
  schema: string,
  storeRoot: string,
  runners: Record<string, JobRunner>,
  limits: Partial<UwsLimits> = {},
  workerId?: string,
): UwsService {
  return new UwsService({
    pool,
    schema,
    resultStore: new FileResultStore(storeRoot),
    runners,
    workerId,
    limits: { pollInterval: 500, heartbeatInterval: 200, staleAfter: 2000, sweepInterval: 60_000, ...limits },
    logger: { warn: () => {}, error: (o, m) => console.error(m, o) },
  });
}

/** Blocks (through the service's own WAIT machinery) until the job reaches a final phase. */
export async function untilFinal(service: UwsService, id: string): Promise<Phase> {
  for (;;) {
    const phase = (await service.storage.phaseOf(id))?.phase;
    if (!phase) throw new Error(`job ${id} vanished`);
    if (FINAL_PHASES.has(phase)) return phase;
    await service.waitForChange(id, phase, 30);
  }
}

/** Blocks until the job is in `target`. */
export async function untilPhase(service: UwsService, id: string, target: Phase): Promise<void> {
  for (;;) {
    const job = await service.storage.get(id);
    if (!job) throw new Error(`job ${id} vanished`);
    if (job.phase === target) return;
    if (FINAL_PHASES.has(job.phase))
      throw new Error(`job ${id} ended ${job.phase} before reaching ${target}`);
    await service.waitForChange(id, job.phase, 30);
  }
}

/**
 * Validates a UWS document against the UWS 1.1 XSD with xmllint, offline. The schema
 * comes from Debian's STILTS at test time (test/support/xsd.ts): the project carries none.
 */
export async function validateUws(xml: string): Promise<void> {
  const errors = xsdErrors(xml);
  if (errors) throw new Error(`UWS document fails the schema:\n${errors}\n${xml}`);
}
