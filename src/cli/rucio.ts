/**
 * `vonode rucio sync`: one poll of the Rucio namespaces through the Data Management API, into
 * the running node's database (found as `vonode ingest` finds it). The node polls by itself
 * every VONODE_RUCIO_SYNC_INTERVAL seconds; this runs a round now (after registering new
 * data, or from cron with the interval at 0). docs/rucio.md.
 */
import { ConfigError, parseConfig } from '../config/index.js';
import { DmApiClient, rucioSettings, syncRucio } from '../rucio/index.js';
import { openCommandDatabase } from './publish.js';

const USAGE = `usage: vonode rucio sync

Reads the DIDs of the namespaces in VONODE_RUCIO_NAMESPACES from the Data Management API at
VONODE_RUCIO_DM_API (token: VONODE_RUCIO_TOKEN or VONODE_RUCIO_TOKEN_FILE) and makes ivoa.obscore
agree: DIDs with ObsCore metadata are added or updated, DIDs gone from Rucio are removed.
Exit 1 when anything could not be read or written (what could be is done).`;

export async function runRucioCommand(argv: readonly string[]): Promise<number> {
  const [sub] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'sync') throw new ConfigError(`unknown rucio command '${sub}'`, USAGE.split('\n')[0]);
  const config = parseConfig();
  const settings = rucioSettings(config.env);
  if (!settings)
    throw new ConfigError('VONODE_RUCIO_DM_API is not set', 'give the base URL of the Data Management API');
  if (settings.namespaces.length === 0)
    throw new ConfigError(
      'VONODE_RUCIO_NAMESPACES is empty',
      'give the Rucio scopes to publish, comma-separated',
    );
  const say = (line: string) => process.stderr.write(`vonode: ${line}\n`);
  const db = await openCommandDatabase(say);
  try {
    const report = await syncRucio(db.pool, new DmApiClient(settings), {
      authority: config.publisher.authority,
      namespaces: settings.namespaces,
    });
    for (const e of report.errors) say(e);
    process.stdout.write(
      `${report.added} added, ${report.updated} updated, ${report.unchanged} unchanged, ${report.removed} removed, ${report.notObsCore} without ObsCore metadata\n`,
    );
    return report.errors.length > 0 ? 1 : 0;
  } finally {
    await db.close();
  }
}
