import { execFileSync } from 'node:child_process';
import { BrokerError } from './errors.js';

export interface SystemUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

const NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/**
 * The unprivileged system user local pipelines run as when the node runs as root (issue 13:
 * work never runs as root), created on first start like the embedded PostgreSQL's
 * `postgres` user: a system account with no home and no login shell.
 */
export function ensureSystemUser(name: string): SystemUser {
  if (!NAME.test(name) || name === 'root')
    throw new BrokerError(
      500,
      'uri:configuration',
      `VONODE_BROKER_LOCAL_USER=${name}: expected a system user name, not root`,
    );
  const lookup = (): SystemUser => ({
    name,
    uid: Number(execFileSync('id', ['-u', name]).toString().trim()),
    gid: Number(execFileSync('id', ['-g', name]).toString().trim()),
  });
  try {
    return lookup();
  } catch {
    try {
      execFileSync(
        'useradd',
        ['--system', '--user-group', '-M', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', name],
        {
          stdio: 'ignore',
        },
      );
      return lookup();
    } catch (err) {
      throw new BrokerError(
        500,
        'uri:configuration',
        `running as root, and no system user ${name} exists or could be created for local work (${(err as Error).message}); create it, or run the node as an ordinary user`,
      );
    }
  }
}
