/**
 * User tables (issue 16): tables astronomers create, load, index and drop over CADC's youcat
 * protocol (WD-TAP-1.2 table management, as pyvo's TAPService.create_table / load_table /
 * create_index / remove_table send it), kept as published tables owned by a user.
 *
 * Public surface:
 *
 * - Permissions store API (for GET/POST /tap/permissions and x-vosi-* headers):
 *     readUserTablePermissions(client, 'user_alice.t')
 *       -> { tableName, owner, public, readGroups, writeGroups } | undefined
 *     writeUserTablePermissions(client, 'user_alice.t', { public?, readGroups?, writeGroups? })
 *       -> the grants now in force | undefined (no such user table)
 *   Both work on vonode.published_tables (sql/130_user_tables.sql). The write updates only
 *   the grants given and sends NOTIFY vonode_catalogue (delivered when the caller's
 *   transaction commits), so every node process rebuilds its per-caller views; the
 *   database enforces the grants at once (auth.may_see_table for TAP_SCHEMA, the table's
 *   own row-level security for its rows). Group names are stored without a leading '/'.
 *   Who may change grants (the owner: `p.owner === identity.sub`) is the caller's check;
 *   mayRead / mayWrite give the read and write rules.
 * - Naming: userSchemaOf(identity, claim) is the caller's schema `user_<name>`;
 *   ownTable(name, schema) checks a requested name against it (403 elsewhere).
 * - Settings: userTableSettings(env), USER_TABLE_VARIABLES (VONODE_USER_TABLE_*).
 * - HTTP: userTableRoutes (PUT/DELETE /tap/tables/{name}, POST /tap/load/{name}), the UWS
 *   job kind TABLE_UPDATE_KIND with tableUpdateRunner / tableUpdateParameters for
 *   /tap/table-update, and userTableCapabilities for /tap/capabilities.
 */

export {
  limitsText,
  TABLE_LOAD_SYNC_ID,
  TABLE_UPDATE_ASYNC_ID,
  userTableCapabilities,
} from './capabilities.js';
export { positionOf, tableFromFields, tableFromVosi } from './definition.js';
export { TABLE_UPDATE_KIND, tableUpdateParameters, tableUpdateRunner } from './index-job.js';
export {
  foldName,
  nameProblem,
  ownTable,
  type TableRef,
  USER_SCHEMA_PREFIX,
  UserTableError,
  userSchemaOf,
} from './names.js';
export {
  mayRead,
  mayWrite,
  normaliseGrantGroups,
  readUserTablePermissions,
  type UserTableGrants,
  type UserTablePermissions,
  writeUserTablePermissions,
} from './permissions.js';
export { type UserTableRoutesOptions, userTableRoutes } from './routes.js';
export {
  type SavedTable,
  type SaveRequest,
  savedColumnNames,
  saveQueryResult,
  tapSaveResult,
} from './save-result.js';
export {
  DEFAULT_USER_TABLE_SETTINGS,
  USER_TABLE_VARIABLES,
  type UserTableSettings,
  userTableSettings,
} from './settings.js';
export { createUserTable, dropUserTable, findUserTable, loadUserTable, type UserTableRow } from './tables.js';
export {
  assertMayWrite,
  grantsFromHeaders,
  groupOf,
  type HeaderGrants,
  PERMISSIONS_PATH,
  parsePermissionsDocument,
  permissionHeaders,
  permissionsDocument,
  registerPermissions,
  TABLE_PERMISSIONS_STANDARD_ID,
  type UserTableAccess,
  userTableAccess,
} from './youcat-permissions.js';
