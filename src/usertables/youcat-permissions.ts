/**
 * The youcat wire forms of a user table's grants (issue 16, item 2), over the store of
 * ./permissions.ts:
 *
 * - the request headers of PUT /tap/tables/{name} (youcat's vosi-*.yaml): `x-vosi-owner`
 *   (must be the caller: the creator owns the table), `x-vosi-auth-read` (`false`: anyone may
 *   read, i.e. public; `true` or `null`: a token is needed), `x-vosi-group-read` and
 *   `x-vosi-group-write` (a group, or `null` for none); youcat's implementation reads the
 *   last two as `x-vosi-group-ro` / `x-vosi-group-rw`, accepted as well;
 * - the text document of GET/POST /tap/permissions/{name} (youcat's GetPermissionsAction /
 *   PostPermissionsAction, sent by cadc-tap's set_permissions): lines `owner=`, `public=`,
 *   `r-group=`, `rw-group=`; a POST carries only the keys it changes, `owner` only empty.
 *
 * Groups are the token's groups, as for every other right. A value may be a bare group name
 * or a GMS group URI `ivo://authority/path?name` (cadc-tap insists on URIs): its query part is
 * the group's name, whatever the authority, since the groups come from the node's identity
 * provider and not from a GMS service. Answers write the bare name.
 *
 * Only the owner reads or changes the grants. A caller who may not see the table gets the
 * answer of a table that does not exist (404), as everywhere in vonode; the database decides
 * what the caller may see (auth.may_see_table) and refuses a change of grants by anyone but the
 * owner (the trigger of sql/135_user_table_grants.sql), so a route that forgot the check
 * could still not let bob share alice's table.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type pg from 'pg';
import { errorDocument } from '../../votable/index.js';
import { ANONYMOUS, bearerChallenge, type Identity } from '../auth/index.js';
import type { CatalogueSource, LiveCatalogue } from '../catalogue/index.js';
import { UserTableError } from './names.js';
import {
  readUserTablePermissions,
  type UserTableGrants,
  type UserTablePermissions,
  writeUserTablePermissions,
} from './permissions.js';

/** The capability of the permissions endpoint, as youcat and cadc-tap name it. */
export const TABLE_PERMISSIONS_STANDARD_ID = 'ivo://ivoa.net/std/VOSI#table-permissions-1.x';
export const PERMISSIONS_PATH = '/tap/permissions';
/** Largest permissions document accepted (four short lines in practice). */
export const MAX_PERMISSIONS_DOCUMENT_BYTES = 16 * 1024;

