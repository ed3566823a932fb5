import { runTokenCommand } from '../auth/index.js';
import { ConfigError, parseConfig } from '../config/index.js';
import { createLogger, logLine } from '../log/index.js';
import { startNode } from '../node.js';
import { webAssets } from '../web/index.js';
import { runBackupCommand, runRestoreCommand } from './backup.js';
import { runDescribeCommand } from './describe.js';
import { runIngestCommand, runProductsCommand, runRetractCommand } from './ingest.js';
import { runInitDbCommand } from './init-db.js';
import { runMigrateCommand } from './migrate.js';
import { runPublishCommand, runTablesCommand, runUnpublishCommand } from './publish.js';
import { runRucioCommand } from './rucio.js';
import { runShardsCommand } from './shards.js';

const USAGE = `usage: vonode <command>

commands:
  serve            start the node (default); demo data is generated on first start
  init-db          prepare the PostgreSQL at DATABASE_URL (roles, migrations) and exit
  ingest PATH...   register FITS images and cubes in ivoa.obscore, also while the node
                   runs (vonode ingest --help)
  products         list the products: DID, collection, size, rights, file
  retract ID...    remove products (by DID or file path) from every service
  rucio sync       make ivoa.obscore agree with Rucio's DIDs through SRCNet's Data
                   Management API now (the node also polls; docs/rucio.md)
  describe FILE    draft a table description (YAML) from a FITS, VOTable, CSV/TSV or
                   Parquet file: vonode describe FILE [--schema S] [--name T] > T.yaml
  publish DESC [DATA...]  publish the catalogues of a description file (vonode publish --help)
  unpublish SCHEMA.TABLE  withdraw a published table
  tables           list the published tables: rows, size, rights, when
  shards [TABLE]   how big tables are partitioned and placed on shard servers: cells,
                   rows and margin rows per partition, balance (docs/scaling.md)
  backup FILE      write the whole node (database and data folder files) to FILE, also
                   while it runs (vonode backup --help)
  restore FILE     restore a backup into a fresh data folder or empty database
  migrate [--check]  apply pending database migrations; --check lists them, applies none,
                   exits 3 when any is pending
  token            print a development token: vonode token --sub NAME --groups G1,G2
                   (needs VONODE_DEV_ISSUER=on; see the README)
  help             show this text

configuration comes from the environment: see the README's table`;

/** Every failure a person can fix is one line on stderr and a non-zero exit: no stack trace. */
export async function main(argv: string[]): Promise<number> {
  const [command = 'serve'] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve();
      case 'init-db':
        return await runInitDbCommand(argv.slice(1));
      case 'ingest':
        return await runIngestCommand(argv.slice(1));
      case 'products':
        return await runProductsCommand(argv.slice(1));
      case 'retract':
        return await runRetractCommand(argv.slice(1));
      case 'rucio':
        return await runRucioCommand(argv.slice(1));
      case 'describe':
        return await runDescribeCommand(argv.slice(1));
      case 'publish':
        return await runPublishCommand(argv.slice(1));
      case 'unpublish':
        return await runUnpublishCommand(argv.slice(1));
      case 'tables':
        return await runTablesCommand(argv.slice(1));
      case 'shards':
        return await runShardsCommand(argv.slice(1));
      case 'backup':
        return await runBackupCommand(argv.slice(1));
      case 'restore':
        return await runRestoreCommand(argv.slice(1));
      case 'migrate':
        return await runMigrateCommand(argv.slice(1));
      case 'token':
        return await runTokenCommand(argv.slice(1), process.env);
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return 0;
      default:
        process.stderr.write(`vonode: unknown command '${command}'; run 'vonode help' for the list\n`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vonode: ${err.problem}; ${err.fix}\n`);
      return 2;
    }
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`vonode: ${msg.split('\n')[0]}\n`);
    return 1;
  }
}

async function serve(): Promise<number> {
  const config = parseConfig();
  // From here on every line is the node's log, in one format (VONODE_LOG_FORMAT).
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  const say = (line: string) => logLine(logger, line);
  const t0 = Date.now();
  const node = await startNode(config, say, { logger });
  say(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s at ${config.baseUrl} (data in ${config.dataDir})`);
  // The query page's script is bundled now, not when the first person opens the page.
  webAssets().catch((err) =>
    say(`the web pages' script could not be built: ${err instanceof Error ? err.message : err}`),
  );
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      say(`${signal}: draining for at most ${config.drainSeconds} s (VONODE_DRAIN_SECONDS)`);
      // Orchestrators kill a pod after their grace period: whatever hangs, exit within it.
      const hard = setTimeout(
        () => {
          say(`shutdown did not finish within ${config.drainSeconds} s; exiting`);
          resolve(1);
        },
        config.drainSeconds * 1000 + 2000,
      );
      hard.unref();
      node
        .drain(Math.max(1, config.drainSeconds - 1)) // a second is kept for closing the database
        .then((r) => {
          say(
            `drained in ${r.seconds.toFixed(1)} s: ${r.inFlightAtStart} responses in progress at ${signal}, ${r.cut} cut with QUERY_STATUS ERROR, ${r.forced} connections closed by force; async jobs handed back to the queue`,
          );
          return node.close();
        })
        .then(
          () => resolve(0),
          (err) => {
            say(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
            resolve(1);
          },
        );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
