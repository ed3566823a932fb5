import type pg from 'pg';
import type { Identity } from '../auth/index.js';
import { withReadOnlyIdentity } from '../auth/index.js';
import type { PublishedColumn, PublishedTable } from '../tap/tables/model.js';

/** HEALPix order of the tables' index column (order 29 NESTED): a tile at order k is a range. */
const INDEX_ORDER = 29;
/** Aladin reads Norder1/Allsky.tsv and Norder2/Allsky.tsv first: catalogue HiPS start at order 1. */
export const CATALOGUE_MIN_ORDER = 1;
/** The deepest order looked for; the last order shows every remaining row. */
const CATALOGUE_MAX_ORDER = 20;

const NUMERIC = new Set(['short', 'int', 'long', 'float', 'double', 'unsignedByte']);

/** How a catalogue HiPS ranks the rows of a tile: the most significant first. */
export interface Ranking {
  /** The published column ranked on, or none (then position order). */
  readonly column?: PublishedColumn;
  /** Brightest first: descending for fluxes and other significances, ascending for magnitudes. */
  readonly descending: boolean;
}

const sqlIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;
const sqlName = (c: PublishedColumn) => sqlIdent(c.sqlName ?? c.name.replace(/^"(.*)"$/, '$1'));

/**
 * The rank column from the table's description (issue 19): the first flux (a UCD of
 * phot.flux*, brightest = largest) or else magnitude (phot.mag*, brightest = smallest) that
 * is not an error, else the first principal numeric column that is not a position, an
 * identifier or an error (largest first), else none.
 */
export function rankingOf(t: PublishedTable): Ranking {
  const words = (c: PublishedColumn) => (c.ucd ?? '').toLowerCase().split(';');
  // An uncertainty ranks nothing; stat.max and the like qualify a flux, and keep it.
  const plain = (c: PublishedColumn) =>
    NUMERIC.has(c.datatype) &&
    !c.arraysize &&
    !words(c).some((w) => w.startsWith('stat.error') || w.startsWith('stat.stdev'));
  const flux = t.columns.find((c) => plain(c) && words(c)[0].startsWith('phot.flux'));
  if (flux) return { column: flux, descending: true };
  const mag = t.columns.find((c) => plain(c) && words(c)[0].startsWith('phot.mag'));
  if (mag) return { column: mag, descending: false };
  const skip = new Set([t.spatialIndex?.lon, t.spatialIndex?.lat, t.spatialIndex?.column]);
  const principal = t.columns.find(
    (c) =>
      c.principal &&
      plain(c) &&
      !skip.has(c.name) &&
      !words(c).some((w) => w.startsWith('pos.') || w.startsWith('meta.id')),
  );
  return principal ? { column: principal, descending: true } : { descending: true };
}

/** The columns of the tiles: every published scalar column but the HEALPix index, in table order. */
export function tileColumns(t: PublishedTable): PublishedColumn[] {
  return t.columns.filter(
    (c) => c.name !== t.spatialIndex?.column && !c.region && !c.arraysize?.includes('x'),
  );
}

/** One row of a tile: its TSV line and its order-29 index. */
interface TileRow {
  readonly line: string;
  readonly hpx: bigint;
}

/** One tile's rows, with how many rows of its cell are shown up to its order. */
export interface CatalogueTile {
  readonly rows: readonly TileRow[];
  /** Rows of the tile's cell shown at this order or a lower one. */
  readonly shown: number;
  /** Rows of the tile's cell. */
  readonly total: number;
}

/** TSV field: tabs and line ends in a value would break the row (HIPS-09), null is empty. */
const field = (v: string | null) => (v === null ? '' : v.replace(/[\t\r\n]+/g, ' '));

/**
 * The catalogue HiPS of one published table as one caller may read it (row-level security
 * applies: the SQL runs as the caller, so an anonymous caller's HiPS holds the public rows
 * only). Progressive (HiPS 1.0 §4.3): the tile (k, N) holds the next `perTile` rows of its
 * cell in rank order after those shown by its ancestors. Those are always a prefix of the
 * cell's ranking (a row an ancestor shows outranks every row of the cell it did not show), so
 * the tile is one indexed range query, `ORDER BY rank LIMIT perTile OFFSET c`, where c
 * counts the ancestors' rows inside the cell.
 */
export class CatalogueHips {
  private readonly tiles = new Map<string, Promise<CatalogueTile>>();
  private orderJob?: Promise<number>;
  private nrowsJob?: Promise<number>;
  readonly ranking: Ranking;
  readonly columns: readonly PublishedColumn[];

  constructor(
    private readonly pool: pg.Pool,
    private readonly identity: Identity,
    readonly table: PublishedTable,
    readonly perTile: number,
    private readonly maxCached = 4096,
  ) {
    this.ranking = rankingOf(table);
    this.columns = tileColumns(table);
  }

  private get from(): string {
    return `${sqlIdent(this.table.sql.schema)}.${sqlIdent(this.table.sql.table)}`;
  }

  private get hpx(): string {
    const name = this.table.spatialIndex?.column ?? '';
    const c = this.table.columns.find((x) => x.name === name);
    return c ? sqlName(c) : sqlIdent(name.replace(/^"(.*)"$/, '$1'));
  }

  private query<T extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<T[]> {
    return withReadOnlyIdentity(this.pool, this.identity, async (c) => (await c.query<T>(sql, params)).rows);
  }

