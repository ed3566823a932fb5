import type { QueryAst } from './ast.js';
import type { Catalogue, CompiledQuery, CompileOptions } from './catalogue.js';
import { Compiler } from './compiler.js';
import type { Dialect } from './dialect.js';
import { AdqlError } from './errors.js';
import { parse } from './parser.js';

export type * from './ast.js';
export type {
  Catalogue,
  CatalogueColumn,
  CatalogueTable,
  ColumnMetadata,
  CompiledQuery,
  CompileOptions,
  RegionStorage,
  VOTableDatatype,
} from './catalogue.js';
export { type Dialect, POSTGRES, PostgresDialect } from './dialect.js';
export { AdqlError, type AdqlErrorData, type AdqlErrorKind, type Position } from './errors.js';
export { LANGUAGE_FEATURES, type LanguageFeatureGroup } from './features.js';
export { MAX_QUERY_LENGTH } from './lexer.js';
export { inlineParameters } from './literals.js';
export { MAX_NESTING, type ParseOptions, parse } from './parser.js';
export { parseStcsPolygon, StcsError, type StcsPolygon } from './stcs.js';

const START = { line: 1, column: 1, offset: 0 };

/**
 * ADQL 2.1 text -> PostgreSQL SQL with bind parameters and the metadata of every result
 * column. Throws only AdqlError (syntax, semantic or unsupported) for bad queries.
 * `dialect` (default PostgreSQL) spells the SQL; see adql/dialect.ts.
 */
export function compile(
  adql: string,
  catalogue: Catalogue,
  options?: CompileOptions,
  dialect?: Dialect,
): CompiledQuery {
  let ast: QueryAst | undefined;
  try {
    ast = parse(adql, options);
    return new Compiler(catalogue, options, dialect).compile(ast);
  } catch (e) {
    // Chains are walked by loops and nesting is bounded, so the stack should never run out;
    // if some shape still exhausts it, that is the query's size: say so, not a 500.
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw new AdqlError('unsupported', 'the query is too deeply nested to compile', ast?.pos ?? START);
    }
    if (e instanceof AdqlError || e instanceof RangeError || !ast) throw e;
    // A geometry library refusal (e.g. a degenerate constant polygon) is the user's input.
    if (e instanceof Error && e.name === 'SkyError') {
      throw new AdqlError('semantic', e.message, ast.pos);
    }
    throw e;
  }
}
