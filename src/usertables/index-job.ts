/**
 * POST /tap/table-update (youcat's asynchronous table update, VOSI-33 [1.2-WD]): a UWS job
 * (UWS-1) of kind `table-update` on the node's UWS service, with the parameters `table`,
 * `index` and `unique`. Its creating POST answers 303 to the job (pyvo treats anything else
 * as a bug), the client runs it with PHASE=RUN and waits for COMPLETED or ERROR. The job
 * builds a B-tree index on one column of a user table and marks the column indexed in
 * TAP_SCHEMA (TAP-59: indexed), so clients know which constraints are fast.
 */
import type { FastifyRequest } from 'fastify';
import type pg from 'pg';
import { notifyCatalogueChanged } from '../catalogue/index.js';
import type { PublishedTable } from '../tap/tables/model.js';
import { badRequest, forbidden, JobFailure, type JobParameter, type JobRunner } from '../uws/index.js';
import { createIndex, findUserTable } from './tables.js';

export const TABLE_UPDATE_KIND = 'table-update';

const PARAMS = ['table', 'index', 'unique'] as const;

/** The table-update parameters of a creating POST (query string and form body, names without case). */
export function tableUpdateParameters(pool: pg.Pool) {
  return async (request: FastifyRequest): Promise<JobParameter[]> => {
    const out: JobParameter[] = [];
    for (const source of [request.query, request.body]) {
      if (!source || typeof source !== 'object') continue;
      for (const [k, v] of Object.entries(source as Record<string, unknown>)) {
        const value = Array.isArray(v) ? String(v.at(-1)) : String(v);
        const known = PARAMS.find((p) => p === k.toLowerCase());
        // Job control (PHASE, DESTRUCTION, ...) is the UWS layer's; it takes them from here.
        out.push({ id: known ?? k, value });
      }
    }
    const get = (id: string) => out.filter((p) => p.id === id).at(-1)?.value;
    const table = get('table');
    const index = get('index');
    const unique = get('unique');
    if (!table || !index)
      throw badRequest('table-update needs the parameters table (schema.table) and index (a column name)');
    if (unique !== undefined && !/^(true|false)$/i.test(unique))
      throw badRequest(`unique=${unique}: give true or false`);
    await checkOwner(pool, table, request.identity?.sub ?? null);
    return out;
  };
}

/** Only the owner of a user table may index it (checked again when the job runs). */
async function checkOwner(pool: pg.Pool, table: string, sub: string | null) {
  const t = await findUserTable(pool, table);
  if (!t || t.owner !== sub) {
    if (t && sub !== null && (t.public || t.readGroups.length + t.writeGroups.length > 0))
      throw forbidden(`only the owner of ${t.tableName} may index it`);
    throw badRequest(`no table ${table} of yours to index; your tables are listed at /tap/tables`);
  }
  return t;
}

export function tableUpdateRunner(pool: pg.Pool): JobRunner {
  return async (job) => {
    const table = job.parameter('table') ?? '';
    const column = job.parameter('index') ?? '';
    const unique = (job.parameter('unique') ?? 'false').toLowerCase() === 'true';
    const t = await findUserTable(pool, table);
    if (!t || t.owner !== job.owner) throw new JobFailure({ message: `no table ${table} of yours to index` });
    const published = await pool.query<{ published: PublishedTable }>(
      'SELECT published FROM vonode.published_tables WHERE table_name = $1',
      [t.tableName],
    );
    const p = published.rows[0]?.published;
    const col = p?.columns.find((c) => c.name.toLowerCase() === column.toLowerCase());
    if (!p || !col)
      throw new JobFailure({
        message: `${t.tableName} has no column ${column} (it has ${(p?.columns ?? []).map((c) => c.name).join(', ')})`,
      });
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      try {
        await createIndex(client, t.sqlSchema, t.sqlTable, col.sqlName ?? col.name, unique);
      } catch (err) {
        if ((err as { code?: string }).code === '23505')
          throw new JobFailure({
            message: `column ${col.name} of ${t.tableName} has repeated values, so it cannot have a unique index`,
          });
        throw err;
      }
      const columns = p.columns.map((c) => (c === col ? { ...c, indexed: true } : c));
      await client.query('UPDATE vonode.published_tables SET published = $2 WHERE table_name = $1', [
        t.tableName,
        JSON.stringify({ ...p, columns }),
      ]);
      await client.query(
        'UPDATE tap_schema.columns SET indexed = 1 WHERE table_name = $1 AND column_name = $2',
        [t.tableName, col.name],
      );
      await notifyCatalogueChanged(client, t.tableName);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
    return undefined;
  };
}
