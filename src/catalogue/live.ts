/**
 * The catalogue as the database holds it, kept current in every node process: rows are
 * loaded at start, and a dedicated connection LISTENs on vonode_catalogue, so a publish
 * by any process (or a row written by hand followed by NOTIFY) is served at once, with
 * no restart. A dropped connection is re-opened and everything reloaded, since
 * notifications sent while it was down are lost.
 */
import pg from 'pg';
import { publishedTableOf } from '../publish/index.js';
import type { PublishedSchema, PublishedTable } from '../tap/tables/model.js';
import { reconcileTapSchema } from './builtin.js';
import { CATALOGUE_CHANNEL, readPublishedSchemas, readPublishedTables } from './store.js';
import type { CatalogueSource } from './types.js';
import { CatalogueSnapshot } from './view.js';

export interface LiveCatalogueOptions {
  /** Unqualified ADQL table names resolve in this schema first (VONODE_DEFAULT_SCHEMA). */
  readonly defaultSchema?: string;
  /** Operator log lines (connection lost, reload failed). */
  readonly log?: (line: string) => void;
}

export interface LiveCatalogue extends CatalogueSource {
  /** Reloads now (also what a notification does); resolves when the new snapshot is in place. */
  reload(): Promise<void>;
  close(): Promise<void>;
}

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5000;

/** Reads the stored rows into schemas in TAP_SCHEMA's display order. */
export async function loadPublishedSchemas(pool: pg.Pool): Promise<PublishedSchema[]> {
  // Rows written by hand (or by a writer that wrote no TAP_SCHEMA rows) get theirs first.
  await reconcileTapSchema(pool);
  const [schemaRows, tableRows] = await Promise.all([readPublishedSchemas(pool), readPublishedTables(pool)]);
  const bySchema = new Map<string, PublishedTable[]>();
  for (const r of tableRows) {
    const base =
      r.published ??
      publishedTableOf(r.description, { sqlSchema: r.sqlSchema, sqlTable: r.sqlTable }, r.nrows ?? undefined);
    const t: PublishedTable = {
      ...base,
      ...(r.nrows !== null ? { nrows: r.nrows } : {}),
      publishedAt: r.publishedAt,
      ...(r.access ? { access: r.access } : {}),
    };
    const list = bySchema.get(t.schema) ?? [];
    list.push(t);
    bySchema.set(t.schema, list);
  }
  const out: PublishedSchema[] = [];
  const seen = new Set<string>();
  for (const s of schemaRows) {
    seen.add(s.schemaName);
    out.push({
      name: s.schemaName,
      description: s.description.description ?? '',
      ...(s.description.utype ? { utype: s.description.utype } : {}),
      tables: bySchema.get(s.schemaName) ?? [],
    });
  }
  for (const [name, tables] of bySchema) if (!seen.has(name)) out.push({ name, description: '', tables });
  return out;
}

export async function startLiveCatalogue(
  pool: pg.Pool,
  opts: LiveCatalogueOptions = {},
): Promise<LiveCatalogue> {
  const log = opts.log ?? (() => {});
  let snapshot = new CatalogueSnapshot(await loadPublishedSchemas(pool), opts.defaultSchema);
  let version = 1;
  const listeners = new Set<(name: string) => void>();
  let closed = false;

  // Reloads are serialised and coalesced: notifications arriving during one reload are
  // answered by one more reload afterwards, carrying every name heard.
  let running: Promise<void> | undefined;
  let pendingNames = new Set<string>();
  let again = false;
  const reload = (name = '*'): Promise<void> => {
    pendingNames.add(name);
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          const names = pendingNames;
          pendingNames = new Set();
          try {
            const next = new CatalogueSnapshot(await loadPublishedSchemas(pool), opts.defaultSchema);
            if (closed) return;
            snapshot = next;
            version += 1;
          } catch (err) {
            // The old snapshot stays served; the next notification or reconnection retries.
            log(`catalogue reload failed: ${err instanceof Error ? err.message : String(err)}`);
            continue;
          }
          for (const n of names)
            for (const l of listeners) {
              try {
                l(n);
              } catch (err) {
                log(`catalogue listener failed: ${err instanceof Error ? err.message : String(err)}`);
              }
            }
        } while (again && !closed);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  let client: pg.Client | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let delay = RECONNECT_MIN_MS;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({
      ...(pool.options as pg.ClientConfig),
      application_name: 'vonode-catalogue',
    });
    let lost = false;
    const onLost = (why: string) => {
      if (lost) return;
      lost = true;
      if (client === c) client = undefined;
      c.end().catch(() => {});
      if (closed) return;
      log(`catalogue notifications lost (${why}); reconnecting`);
      scheduleReconnect();
    };
    c.on('error', (err) => onLost(err.message));
    c.on('end', () => onLost('connection closed'));
    c.on('notification', (msg) => {
      if (msg.channel === CATALOGUE_CHANNEL) void reload(msg.payload || '*');
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CATALOGUE_CHANNEL}`);
    } catch (err) {
      onLost(err instanceof Error ? err.message : String(err));
      throw err;
    }
    if (closed) {
      await c.end().catch(() => {});
      return;
    }
    client = c;
    delay = RECONNECT_MIN_MS;
  };
  const scheduleReconnect = () => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(async () => {
      retryTimer = undefined;
      try {
        await connect();
        // Whatever changed while nobody listened.
        await reload('*');
      } catch {
        delay = Math.min(delay * 2, RECONNECT_MAX_MS);
        // connect() already scheduled the next try through onLost.
      }
    }, delay);
    retryTimer.unref();
  };
  try {
    await connect();
  } catch (err) {
    closed = true;
    clearTimeout(retryTimer);
    throw err;
  }
  // A change committed between the first load and LISTEN would otherwise be missed.
  await reload('*');

  return {
    get version() {
      return version;
    },
    view: (identity) => snapshot.view(identity),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    reload: () => reload('*'),
    async close() {
      closed = true;
      clearTimeout(retryTimer);
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
      await running?.catch(() => {});
    },
  };
}
