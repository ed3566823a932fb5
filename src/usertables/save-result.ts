/**
 * Saving a query's result as a user table without the rows leaving the server (issue 16,
 * item 3): the async TAP job parameter SAVE_AS_TABLE (vonode's own; the Gaia archive offers
 * the same idea through its own interface, not a TAP parameter).
 *
 * The query runs as every query does, with the caller's identity and rights (the reader role,
 * row-level security), into a temporary table of that transaction (CREATE TABLE AS from the
 * compiled SQL). The user table is then created in the caller's schema with the result's
 * columns (names folded to legal ones), loaded from the temporary table by the service's own
 * login in the same transaction, with the HEALPix column computed in SQL when the result
 * carries a position (UCDs pos.eq.ra / pos.eq.dec), so the saved table crossmatches on its
 * index. The row and byte quotas of user tables apply; a failure leaves no table behind.
 */
import type pg from 'pg';
import { inlineParameters } from '../../adql/index.js';
import { HEALPIX_INDEX_ORDER } from '../../sky/index.js';
import { withIdentity, withMaintenance } from '../auth/index.js';
import { type CatalogueSource, type LiveCatalogue, notifyCatalogueChanged } from '../catalogue/index.js';
import { DaliError } from '../dali/index.js';
import { planTable, type SourceColumn } from '../publish/index.js';
import { quoteIdent } from '../publish/staging.js';
import type { SaveResultRequest } from '../tap/async.js';
import { tableFromFields } from './definition.js';
import { foldName, nameProblem, ownTable, UserTableError, userSchemaOf } from './names.js';
import type { UserTableSettings } from './settings.js';
import { createUserTable, dropUserTable, findUserTable } from './tables.js';

/** What the TAP job runner asks for (the seam is declared on the TAP side, src/tap/async.ts). */
export type SaveRequest = SaveResultRequest;

export interface SavedTable {
  readonly tableName: string;
  readonly nrows: number;
}

/** Column names a table can hold: folded to ADQL regular identifiers, reserved words suffixed, unique. */
export function savedColumnNames(names: readonly string[]): string[] {
  const taken = new Set<string>();
  return names.map((raw) => {
    let name = foldName(raw.replace(/^"|"$/g, ''));
    if (!/^[a-z]/.test(name)) name = `c_${name}`;
    if (nameProblem(name, 'column')) name = `${name}_`;
    name = name.slice(0, 60);
    let n = name;
    for (let i = 2; taken.has(n); i++) n = `${name}_${i}`;
    taken.add(n);
    return n;
  });
}

