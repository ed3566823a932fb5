/**
 * Where a caller's tables live and what they may be called. A caller's tables are in the
 * schema `user_<name>`, <name> being the token's subject (or the configured claim) folded
 * to a legal lower-case identifier, as the Gaia archive does; table and column names are
 * ADQL regular identifiers (ADQL 2.1 §2.1.3), not reserved words, that PostgreSQL can hold.
 */
import { RESERVED } from '../../adql/keywords.js';
import type { Identity } from '../auth/index.js';
import { fitIdentifier } from '../publish/staging.js';

export const USER_SCHEMA_PREFIX = 'user_';

/** A name (or a table definition) the caller must change: 400 with this message. */
export class UserTableError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413,
    message: string,
  ) {
    super(message);
    this.name = 'UserTableError';
  }
}

/** Folds any text to a lower-case identifier body: runs of other characters become one '_'. */
export function foldName(value: string): string {
  const folded = value
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_+|_+$/g, '');
  return folded || 'anonymous';
}

/** The schema of this caller's tables; undefined for an anonymous caller. */
export function userSchemaOf(identity: Identity, claim = 'sub'): string | undefined {
  if (identity.sub === null) return undefined;
  const claimed = claim === 'sub' ? identity.sub : identity.token?.claims[claim];
  const value = typeof claimed === 'string' && claimed.trim() !== '' ? claimed : identity.sub;
  return fitIdentifier(`${USER_SCHEMA_PREFIX}${foldName(value)}`);
}

/** ADQL regular identifier (ADQL-10). */
const REGULAR = /^[A-Za-z][A-Za-z0-9_]*$/;
const MAX_NAME_BYTES = 63;
/** Columns every PostgreSQL table already has. */
const SYSTEM_COLUMNS = new Set(['ctid', 'oid', 'xmin', 'xmax', 'cmin', 'cmax', 'tableoid']);

/** Why `name` cannot name a table or column, or undefined when it can. */
export function nameProblem(name: string, what: string): string | undefined {
  if (!REGULAR.test(name))
    return `${what} name '${name}' is not an ADQL identifier: a letter, then letters, digits or _`;
  if (RESERVED.has(name.toUpperCase())) return `${what} name '${name}' is an ADQL reserved word`;
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `${what} name '${name}' is longer than 63 bytes`;
  if (SYSTEM_COLUMNS.has(name.toLowerCase())) return `${what} name '${name}' is reserved by PostgreSQL`;
  return undefined;
}

export interface TableRef {
  /** The schema as written in the request. */
  readonly schema: string;
  /** The table name, lower case. */
  readonly table: string;
  /** 'schema.table' as in TAP_SCHEMA.tables.table_name. */
  readonly qualified: string;
}

/**
 * The table a request names (`schema.table`) when the caller may create or write it: in its
 * own schema. Anything else is refused, naming the schema the caller may write in.
 */
export function ownTable(name: string, schema: string): TableRef {
  const dot = name.indexOf('.');
  if (dot <= 0 || dot !== name.lastIndexOf('.'))
    throw new UserTableError(
      400,
      `'${name}' is not a table name of the form schema.table; your tables go in the schema ${schema}, e.g. ${schema}.mytable`,
    );
  const s = name.slice(0, dot).toLowerCase();
  const t = name.slice(dot + 1);
  if (s !== schema)
    throw new UserTableError(
      403,
      `you may create and change tables only in your own schema ${schema}, not in ${name.slice(0, dot)}`,
    );
  const problem = nameProblem(t, 'table');
  if (problem) throw new UserTableError(400, problem);
  const table = t.toLowerCase();
  return { schema, table, qualified: `${schema}.${table}` };
}
