import { describe, expect, it } from 'vitest';
import { bearerToken, groupsFromClaims, MAX_GROUPS, normaliseGroups } from '../../src/auth/index.js';

describe('group names', () => {
  it('keeps IAM group paths whole, drops the leading slash, lists both separator forms', () => {
    expect(normaliseGroups(['/ska/src/team-a', 'ska:team-b', 'ska', ' ska/ ', '', '/'])).toEqual([
      'ska/src/team-a',
      'ska:src:team-a',
      'ska:team-b',
      'ska/team-b',
      'ska',
    ]);
  });

  it('does not cross-list names that mix both separators (AARC-style URNs)', () => {
    expect(normaliseGroups(['urn:geant:example.org:group:ska/team-a#aai'])).toEqual([
      'urn:geant:example.org:group:ska/team-a#aai',
    ]);
  });

  it('bounds what a token can carry', () => {
    const many = Array.from({ length: 5000 }, (_, i) => `g${i}`);
    expect(normaliseGroups(many)).toHaveLength(MAX_GROUPS);
    expect(normaliseGroups(['x'.repeat(10_000)])).toEqual([]);
  });

  it('reads groups from top-level dotted keys, nested paths and space-separated strings', () => {
    const claims = {
      groups: ['ska/team-a'],
      'wlcg.groups': ['/ska/team-b'],
      realm_access: { roles: ['curator'] },
      scope_groups: 'x y,z',
      numbers: [1, 2],
    };
    expect(groupsFromClaims(claims, ['groups', 'wlcg.groups'])).toEqual([
      'ska/team-a',
      'ska:team-a',
      'ska/team-b',
      'ska:team-b',
    ]);
    expect(groupsFromClaims(claims, ['realm_access.roles'])).toEqual(['curator']);
    expect(groupsFromClaims(claims, ['scope_groups'])).toEqual(['x', 'y', 'z']);
    expect(groupsFromClaims(claims, ['numbers', 'missing', 'realm_access.nope'])).toEqual([]);
  });
});

describe('the Authorization header', () => {
  it('takes the Bearer scheme case-insensitively and nothing else', () => {
    expect(bearerToken(undefined)).toBeNull();
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bEaReR   abc.def.ghi  ')).toBe('abc.def.ghi');
    expect(() => bearerToken('Basic YTpi')).toThrow(/only bearer tokens/);
    expect(() => bearerToken('Bearer')).toThrow(/no token/);
    expect(() => bearerToken('Bearer a b')).toThrow(/characters/);
  });
});
