import { describe, expect, it } from 'vitest';
import { testPool } from './db.js';

describe('test database', () => {
  it('is a real PostgreSQL 15 or newer', async () => {
    const pool = await testPool();
    try {
      const r = await pool.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
      expect(Number(r.rows[0].v)).toBeGreaterThanOrEqual(150000);
      await pool.query('CREATE TABLE probe (x int)');
      await pool.query('INSERT INTO probe VALUES (1), (2)');
      const c = await pool.query<{ n: string }>('SELECT count(*) AS n FROM probe');
      expect(Number(c.rows[0].n)).toBe(2);
    } finally {
      await pool.close();
    }
  });
});
