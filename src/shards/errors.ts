/**
 * A shard that cannot be reached, as the client is told it: a DALI error (503, the service
 * is partly unavailable, not the query's fault) naming the part of the sky that is missing,
 * so a user can query around it. postgres_fdw's errors name the foreign server, and each
 * partition's server is named after its cells (names.ts).
 */
import { DaliError } from '../dali/index.js';
import { skyPartOf } from './names.js';

// SQLSTATE class 08 (connection exception) and postgres_fdw's own wording for a lost link.
const CONNECTION =
  /could not connect to server|connection to server .* (was lost|failed)|server closed the connection|could not (receive|send) data|terminating connection/i;

export function shardUnavailable(err: unknown): DaliError | undefined {
  const e = err as { code?: string; message?: string; detail?: string } | undefined;
  if (!e || typeof e.message !== 'string') return undefined;
  const text = `${e.message} ${e.detail ?? ''}`;
  const part = skyPartOf(text);
  if (!part) return undefined;
  if (!(e.code?.startsWith('08') || CONNECTION.test(text))) return undefined;
  const cells =
    part.first === part.last
      ? `HEALPix order ${part.order} NESTED cell ${part.first}`
      : `HEALPix order ${part.order} NESTED cells ${part.first} to ${part.last}`;
  return new DaliError(
    `the part of the sky in ${cells} (shard ${part.shard}) is unavailable: its database server does not answer. ` +
      'Queries that do not touch this region still answer; try again later or restrict the query to other regions',
    503,
  );
}
