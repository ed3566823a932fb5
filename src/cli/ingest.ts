import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '../config/index.js';
import { openDatabase } from '../db/index.js';
import { ingestProducts } from '../ingest/products.js';

const USAGE = `usage: vonode ingest [--collection NAME] [--owner-group GROUP --release YYYY-MM-DD] [--did-prefix IVOID] PATH...

Registers FITS images and cubes (files, or folders searched for *.fits) in ivoa.obscore.
A file that cannot be read is reported and skipped; ingesting a file again replaces its row.
With the embedded PostgreSQL, stop the node first (one process owns its data folder), or
point DATABASE_URL at the node's database.`;

interface IngestArgs {
  collection: string;
  ownerGroup?: string;
  release?: string;
  didPrefix?: string;
  paths: string[];
}

function parseArgs(argv: readonly string[]): IngestArgs {
  const args: IngestArgs = { collection: 'products', paths: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--'))
        throw new ConfigError(`${a} needs a value`, USAGE.split('\n')[0]);
      return v;
    };
    if (a === '--collection') args.collection = value();
    else if (a === '--owner-group') args.ownerGroup = value();
    else if (a === '--release') args.release = value();
    else if (a === '--did-prefix') args.didPrefix = value();
    else if (a.startsWith('--')) throw new ConfigError(`unknown option ${a}`, USAGE.split('\n')[0]);
    else args.paths.push(a);
  }
  if (args.paths.length === 0) throw new ConfigError('no files to ingest', USAGE.split('\n')[0]);
  if (args.release !== undefined && Number.isNaN(Date.parse(args.release))) {
    throw new ConfigError(
      `--release '${args.release}' is not a date`,
      'give it as YYYY-MM-DD or YYYY-MM-DDThh:mm:ss',
    );
  }
  if (args.didPrefix !== undefined && !/^ivo:\/\/[\w.~!*'()+=-]{3,}(\/[^?#]*)?$/.test(args.didPrefix)) {
    throw new ConfigError(
      `--did-prefix '${args.didPrefix}' is not an IVOID without query part`,
      'e.g. ivo://src.example.org/products',
    );
  }
  return args;
}

function fitsFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch {
      out.push(p); // reported as unreadable by the ingest itself
      return;
    }
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) {
        const child = join(p, e);
        if (statSync(child).isDirectory() || /\.fits?$/i.test(e)) walk(child);
      }
    } else out.push(p);
  };
  for (const p of paths) walk(p);
  return out;
}

/** `vonode ingest PATH...`: one line per file; exit 1 when any file was skipped. */
export async function runIngestCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const args = parseArgs(argv);
  const config = parseConfig();
  const files = fitsFiles(args.paths);
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    const authority = new URL(config.baseUrl).hostname || 'vonode.local';
    const outcomes = await ingestProducts(db.pool, files, {
      collection: args.collection,
      baseUrl: config.baseUrl,
      didPrefix: args.didPrefix ?? `ivo://${authority}/${args.collection}`,
      ownerGroup: args.ownerGroup ?? null,
      ...(args.release !== undefined
        ? { releaseDate: new Date(args.release).toISOString().slice(0, 19) }
        : {}),
    });
    let skipped = 0;
    for (const o of outcomes) {
      if (o.ok) process.stdout.write(`ingested ${o.path} as ${o.did}\n`);
      else {
        skipped++;
        process.stdout.write(`skipped ${o.path}: ${o.error}\n`);
      }
    }
    process.stdout.write(`${outcomes.length - skipped} ingested, ${skipped} skipped\n`);
    return skipped > 0 ? 1 : 0;
  } finally {
    await db.close();
  }
}
