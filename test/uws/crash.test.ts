import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRunner } from '../../src/uws/index.js';
import { testDatabaseUrl } from '../support/db.js';
import { newService, tempFolder, untilFinal, uwsDatabase } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
let db: Awaited<ReturnType<typeof uwsDatabase>>;
let store: ReturnType<typeof tempFolder>;
let child: ChildProcess | null = null;

beforeAll(async () => {
  db = await uwsDatabase();
  store = tempFolder();
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await db?.close();
  store?.remove();
});

describe('crash recovery with a real process', () => {
  it('re-runs in another process a job whose worker process was SIGKILLed mid-run', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', 'crash-worker.ts')], {
      env: {
        ...process.env,
        UWS_TEST_URL: testDatabaseUrl(),
        UWS_TEST_SCHEMA: db.schema,
        UWS_TEST_STORE: store.path,
        UWS_TEST_WORKER: 'doomed-process',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child!.once('exit', (code) => reject(new Error(`crash worker exited early (${code})`)));
    });

    // The survivor only creates until the doomed process has the job.
    const ran: string[] = [];
    const finish: JobRunner = async (job) => {
      ran.push(job.id);
      return undefined;
    };
    const survivor = newService(
      db.pool,
      db.schema,
      store.path,
      { doomed: finish },
      { pollInterval: 200, heartbeatInterval: 200, staleAfter: 1000, sweepInterval: 300, maxAttempts: 2 },
      'survivor',
    );
    const job = await survivor.create({ kind: 'doomed', owner: null, parameters: [], run: true });
    await expect
      .poll(
        async () =>
          (
            await survivor.storage.pool.query(`SELECT claimed_by FROM ${db.schema}.jobs WHERE id = $1`, [
              job.id,
            ])
          ).rows[0].claimed_by,
        {
          timeout: 30_000,
        },
      )
      .toBe('doomed-process');
    child.kill('SIGKILL');
    await exited;

    await survivor.start();
    try {
      expect(await untilFinal(survivor, job.id)).toBe('COMPLETED');
      const done = await survivor.get(job.id, null);
      expect(done.attempts).toBe(2);
      expect(ran).toEqual([job.id]);
    } finally {
      await survivor.stop();
    }
  });
});
