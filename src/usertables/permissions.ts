/**
 * The grants of a user table (sql/130_user_tables.sql): owner, public flag, read groups,
 * write groups, as columns of vonode.published_tables. The database enforces them
 * (auth.may_see_table, auth.protect_user_table); every node process rebuilds its per-caller
 * catalogue views when told on vonode_catalogue, so a grant takes effect at once on TAP,
 * TAP_SCHEMA, /tables and ADQL.
 */
import type pg from 'pg';
import { notifyCatalogueChanged } from '../catalogue/index.js';

export interface UserTablePermissions {
  /** Qualified name as in TAP_SCHEMA.tables.table_name (user_<name>.<table>). */
  readonly tableName: string;
  /** The subject (or configured claim) of the user who created the table. */
  readonly owner: string;
  /** Readable by everyone, anonymous callers included (youcat's anon-read / public=true). */
  readonly public: boolean;
  /** Groups whose members may read the table (r-group). */
  readonly readGroups: readonly string[];
  /** Groups whose members may read, load and index the table (rw-group). */
  readonly writeGroups: readonly string[];
}

export type UserTableGrants = Partial<Pick<UserTablePermissions, 'public' | 'readGroups' | 'writeGroups'>>;

interface Raw {
  table_name: string;
  owner_subject: string;
  public_read: boolean;
  read_groups: string[];
  write_groups: string[];
}

const toPermissions = (r: Raw): UserTablePermissions => ({
  tableName: r.table_name,
  owner: r.owner_subject,
  public: r.public_read,
  readGroups: r.read_groups,
  writeGroups: r.write_groups,
});

/**
 * The grants of a user table, found by its qualified name (case-insensitive); undefined
 * when there is no such user table (a site-published table has no owner and is not one).
 * Reads vonode.* directly: call it with the service's own connection, not inside
 * withIdentity(), and decide who may see the answer yourself.
 */
export async function readUserTablePermissions(
  client: pg.ClientBase | pg.Pool,
  tableName: string,
): Promise<UserTablePermissions | undefined> {
  const r = await client.query<Raw>(
    `SELECT table_name, owner_subject, public_read, read_groups, write_groups
       FROM vonode.published_tables WHERE lower(table_name) = lower($1) AND owner_subject IS NOT NULL`,
    [tableName],
  );
  return r.rows[0] ? toPermissions(r.rows[0]) : undefined;
}

/** Group names as the database compares them: no leading or trailing '/', no blanks, no repeats. */
export function normaliseGrantGroups(groups: readonly string[]): string[] {
  const out = new Set<string>();
  for (const g of groups) {
    const bare = g.trim().replace(/^\/+|\/+$/g, '');
    if (bare) out.add(bare);
  }
  return [...out];
}

/**
 * Changes the grants of a user table (only those given; the owner never changes) and
 * sends NOTIFY vonode_catalogue, in the caller's transaction when `client` is in one (the
 * notification is delivered at commit). Returns the grants now in force, or undefined when
 * there is no such user table. Whether the caller may change them (the owner only, in
 * youcat) is the caller's decision.
 */
export async function writeUserTablePermissions(
  client: pg.ClientBase,
  tableName: string,
  grants: UserTableGrants,
): Promise<UserTablePermissions | undefined> {
  const r = await client.query<Raw>(
    `UPDATE vonode.published_tables
        SET public_read = COALESCE($2, public_read),
            read_groups = COALESCE($3::text[], read_groups),
            write_groups = COALESCE($4::text[], write_groups)
      WHERE lower(table_name) = lower($1) AND owner_subject IS NOT NULL
      RETURNING table_name, owner_subject, public_read, read_groups, write_groups`,
    [
      tableName,
      grants.public ?? null,
      grants.readGroups ? normaliseGrantGroups(grants.readGroups) : null,
      grants.writeGroups ? normaliseGrantGroups(grants.writeGroups) : null,
    ],
  );
  const row = r.rows[0];
  if (!row) return undefined;
  await notifyCatalogueChanged(client, row.table_name);
  return toPermissions(row);
}

/** May this caller read the table (the rule of auth.may_read_user_table)? */
export function mayRead(
  p: UserTablePermissions,
  caller: { sub: string | null; groups: readonly string[] },
): boolean {
  if (p.public || (caller.sub !== null && caller.sub === p.owner)) return true;
  return intersects([...p.readGroups, ...p.writeGroups], caller.groups);
}

/** May this caller append rows to the table or index it (owner or a write group)? */
export function mayWrite(
  p: UserTablePermissions,
  caller: { sub: string | null; groups: readonly string[] },
): boolean {
  if (caller.sub !== null && caller.sub === p.owner) return true;
  return intersects(p.writeGroups, caller.groups);
}

function intersects(granted: readonly string[], groups: readonly string[]): boolean {
  const set = new Set(normaliseGrantGroups(granted));
  return normaliseGrantGroups(groups).some((g) => set.has(g));
}