const TEXT = 'text/plain; charset=utf-8';
const VOTABLE = 'application/x-votable+xml;charset=UTF-8';
/** youcat's word for "no value" in a header (TablesAction.HDR_UNSET_VALUE). */
const UNSET = 'null';
/** A group name as tokens carry them (see src/auth normaliseGroups): no blanks, '=' or '?'. */
const GROUP_NAME = /^[^\s=?#&,]{1,256}$/;

/**
 * The group a header or document value names: a bare name, or the query part of a group
 * URI (`ivo://cadc.nrc.ca/gms?team-a` names team-a).
 */
export function groupOf(value: string, where: string): string {
  const v = value.trim();
  let name = v;
  if (/^[a-z][a-z0-9+.-]*:/i.test(v)) {
    const q = v.indexOf('?');
    if (!/^ivo:\/\//i.test(v) || q < 0 || q === v.length - 1)
      throw new UserTableError(
        400,
        `${where}: '${v}' is neither a group name nor a group URI of the form ivo://authority/gms?group`,
      );
    name = decodeURIComponent(v.slice(q + 1));
  }
  const bare = name.replace(/^\/+|\/+$/g, '');
  if (!GROUP_NAME.test(bare)) throw new UserTableError(400, `${where}: '${v}' is not a group name`);
  return bare;
}

export interface HeaderGrants {
  /** The grants the headers set (absent keys: not given). */
  readonly grants: UserTableGrants;
  /** Whether any x-vosi-* permission header was present. */
  readonly given: boolean;
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;

function header(headers: Headers, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = headers[n];
    if (Array.isArray(v)) {
      if (v.length > 1) throw new UserTableError(400, `${n} may be given once, not ${v.length} times`);
      if (v.length === 1) return v[0];
    } else if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * The grants the x-vosi-* headers of a create (or an update) ask for. `caller` is the
 * subject of the request; an x-vosi-owner naming anyone else is refused (403): the owner of
 * a user table is the user who creates it (youcat leaves any other owner to an operator).
 * Header names are matched in lower case, as Node delivers them.
 */
export function grantsFromHeaders(headers: Headers, caller: string | null): HeaderGrants {
  const grants: { public?: boolean; readGroups?: string[]; writeGroups?: string[] } = {};
  let given = false;
  const owner = header(headers, 'x-vosi-owner')?.trim();
  if (owner !== undefined && owner !== '' && owner !== UNSET) {
    given = true;
    const who = owner.startsWith('openid ') ? owner.slice('openid '.length).trim() : owner;
    if (who !== caller)
      throw new UserTableError(
        403,
        `x-vosi-owner: '${owner}' is not you; a table is owned by the user who creates it (${caller ?? 'a token is needed'})`,
      );
  }
  const auth = header(headers, 'x-vosi-auth-read')?.trim().toLowerCase();
  if (auth !== undefined) {
    given = true;
    if (auth === 'false') grants.public = true;
    else if (auth === 'true' || auth === UNSET) grants.public = false;
    else throw new UserTableError(400, `x-vosi-auth-read: '${auth}' is not true, false or null`);
  }
  for (const [key, names] of [
    ['readGroups', ['x-vosi-group-read', 'x-vosi-group-ro']],
    ['writeGroups', ['x-vosi-group-write', 'x-vosi-group-rw']],
  ] as const) {
    const v = header(headers, ...names)?.trim();
    if (v === undefined) continue;
    given = true;
    grants[key] = v === '' || v === UNSET ? [] : [groupOf(v, names[0])];
  }
  return { grants, given };
}

/**
 * The x-vosi-* response headers youcat sets on GET/HEAD /tables/{name} of a user table
 * (TablesAction.setPermissionHeaders), for the VOSI routes to add.
 */
export function permissionHeaders(p: UserTablePermissions): Record<string, string> {
  const out: Record<string, string> = {
    'x-vosi-owner': p.owner,
    'x-vosi-auth-read': p.public ? 'false' : 'true',
  };
  if (p.readGroups.length > 0) out['x-vosi-group-read'] = p.readGroups.join(' ');
  if (p.writeGroups.length > 0) out['x-vosi-group-write'] = p.writeGroups.join(' ');
  return out;
}

/** The GET document: every key, in youcat's order. */
export function permissionsDocument(p: UserTablePermissions): string {
  return (
    `owner=${p.owner}\n` +
    `public=${p.public ? 'true' : 'false'}\n` +
    `r-group=${p.readGroups.join(' ')}\n` +
    `rw-group=${p.writeGroups.join(' ')}\n`
  );
}

/**
 * The changes a POST document asks for: `public=true|false`, `r-group=<group>`,
 * `rw-group=<group>` (empty: no group), `owner=` only empty; blank lines are skipped. Keys are
 * case-insensitive (as youcat reads them); anything else is a 400 naming the line.
 */
export function parsePermissionsDocument(text: string): UserTableGrants {
  const grants: { public?: boolean; readGroups?: string[]; writeGroups?: string[] } = {};
  const seen = new Set<string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new UserTableError(400, `'${line}' is not a line of the form key=value`);
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1).trim();
    if (seen.has(key)) throw new UserTableError(400, `${key} is given twice`);
    seen.add(key);
    switch (key) {
      case 'owner':
        if (value !== '')
          throw new UserTableError(
            400,
            `owner cannot be changed: the owner is the user who created the table`,
          );
        break;
      case 'public':
        if (value.toLowerCase() === 'true') grants.public = true;
        else if (value.toLowerCase() === 'false') grants.public = false;
        else throw new UserTableError(400, `public='${value}' is not true or false`);
        break;
      case 'r-group':
        grants.readGroups = value === '' ? [] : [groupOf(value, 'r-group')];
        break;
      case 'rw-group':
        grants.writeGroups = value === '' ? [] : [groupOf(value, 'rw-group')];
        break;
      default:
        throw new UserTableError(
          400,
          `unknown permissions key '${line.slice(0, eq).trim()}': the keys are public, r-group and rw-group`,
        );
    }
  }
  if (Object.keys(grants).length === 0)
    throw new UserTableError(
      400,
      'no permission to change: send lines such as public=true or r-group=<group>',
    );
  return grants;
}

/** What the database lets the caller do with a user table (auth.user_table_access). */
export type UserTableAccess = 'none' | 'read' | 'write' | 'owner';

interface Access {
  readonly permissions: UserTablePermissions | undefined;
  readonly access: UserTableAccess;
}

/** The grants and, in the same transaction with the caller's identity set, what the database lets the caller do. */
async function access(client: pg.ClientBase, name: string, identity: Identity): Promise<Access> {
  const permissions = await readUserTablePermissions(client, name);
  if (!permissions) return { permissions, access: 'none' };
  return { permissions, access: await userTableAccess(client, permissions.tableName, identity) };
}

/**
 * What the database lets `identity` do with the user table `name`: 'none' when it may not
 * know of it (or there is no such user table), 'read', 'write' (a write group) or 'owner'.
 * Sets the caller's identity for the rest of the transaction; works under the reader's role
 * too (the function is SECURITY DEFINER).
 */
export async function userTableAccess(
  client: pg.ClientBase,
  name: string,
  identity: Identity,
): Promise<UserTableAccess> {
  await setCaller(client, identity);
  const r = await client.query<{ access: UserTableAccess }>('SELECT auth.user_table_access($1) AS access', [
    name,
  ]);
  return r.rows[0]?.access ?? 'none';
}

/**
 * The caller's identity for the rest of the transaction, without taking the reader's role: the
 * grants are written by the service's own login, and the trigger of
 * sql/135_user_table_grants.sql compares the owner with this identity.
 */
async function setCaller(client: pg.ClientBase, identity: Identity): Promise<void> {
  await client.query(
    "SELECT set_config('vonode.user', $1, true), set_config('vonode.groups', $2::text[]::text, true)",
    [identity.sub ?? '', [...identity.groups]],
  );
}

/** Refusals are DALI error documents, as everywhere under /tap (DALI-43); cadc-tap shows their text. */
function refuse(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type(VOTABLE).send(errorDocument(message));
}

function notFound(reply: FastifyReply, name: string): FastifyReply {
  return refuse(reply, 404, `no table '${name}' is published here; GET /tap/tables lists them`);
}

function notOwner(reply: FastifyReply, p: UserTablePermissions): FastifyReply {
  return refuse(reply, 403, `only the owner of ${p.tableName} may read or change its permissions`);
}

function unauthorized(reply: FastifyReply): FastifyReply {
  const challenges = bearerChallenge(reply.server.authChallenge);
  reply.header('WWW-Authenticate', challenges.length === 1 ? challenges[0] : challenges);
  return refuse(
    reply,
    401,
    'Unauthorized: table permissions need a token: send Authorization: Bearer <token>',
  );
}

export interface PermissionsRouteOptions {
  readonly pool: pg.Pool;
  /**
   * This process's catalogue. When it can reload (the live catalogue), a change of grants is
   * answered only once it has, so the caller's next request here already meets the new
   * grants; other processes follow on NOTIFY.
   */
  readonly catalogues?: CatalogueSource | LiveCatalogue;
}

/**
 * GET and POST /tap/permissions/{schema.table}. Answers: 200 with the document; 401 with the
 * challenges for an anonymous caller; 404 for a table the caller may not see (or that is not
 * a user table); 403 for a caller who sees it but does not own it; 400 for a bad document.
 */
export function registerPermissions(app: FastifyInstance, opts: PermissionsRouteOptions): void {
  const run = async <T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await opts.pool.connect();
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  };

  app.get<{ Params: { name: string } }>(`${PERMISSIONS_PATH}/:name`, async (request, reply) => {
    const identity = request.identity ?? ANONYMOUS;
    if (identity.sub === null) return unauthorized(reply);
    const a = await run((c) => access(c, request.params.name, identity));
    if (!a.permissions || a.access === 'none') return notFound(reply, request.params.name);
    if (a.access !== 'owner') return notOwner(reply, a.permissions);
    const permissions = a.permissions;
    return reply.type(TEXT).send(permissionsDocument(permissions));
  });

  app.post<{ Params: { name: string }; Body: unknown }>(
    `${PERMISSIONS_PATH}/:name`,
    { bodyLimit: MAX_PERMISSIONS_DOCUMENT_BYTES },
    async (request, reply) => {
      const identity = request.identity ?? ANONYMOUS;
      if (identity.sub === null) return unauthorized(reply);
      const type = String(request.headers['content-type'] ?? '')
        .split(';')[0]
        ?.trim()
        .toLowerCase();
      if (type !== 'text/plain')
        return refuse(
          reply,
          400,
          `the permissions document is text/plain (lines such as r-group=<group>), not '${type || 'none'}'`,
        );
      let grants: UserTableGrants;
      try {
        grants = parsePermissionsDocument(typeof request.body === 'string' ? request.body : '');
      } catch (err) {
        if (err instanceof UserTableError) return refuse(reply, err.status, err.message);
        throw err;
      }
      const outcome = await run(async (c) => {
        const a = await access(c, request.params.name, identity);
        if (!a.permissions || a.access === 'none') return { status: 404 as const };
        if (a.access !== 'owner') return { status: 403 as const, permissions: a.permissions };
        const now = await writeUserTablePermissions(c, a.permissions.tableName, grants);
        return { status: 200 as const, permissions: now };
      });
      if (outcome.status === 404 || !outcome.permissions) return notFound(reply, request.params.name);
      if (outcome.status === 403) return notOwner(reply, outcome.permissions);
      const live = opts.catalogues;
      if (live && 'reload' in live) await live.reload();
      return reply.type(TEXT).send(permissionsDocument(outcome.permissions));
    },
  );
}

/**
 * For the load and table-update routes: may the caller append rows to the table or index it
 * (its owner or a member of a write group)? Asked of the database in the caller's
 * transaction; a caller who may not see the table gets 404, one who may only read it 403.
 */
export async function assertMayWrite(client: pg.ClientBase, name: string, identity: Identity): Promise<void> {
  const a = await userTableAccess(client, name, identity);
  if (a === 'none') throw new UserTableError(404, `no table '${name}' is published here`);
  if (a === 'read')
    throw new UserTableError(
      403,
      `you may read ${name} but not write it: its owner grants writing with rw-group`,
    );
}
