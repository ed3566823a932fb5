import type { JWTPayload } from 'jose';

/** What a validated bearer token told us; absent for anonymous callers. */
export interface TokenInfo {
  readonly issuer: string;
  readonly claims: JWTPayload;
  readonly expiresAt: Date | null;
}

/**
 * Who is asking. `sub` is null only for anonymous callers; `groups` are normalised
 * (see normaliseGroups) and are what the database compares owner groups with.
 */
export interface Identity {
  readonly sub: string | null;
  readonly groups: readonly string[];
  readonly token?: TokenInfo;
}

export const ANONYMOUS: Identity = Object.freeze({
  sub: null,
  groups: Object.freeze([]) as readonly string[],
});

export function isAnonymous(identity: Identity): boolean {
  return identity.sub === null;
}

/** A limit on what one token may carry, so a hostile token cannot blow up a query. */
export const MAX_GROUPS = 1000;
export const MAX_GROUP_LENGTH = 512;

/**
 * IAMs spell the same group several ways: INDIGO IAM's `groups` claim gives
 * `ska/src/team-a`, the WLCG profile's `wlcg.groups` gives `/ska/src/team-a`, and some
 * SKA IAM clients use `ska:src:team-a`. The path form is kept (never reduced to its last
 * element, which would merge `a/x` with `b/x`), a leading and trailing '/' is removed
 * (auth.may_read strips the leading '/' of owner groups the same way), and a group
 * written with only ':' or only '/' separators is also listed in the other form, so an
 * owner group recorded either way matches.
 */
export function normaliseGroups(raw: readonly string[]): string[] {
  const out = new Set<string>();
  for (const value of raw) {
    const g = value.trim().replace(/^\/+/, '').replace(/\/+$/, '');
    if (g.length === 0 || g.length > MAX_GROUP_LENGTH) continue;
    out.add(g);
    if (g.includes(':') && !g.includes('/')) out.add(g.replaceAll(':', '/'));
    else if (g.includes('/') && !g.includes(':')) out.add(g.replaceAll('/', ':'));
    if (out.size >= MAX_GROUPS) break;
  }
  return [...out];
}

/**
 * Group names from a claim. The claim name is looked up as a top-level key first
 * (`wlcg.groups` is one key with a dot in it, per the WLCG token profile), then as a
 * dotted path into nested objects (`realm_access.roles`). A single string is one group;
 * anything that is not a string is ignored.
 */
export function groupsFromClaims(claims: JWTPayload, claimNames: readonly string[]): string[] {
  const raw: string[] = [];
  for (const name of claimNames) {
    const value = claimValue(claims, name);
    if (typeof value === 'string') raw.push(...value.split(/[\s,]+/));
    else if (Array.isArray(value)) for (const v of value) if (typeof v === 'string') raw.push(v);
  }
  return normaliseGroups(raw);
}

function claimValue(claims: JWTPayload, name: string): unknown {
  if (Object.hasOwn(claims, name)) return claims[name];
  let node: unknown = claims;
  for (const part of name.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}
