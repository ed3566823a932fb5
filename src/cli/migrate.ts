/**
 * `vonode migrate [--check]`: the database schema as an operator upgrades it. The node applies
 * pending migrations itself when it starts (under an advisory lock, so several processes take
 * turns); this command lets an upgrade look first (--check: list, apply nothing, exit 3 when
 * any is pending) or run them as a step of its own, e.g. a Kubernetes Job before the rollout.
 */
import { ConfigError, parseConfig } from '../config/index.js';
import { applyMigrations, openDatabase, pendingMigrations, runningNodeDatabase } from '../db/index.js';

const USAGE = 'usage: vonode migrate [--check]';

/** The exit status of `migrate --check` when the schema is behind the code. */
export const MIGRATIONS_PENDING = 3;

export async function runMigrateCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      `${USAGE}\n\nApplies the database migrations this vonode ships and the database lacks.\n--check lists them and applies nothing: exit 0 when none is pending, ${MIGRATIONS_PENDING} when some are.\n`,
    );
    return 0;
  }
  const unknown = argv.find((a) => a !== '--check');
  if (unknown !== undefined) throw new ConfigError(`unknown argument ${unknown}`, USAGE);
  const check = argv.includes('--check');
  const config = parseConfig();
  const say = (line: string) => process.stderr.write(`vonode: ${line}\n`);
  const running = config.databaseUrl ? undefined : runningNodeDatabase(config.dataDir);
  if (!config.databaseUrl && !running)
    say(`no node is running on ${config.dataDir}: starting its embedded PostgreSQL for this command`);
  const db = await openDatabase({
    databaseUrl: config.databaseUrl ?? running,
    dataDir: config.dataDir,
    poolSize: 2,
    migrate: false,
  });
  try {
    const pending = await pendingMigrations(db.pool);
    if (check) {
      if (pending.length === 0) {
        process.stdout.write('the database schema is up to date: no migration pending\n');
        return 0;
      }
      process.stdout.write(`${pending.length} migration(s) pending:\n`);
      for (const m of pending)
        process.stdout.write(`  ${String(m.version).padStart(3, '0')}_${m.name}.sql\n`);
      return MIGRATIONS_PENDING;
    }
    const applied = await applyMigrations(db.pool);
    if (applied.length === 0) process.stdout.write('the database schema is up to date: nothing to apply\n');
    for (const name of applied) process.stdout.write(`applied ${name}.sql\n`);
    return 0;
  } finally {
    await db.close();
  }
}
