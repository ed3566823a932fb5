import type pg from 'pg';
import type { Identity } from './identity.js';

/** The role whose reads row-level security filters (sql/050_auth.sql). */
export const READER_ROLE = 'vonode_reader';

/**
 * Makes the rest of the current transaction run with `identity`'s data rights: the role
 * becomes vonode_reader (superusers and table owners skip row-level security, so without
 * this nothing would be filtered) and vonode.user / vonode.groups are set for
 * auth.may_read. Everything is LOCAL, so it ends with the transaction and a pooled
 * connection never carries one caller's rights into the next. Must be called inside a
 * transaction (after BEGIN); outside one PostgreSQL would drop the settings at once.
 */
export async function withIdentity(client: pg.ClientBase, identity: Identity): Promise<void> {
  await client.query(`SET LOCAL ROLE ${READER_ROLE}`);
  // The array goes in as a parameter and PostgreSQL writes the text[] literal itself,
  // so no group name can break out of the quoting.
  const r = await client.query<{ role: string }>(
    "SELECT set_config('vonode.user', $1, true), set_config('vonode.groups', $2::text[]::text, true), current_user AS role",
    [identity.sub ?? '', [...identity.groups]],
  );
  // Outside a transaction SET LOCAL is only a warning and the caller would go on with
  // the service's own (unfiltered) rights: refuse instead.
  if (r.rows[0]?.role !== READER_ROLE) {
    throw new Error(
      'withIdentity() must be called inside a transaction (after BEGIN): the identity was not set',
    );
  }
}

export interface ReadOnlyOptions {
  /** statement_timeout for the transaction, in milliseconds (0 = none). */
  readonly statementTimeoutMs?: number;
}

/**
 * Runs `fn` in a READ ONLY transaction with `identity`'s rights, then rolls back (there
 * is nothing to commit, and a rollback also discards any temporary tables `fn` made).
 * The client goes back to the pool afterwards; one that failed at the protocol level is
 * destroyed instead of reused.
 */
export async function withReadOnlyIdentity<T>(
  pool: pg.Pool,
  identity: Identity,
  fn: (client: pg.PoolClient) => Promise<T>,
  options: ReadOnlyOptions = {},
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN TRANSACTION READ ONLY');
    if (options.statementTimeoutMs !== undefined) {
      await client.query("SELECT set_config('statement_timeout', $1, true)", [
        String(Math.max(0, Math.floor(options.statementTimeoutMs))),
      ]);
    }
    await withIdentity(client, identity);
    return await fn(client);
  } finally {
    try {
      await client.query('ROLLBACK');
    } catch (err) {
      broken = err instanceof Error ? err : new Error(String(err));
    }
    client.release(broken);
  }
}

/**
 * Opens protected tables to the service's own login for the rest of the transaction
 * (ingestion, maintenance): sql/050_auth.sql forces row-level security on the owner too,
 * so a code path that forgot withIdentity() reads nothing rather than everything.
 */
export async function withMaintenance(client: pg.ClientBase): Promise<void> {
  await client.query("SELECT set_config('vonode.maintenance', 'on', true)");
}
