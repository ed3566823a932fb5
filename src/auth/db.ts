import pg from 'pg';
import type { Identity } from './identity.js';

/** The role whose reads row-level security filters (sql/050_auth.sql). */
export const READER_ROLE = 'vonode_reader';

/**
 * The statements that make the rest of the current transaction run with `identity`'s data
 * rights: the role becomes vonode_reader (superusers and table owners skip row-level
 * security, so without this nothing would be filtered) and vonode.user / vonode.groups are
 * set for auth.may_read. Everything is LOCAL, so it ends with the transaction and a pooled
 * connection never carries one caller's rights into the next.
 *
 * They are text for PostgreSQL's simple protocol, so a caller sends them in one round trip
 * with the statements around them (BEGIN, settings): a multi-statement string takes no
 * parameters, so the values are literals quoted by pg's escapeLiteral, and the array is
 * built by PostgreSQL (ARRAY[...]) so no group name can break out of the quoting. The last
 * statement answers current_user as `role`: checkIdentitySet reads it.
 *
 * Only in a batch that begins the transaction itself (BEGIN first), or on a connection the
 * caller has just put in one: in a string alone outside a transaction, the implicit
 * transaction of a multi-statement query would make SET LOCAL look effective (withIdentity).
 */
export function identityStatements(identity: Identity): string {
  const groups = identity.groups.map((g) => pg.escapeLiteral(g)).join(', ');
  return (
    `SET LOCAL ROLE ${READER_ROLE}; ` +
    `SELECT set_config('vonode.user', ${pg.escapeLiteral(identity.sub ?? '')}, true), ` +
    `set_config('vonode.groups', ARRAY[${groups}]::text[]::text, true), current_user AS role`
  );
}

/**
 * Outside a transaction SET LOCAL is only a warning and the caller would go on with the
 * service's own (unfiltered) rights: refuse instead. `results` is what pg answered for a
 * batch ending with identityStatements.
 */
export function checkIdentitySet(results: pg.QueryResult | pg.QueryResult[]): void {
  const last = Array.isArray(results) ? results[results.length - 1] : results;
  if ((last?.rows[0] as { role?: string } | undefined)?.role !== READER_ROLE) {
    throw new Error(
      'withIdentity() must be called inside a transaction (after BEGIN): the identity was not set',
    );
  }
}

/**
 * Gives the rest of the current transaction `identity`'s rights (identityStatements). Must
 * be called inside a transaction (after BEGIN); outside one PostgreSQL would drop the
 * settings at once, and this throws. Two round trips on purpose: sent as one string, the
 * statements would run in the implicit transaction PostgreSQL gives a multi-statement
 * query, SET LOCAL would take effect there and the check would pass, with the rights gone
 * when the string ends. Batches that carry their own BEGIN use identityStatements instead.
 */
export async function withIdentity(client: pg.ClientBase, identity: Identity): Promise<void> {
  await client.query(`SET LOCAL ROLE ${READER_ROLE}`);
  // The array goes in as a parameter and PostgreSQL writes the text[] literal itself,
  // so no group name can break out of the quoting.
  checkIdentitySet(
    await client.query(
      "SELECT set_config('vonode.user', $1, true), set_config('vonode.groups', $2::text[]::text, true), current_user AS role",
      [identity.sub ?? '', [...identity.groups]],
    ),
  );
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
    // One round trip: the transaction, its time limit and the identity in one batch.
    const timeout =
      options.statementTimeoutMs === undefined
        ? ''
        : `SELECT set_config('statement_timeout', '${Math.max(0, Math.floor(options.statementTimeoutMs))}', true); `;
    checkIdentitySet(
      await client.query(`BEGIN TRANSACTION READ ONLY; ${timeout}${identityStatements(identity)}`),
    );
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
