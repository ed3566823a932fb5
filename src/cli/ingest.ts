/**
 * `vonode ingest`, `vonode products` and `vonode retract`: a site's FITS images and cubes in
 * ivoa.obscore, while the node serves. The database is found as `vonode publish` finds it
 * (DATABASE_URL, else the running node's embedded PostgreSQL recorded in the data folder, else
 * the embedded one started for the command), and every node process hears of the change
 * through the catalogue's NOTIFY channel (docs/ingest.md).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '../config/index.js';
import { type IngestOutcome, ingestProducts, listProducts, retractProducts } from '../ingest/products.js';
import { openCommandDatabase } from './publish.js';

const USAGE = `usage: vonode ingest [--collection NAME] [--owner-group GROUP [--release YYYY-MM-DD]] [--did-prefix IVOID] PATH...

Registers FITS images and cubes (files, or folders searched for *.fits and *.fits.gz) in ivoa.obscore, into
the running node (its embedded PostgreSQL is found from the data folder) or DATABASE_URL;
every node process serves them at once. A file that cannot be read is reported and skipped.
Ingesting a file again updates its product in place. A file named like another file's product
gets a numbered DID (name-2); a file with the same content as another product is reported.
--owner-group without --release: the products are never public (only the group reads them).`;

const PRODUCTS_USAGE = 'usage: vonode products [--collection NAME]';
const RETRACT_USAGE = 'usage: vonode retract DID|PATH...';

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
  if (args.release !== undefined && args.ownerGroup === undefined) {
    throw new ConfigError(
      '--release without --owner-group restricts nothing',
      'give --owner-group GROUP too, or leave both out for public products',
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
        if (statSync(child).isDirectory() || /\.fits?(\.gz)?$/i.test(e)) walk(child);
      }
    } else out.push(p);
  };
  for (const p of paths) walk(p);
  return out;
}

function outcomeLines(o: IngestOutcome): string[] {
  if (!o.ok) return [`skipped ${o.path}: ${o.error}`];
  const lines = [`${o.action === 'updated' ? 'updated' : 'ingested'} ${o.path} as ${o.did}`];
  if (o.nameTakenBy)
    lines.push(`  note: its name was already the product of ${o.nameTakenBy}; this one is ${o.did}`);
  for (const s of o.sameContentAs ?? []) lines.push(`  note: same content (SHA-256) as ${s.did} (${s.path})`);
  return lines;
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
  const say = (line: string) => process.stderr.write(`vonode: ${line}\n`);
  const db = await openCommandDatabase(say);
  try {
    const t0 = Date.now();
    let lastProgress = t0;
    const outcomes = await ingestProducts(db.pool, files, {
      collection: args.collection,
      didPrefix: args.didPrefix ?? `ivo://${config.publisher.authority}/${args.collection}`,
      ownerGroup: args.ownerGroup ?? null,
      ...(args.release !== undefined
        ? { releaseDate: new Date(args.release).toISOString().slice(0, 19) }
        : {}),
      onFile(done, total, o) {
        for (const line of outcomeLines(o)) process.stdout.write(`${line}\n`);
        // Long ingests: a progress line on stderr every few seconds.
        const now = Date.now();
        if (now - lastProgress > 5000 && done < total) {
          lastProgress = now;
          const rate = done / ((now - t0) / 1000);
          say(
            `${done}/${total} files, ${rate.toFixed(1)}/s, about ${Math.ceil((total - done) / rate)} s left`,
          );
        }
      },
    });
    const skipped = outcomes.filter((o) => !o.ok).length;
    process.stdout.write(`${outcomes.length - skipped} ingested, ${skipped} skipped\n`);
    return skipped > 0 ? 1 : 0;
  } finally {
    await db.close();
  }
}

/** `vonode products`: every product with its size and rights, as aligned columns. */
export async function runProductsCommand(argv: readonly string[]): Promise<number> {
  let collection: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--collection' && argv[i + 1] !== undefined) collection = argv[++i];
    else throw new ConfigError(`unexpected ${argv[i]}`, PRODUCTS_USAGE);
  }
  const db = await openCommandDatabase((line) => process.stderr.write(`vonode: ${line}\n`));
  try {
    const rows = await listProducts(db.pool, collection);
    const now = Date.now();
    const lines = [['did', 'collection', 'type', 'size', 'rights', 'file']];
    for (const r of rows) {
      const rights =
        r.ownerGroup === null
          ? 'public'
          : r.releaseDate === null
            ? `${r.ownerGroup} (never public)`
            : r.releaseDate.getTime() <= now
              ? `public since ${r.releaseDate.toISOString().slice(0, 10)}`
              : `${r.ownerGroup} until ${r.releaseDate.toISOString().slice(0, 10)}`;
      lines.push([r.did, r.collection, r.type ?? '-', `${(r.bytes / 1e6).toFixed(1)} MB`, rights, r.path]);
    }
    const widths = lines[0].map((_, k) => Math.max(...lines.map((l) => l[k].length)));
    for (const l of lines)
      process.stdout.write(
        `${l
          .map((v, k) => v.padEnd(widths[k]))
          .join('  ')
          .trimEnd()}\n`,
      );
    process.stdout.write(`${rows.length} products\n`);
    return 0;
  } finally {
    await db.close();
  }
}

/** `vonode retract DID|PATH...`: removes products (not their files); exit 1 when one named nothing. */
export async function runRetractCommand(argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || argv.some((a) => a.startsWith('--')))
    throw new ConfigError('give the DIDs or file paths of the products to retract', RETRACT_USAGE);
  const db = await openCommandDatabase((line) => process.stderr.write(`vonode: ${line}\n`));
  try {
    const removed = await retractProducts(db.pool, argv);
    for (const did of removed) process.stdout.write(`retracted ${did}\n`);
    process.stdout.write(`${removed.length} retracted\n`);
    return removed.length < argv.length ? 1 : 0;
  } finally {
    await db.close();
  }
}
