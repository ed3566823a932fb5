import type pg from 'pg';
import type { CompiledQuery } from '../../adql/index.js';

/**
 * The column types PostgreSQL gives a query's result, learnt by planning it with LIMIT 0
 * once per query shape and catalogue version instead of once per request (issue 20).
 *
 * The shape is the SQL text with each numeric constant replaced by its type class. The
 * compiler writes a cone's centre, radius and HEALPix ranges into the SQL as constants, so
 * the text differs at every position while the result types cannot: PostgreSQL types a
 * numeric constant by its spelling and size alone (int4, int8 or numeric, "Numeric
 * Constants" in the manual), never by its value, so two texts equal after this replacement
 * parse to the same tree with the same types. Quoted identifiers and string constants are
 * kept as written. Parameters ($1...) are typed by their place in the text, which is kept.
 */
export function queryShape(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i];
    if (ch === '"' || ch === "'") {
      // A quoted identifier or string, its doubled quotes included, copied whole.
      let j = i + 1;
      for (;;) {
        const k = sql.indexOf(ch, j);
        if (k < 0) {
          j = sql.length;
          break;
        }
        if (sql[k + 1] === ch) j = k + 2;
        else {
          j = k + 1;
          break;
        }
      }
      out += sql.slice(i, j);
      i = j;
      continue;
    }
    const startsNumber = /[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(sql[i + 1] ?? ''));
    if (startsNumber && !/[A-Za-z0-9_$]/.test(sql[i - 1] ?? '')) {
      const m = /^(?:[0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?/.exec(
        sql.slice(i, i + 64),
      ) as RegExpExecArray;
      const text = m[0];
      out += numericClass(text);
      i += text.length;
      continue;
    }
    // Identifiers with digits (_t1, sources_v1) and everything else are copied as they are.
    const next = sql.slice(i).search(/["'0-9.]/);
    const end = next < 0 ? sql.length : i + Math.max(1, next);
    out += sql.slice(i, end);
    i = end;
  }
  return out;
}

const INT4_MAX = 2147483647n;
const INT8_MAX = 9223372036854775807n;

function numericClass(text: string): string {
  if (/[.eE]/.test(text)) return '#numeric';
  const v = BigInt(text);
  return v <= INT4_MAX ? '#int4' : v <= INT8_MAX ? '#int8' : '#numeric';
}

/** Shapes remembered; the least recently used goes first. */
const SHAPES = 2000;
const cache = new Map<string, readonly number[]>();
let cacheVersion: number | undefined;

/** The type OIDs of a result learnt before for this shape and catalogue version, if any. */
export function knownResultTypes(sql: string, catalogueVersion: number): readonly number[] | undefined {
  if (cacheVersion !== catalogueVersion) return undefined;
  const shape = queryShape(sql);
  const known = cache.get(shape);
  if (known) {
    cache.delete(shape);
    cache.set(shape, known);
  }
  return known;
}

/**
 * The type OIDs of `compiled`'s result columns. With a catalogue version (a query compiled
 * without uploads, whose tables are all published ones), from the cache when this shape
 * was planned before under the same version; a new version (a table published, replaced
 * or dropped) empties the cache. Uploaded tables are not in the catalogue's version, so
 * such queries are always planned.
 */
export async function resultTypes(
  client: pg.ClientBase,
  compiled: CompiledQuery,
  catalogueVersion: number | undefined,
): Promise<readonly number[]> {
  let shape: string | undefined;
  if (catalogueVersion !== undefined) {
    if (cacheVersion !== catalogueVersion) {
      cache.clear();
      cacheVersion = catalogueVersion;
    }
    shape = queryShape(compiled.sql);
    const known = cache.get(shape);
    if (known) {
      cache.delete(shape);
      cache.set(shape, known);
      return known;
    }
  }
  const described = await client.query({
    text: `SELECT * FROM (${compiled.sql}) AS q LIMIT 0`,
    values: compiled.params,
    rowMode: 'array',
  });
  const oids = described.fields.map((f) => f.dataTypeID);
  if (shape !== undefined && cacheVersion === catalogueVersion) {
    cache.set(shape, oids);
    if (cache.size > SHAPES) cache.delete(cache.keys().next().value as string);
  }
  return oids;
}
