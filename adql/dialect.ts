// The SQL printer's seam: every construct whose spelling depends on the target database goes
// through a Dialect. PostgresDialect is the one vonode runs on; a distributed-PostgreSQL
// dialect (Citus, postgres_fdw partitions) extends it and overrides only what differs.
// Methods receive SQL text already checked and typed by the passes; they never see user text.

export interface Dialect {
  /** A quoted identifier (catalogue names and generated aliases only). */
  quoteIdent(name: string): string;
  /** A physical table reference. */
  table(sqlSchema: string, sqlTable: string): string;
  /** The n-th bind parameter, typed as text. */
  param(n: number): string;
  /** The row limit and offset clauses after ORDER BY (ADQL-14, ADQL-59), with a leading space. */
  limitOffset(limit: number | undefined, offset: number | undefined): string;
  /** LIKE/ILIKE without an escape character (ADQL-61). */
  like(arg: string, pattern: string, not: boolean, insensitive: boolean): string;
  /** An ADQL numeric function on SQL operands already cast as the semantics need (ADQL-18, ADQL-60). */
  mathFunction(name: string, args: readonly string[]): string;
  /** The up-to-4 order-29 HEALPix ranges covering a circle that moves with rows (crossmatch), as one bigint[8] expression. */
  xmatchRanges(lon: string, lat: string, r: string): string;
}

export class PostgresDialect implements Dialect {
  quoteIdent(name: string): string {
    if (name.includes('\u0000')) throw new Error('identifier with NUL');
    return `"${name.replace(/"/g, '""')}"`;
  }

  table(sqlSchema: string, sqlTable: string): string {
    return `${this.quoteIdent(sqlSchema)}.${this.quoteIdent(sqlTable)}`;
  }

  param(n: number): string {
    return `$${n}::text`;
  }

  limitOffset(limit: number | undefined, offset: number | undefined): string {
    let sql = '';
    if (limit !== undefined) sql += ` LIMIT ${limit}`;
    if (offset !== undefined) sql += ` OFFSET ${offset}`;
    return sql;
  }

  like(arg: string, pattern: string, not: boolean, insensitive: boolean): string {
    // ADQL-61: ADQL LIKE has no escape character; PostgreSQL's default is backslash.
    return `${arg} ${not ? 'NOT ' : ''}${insensitive ? 'ILIKE' : 'LIKE'} ${pattern} ESCAPE ''`;
  }

  mathFunction(name: string, args: readonly string[]): string {
    const fn = PG_MATH[name] ?? name.toLowerCase();
    return `${fn}(${args.join(', ')})`;
  }

  xmatchRanges(lon: string, lat: string, r: string): string {
    // A scalar subquery over the set-returning adql.xmatch_cover (sql/160): PostgreSQL
    // inlines its SQL into the query, so no function is called per row except for the
    // rare circles it hands to adql.xmatch_ranges (near face edges, poles, large radii).
    return `(SELECT _xc FROM adql.xmatch_cover(${lon}, ${lat}, ${r}) AS _xc)`;
  }
}

/** ADQL names whose PostgreSQL function differs (ADQL-60: LOG is ln, LOG10 is log). */
const PG_MATH: Record<string, string> = { LOG: 'ln', LOG10: 'log', CEILING: 'ceil' };

/** The dialect used when compile() is given none. */
export const POSTGRES: Dialect = new PostgresDialect();
