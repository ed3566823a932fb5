import type { QueryAst } from './ast.js';
import type { Catalogue, CompiledQuery, CompileOptions } from './catalogue.js';
import { Compiler } from './compiler.js';
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
export { AdqlError, type AdqlErrorData, type AdqlErrorKind, type Position } from './errors.js';
export { LANGUAGE_FEATURES, type LanguageFeatureGroup } from './features.js';
export { MAX_QUERY_LENGTH } from './lexer.js';
export { inlineParameters } from './literals.js';
export { MAX_NESTING, type ParseOptions, parse } from './parser.js';
export { parseStcsPolygon, StcsError, type StcsPolygon } from './stcs.js';

/**
 * ADQL 2.1 text -> PostgreSQL SQL with bind parameters and the metadata of every result
 * column. Throws only AdqlError (syntax, semantic or unsupported) for bad queries.
 */
export function compile(adql: string, catalogue: Catalogue, options?: CompileOptions): CompiledQuery {
  const ast: QueryAst = parse(adql, options);
  try {
    return new Compiler(catalogue, options).compile(ast);
  } catch (e) {
    if (e instanceof AdqlError || e instanceof RangeError) throw e;
    // A geometry library refusal (e.g. a degenerate constant polygon) is the user's input.
    if (e instanceof Error && e.name === 'SkyError') {
      throw new AdqlError('semantic', e.message, ast.pos);
    }
    throw e;
  }
}
