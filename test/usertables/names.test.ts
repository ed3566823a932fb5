import { describe, expect, it } from 'vitest';
import {
  DEFAULT_USER_TABLE_SETTINGS,
  ownTable,
  positionOf,
  tableFromVosi,
  type UserTableError,
  userSchemaOf,
  userTableSettings,
} from '../../src/usertables/index.js';
import { vosiTable } from './support.js';

// Where a caller's tables live and what a definition becomes (VOSI-24..26).

describe('the schema of a caller', () => {
  it('folds the subject to a lower-case identifier after user_', () => {
    expect(userSchemaOf({ sub: 'Alice.Smith@example.org', groups: [] })).toBe('user_alice_smith_example_org');
    expect(userSchemaOf({ sub: 'Émile', groups: [] })).toBe('user_emile');
    expect(userSchemaOf({ sub: null, groups: [] })).toBeUndefined();
  });

  it('takes the configured claim when the token has it, else the subject', () => {
    const identity = {
      sub: '8d1c-44f2',
      groups: [],
      token: { issuer: 'x', claims: { preferred_username: 'Bob Jones' }, expiresAt: null },
    };
    expect(userSchemaOf(identity, 'preferred_username')).toBe('user_bob_jones');
    expect(userSchemaOf({ sub: '8d1c-44f2', groups: [] }, 'preferred_username')).toBe('user_8d1c_44f2');
  });

  it('refuses names outside the own schema (403) and illegal names (400)', () => {
    expect(ownTable('user_bob.Stars', 'user_bob')).toEqual({
      schema: 'user_bob',
      table: 'stars',
      qualified: 'user_bob.stars',
    });
    const other = (() => {
      try {
        ownTable('user_alice.stars', 'user_bob');
      } catch (e) {
        return e as UserTableError;
      }
    })();
    expect(other?.status).toBe(403);
    expect(other?.message).toMatch(/user_bob/);
    expect(() => ownTable('stars', 'user_bob')).toThrow(/schema.table/);
    expect(() => ownTable('user_bob.from', 'user_bob')).toThrow(/reserved/);
  });
});

describe('a definition as a description', () => {
  const ref = { schema: 'user_bob', table: 't', qualified: 'user_bob.t' };

  it('maps VOTable types, flags and the position UCDs, naming the HEALPix column apart from the columns', () => {
    const d = tableFromVosi(
      vosiTable('user_bob.t', [
        { name: 'healpix', datatype: 'long' },
        { name: 'RAJ2000', datatype: 'double', ucd: 'pos.eq.ra;meta.main' },
        { name: 'DEJ2000', datatype: 'double', ucd: 'pos.eq.dec;meta.main' },
        { name: 'name', datatype: 'char' },
      ]),
      ref,
      DEFAULT_USER_TABLE_SETTINGS,
    );
    expect(d.position).toEqual({ ra: 'RAJ2000', dec: 'DEJ2000', frame: 'ICRS', healpixColumn: 'healpix_' });
    expect(d.columns.find((c) => c.name === 'name')?.arraysize).toBe('*');
  });

  it('has no position without both UCDs on numbers', () => {
    expect(positionOf([{ name: 'ra', datatype: 'char', ucd: 'pos.eq.ra;meta.main' }])).toBeUndefined();
  });

  it('refuses a document naming another table, and DTDs', () => {
    expect(() =>
      tableFromVosi(
        vosiTable('user_bob.other', [{ name: 'a', datatype: 'int' }]),
        ref,
        DEFAULT_USER_TABLE_SETTINGS,
      ),
    ).toThrow(/names the table 'user_bob.other'/);
    expect(() =>
      tableFromVosi('<!DOCTYPE x [<!ENTITY a "b">]><table/>', ref, DEFAULT_USER_TABLE_SETTINGS),
    ).toThrow(/DOCTYPE/);
  });

  it('reads the limits from the environment and refuses bad values', () => {
    expect(userTableSettings({ VONODE_USER_TABLE_MAX_ROWS: '5' }).maxRows).toBe(5);
    expect(() => userTableSettings({ VONODE_USER_TABLE_MAX_TABLES: 'many' })).toThrow(
      /VONODE_USER_TABLE_MAX_TABLES/,
    );
  });
});
