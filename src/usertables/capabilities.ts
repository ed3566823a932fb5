/**
 * The table-management capabilities of the TAP service, with the standardIDs CADC's youcat
 * advertises for the prototype TAP 1.2 / VOSI table operations (VOSI-33 [1.2-WD]): the
 * synchronous load at /load and the asynchronous table update at /table-update. Creation and
 * deletion go to /tables/{name}, the VOSI tables-1.1 capability the node already lists.
 * Their limits are stated in each capability's description (VOResource has no element for
 * them) and in docs/user-tables.md.
 */
import type { Capability } from '../../registry/index.js';
import type { UserTableSettings } from './settings.js';

export const TABLE_LOAD_SYNC_ID = 'ivo://ivoa.net/std/VOSI#table-load-sync-1.x';
export const TABLE_UPDATE_ASYNC_ID = 'ivo://ivoa.net/std/VOSI#table-update-async-1.x';

/** The limits in words, for capability descriptions and error messages. */
export function limitsText(s: UserTableSettings): string {
  return (
    `user tables live in the schema user_<name> of their owner (a token is required); limits: ` +
    `rows per table ${s.maxRows} (VONODE_USER_TABLE_MAX_ROWS), ` +
    `bytes per user ${s.maxBytesPerUser} (VONODE_USER_TABLE_MAX_BYTES), ` +
    `tables per user ${s.maxTablesPerUser} (VONODE_USER_TABLE_MAX_TABLES), ` +
    `request body ${s.maxRequestBytes} bytes (VONODE_USER_TABLE_MAX_REQUEST_BYTES), ` +
    `columns per table ${s.maxColumns} (VONODE_USER_TABLE_MAX_COLUMNS)`
  );
}

export function userTableCapabilities(tapUrl: string, settings: UserTableSettings): Capability[] {
  const limits = limitsText(settings);
  return [
    {
      standardID: TABLE_LOAD_SYNC_ID,
      description: `POST rows (TSV, CSV, FITS binary table, VOTable, Parquet) to ${tapUrl}/load/{schema.table}; ${limits}`,
      interfaces: [
        { type: 'vs:ParamHTTP', role: 'std', accessUrls: [{ url: `${tapUrl}/load`, use: 'base' }] },
      ],
    },
    {
      standardID: TABLE_UPDATE_ASYNC_ID,
      description: `POST table, index, unique to ${tapUrl}/table-update: a UWS job building an index; ${limits}`,
      interfaces: [
        { type: 'vs:ParamHTTP', role: 'std', accessUrls: [{ url: `${tapUrl}/table-update`, use: 'base' }] },
      ],
    },
  ];
}