export async function saveQueryResult(
  pool: pg.Pool,
  settings: UserTableSettings,
  req: SaveRequest,
): Promise<SavedTable> {
  const schema = userSchemaOf(req.identity, settings.claim);
  if (!schema || req.identity.sub === null)
    throw new UserTableError(401, `SAVE_AS_TABLE needs a token: anonymous jobs cannot own tables`);
  const name = req.tableName.trim();
  const ref = ownTable(name.includes('.') ? name : `${schema}.${name}`, schema);
  const limit = Math.min(req.maxrec ?? settings.maxRows, settings.maxRows);
  const client = await pool.connect();
  let created = false;
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(req.timeoutSeconds)) * 1000}`);
    const session = (await client.query<{ u: string }>('SELECT session_user AS u')).rows[0].u;
    await withIdentity(client, req.identity);
    const compiled = await req.build(client, limit);
    const sql = inlineParameters(compiled);
    if (sql === undefined) throw new UserTableError(400, 'the query holds a NUL character');
    const names = savedColumnNames(compiled.columns.map((c) => c.name));
    const tmp = quoteIdent(`save_${Math.random().toString(36).slice(2, 10)}`);
    // With the caller's rights: row-level security filters what the reader may see.
    await client.query(
      `CREATE TEMP TABLE ${tmp} (${names.map(quoteIdent).join(', ')}) ON COMMIT DROP AS ${sql}`,
    );
    const count = Number(
      (await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${tmp}`)).rows[0].n,
    );
    if (count > limit)
      throw new UserTableError(
        413,
        limit === settings.maxRows
          ? `the result has more than ${settings.maxRows} rows, the most a user table may hold (VONODE_USER_TABLE_MAX_ROWS); nothing was saved`
          : `the result has more than MAXREC=${limit} rows; nothing was saved (raise MAXREC to save them all)`,
      );
    await client.query(`GRANT SELECT ON ${tmp} TO ${quoteIdent(session)}`);
    await client.query('RESET ROLE');

    const fields: SourceColumn[] = compiled.columns.map((c, i) => ({
      name: names[i],
      datatype: c.datatype as SourceColumn['datatype'],
      ...(c.arraysize !== undefined ? { arraysize: c.arraysize } : {}),
      ...(c.xtype ? { xtype: c.xtype } : {}),
      ...(c.unit ? { unit: c.unit } : {}),
      ...(c.ucd ? { ucd: c.ucd } : {}),
      ...(c.utype ? { utype: c.utype } : {}),
      description: c.description ?? '',
    }));
    const description = tableFromFields(
      fields,
      ref,
      `saved result of: ${req.query.slice(0, 2000)}`,
      settings,
    );
    const plan = planTable(description);
    await createUserTable(pool, { ref, description, owner: req.identity.sub }, settings);
    created = true;

    await withMaintenance(client);
    const target = `${quoteIdent(ref.schema)}.${quoteIdent(ref.table)}`;
    const byName = new Map(plan.columns.map((c) => [c.name.toLowerCase(), c]));
    const into: string[] = [];
    const select: string[] = [];
    for (const n of names) {
      const c = byName.get(n);
      if (!c) continue;
      into.push(quoteIdent(c.sqlName));
      select.push(`${quoteIdent(n)}::${c.sqlType}`);
    }
    const pos = description.position;
    if (plan.healpix && pos) {
      into.push(quoteIdent(plan.healpix));
      select.push(
        `sky.healpix_nest(${HEALPIX_INDEX_ORDER}, ${quoteIdent(pos.ra)}::float8, ${quoteIdent(pos.dec)}::float8)`,
      );
    }
    await client.query(`INSERT INTO ${target} (${into.join(', ')}) SELECT ${select.join(', ')} FROM ${tmp}`);
    const size = await client.query<{ table_bytes: string; user_bytes: string }>(
      `SELECT pg_total_relation_size($1::regclass)::text AS table_bytes,
              (SELECT COALESCE(sum(pg_total_relation_size(format('%I.%I', sql_schema, sql_table)::regclass)), 0)
                 FROM vonode.published_tables WHERE owner_subject = $2)::text AS user_bytes`,
      [target, req.identity.sub],
    );
    const userBytes = Number(size.rows[0].user_bytes);
    if (userBytes > settings.maxBytesPerUser)
      throw new UserTableError(
        413,
        `saving the result would make your tables take ${userBytes} bytes, more than the ${settings.maxBytesPerUser} a user may have (VONODE_USER_TABLE_MAX_BYTES); nothing was saved`,
      );
    await client.query('UPDATE vonode.published_tables SET nrows = $2, bytes = $3 WHERE table_name = $1', [
      ref.qualified,
      count,
      Number(size.rows[0].table_bytes),
    ]);
    await client.query('UPDATE tap_schema.tables SET nrows = $2 WHERE table_name = $1', [
      ref.qualified,
      count,
    ]);
    await client.query(`ANALYZE ${target}`);
    await notifyCatalogueChanged(client, ref.qualified);
    await client.query('COMMIT');
    return { tableName: ref.qualified, nrows: count };
  } catch (err) {
    await client.query('ROLLBACK').catch((e: Error) => {
      broken = e;
    });
    if (created) {
      const t = await findUserTable(pool, ref.qualified);
      if (t) await dropUserTable(pool, t);
    }
    throw err;
  } finally {
    client.release(broken);
  }
}

/**
 * saveQueryResult as the TAP job runner takes it (TapAsyncOptions.saveResult): refusals as
 * DaliErrors. With this process's live catalogue, the job completes only once it has reloaded,
 * so a query sent here right after COMPLETED finds the table (other processes follow on NOTIFY).
 */
export function tapSaveResult(
  pool: pg.Pool,
  settings: UserTableSettings,
  catalogues?: CatalogueSource | LiveCatalogue,
) {
  return async (req: SaveRequest): Promise<SavedTable> => {
    try {
      const saved = await saveQueryResult(pool, settings, req);
      if (catalogues && 'reload' in catalogues) await catalogues.reload();
      return saved;
    } catch (err) {
      if (err instanceof UserTableError) throw new DaliError(err.message, err.status);
      throw err;
    }
  };
}
