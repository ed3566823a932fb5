/**
 * The limits and naming of user tables, from the environment (VONODE_USER_TABLE_*). Every
 * limit is named here, enforced by src/usertables and advertised in /tap/capabilities.
 */
import { ConfigError } from '../config/index.js';

export interface UserTableSettings {
  /** Claim whose value names a caller's schema (user_<value>); default the subject. */
  readonly claim: string;
  /** Most rows one user table may hold. */
  readonly maxRows: number;
  /** Most bytes (tables and indexes) all of one user's tables may take. */
  readonly maxBytesPerUser: number;
  /** Most tables one user may own. */
  readonly maxTablesPerUser: number;
  /** Largest request body of a create or a load, bytes. */
  readonly maxRequestBytes: number;
  /** Most columns of one user table. */
  readonly maxColumns: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The variables, for the configuration table of the README. */
export const USER_TABLE_VARIABLES: ReadonlyArray<{ name: string; meaning: string; default: string }> = [
  {
    name: 'VONODE_USER_TABLE_CLAIM',
    meaning: "token claim naming a caller's schema user_<value> (e.g. preferred_username)",
    default: 'sub',
  },
  { name: 'VONODE_USER_TABLE_MAX_ROWS', meaning: 'most rows of one user table', default: '50000000' },
  {
    name: 'VONODE_USER_TABLE_MAX_BYTES',
    meaning: "most bytes all of one user's tables may take (tables and indexes)",
    default: '10737418240',
  },
  { name: 'VONODE_USER_TABLE_MAX_TABLES', meaning: 'most tables one user may own', default: '100' },
  {
    name: 'VONODE_USER_TABLE_MAX_REQUEST_BYTES',
    meaning: 'largest body of one table creation or load request (bytes)',
    default: '4294967296',
  },
  { name: 'VONODE_USER_TABLE_MAX_COLUMNS', meaning: 'most columns of one user table', default: '1000' },
];

export const DEFAULT_USER_TABLE_SETTINGS: UserTableSettings = {
  claim: 'sub',
  maxRows: 50_000_000,
  maxBytesPerUser: 10 * 1024 ** 3,
  maxTablesPerUser: 100,
  maxRequestBytes: 4 * 1024 ** 3,
  maxColumns: 1000,
};

export function userTableSettings(env: Env): UserTableSettings {
  const d = DEFAULT_USER_TABLE_SETTINGS;
  const claim = env.VONODE_USER_TABLE_CLAIM?.trim() || d.claim;
  return {
    claim,
    maxRows: integer(env, 'VONODE_USER_TABLE_MAX_ROWS', d.maxRows, 1),
    maxBytesPerUser: integer(env, 'VONODE_USER_TABLE_MAX_BYTES', d.maxBytesPerUser, 1),
    maxTablesPerUser: integer(env, 'VONODE_USER_TABLE_MAX_TABLES', d.maxTablesPerUser, 0),
    maxRequestBytes: integer(env, 'VONODE_USER_TABLE_MAX_REQUEST_BYTES', d.maxRequestBytes, 1024),
    maxColumns: integer(env, 'VONODE_USER_TABLE_MAX_COLUMNS', d.maxColumns, 1, 1600),
  };
}

function integer(env: Env, name: string, fallback: number, min: number, max = 1e15): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
    throw new ConfigError(
      `${name}='${raw}' is not a whole number from ${min} to ${max}`,
      `set ${name} to such a number or unset it (default ${fallback})`,
    );
  return Number(raw);
}