  /** hips_cat_nrows: the rows this caller may read. */
  nrows(): Promise<number> {
    this.nrowsJob ??= this.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${this.from} WHERE ${this.hpx} IS NOT NULL`,
      [],
    ).then((r) => Number(r[0].n));
    return this.nrowsJob;
  }

  /**
   * hips_order: the first order where no cell holds more than `perTile` rows, so every row
   * is shown by then (at most CATALOGUE_MAX_ORDER, whose tiles show all that remain).
   */
  order(): Promise<number> {
    this.orderJob ??= (async () => {
      for (let k = CATALOGUE_MIN_ORDER; k < CATALOGUE_MAX_ORDER; k++) {
        const r = await this.query<{ n: string | null }>(
          `SELECT max(n) AS n FROM (SELECT count(*) AS n FROM ${this.from} WHERE ${this.hpx} IS NOT NULL GROUP BY ${this.hpx} >> ${2 * (INDEX_ORDER - k)}) c`,
          [],
        );
        if (Number(r[0].n ?? 0) <= this.perTile) return k;
      }
      return CATALOGUE_MAX_ORDER;
    })();
    return this.orderJob;
  }

  /** The top-ranked row's position: where the HiPS opens (hips_initial_ra/dec). */
  async start(): Promise<{ ra: number; dec: number } | undefined> {
    const si = this.table.spatialIndex;
    const col = (n: string | undefined) => this.table.columns.find((c) => c.name === n);
    const lon = col(si?.lon);
    const lat = col(si?.lat);
    if (!lon || !lat) return undefined;
    const rank = this.ranking.column
      ? `${sqlName(this.ranking.column)} ${this.ranking.descending ? 'DESC' : 'ASC'} NULLS LAST, `
      : '';
    const r = await this.query<{ ra: number; dec: number }>(
      `SELECT ${sqlName(lon)}::float8 AS ra, ${sqlName(lat)}::float8 AS dec FROM ${this.from}
       WHERE ${this.hpx} IS NOT NULL ORDER BY ${rank}${this.hpx} LIMIT 1`,
      [],
    );
    return r[0];
  }

  /** The non-empty cells of an order (for Allsky.tsv). */
  async cells(order: number): Promise<number[]> {
    const r = await this.query<{ c: string }>(
      `SELECT DISTINCT ${this.hpx} >> ${2 * (INDEX_ORDER - order)} AS c FROM ${this.from} WHERE ${this.hpx} IS NOT NULL ORDER BY 1`,
      [],
    );
    return r.map((x) => Number(x.c));
  }

  /** The tile's rows (HIPS-03: NESTED index `index` at `order`). */
  tile(order: number, index: number): Promise<CatalogueTile> {
    const key = `${order}/${index}`;
    let job = this.tiles.get(key);
    if (!job) {
      job = this.load(order, index);
      job.catch(() => this.tiles.delete(key));
      this.tiles.set(key, job);
      if (this.tiles.size > this.maxCached) this.tiles.delete(this.tiles.keys().next().value as string);
    }
    return job;
  }

  private async load(order: number, index: number): Promise<CatalogueTile> {
    const shift = BigInt(2 * (INDEX_ORDER - order));
    const lo = BigInt(index) << shift;
    const hi = (BigInt(index) + 1n) << shift;
    // The rows ancestors show inside this cell: a prefix of its ranking (see the class comment).
    let before = 0;
    for (let k = CATALOGUE_MIN_ORDER; k < order; k++) {
      const parent = await this.tile(k, index >> (2 * (order - k)));
      for (const r of parent.rows) if (r.hpx >= lo && r.hpx < hi) before++;
    }
    const deepest = await this.order();
    const cols = this.columns.map((c) => `${sqlName(c)}::text`).join(', ');
    const rank = this.ranking.column
      ? `${sqlName(this.ranking.column)} ${this.ranking.descending ? 'DESC' : 'ASC'} NULLS LAST, `
      : '';
    const key = (this.table.primaryKey ?? [])
      .map((k) => this.table.columns.find((c) => c.name === k))
      .filter((c): c is PublishedColumn => !!c)
      .map((c) => `, ${sqlName(c)}`)
      .join('');
    const limit = order >= deepest ? 'ALL' : String(this.perTile);
    const rows = await this.query<{ f: Array<string | null>; h: string }>(
      `SELECT ARRAY[${cols}] AS f, ${this.hpx}::text AS h FROM ${this.from}
       WHERE ${this.hpx} >= $1 AND ${this.hpx} < $2
       ORDER BY ${rank}${this.hpx}${key} LIMIT ${limit} OFFSET $3`,
      [lo.toString(), hi.toString(), before],
    );
    const total = await this.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${this.from} WHERE ${this.hpx} >= $1 AND ${this.hpx} < $2`,
      [lo.toString(), hi.toString()],
    );
    return {
      rows: rows.map((r) => ({ line: r.f.map(field).join('\t'), hpx: BigInt(r.h) })),
      shown: before + rows.length,
      total: Number(total[0].n),
    };
  }

  /** The TSV header: hipsgen's completeness comment, then the column names (HIPS-09). */
  header(shown: number, total: number): string {
    return `# Completeness = ${shown} / ${total}\n${this.columns.map((c) => c.name.replace(/^"(.*)"$/, '$1')).join('\t')}\n`;
  }

  /** A tile as TSV. Aladin reads the data from the third line: comment, names, rows. */
  async tsv(order: number, index: number): Promise<string | undefined> {
    const t = await this.tile(order, index);
    if (t.rows.length === 0) return undefined;
    return this.header(t.shown, t.total) + t.rows.map((r) => `${r.line}\n`).join('');
  }

  /** NorderK/Allsky.tsv: every tile of the order, one header (HIPS-11). */
  async allsky(order: number): Promise<string> {
    const lines: string[] = [];
    let shown = 0;
    let total = 0;
    for (const cell of await this.cells(order)) {
      const t = await this.tile(order, cell);
      for (const r of t.rows) lines.push(`${r.line}\n`);
      shown += t.shown;
      total += t.total;
    }
    return this.header(shown, total) + lines.join('');
  }
}
