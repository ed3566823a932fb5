import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { UwsService } from '../../src/uws/index.js';
import { testDatabaseUrl } from '../support/db.js';
import { newRunLog, tempFolder, testRunner, untilFinal } from './helpers.js';

// The global setup applied sql/*.sql with the real migration runner: the default `uws`
// schema must work as it stands. A kind of its own keeps this file's jobs apart.
const pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 3 });
pool.on('error', () => {});
const kind = `migration_${randomBytes(4).toString('hex')}`;
const store = tempFolder();

afterAll(async () => {
  await pool.query('DELETE FROM uws.jobs WHERE kind = $1', [kind]);
  await pool.end();
  store.remove();
});

describe('sql/040_uws.sql as applied by the migration runner', () => {
  it('serves a job end to end in the default uws schema', async () => {
    const { FileResultStore } = await import('../../src/uws/index.js');
    const service = new UwsService({
      pool,
      resultStore: new FileResultStore(store.path),
      runners: { [kind]: testRunner(newRunLog()) },
      limits: { pollInterval: 500, heartbeatInterval: 200, staleAfter: 2000 },
    });
    await service.start();
    try {
      const job = await service.create({
        kind,
        owner: null,
        parameters: [{ id: 'MODE', value: 'result' }],
        run: true,
      });
      expect(await untilFinal(service, job.id)).toBe('COMPLETED');
      expect((await service.get(job.id, null)).results.map((r) => r.id)).toEqual(['out']);
    } finally {
      await service.stop();
    }
  });
});
