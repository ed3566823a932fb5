import { describe, expect, it } from 'vitest';
import { missingRightsSql } from '../../src/cli/init-db.js';

// The SQL `vonode init-db` prints for an administrator (issue 23); conformance/ops.sh runs
// it against a Debian PostgreSQL as printed.
const base = {
  user: 'vonode',
  database: 'vo',
  version: 150000,
  superuser: false,
  createrole: false,
  canCreateSchemas: true,
  readerExists: true,
  readerUsable: true,
  applied: 0,
};

describe('init-db: the SQL an administrator runs', () => {
  it('asks for nothing when the role has what it needs', () => {
    expect(missingRightsSql(base)).toEqual([]);
  });

  it('creates and grants the reader role when the login may not', () => {
    expect(missingRightsSql({ ...base, readerExists: false, readerUsable: false })).toEqual([
      'CREATE ROLE vonode_reader NOLOGIN NOSUPERUSER NOINHERIT NOCREATEDB NOCREATEROLE NOBYPASSRLS;',
      'GRANT vonode_reader TO "vonode";',
    ]);
  });

  it('grants SET without INHERIT from PostgreSQL 16 on', () => {
    expect(missingRightsSql({ ...base, version: 160004, readerUsable: false })).toEqual([
      'GRANT vonode_reader TO "vonode" WITH INHERIT FALSE, SET TRUE;',
    ]);
  });

  it('leaves the reader role to a login with CREATEROLE, and asks for CREATE on the database', () => {
    expect(
      missingRightsSql({
        ...base,
        user: 'we"ird',
        createrole: true,
        readerExists: false,
        readerUsable: false,
        canCreateSchemas: false,
      }),
    ).toEqual(['GRANT CONNECT, CREATE ON DATABASE "vo" TO "we""ird";']);
  });

  it('asks a superuser for nothing', () => {
    expect(missingRightsSql({ ...base, superuser: true, readerExists: false, readerUsable: false })).toEqual(
      [],
    );
  });
});
